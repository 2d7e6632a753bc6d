#include "common/dp/skellam_rdp.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace fedsilo {

absl::StatusOr<std::vector<double>> SkellamRdp(double l1_sensitivity, double l2_sensitivity,
                                               double variance, std::span<const double> orders) {
  if (!std::isfinite(l1_sensitivity) || !std::isfinite(l2_sensitivity) || l1_sensitivity < 0 ||
      l2_sensitivity < 0) {
    return absl::InvalidArgumentError(absl::StrCat("Skellam RDP: sensitivities must be finite and >= 0, got L1 ",
                                                   l1_sensitivity, " and L2 ", l2_sensitivity));
  }
  if (l2_sensitivity > l1_sensitivity) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Skellam RDP: the L2 sensitivity ", l2_sensitivity, " exceeds the L1 sensitivity ",
        l1_sensitivity, ", which no integer vector allows"));
  }
  if (!std::isfinite(variance) || variance <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Skellam RDP: the noise variance must be positive and finite, got ", variance));
  }
  const double l1 = l1_sensitivity, l2sq = l2_sensitivity * l2_sensitivity, mu = variance;
  std::vector<double> rdp;
  rdp.reserve(orders.size());
  for (double order : orders) {
    if (!(order >= 1)) {
      return absl::InvalidArgumentError(absl::StrCat("Skellam RDP: order ", order, " is below 1"));
    }
    if (std::isinf(order)) {
      rdp.push_back(std::numeric_limits<double>::infinity());
      continue;
    }
    const double alpha = std::max(2.0, std::ceil(order));
    rdp.push_back(alpha * l2sq / (2 * mu) +
                  std::min(((2 * alpha - 1) * l2sq + 6 * l1) / (4 * mu * mu), 3 * l1 / (2 * mu)));
  }
  return rdp;
}

}  // namespace fedsilo
