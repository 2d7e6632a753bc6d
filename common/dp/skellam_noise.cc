#include "common/dp/skellam_noise.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace fedsilo {

absl::Status AddSkellamNoise(std::span<int64_t> values, double variance, Rng& rng) {
  if (!std::isfinite(variance) || variance < 0 || variance / 2 > Rng::kMaxPoissonMean) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Skellam noise: the variance must be finite and in [0, ", 2 * Rng::kMaxPoissonMean,
        "], got ", variance));
  }
  const double mean = variance / 2;
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t noise = rng.Poisson(mean) - rng.Poisson(mean);
    int64_t noisy;
    if (__builtin_add_overflow(values[i], noise, &noisy)) {
      return absl::OutOfRangeError(absl::StrCat("Skellam noise: coordinate ", i, " (", values[i],
                                                ") plus its noise leaves the 64-bit range"));
    }
    values[i] = noisy;
  }
  return absl::OkStatus();
}

}  // namespace fedsilo
