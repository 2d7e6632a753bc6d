#include "common/dp/subsampled_rdp.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/dp/rdp.h"

namespace fedsilo {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// eps'(alpha) at an integer alpha >= 2, from eps(j) for j = 2..alpha (base[j]).
double IntegerOrderBound(double q, int alpha, const std::vector<double>& base) {
  using rdp_internal::LogAdd;
  const double log_q = std::log(q);
  int sign = 0;
  // j = 2: q^2 C(alpha, 2) min(4 (e^eps2 - 1), 2 e^eps2).
  const double eps2 = base[2];
  const double log_min2 =
      std::min(std::log(4.0) + (eps2 > 30.0 ? eps2 : std::log(std::expm1(eps2))),
               std::log(2.0) + eps2);
  double log_sum = 0.0;  // log(1)
  log_sum = LogAdd(log_sum, 2.0 * log_q +
                                rdp_internal::LogAbsBinomial(alpha, 2, &sign) + log_min2);
  for (int j = 3; j <= alpha; ++j) {
    if (std::isinf(base[j])) return kInf;
    log_sum = LogAdd(log_sum, j * log_q + rdp_internal::LogAbsBinomial(alpha, j, &sign) +
                                  std::log(2.0) + (j - 1) * base[j]);
  }
  return log_sum / (alpha - 1);
}

}  // namespace

absl::StatusOr<std::vector<double>> SampledWithoutReplacementRdp(
    double q, const std::function<absl::StatusOr<double>(int)>& base_rdp,
    std::span<const double> orders) {
  if (!(q >= 0.0 && q <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("subsampled RDP: the sampling rate must be in [0, 1], got ", q));
  }
  int largest = 2;
  for (double order : orders) {
    if (std::isinf(order) && order > 0) continue;
    if (!(order >= 1.0 && order <= kMaxSubsampledOrder)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "subsampled RDP: an order must be in [1, ", kMaxSubsampledOrder, "] or +inf, got ", order));
    }
    largest = std::max(largest, static_cast<int>(std::ceil(order)));
  }
  std::vector<double> out;
  out.reserve(orders.size());
  if (q == 0.0) {
    out.assign(orders.size(), 0.0);
    return out;
  }
  std::vector<double> base(static_cast<size_t>(largest) + 1, kInf);
  for (int j = 2; j <= largest; ++j) {
    absl::StatusOr<double> value = base_rdp(j);
    if (!value.ok()) return value.status();
    base[static_cast<size_t>(j)] = *value;
  }
  // eps'(alpha) at each integer order needed (memoized; alpha = 1 stands for 0 cumulant).
  std::vector<double> at(static_cast<size_t>(largest) + 1, std::numeric_limits<double>::quiet_NaN());
  const auto integer_bound = [&](int alpha) {
    double& value = at[static_cast<size_t>(alpha)];
    if (std::isnan(value)) value = q == 1.0 ? base[alpha] : IntegerOrderBound(q, alpha, base);
    return value;
  };
  for (double order : orders) {
    if (std::isinf(order)) {
      out.push_back(kInf);
      continue;
    }
    const double alpha = order;
    if (alpha == std::floor(alpha) && alpha >= 2.0) {
      out.push_back(integer_bound(static_cast<int>(alpha)));
      continue;
    }
    if (alpha <= 1.0) {  // order 1: the value at 2
      out.push_back(integer_bound(2));
      continue;
    }
    // Convexity of K(a) = (a - 1) eps'(a): interpolate K between floor and ceil (K(1) = 0).
    const int low = static_cast<int>(std::floor(alpha)), high = low + 1;
    const double k_low = low == 1 ? 0.0 : (low - 1) * integer_bound(low);
    const double k_high = (high - 1) * integer_bound(high);
    const double t = alpha - low;
    const double k = (1.0 - t) * k_low + t * k_high;
    out.push_back(std::isinf(k) ? kInf : k / (alpha - 1.0));
  }
  return out;
}

}  // namespace fedsilo
