// Unbiased randomized rounding of a real vector to integers, the first step of a discrete
// mechanism over secure summation: every coordinate is rounded down or up independently, up with
// probability its fractional part, so E[out] = values.
//
// What it gives a mechanism's sensitivity: for a fixed draw (the same uniforms u_j for both
// inputs), out_j = floor(x_j + u_j), and |floor(x_j + u_j) - floor(y_j + u_j)| <= |x_j - y_j| + 1
// with equality impossible when x_j = y_j, so ||out(x) - out(y)||_2 <= ||x - y||_2 + sqrt(d).
// Rounding once, after summing, therefore adds at most sqrt(d) to the sum's sensitivity whatever
// the draw (secure_sum_plan.h); the draw is independent of the data, so the mechanism is a mixture
// over draws of mechanisms of that sensitivity, and Renyi divergence is jointly quasi-convex
// (van Erven and Harremoes 2014, Theorem 13).
//
// Errors (InvalidArgument): a scaled coordinate not finite or beyond +-2^52 (where doubles stop
// holding every integer), `out` of a different length. Randomness from `rng` (one 64-bit draw per
// coordinate).
#pragma once

#include <cstdint>
#include <span>

#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

// Rounds scale * values (scale = 1: the values themselves).
absl::Status RandomizedRound(std::span<const double> values, double scale, Rng& rng,
                             std::span<int64_t> out);

}  // namespace fedsilo
