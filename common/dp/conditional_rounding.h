// Conditional randomized rounding of a real vector to integers, the first step of a discrete
// mechanism over secure summation (Kairouz, Liu, Steinke 2021, "The Distributed Discrete Gaussian
// Mechanism for Federated Learning with Secure Aggregation", ICML, section 4.1; the Skellam
// mechanism of Agarwal, Kairouz, Liu 2021 rounds the same way):
//   * every coordinate is rounded down or up at random, up with probability its fractional part,
//     so the rounding is unbiased;
//   * the whole vector is drawn again until its L2 norm is at most `norm_bound`, so the rounded
//     vector's norm is bounded for certain, which is what the mechanism's sensitivity needs.
// RoundingNormBound gives the bound that a vector of L2 norm at most c in d dimensions meets with
// probability at least 1 - beta on each draw (ibid.):
//   B^2 = min( c^2 + d / 4 + sqrt(2 ln(1 / beta)) (c + sqrt(d) / 2),  (c + sqrt(d))^2 ).
// The second term holds for every draw: with it no draw is ever refused.
//
// Errors (InvalidArgument): c negative or not finite, d < 1, beta outside (0, 1), a coordinate not
// finite or beyond +-2^52 (where doubles stop holding every integer), a negative or non-finite
// bound, out of a different length. ResourceExhausted: no draw met the bound in max_draws (the
// vector is longer than the bound allows), `out` then unspecified. Randomness from `rng`.
#pragma once

#include <cstdint>
#include <span>

#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

absl::StatusOr<double> RoundingNormBound(double norm, int64_t dim, double beta);

absl::Status ConditionallyRound(std::span<const double> values, double norm_bound, Rng& rng,
                                std::span<int64_t> out, int max_draws = 1000);

}  // namespace fedsilo
