// PoissonTable: fast draws of Poisson(mean) for one mean used many times (a secure-sum silo's
// Skellam noise draws two per coordinate per round at the same mean).
//
// The pmf on a window W = [mean - c sqrt(mean), mean + c sqrt(mean)] (clipped at 0; c =
// `window_sds`) goes into Walker's alias table (Vose's construction): a draw is one unbiased
// index (Rng::UniformInt) and one 53-bit uniform against the index's threshold. The mass outside
// W (about 1e-23 at c = 10) is not dropped: a draw first leaves the table with exactly that
// probability (a Bernoulli trial that reads as many 64-bit words as a tiny probability needs),
// then picks the lower or upper tail by their masses and walks it by sequential inversion. The
// draws therefore follow the Poisson pmf up to double rounding of its values, as Rng::Poisson's
// do; the sequence of draws differs from Rng::Poisson's.
//
// Built in O(|W|) (a mean of 150,000 at c = 10: 7,747 entries, 124 KB, about 0.5 ms).
// For 10 <= mean <= kMaxTableMean (InvalidArgument otherwise, and for window_sds < 0.5 or not
// finite). Immutable and thread-safe once built; the generator is the caller's.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

class PoissonTable {
 public:
  static constexpr double kMaxTableMean = 1e9;
  static absl::StatusOr<PoissonTable> Create(double mean, double window_sds = 10.0);

  int64_t operator()(Rng& rng) const {
    if (LeavesTable(rng)) return TailDraw(rng);
    const uint64_t i = rng.UniformInt(entries_.size());
    const Entry& entry = entries_[i];
    // Branch-free (the coin is unpredictable): keep i, or take its alias.
    const uint64_t keep = 0 - static_cast<uint64_t>((rng.NextU64() >> 11) < entry.threshold);
    return lo_ + static_cast<int64_t>(entry.alias ^ ((i ^ entry.alias) & keep));
  }

  double mean() const { return mean_; }
  int64_t lo() const { return lo_; }  // the window, for tests
  int64_t hi() const { return lo_ + static_cast<int64_t>(entries_.size()) - 1; }
  double tail_mass() const { return lower_mass_ + upper_mass_; }

 private:
  PoissonTable() = default;
  // True with probability tail_mass() exactly (for its double value): a uniform U in [0, 1),
  // read 64 bits at a time, compared with the mass's base-2^64 digits; one word decides unless
  // it equals the leading digit (usually 0, so almost always after one word).
  bool LeavesTable(Rng& rng) const {
    for (uint64_t digit : tail_digits_) {
      const uint64_t u = rng.NextU64();
      if (u != digit) return u < digit;
    }
    return false;
  }
  int64_t TailDraw(Rng& rng) const;

  double mean_ = 0.0;
  double log_mean_ = 0.0;
  int64_t lo_ = 0;
  struct Entry {
    uint64_t threshold;  // keep the entry's own index when (53-bit draw) < threshold
    uint64_t alias;      // else this index
  };
  std::vector<Entry> entries_;  // one cache line read per draw
  double lower_mass_ = 0.0, upper_mass_ = 0.0;
  std::vector<uint64_t> tail_digits_;  // tail_mass() in base 2^64, most significant first
};

// The table for `mean` at the default window, built once per mean and kept (the most recent 8
// means) for the process; nullptr when the mean is outside the table's range.
std::shared_ptr<const PoissonTable> SharedPoissonTable(double mean);

}  // namespace fedsilo
