#include "common/dp/randomized_rounding.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace fedsilo {

absl::Status RandomizedRound(std::span<const double> values, double scale, Rng& rng,
                             std::span<int64_t> out) {
  if (out.size() != values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("randomized rounding: ", values.size(),
                                                   " values but room for ", out.size()));
  }
  constexpr double kExactLimit = 4503599627370496.0;  // 2^52
  for (size_t i = 0; i < values.size(); ++i) {
    if (!(std::abs(scale * values[i]) <= kExactLimit)) {
      return absl::InvalidArgumentError(
          absl::StrCat("randomized rounding: coordinate ", i, " (", values[i], " times ", scale,
                       ") is not finite or beyond 2^52"));
    }
  }
  // Each coin as an integer comparison: Uniform() < f  <=>  (NextU64() >> 11) < ceil(f 2^53),
  // exactly (f 2^53 is exact for f = x - floor(x)), with the generator in registers.
  Rng local = rng;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = scale * values[i];
    const double low = std::floor(x);
    const auto threshold = static_cast<uint64_t>(std::ceil((x - low) * 0x1.0p53));
    out[i] = static_cast<int64_t>(low) + static_cast<int64_t>((local.NextU64() >> 11) < threshold);
  }
  rng = local;
  return absl::OkStatus();
}

}  // namespace fedsilo
