// Noise calibration: the smallest noise multiplier z whose RDP epsilon meets a target.
//
// CalibrateNoiseMultiplier finds, for a planned sequence of subsampled Gaussian steps (each group
// of steps given by its DpEventShape: sampler, q, count; all share the one z being chosen), the
// smallest z such that the RdpAccountant (common/dp/rdp_accountant.h: Mironov-Talwar-Zhang 2019
// RDP, variant E for fractional orders, Wang-Balle-Kasiviswanathan 2019 Thm 27 for sampling
// without replacement, improved conversion of Canonne-Kamath-Steinke 2020) reports
// epsilon(delta) <= target_epsilon. The method is Opacus' get_noise_multiplier made one-sided and
// tighter: bracket by doubling / halving from z = 1, then bisect until the bracket is narrower than
// relative_tolerance x z (Opacus stops at 0.01 in epsilon instead). The result is always the
// upper end of the bracket, so composing the steps with it satisfies the target.
// z follows the DpEvent conventions (common/dp/dp_event.h): Poisson (either relation)
// z = std_sum / clip, without-replacement z = std_sum / (2 clip).
// `fixed` events (optional) are composed beside the steps with their OWN noise multipliers, e.g.
// a one-off full-data Gaussian release (kNone) whose noise was chosen separately: z is then the
// smallest for which the steps AND the fixed events together meet the target. They follow the
// same relation rules as the steps (kNone mixes with either relation).
//
// Errors (InvalidArgument): target_epsilon <= 0 or not finite; delta outside (0, 1); no steps; a
// sampling rate outside (0, 1] (kNone needs exactly 1); a count below 1; kWithReplacement (no RDP
// accountant); add/remove-one and replace-one steps mixed; bad options; and a target that even
// z = max_noise_multiplier does not meet. If z = min_noise_multiplier already meets the target,
// min_noise_multiplier is returned; also a malformed fixed event, or fixed events that alone
// exceed the target. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "common/dp/dp_event.h"
#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"

namespace fedsilo {

// A group of `count` identical steps whose noise multiplier is to be chosen.
struct DpEventShape {
  Subsampling subsampling = Subsampling::kPoisson;
  double sampling_rate = 1.0;
  int64_t count = 1;
};

struct CalibrationOptions {
  std::vector<double> orders = DefaultRdpOrders();
  // Bisection stops when (hi - lo) <= relative_tolerance * hi; must be in (0, 1).
  double relative_tolerance = 1e-4;
  double min_noise_multiplier = 1e-3;
  double max_noise_multiplier = 1e4;
};

// The epsilon (and optimal order) of composing `steps` with noise multiplier z, and the fixed
// events as they are.
absl::StatusOr<EpsilonAndOrder> EpsilonForNoiseMultiplier(double noise_multiplier, double delta,
                                                          std::span<const DpEventShape> steps,
                                                          std::span<const double> orders,
                                                          std::span<const DpEvent> fixed = {});

absl::StatusOr<double> CalibrateNoiseMultiplier(double target_epsilon, double delta,
                                                std::span<const DpEventShape> steps,
                                                const CalibrationOptions& options = {},
                                                std::span<const DpEvent> fixed = {});

}  // namespace fedsilo
