#include "common/dp/skellam_noise.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/base/poisson_table.h"

namespace fedsilo {

absl::Status AddSkellamNoise(std::span<int64_t> values, double variance, Rng& rng) {
  if (!std::isfinite(variance) || variance < 0 || variance / 2 > Rng::kMaxPoissonMean) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Skellam noise: the variance must be finite and in [0, ", 2 * Rng::kMaxPoissonMean,
        "], got ", variance));
  }
  // A mean used again and again (every round of a silo) has its alias table; others PTRS. Each
  // thread keeps the last table it used (no lock on the way).
  thread_local std::shared_ptr<const PoissonTable> last;
  if (!last || last->mean() != variance / 2) last = SharedPoissonTable(variance / 2);
  const PoissonTable* table = last.get();
  const PoissonSampler ptrs(variance / 2);
  Rng local = rng;  // in registers through the loop, written back
  const auto poisson = [&](Rng& from) { return table ? (*table)(from) : ptrs(from); };
  for (size_t i = 0; i < values.size(); ++i) {
    const int64_t plus = poisson(local);  // two statements: a fixed order of draws
    const int64_t noise = plus - poisson(local);
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
