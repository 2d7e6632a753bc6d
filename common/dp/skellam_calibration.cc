#include "common/dp/skellam_calibration.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/dp/poisson_subsampled_rdp.h"
#include "common/dp/skellam_rdp.h"
#include "common/dp/subsampled_rdp.h"

namespace fedsilo {

absl::StatusOr<SkellamSensitivity> RecordSensitivity(double record_bound, int64_t dimension) {
  if (!(record_bound >= 0.0) || !std::isfinite(record_bound) || dimension < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Skellam sensitivity: the bound must be finite and >= 0 and the dimension >= 1, got ",
        record_bound, " and ", dimension));
  }
  const double b = record_bound;
  return SkellamSensitivity{std::min(std::sqrt(static_cast<double>(dimension)) * b, b * b), b};
}

namespace {

// The Skellam curve at one integer order, at `times` the record's sensitivities.
IntegerOrderRdp SkellamAt(const SkellamSensitivity& record, double times, double variance) {
  return [=](int order) -> absl::StatusOr<double> {
    const double alpha = order;
    FEDSILO_ASSIGN_OR_RETURN(std::vector<double> curve,
                             SkellamRdp(times * record.l1, times * record.l2, variance,
                                        std::span<const double>(&alpha, 1)));
    return curve[0];
  };
}

}  // namespace

absl::StatusOr<std::vector<double>> SkellamRoundRdp(double variance, const SkellamSensitivity& record,
                                                    const SkellamSampling& sampling,
                                                    std::span<const double> orders) {
  switch (sampling.kind) {
    case Subsampling::kNone:
      return SkellamRdp(2.0 * record.l1, 2.0 * record.l2, variance, orders);
    case Subsampling::kPoissonReplaceOne:
      return PoissonSubsampledSymmetricReplaceOneRdp(sampling.rate, SkellamAt(record, 1.0, variance),
                                                     SkellamAt(record, 2.0, variance), orders);
    case Subsampling::kWithoutReplacement:
      return SampledWithoutReplacementRdp(sampling.rate, SkellamAt(record, 2.0, variance), orders);
    default:
      return absl::InvalidArgumentError(
          "Skellam rounds: the sampling must be Poisson (replace-one), without replacement or none");
  }
}

absl::StatusOr<EpsilonAndOrder> SkellamRoundsEpsilon(double variance,
                                                     const SkellamSensitivity& record,
                                                     const SkellamSampling& sampling, int64_t count,
                                                     double delta, std::span<const double> orders,
                                                     std::span<const double> fixed) {
  if (count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Skellam rounds: the count must be >= 0, got ", count));
  }
  if (!fixed.empty() && fixed.size() != orders.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Skellam rounds: ", fixed.size(),
                                                   " fixed RDP values for ", orders.size(),
                                                   " orders"));
  }
  FEDSILO_ASSIGN_OR_RETURN(std::vector<double> rdp,
                           SkellamRoundRdp(variance, record, sampling, orders));
  for (size_t i = 0; i < rdp.size(); ++i) {
    rdp[i] *= static_cast<double>(count);
    if (!fixed.empty()) rdp[i] += fixed[i];
  }
  return EpsilonFromRdp(orders, rdp, delta);
}

absl::StatusOr<double> CalibrateSkellamVariance(double epsilon, double delta,
                                                const SkellamSensitivity& record,
                                                const SkellamSampling& sampling, int64_t count,
                                                std::span<const double> orders,
                                                std::span<const double> fixed) {
  if (!(epsilon > 0.0) || !std::isfinite(epsilon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Skellam calibration: epsilon must be finite and > 0, got ", epsilon));
  }
  const auto fits = [&](double variance) -> absl::StatusOr<bool> {
    FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder spent,
                             SkellamRoundsEpsilon(variance, record, sampling, count, delta, orders,
                                                  fixed));
    return spent.epsilon <= epsilon;
  };
  constexpr double kLowest = 1e-6, kHighest = 1e18;
  FEDSILO_ASSIGN_OR_RETURN(bool enough, fits(kHighest));
  if (!enough) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Skellam calibration: no variance up to ", kHighest, " keeps ", count,
        " rounds within epsilon ", epsilon, " at delta ", delta));
  }
  FEDSILO_ASSIGN_OR_RETURN(bool too_much, fits(kLowest));
  if (too_much) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Skellam calibration: even variance ", kLowest, " stays within epsilon ", epsilon,
        " (is the sensitivity zero?)"));
  }
  double lo = kLowest, hi = kHighest;  // lo does not fit, hi does
  while (hi - lo > 1e-4 * hi) {
    // Geometric steps across the orders of magnitude, then halving.
    const double mid = hi / lo > 4.0 ? std::sqrt(lo * hi) : 0.5 * (lo + hi);
    FEDSILO_ASSIGN_OR_RETURN(bool ok, fits(mid));
    (ok ? hi : lo) = mid;
  }
  return hi;
}

}  // namespace fedsilo
