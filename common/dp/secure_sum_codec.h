// The arithmetic of one round of shuffle-model secure summation with distributed Skellam noise
// (issue 15; Kairouz, Liu, Steinke 2021 and Agarwal, Kairouz, Liu 2021 for the rounding and the
// noise; Ishai, Kushilevitz, Ostrovsky, Sahai 2006 for split-and-mix):
//   * a silo scales each sampled record's clipped gradient by `scale`, rounds it to integers
//     conditionally so that its L2 norm is at most `record_bound` (conditional_rounding.h), sums
//     the rounded records, adds its share of Skellam noise, reduces the sum modulo 2^bits and
//     splits it into `shares` additive shares (EncodeSiloSum; sdp_sum_minibatch_sgd uses two, one
//     for the coordinator and one the shuffler adds up: sdp_sum_minibatch_sgd.h says why);
//   * whoever receives every share of a round (or sums of them) adds them modulo 2^bits and
//     decodes the centered residues (DecodeRoundSum), which equal the sum of the silos' rounded
//     sums and noises exactly when no coordinate left [-2^(bits-1), 2^(bits-1)).
// SumRange bounds that sum for a round: every coordinate of `records` rounded records is at most
// records * record_bound in absolute value (the triangle inequality on their L2 norms), and a
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
// finite, bits outside [1, 62], shares < 1, a wrap probability outside (0, 1), records whose
// width differs from the dimension); ResourceExhausted when a record cannot be rounded within
// the bound (its clipped norm times the scale is above the bound's premise); DataLoss when a
// decoded coordinate is outside the range. Randomness: rounding and noise from `noise_rng` (the
// silo's secret generator), shares from `share_rng`.
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

struct SecureSumParams {
  double scale = 1.0;         // real -> integer units
  double record_bound = 0.0;  // L2 bound of a record's rounded vector
  int bits = 62;              // the sum is computed modulo 2^bits
  int shares = 2;             // additive shares per silo
};

// The largest absolute value a coordinate of the decoded sum takes, except with probability
// wrap_probability over `rounds` rounds of `dimension` coordinates.
absl::StatusOr<double> SumRange(int64_t records, double record_bound, double total_variance,
                                int64_t dimension, int64_t rounds, double wrap_probability);

// The fewest bits (<= 62) whose centered range [-2^(bits-1), 2^(bits-1)) holds 4 * range.
absl::StatusOr<int> ModulusBitsFor(double range);

// One silo's contribution: the shares of (sum of its rounded records + Skellam(noise_variance)).
// `clipped_records` holds one clipped record gradient per row.
absl::StatusOr<std::vector<std::vector<uint64_t>>> EncodeSiloSum(
    const Matrix& clipped_records, const SecureSumParams& params, double noise_variance,
    Rng& noise_rng, Rng& share_rng);

// The round's noisy sum in real units (integer sum / scale), from every share of every silo, or
// DataLoss when a coordinate of the integer sum is outside [-range, range].
absl::StatusOr<Vector> DecodeRoundSum(const std::vector<std::vector<uint64_t>>& all_shares,
                                      const SecureSumParams& params, double range);

}  // namespace fedsilo
