// PoissonTable: fast draws of Poisson(mean) for one mean used many times (a secure-sum silo's
// Skellam noise draws two per coordinate per round at the same mean).
//
// The pmf on a window W = [mean - c sqrt(mean), mean + c sqrt(mean)] (clipped at 0; c =
// `window_sds`) goes into an alias table (alias_table.h). The default c = 6 keeps every value of W
// well above the table's 2^-53 resolution (the edge values' share of the table is about 1e-7) and
// the table small. The mass outside W (about 2e-9 at c = 6) is not dropped: a draw first leaves the
// table with exactly that probability (ExactBernoulli), then picks the lower or upper tail by their
// masses and walks it by sequential inversion (DrawInside and DrawOutside are the two halves, for
// skellam_table.h). The draws therefore follow the Poisson pmf up to double rounding of its values,
// as Rng::Poisson's do; the sequence of draws differs from Rng::Poisson's.
//
// Built in O(|W|) (a mean of 150,000: 4,649 entries, 74 KB of table; 1.5e7: 46,477, 744 KB).
// For 10 <= mean <= kMaxTableMean (InvalidArgument otherwise, and for window_sds < 0.5 or not
// finite). Immutable and thread-safe once built; the generator is the caller's.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/base/alias_table.h"
#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

class PoissonTable {
 public:
  static constexpr double kMaxTableMean = 1e9;
  static absl::StatusOr<PoissonTable> Create(double mean, double window_sds = 6.0);
  // How many values the window of Create(mean, window_sds) holds (for a mean in range).
  static int64_t WindowSize(double mean, double window_sds = 6.0);

  int64_t operator()(Rng& rng) const {
    return leaves_window_(rng) ? DrawOutside(rng) : DrawInside(rng);
  }
  // Poisson(mean) conditioned on the window, and on leaving it.
  int64_t DrawInside(Rng& rng) const { return lo_ + static_cast<int64_t>(window_(rng)); }
  int64_t DrawOutside(Rng& rng) const;

  double mean() const { return mean_; }
  int64_t lo() const { return lo_; }  // the window
  int64_t hi() const { return lo_ + static_cast<int64_t>(window_.size()) - 1; }
  double tail_mass() const { return lower_mass_ + upper_mass_; }
  // The pmf on the window, conditioned on it (sums to 1).
  const std::vector<double>& window_pmf() const { return window_pmf_; }

 private:
  PoissonTable() = default;

  double mean_ = 0.0;
  double log_mean_ = 0.0;
  int64_t lo_ = 0;
  std::vector<double> window_pmf_;
  AliasTable window_;
  double lower_mass_ = 0.0, upper_mass_ = 0.0;
  ExactBernoulli leaves_window_;  // with probability tail_mass()
};

// The table for `mean` at the default window, built once per mean and kept (the most recent 8
// means asked for, a refusal included) for the process; nullptr when the mean is outside the
// table's range.
std::shared_ptr<const PoissonTable> SharedPoissonTable(double mean);

}  // namespace fedsilo
