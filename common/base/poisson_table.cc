#include "common/base/poisson_table.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/poisson_sampler.h"
#include "common/base/shared_by_key.h"

namespace fedsilo {
namespace {

// The window's first and last values: mean -+ window_sds standard deviations, clipped at 0.
std::pair<int64_t, int64_t> Window(double mean, double window_sds) {
  const double half = window_sds * std::sqrt(mean);
  return {static_cast<int64_t>(std::max(0.0, std::floor(mean - half))),
          static_cast<int64_t>(std::ceil(mean + half))};
}

}  // namespace

absl::StatusOr<PoissonTable> PoissonTable::Create(double mean, double window_sds) {
  if (!(mean >= 10.0 && mean <= kMaxTableMean)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Poisson table: the mean must be in [10, ", kMaxTableMean, "], got ", mean));
  }
  if (!(window_sds >= 0.5) || !std::isfinite(window_sds)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Poisson table: the window must be >= 0.5 standard deviations, got ",
                     window_sds));
  }
  PoissonTable table;
  table.mean_ = mean;
  table.log_mean_ = std::log(mean);
  int64_t hi = 0;
  std::tie(table.lo_, hi) = Window(mean, window_sds);
  const auto pmf = [&](int64_t k) {
    return std::exp(LogPoissonPmf(static_cast<double>(k), mean, table.log_mean_));
  };
  const size_t n = static_cast<size_t>(hi - table.lo_ + 1);
  std::vector<double> p(n);
  double inside = 0.0;
  for (size_t i = 0; i < n; ++i) inside += p[i] = pmf(table.lo_ + static_cast<int64_t>(i));
  // The tails, outward until their terms stop counting (they fall faster than geometrically).
  for (int64_t k = table.lo_ - 1; k >= 0; --k) {
    const double term = pmf(k);
    table.lower_mass_ += term;
    if (term < table.lower_mass_ * 1e-18 || term == 0.0) break;
  }
  for (int64_t k = hi + 1;; ++k) {
    const double term = pmf(k);
    table.upper_mass_ += term;
    if (term < table.upper_mass_ * 1e-18 || term == 0.0) break;
  }
  table.leaves_window_ = ExactBernoulli(table.lower_mass_ + table.upper_mass_);
  table.window_ = AliasTable(p);
  for (double& v : p) v /= inside;
  table.window_pmf_ = std::move(p);
  return table;
}

int64_t PoissonTable::WindowSize(double mean, double window_sds) {
  const auto [lo, hi] = Window(mean, window_sds);
  return hi - lo + 1;
}

int64_t PoissonTable::DrawOutside(Rng& rng) const {
  const double total = lower_mass_ + upper_mass_;
  const bool lower = rng.Uniform() * total < lower_mass_;
  // Sequential inversion from the window's edge outward.
  const double target = rng.Uniform() * (lower ? lower_mass_ : upper_mass_);
  double sum = 0.0;
  const int64_t step = lower ? -1 : 1;
  int64_t k = lower ? lo_ - 1 : hi() + 1;
  while (true) {
    const double term = std::exp(LogPoissonPmf(static_cast<double>(k), mean_, log_mean_));
    sum += term;
    if (sum > target || term == 0.0 || (lower && k == 0)) return k;
    k += step;
  }
}

std::shared_ptr<const PoissonTable> SharedPoissonTable(double mean) {
  return SharedByKey<PoissonTable>(mean, [](double k) { return PoissonTable::Create(k); });
}

}  // namespace fedsilo
