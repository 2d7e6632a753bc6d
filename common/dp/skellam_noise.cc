#include "common/dp/skellam_noise.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/base/poisson_sampler.h"
#include "common/base/poisson_table.h"
#include "common/dp/skellam_table.h"

namespace fedsilo {

void PrepareSkellamNoise(double variance) {
  if (!SharedSkellamTable(variance)) SharedPoissonTable(variance / 2);
}

absl::Status AddSkellamNoise(std::span<int64_t> values, double variance, Rng& rng) {
  if (!std::isfinite(variance) || variance < 0 || variance / 2 > Rng::kMaxPoissonMean) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Skellam noise: the variance must be finite and in [0, ", 2 * Rng::kMaxPoissonMean,
        "], got ", variance));
  }
  // A variance used again and again (every round of a silo) has its tables: one draw from the
  // Skellam table, or (a variance too large for it) two from the Poisson table; else PTRS. Each
  // thread keeps the last tables it used (no lock on the way).
  thread_local std::shared_ptr<const SkellamTable> skellam;
  thread_local std::shared_ptr<const PoissonTable> poisson;
  thread_local double tables_for = -1.0;
  if (tables_for != variance) {
    skellam = SharedSkellamTable(variance);
    poisson = skellam ? nullptr : SharedPoissonTable(variance / 2);
    tables_for = variance;
  }
  std::optional<PoissonSampler> ptrs;  // only when no table serves (its set-up costs logarithms)
  if (!skellam && !poisson) ptrs.emplace(variance / 2);
  Rng local = rng;  // in registers through the loop, written back
  for (size_t i = 0; i < values.size(); ++i) {
    int64_t noise;
    if (skellam) {
      noise = (*skellam)(local);
    } else {
      const int64_t plus = poisson ? (*poisson)(local) : (*ptrs)(local);  // a fixed draw order
      noise = plus - (poisson ? (*poisson)(local) : (*ptrs)(local));
    }
    int64_t noisy;
    if (__builtin_add_overflow(values[i], noise, &noisy)) {
      rng = local;
      return absl::OutOfRangeError(absl::StrCat("Skellam noise: coordinate ", i, " (", values[i],
                                                ") plus its noise leaves the 64-bit range"));
    }
    values[i] = noisy;
  }
  rng = local;
  return absl::OkStatus();
}

}  // namespace fedsilo
