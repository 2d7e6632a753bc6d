// Privacy of the secure-sum protocol with distributed Skellam noise (issue 15), per silo and
// record: the sensitivity of a silo's sum of rounded records (secure_sum_codec.h) and the total
// Skellam variance that keeps `count` rounds within (epsilon, delta).
//
// Sensitivity (replace-one, the relation every silo's guarantee uses): one record's rounded
// vector r becomes r', both of L2 norm at most B (the rounding bound), so the sum moves by
// r - r': L2 at most 2 B, and L1 at most ||r||_1 + ||r'||_1 <= 2 min(sqrt(d) B, B^2) (an integer
// vector has |v_j| <= v_j^2).
// Privacy of one round: the Skellam mechanism's RDP at those sensitivities and the variance the
// sum carries (skellam_rdp.h), amplified by the silo's batch drawn without replacement at rate
// q = K / n_i (subsampled_rdp.h; q = 1: no amplification); `count` rounds compose by addition
// and convert to (epsilon, delta) as the RDP accountant does (rdp_accountant.h). The variance is
// the noise that survives dropouts: a silo calibrates its share for the fewest honest silos the
// run accepts, so this is that number times each share.
//
// The amplification bound has a floor (subsampled_rdp.h): with q = 0.053 and 100 rounds at delta
// 1e-5 no variance reaches an epsilon below about 1.35 through it, and the calibration then
// returns the enormous variance at which the order-2 value alone gives epsilon 0 through the KL
// divergence. Sound, but useless there; a tighter subsampling bound for Skellam is still to find.
//
// Pure; thread-safe. Errors (InvalidArgument): a bound, dimension, rate, count, delta or epsilon
// out of range; a target no variance up to 1e18 meets (or that needs less than 1e-6).
#pragma once

#include <cstdint>
#include <span>

#include "common/base/status.h"
#include "common/dp/rdp_accountant.h"

namespace fedsilo {

struct SkellamSensitivity {
  double l1 = 0.0;
  double l2 = 0.0;
};

absl::StatusOr<SkellamSensitivity> RecordReplaceSensitivity(double record_bound, int64_t dimension);

// (epsilon, the best order) of `count` rounds at total variance `variance`.
absl::StatusOr<EpsilonAndOrder> SkellamRoundsEpsilon(double variance,
                                                     const SkellamSensitivity& sensitivity,
                                                     double sampling_rate, int64_t count,
                                                     double delta, std::span<const double> orders);

// The smallest total variance (to a relative 1e-4) whose `count` rounds stay within epsilon.
absl::StatusOr<double> CalibrateSkellamVariance(double epsilon, double delta,
                                                const SkellamSensitivity& sensitivity,
                                                double sampling_rate, int64_t count,
                                                std::span<const double> orders);

}  // namespace fedsilo
