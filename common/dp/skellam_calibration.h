// Privacy of the secure-sum protocol with distributed Skellam noise (issue 15), per silo and
// record: the sensitivity of a silo's rounded sum (secure_sum_codec.h) and the total Skellam
// variance that keeps `count` rounds within (epsilon, delta).
//
// Sensitivity of one record (RecordSensitivity): adding or removing it moves the silo's rounded
// sum by an integer vector v of L2 norm at most B (the plan's record bound, for every rounding
// draw) and so of L1 norm at most min(sqrt(d) B, B^2) (an integer vector has |v_j| <= v_j^2):
// the add/remove sensitivities. Replace-one (the relation every silo's guarantee uses) is a
// removal and an addition: twice both.
// Privacy of one round: the Skellam mechanism's RDP at those sensitivities and the variance the
// sum carries (skellam_rdp.h), amplified by the silo's sampling at rate q:
//   kPoissonReplaceOne   Poisson sampling, replace-one with n_i public: the floor-free bound for
//                        symmetric mechanisms (poisson_subsampled_rdp.h; Skellam noise is
//                        symmetric with full support), orders up to 1024;
//   kWithoutReplacement  a fixed-size batch, replace-one: the general bound of
//                        subsampled_rdp.h, which keeps a floor (with q = 0.053 and 100 rounds at
//                        delta 1e-5 no variance reaches an epsilon below about 1.35 through it;
//                        the calibration then returns the enormous variance at which the
//                        order-2 value alone gives epsilon 0 through the KL divergence);
//   kNone                every record in every round (q is ignored): the replace-one curve.
// `count` rounds compose by addition and convert to (epsilon, delta) as the RDP accountant does
// (rdp_accountant.h); `fixed`, when given, is RDP spent besides the rounds (per order, e.g. a
// silo's one Gaussian count release) and is added to theirs. The variance is the noise that
// survives dropouts: a silo calibrates its share for the fewest honest silos the run accepts, so
// this is that number times each share.
//
// Pure; thread-safe. Errors (InvalidArgument): a bound, dimension, rate, count, delta or epsilon
// out of range; another sampling kind; a target no variance up to 1e18 meets (or that needs
// less than 1e-6).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "common/dp/dp_event.h"
#include "common/dp/rdp_accountant.h"

namespace fedsilo {

// L1 and L2 sensitivities in integer units.
struct SkellamSensitivity {
  double l1 = 0.0;
  double l2 = 0.0;
};

// One record's (add/remove) sensitivities.
absl::StatusOr<SkellamSensitivity> RecordSensitivity(double record_bound, int64_t dimension);

// How a silo samples its records each round.
struct SkellamSampling {
  Subsampling kind = Subsampling::kPoissonReplaceOne;  // or kWithoutReplacement, kNone
  double rate = 1.0;
};

// The RDP of one round at total variance `variance`, per order; `record` is one record's
// sensitivity (RecordSensitivity).
absl::StatusOr<std::vector<double>> SkellamRoundRdp(double variance, const SkellamSensitivity& record,
                                                    const SkellamSampling& sampling,
                                                    std::span<const double> orders);

// (epsilon, the best order) of `count` rounds at total variance `variance`, with `fixed` (empty,
// or one value per order).
absl::StatusOr<EpsilonAndOrder> SkellamRoundsEpsilon(double variance,
                                                     const SkellamSensitivity& record,
                                                     const SkellamSampling& sampling, int64_t count,
                                                     double delta, std::span<const double> orders,
                                                     std::span<const double> fixed = {});

// The smallest total variance (to a relative 1e-4) whose `count` rounds, with `fixed`, stay within
// epsilon.
absl::StatusOr<double> CalibrateSkellamVariance(double epsilon, double delta,
                                                const SkellamSensitivity& record,
                                                const SkellamSampling& sampling, int64_t count,
                                                std::span<const double> orders,
                                                std::span<const double> fixed = {});

}  // namespace fedsilo
