#include "common/dp/calibration.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"

namespace fedsilo {
namespace {

absl::Status ValidateSteps(std::span<const DpEventShape> steps) {
  if (steps.empty()) return absl::InvalidArgumentError("calibration needs at least one step group");
  std::optional<Neighbours> relation;
  for (const DpEventShape& s : steps) {
    if (!(s.sampling_rate > 0.0 && s.sampling_rate <= 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("sampling rate must be in (0, 1], got ", s.sampling_rate));
    }
    if (s.count < 1) {
      return absl::InvalidArgumentError(absl::StrCat("step count must be >= 1, got ", s.count));
    }
    switch (s.subsampling) {
      case Subsampling::kNone:
        if (s.sampling_rate != 1.0) {
          return absl::InvalidArgumentError("steps without subsampling need sampling rate 1");
        }
        break;
      case Subsampling::kWithReplacement:
        return absl::InvalidArgumentError(
            "sampling with replacement has no standard RDP accountant; use Poisson or "
            "without-replacement sampling");
      case Subsampling::kPoisson:
      case Subsampling::kWithoutReplacement:
      case Subsampling::kPoissonReplaceOne:
        if (relation.has_value() && *relation != NeighboursOf(s.subsampling)) {
          return absl::InvalidArgumentError(
              "add/remove-one (Poisson) and replace-one (without-replacement or Poisson with the "
              "dataset size public) steps cannot be calibrated together");
        }
        relation = NeighboursOf(s.subsampling);
        break;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EpsilonAndOrder> EpsilonForNoiseMultiplier(double noise_multiplier, double delta,
                                                          std::span<const DpEventShape> steps,
                                                          std::span<const double> orders,
                                                          std::span<const DpEvent> fixed) {
  FEDSILO_ASSIGN_OR_RETURN(RdpAccountant accountant, RdpAccountant::Create(std::vector<double>(
                                                         orders.begin(), orders.end())));
  FEDSILO_RETURN_IF_ERROR(accountant.Compose(fixed));
  for (const DpEventShape& s : steps) {
    FEDSILO_RETURN_IF_ERROR(
        accountant.Compose(DpEvent{s.subsampling, s.sampling_rate, noise_multiplier, s.count}));
  }
  return accountant.GetEpsilon(delta);
}

absl::StatusOr<double> CalibrateNoiseMultiplier(double target_epsilon, double delta,
                                                std::span<const DpEventShape> steps,
                                                const CalibrationOptions& options,
                                                std::span<const DpEvent> fixed) {
  if (!(target_epsilon > 0.0 && std::isfinite(target_epsilon))) {
    return absl::InvalidArgumentError(
        absl::StrCat("target epsilon must be positive and finite, got ", target_epsilon));
  }
  if (!(delta > 0.0 && delta < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("delta must be in (0, 1), got ", delta));
  }
  FEDSILO_RETURN_IF_ERROR(ValidateSteps(steps));
  const double z_min = options.min_noise_multiplier;
  const double z_max = options.max_noise_multiplier;
  if (!(options.relative_tolerance > 0.0 && options.relative_tolerance < 1.0)) {
    return absl::InvalidArgumentError("relative_tolerance must be in (0, 1)");
  }
  if (!(z_min > 0.0 && z_min < z_max && std::isfinite(z_max))) {
    return absl::InvalidArgumentError("need 0 < min_noise_multiplier < max_noise_multiplier < inf");
  }
  if (options.orders.empty()) return absl::InvalidArgumentError("no RDP orders");
  if (!fixed.empty()) {
    // The fixed events alone must leave room for the steps.
    FEDSILO_ASSIGN_OR_RETURN(RdpAccountant alone, RdpAccountant::Create(options.orders));
    FEDSILO_RETURN_IF_ERROR(alone.Compose(fixed));
    FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder e, alone.GetEpsilon(delta));
    if (!(e.epsilon < target_epsilon)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the fixed events alone cost epsilon ", e.epsilon, " at delta ", delta,
                       ", leaving nothing of the target ", target_epsilon));
    }
  }

  // true iff composing the steps with z meets the target.
  auto meets = [&](double z) -> absl::StatusOr<bool> {
    FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder e,
                             EpsilonForNoiseMultiplier(z, delta, steps, options.orders, fixed));
    return e.epsilon <= target_epsilon;
  };

  // A finite noise multiplier over at least one step always has a positive epsilon; a zero would
  // be a rounding failure of the accountant, and returning it would claim perfect privacy.
  auto certified = [&](double z) -> absl::StatusOr<double> {
    FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder e,
                             EpsilonForNoiseMultiplier(z, delta, steps, options.orders, fixed));
    if (!(e.epsilon > 0.0)) {
      return absl::InternalError(absl::StrCat("calibration found noise multiplier ", z,
                                              " with certified epsilon ", e.epsilon,
                                              "; refusing to report zero privacy loss"));
    }
    return z;
  };

  // Bracket [lo, hi]: lo fails the target, hi meets it. Epsilon falls as z grows.
  double hi = std::clamp(1.0, z_min, z_max);
  double lo = 0.0;
  FEDSILO_ASSIGN_OR_RETURN(bool ok, meets(hi));
  if (ok) {
    while (true) {
      if (hi == z_min) return certified(z_min);
      lo = std::max(hi / 2.0, z_min);
      FEDSILO_ASSIGN_OR_RETURN(ok, meets(lo));
      if (!ok) break;
      hi = lo;
    }
  } else {
    while (true) {
      if (hi == z_max) {
        return absl::InvalidArgumentError(
            absl::StrCat("target epsilon ", target_epsilon, " at delta ", delta,
                         " is unreachable with noise multipliers up to ", z_max));
      }
      lo = hi;
      hi = std::min(hi * 2.0, z_max);
      FEDSILO_ASSIGN_OR_RETURN(ok, meets(hi));
      if (ok) break;
    }
  }
  // Bisection keeps the invariant; the answer is the side that meets the target.
  while (hi - lo > options.relative_tolerance * hi) {
    const double mid = 0.5 * (lo + hi);
    FEDSILO_ASSIGN_OR_RETURN(ok, meets(mid));
    if (ok) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return certified(hi);
}

}  // namespace fedsilo
