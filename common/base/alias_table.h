// AliasTable: draws of an index i with probability w_i / sum(w) (Walker's alias method, Vose's
// construction): one unbiased index (Rng::UniformInt) and one 53-bit uniform against that index's
// threshold, branch-free, one 16-byte entry read. The probabilities are exact up to the rounding
// of n w_i / sum(w) to 53 bits.
//
// Also ExactBernoulli: a trial that succeeds with probability p exactly (for the double p), even
// far below 2^-53: a uniform U in [0, 1), read 64 bits at a time, against p's base-2^64 digits;
// one word decides unless it equals the leading digit (for a tiny p that digit is 0, so almost
// always after one word). The two serve the exact table samplers (poisson_table.h,
// skellam_table.h), which draw a window from a table and leave it with the exact outside mass.
//
// Both are immutable and thread-safe once built; the generator is the caller's.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/rng.h"

namespace fedsilo {

class AliasTable {
 public:
  AliasTable() = default;
  // Weights >= 0 and finite, at least one positive, at most 2^32 of them (checked).
  explicit AliasTable(std::span<const double> weights);

  uint64_t operator()(Rng& rng) const {
    const uint64_t i = rng.UniformInt(entries_.size());
    const Entry& entry = entries_[i];
    // Branch-free (the coin is unpredictable): keep i, or take its alias.
    const uint64_t keep = 0 - static_cast<uint64_t>((rng.NextU64() >> 11) < entry.threshold);
    return entry.alias ^ ((i ^ entry.alias) & keep);
  }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    uint64_t threshold;  // keep the entry's own index when (53-bit draw) < threshold
    uint64_t alias;      // else this index
  };
  std::vector<Entry> entries_;
};

class ExactBernoulli {
 public:
  ExactBernoulli() = default;
  explicit ExactBernoulli(double p);  // 0 <= p < 1 (checked)
  bool operator()(Rng& rng) const {
    for (uint64_t digit : digits_) {
      const uint64_t u = rng.NextU64();
      if (u != digit) return u < digit;
    }
    return false;
  }

 private:
  std::vector<uint64_t> digits_;  // p in base 2^64, most significant first
};

}  // namespace fedsilo
