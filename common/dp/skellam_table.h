// SkellamTable: fast draws of Sk(variance) = X1 - X2, X1 and X2 independent Poisson(variance / 2),
// with one table read per draw (a secure-sum silo draws one per coordinate per round, always at
// the same variance).
//
// Exact as a mixture. Let W be the window of the PoissonTable for variance / 2 and t its outside
// mass. With probability (1 - t)^2 both Poissons fall in W, and the draw is then Y1 - Y2 for Y1,
// Y2 independent from the Poisson pmf conditioned on W: that law (the window pmf correlated with
// itself, on -(|W| - 1) .. |W| - 1, every term summed directly) is one alias table
// (alias_table.h). Otherwise (probability t (2 - t), an ExactBernoulli trial) one of (inside,
// outside), (outside, inside), (outside, outside) is chosen with probabilities proportional to
// (1 - t) t, t (1 - t), t^2, and each Poisson is drawn from its conditional law
// (PoissonTable::DrawInside, DrawOutside). So the draws follow the Skellam pmf up to the double
// rounding of the Poisson pmf and of the table's probabilities.
//
// Built in O(|W|^2) multiply-adds (a variance of 300,000 has |W| = 4,649: 11 million, about
// 6 ms); for variance / 2 in PoissonTable's range and |W| <= kMaxWindow (InvalidArgument
// otherwise). Immutable and thread-safe once built; the generator is the caller's.
#pragma once

#include <cstdint>
#include <memory>

#include "common/base/alias_table.h"
#include "common/base/poisson_table.h"
#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

class SkellamTable {
 public:
  static constexpr int64_t kMaxWindow = 20000;
  static absl::StatusOr<SkellamTable> Create(double variance, double window_sds = 6.0);

  int64_t operator()(Rng& rng) const {
    return leaves_(rng) ? Outside(rng) : lo_ + static_cast<int64_t>(inside_(rng));
  }
  double variance() const { return 2.0 * poisson_.mean(); }

 private:
  explicit SkellamTable(PoissonTable poisson) : poisson_(std::move(poisson)) {}
  int64_t Outside(Rng& rng) const;

  PoissonTable poisson_;
  AliasTable inside_;      // Y1 - Y2 - lo_, both in the window
  int64_t lo_ = 0;         // -(|W| - 1)
  ExactBernoulli leaves_;  // not both in the window: t (2 - t)
};

// The table for `variance` at the default window, built once per variance and kept (the most
// recent 8 variances asked for, a refusal included) for the process; nullptr when the variance
// is outside the table's range.
std::shared_ptr<const SkellamTable> SharedSkellamTable(double variance);

}  // namespace fedsilo
