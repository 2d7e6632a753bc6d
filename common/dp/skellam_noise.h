// Symmetric Skellam noise on an integer vector: every coordinate gets an independent
// Sk(variance) = Poisson(variance / 2) - Poisson(variance / 2) draw (mean 0, the given variance).
// Sums of independent Sk(v_i) are exactly Sk(sum v_i), so parties that each add Sk(v / n) leave
// exactly Sk(v) on the sum; skellam_rdp.h accounts for it. The draws come from `rng` (through
// the process's Skellam table for v, skellam_table.h, when 10 <= v / 2 <= 1e6; the Poisson
// table for v / 2 up to 1e9, poisson_table.h; else PoissonSampler), so the caller decides
// whether they are secret (an OS-seeded generator) or reproducible.
//
// Errors (InvalidArgument): variance negative, not finite, or above 2 Rng::kMaxPoissonMean; a
// coordinate that would leave int64 (OutOfRange, the vector unchanged past that coordinate).
#pragma once

#include <cstdint>
#include <span>

#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

absl::Status AddSkellamNoise(std::span<int64_t> values, double variance, Rng& rng);

// Builds, once per process, the tables AddSkellamNoise will use at this variance (a silo calls it
// when it starts, so that its first round does not pay for them).
void PrepareSkellamNoise(double variance);

}  // namespace fedsilo
