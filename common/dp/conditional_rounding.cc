#include "common/dp/conditional_rounding.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace fedsilo {

absl::StatusOr<double> RoundingNormBound(double norm, int64_t dim, double beta) {
  if (!std::isfinite(norm) || norm < 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("rounding norm bound: the norm must be finite and >= 0, got ", norm));
  }
  if (dim < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("rounding norm bound: the dimension must be >= 1, got ", dim));
  }
  if (!(beta > 0.0 && beta < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rounding norm bound: beta must be in (0, 1), got ", beta));
  }
  const double d = static_cast<double>(dim);
  const double likely = norm * norm + d / 4.0 +
                        std::sqrt(2.0 * std::log(1.0 / beta)) * (norm + std::sqrt(d) / 2.0);
  const double always = (norm + std::sqrt(d)) * (norm + std::sqrt(d));
  return std::sqrt(std::min(likely, always));
}

absl::Status ConditionallyRound(std::span<const double> values, double norm_bound, Rng& rng,
                                std::span<int64_t> out, int max_draws) {
  if (out.size() != values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("conditional rounding: ", values.size(),
                                                   " values but room for ", out.size()));
  }
  if (!std::isfinite(norm_bound) || norm_bound < 0.0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "conditional rounding: the norm bound must be finite and >= 0, got ", norm_bound));
  }
  constexpr double kExactLimit = 4503599627370496.0;  // 2^52
  for (size_t i = 0; i < values.size(); ++i) {
    if (!(std::abs(values[i]) <= kExactLimit)) {
      return absl::InvalidArgumentError(absl::StrCat("conditional rounding: coordinate ", i, " (",
                                                     values[i], ") is not finite or beyond 2^52"));
    }
  }
  const double bound_squared = norm_bound * norm_bound;
  // The generator in registers (a local copy, written back), and each coin as an integer
  // comparison: Uniform() < f  <=>  (NextU64() >> 11) < ceil(f 2^53), exactly (f 2^53 is exact
  // for f = x - floor(x)), so the draws are those of rng.Uniform() < f, without a branch.
  Rng local = rng;
  for (int draw = 0; draw < max_draws; ++draw) {
    double squared = 0.0;
    for (size_t i = 0; i < values.size(); ++i) {
      const double low = std::floor(values[i]);
      const auto threshold = static_cast<uint64_t>(std::ceil((values[i] - low) * 0x1.0p53));
      const int64_t rounded =
          static_cast<int64_t>(low) + static_cast<int64_t>((local.NextU64() >> 11) < threshold);
      out[i] = rounded;
      squared += static_cast<double>(rounded) * static_cast<double>(rounded);
    }
    if (squared <= bound_squared) {
      rng = local;
      return absl::OkStatus();
    }
  }
  rng = local;
  return absl::ResourceExhaustedError(absl::StrCat(
      "conditional rounding: no rounding of a vector of ", values.size(),
      " coordinates met the L2 bound ", norm_bound, " in ", max_draws,
      " draws (is its norm above the bound's premise?)"));
}

}  // namespace fedsilo
