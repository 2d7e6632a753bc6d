// The arithmetic of one round of shuffle-model secure summation with distributed Skellam noise
// (issue 15; Kairouz, Liu, Steinke 2021 and Agarwal, Kairouz, Liu 2021 for the rounding and the
// noise; Ishai, Kushilevitz, Ostrovsky, Sahai 2006 for split-and-mix):
//   * a silo scales the sum of its sampled records' clipped gradients by `scale`, rounds it to
//     integers once (randomized_rounding.h: one record then moves the rounded sum by at most
//     `record_bound` = scale * clip + sqrt(d) in L2), adds its share of Skellam noise and reduces
//     the sum modulo 2^bits (EncodeSiloSum). Splitting it into additive shares is the silo
//     runtime's (modular_shares.h; sdp_sum_minibatch_sgd.h says which two);
//   * whoever receives every share of a round (or sums of them) adds them modulo 2^bits and
//     decodes the centered residues (DecodeRoundSum), which equal the sum of the silos' rounded
//     sums and noises exactly when no coordinate left [-2^(bits-1), 2^(bits-1)).
// SumRange bounds that sum for a round: a coordinate of the silos' rounded sums of `records`
// records in all is at most records * record_bound in absolute value (each record adds at most
// scale * clip, and each silo's rounding at most 1 <= sqrt(d), only when it has a record), and a
// Skellam(total_variance) coordinate exceeds t in absolute value with probability at most
// 2 exp(-t^2 / (2 (total_variance + t / 3))) (Bernstein's inequality: a Poisson difference is a
// limit of sums of independent increments bounded by 1), so with a union bound over `dimension`
// coordinates and `rounds` rounds the noise stays within
//   t = L / 3 + sqrt(L^2 / 9 + 2 total_variance L),  L = ln(2 dimension rounds / wrap_probability)
// except with probability wrap_probability. ModulusBitsFor gives the fewest bits whose centered
// range holds four times that range (so that a wrapped coordinate, which lands near +-2^(bits-1),
// falls outside the range and is caught); DecodeRoundSum refuses a sum with a coordinate outside
// the range (a wrap, or a share that was forged or lost) instead of returning it. What this
// catches, exactly: a coordinate whose true value left the range but stayed below 2^bits - range
// in absolute value (at least 7 times the range, with these bits). A larger excursion can wrap
// back into the range unseen, but any excursion beyond the range at all has probability at most
// wrap_probability; a lost or forged share makes each coordinate uniform mod 2^bits, inside the
// range with probability at most 1/4.
//
// Errors: InvalidArgument for parameters out of range (scale, bound or variance negative or not
// finite, bits outside [1, 62], shares < 1, a wrap probability outside (0, 1), a scaled sum not
// finite or beyond 2^52); DataLoss when a decoded coordinate is outside the range. The codec
// does not clip: the sum's sensitivity is the caller's clipping (SecureSumOracle). Randomness:
// rounding and noise from `noise_rng` (the silo's secret generator).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

struct SecureSumParams {
  double scale = 1.0;         // real -> integer units
  double record_bound = 0.0;  // L2 bound of one record's effect on a silo's rounded sum
  int bits = 62;              // the sum is computed modulo 2^bits
  int shares = 2;             // additive shares each silo's sum is split into
};

// The largest absolute value a coordinate of the decoded sum takes, except with probability
// wrap_probability over `rounds` rounds of `dimension` coordinates.
absl::StatusOr<double> SumRange(int64_t records, double record_bound, double total_variance,
                                int64_t dimension, int64_t rounds, double wrap_probability);

// The fewest bits (<= 62) whose centered range [-2^(bits-1), 2^(bits-1)) holds 4 * range.
absl::StatusOr<int> ModulusBitsFor(double range);

// One silo's contribution before it is split: (its rounded scaled sum + Skellam(noise_variance))
// modulo 2^bits. `clipped_sum` is the sum of its batch's clipped record gradients, real units.
absl::StatusOr<std::vector<uint64_t>> EncodeSiloSum(const Vector& clipped_sum,
                                                    const SecureSumParams& params,
                                                    double noise_variance, Rng& noise_rng);

// The round's noisy sum in real units (integer sum / scale), from every share of every silo, or
// DataLoss when a coordinate of the integer sum is outside [-range, range].
absl::StatusOr<Vector> DecodeRoundSum(std::span<const std::span<const uint64_t>> all_shares,
                                      const SecureSumParams& params, double range);
// The same, for shares held as vectors.
absl::StatusOr<Vector> DecodeRoundSum(const std::vector<std::vector<uint64_t>>& all_shares,
                                      const SecureSumParams& params, double range);

}  // namespace fedsilo
