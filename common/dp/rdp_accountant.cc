#include "common/dp/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace fedsilo {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Below this order the improved conversion is numerically unstable (and useless): dp_accounting.
constexpr double kMinConversionOrder = 1.01;

absl::Status ValidateConversionInputs(std::span<const double> orders, std::span<const double> rdp) {
  if (orders.size() != rdp.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("orders and rdp differ in size: ", orders.size(), " vs ", rdp.size()));
  }
  if (orders.empty()) return absl::InvalidArgumentError("no RDP orders");
  for (double a : orders) {
    if (!(a >= 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat("RDP orders must be >= 1, got ", a));
    }
  }
  return absl::OkStatus();
}

// NaN or negative RDP (never produced by rdp.h) is treated as +inf: such an order certifies nothing.
double SanitizedRdp(double r) { return (std::isnan(r) || r < 0.0) ? kInf : r; }

}  // namespace

absl::StatusOr<EpsilonConverter> EpsilonConverter::Create(std::span<const double> orders,
                                                          double delta) {
  FEDSILO_RETURN_IF_ERROR(ValidateConversionInputs(orders, orders));
  if (!(delta >= 0.0 && delta <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("delta must be in [0, 1], got ", delta));
  }
  EpsilonConverter converter;
  converter.orders_.assign(orders.begin(), orders.end());
  converter.delta_ = delta;
  // delta^2 + expm1(-r) > 0 holds only for r < -log1p(-delta^2); at twice that (and above) it
  // fails by about delta^2, far beyond expm1's rounding, so the exact test runs only below.
  converter.kl_reach_ = delta >= 1.0 ? kInf : -2.0 * std::log1p(-delta * delta);
  for (double a : orders) {
    // eps = r + log_ratio - log_term: the formula; r itself (both 0) for alpha = inf, its limit;
    // +inf for alpha <= 1.01, where it is not used.
    const bool used = a > kMinConversionOrder && !std::isinf(a) && delta > 0.0;
    converter.log_ratio_.push_back(used ? std::log1p(-1.0 / a)
                                        : (a > kMinConversionOrder ? 0.0 : kInf));
    converter.log_term_.push_back(used ? std::log(delta * a) / (a - 1.0) : 0.0);
  }
  return converter;
}

absl::StatusOr<EpsilonAndOrder> EpsilonConverter::Epsilon(std::span<const double> rdp,
                                                          double scale) const {
  if (rdp.size() != orders_.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("orders and rdp differ in size: ", orders_.size(), " vs ", rdp.size()));
  }
  if (delta_ == 0.0) {
    const bool all_zero =
        std::all_of(rdp.begin(), rdp.end(), [&](double r) { return r * scale == 0.0; });
    return EpsilonAndOrder{all_zero ? 0.0 : kInf, 0.0};
  }
  // An order the formula does not serve (alpha <= 1.01) has log_ratio_ = +inf.
  double best = kInf;
  size_t best_index = 0;
  for (size_t k = 0; k < orders_.size(); ++k) {
    const double r = SanitizedRdp(rdp[k] * scale);
    double eps = r + log_ratio_[k] - log_term_[k];
    if (r < kl_reach_ && delta_ * delta_ + std::expm1(-r) > 0.0) {
      eps = 0.0;  // KL bound: delta <= sqrt(1 - exp(-KL)) already holds with eps = 0
    }
    if (eps < best) {
      best = eps;
      best_index = k;
    }
  }
  return EpsilonAndOrder{std::max(0.0, best), orders_[best_index]};
}

absl::StatusOr<EpsilonAndOrder> EpsilonFromRdp(std::span<const double> orders,
                                               std::span<const double> rdp, double delta) {
  FEDSILO_RETURN_IF_ERROR(ValidateConversionInputs(orders, rdp));
  FEDSILO_ASSIGN_OR_RETURN(const EpsilonConverter converter,
                           EpsilonConverter::Create(orders, delta));
  return converter.Epsilon(rdp);
}

absl::StatusOr<DeltaAndOrder> DeltaFromRdp(std::span<const double> orders,
                                           std::span<const double> rdp, double epsilon) {
  FEDSILO_RETURN_IF_ERROR(ValidateConversionInputs(orders, rdp));
  if (!(epsilon >= 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat("epsilon must be >= 0, got ", epsilon));
  }
  double best = kInf;
  size_t best_index = 0;
  for (size_t k = 0; k < orders.size(); ++k) {
    const double a = orders[k];
    const double r = SanitizedRdp(rdp[k]);
    // KL bound delta <= sqrt(1 - exp(-r)), valid at every order since RDP grows with the order.
    double log_delta = (r <= 0.0) ? -kInf : 0.5 * std::log1p(-std::exp(-r));
    if (a > kMinConversionOrder) {
      double bound;
      if (std::isinf(a)) {
        bound = (r < epsilon) ? -kInf : kInf;
      } else {
        bound = (a - 1.0) * (r - epsilon + std::log1p(-1.0 / a)) - std::log(a);
      }
      if (!std::isnan(bound)) log_delta = std::min(log_delta, bound);
    }
    if (k == 0 || log_delta < best) {
      best = log_delta;
      best_index = k;
    }
  }
  return DeltaAndOrder{std::min(std::exp(best), 1.0), orders[best_index]};
}

RdpAccountant::RdpAccountant() : RdpAccountant(DefaultRdpOrders()) {}

RdpAccountant::RdpAccountant(std::vector<double> orders)
    : orders_(std::move(orders)), rdp_(orders_.size(), 0.0) {}

absl::StatusOr<RdpAccountant> RdpAccountant::Create(std::vector<double> orders) {
  if (orders.empty()) return absl::InvalidArgumentError("RdpAccountant needs at least one order");
  // Validate the orders the same way the curve functions will (q = 0: no numerical work).
  FEDSILO_RETURN_IF_ERROR(GaussianRdp(1.0, orders).status());
  return RdpAccountant(std::move(orders));
}

absl::Status RdpAccountant::CheckRelation(const DpEvent& event,
                                          std::optional<Neighbours> seen) const {
  const std::optional<Neighbours> relation = NeighboursOf(event.subsampling);
  if (relation.has_value() && seen.has_value() && *seen != *relation) {
    return absl::FailedPreconditionError(
        "cannot compose add/remove-one (Poisson) and replace-one (without-replacement or Poisson "
        "with the dataset size public) events in one RDP accountant: their neighbouring "
        "relations differ");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> RdpAccountant::Curve(const DpEvent& event) {
  const CurveKey key{event.subsampling, event.sampling_rate, event.noise_multiplier};
  for (const auto& [cached_key, curve] : cache_) {
    if (cached_key == key) return curve;
  }
  FEDSILO_ASSIGN_OR_RETURN(std::vector<double> curve, ComputeRdp(event, orders_));
  if (cache_.size() < kMaxCachedCurves) {
    cache_.emplace_back(key, curve);
  } else {
    cache_[cache_next_] = {key, curve};
    cache_next_ = (cache_next_ + 1) % kMaxCachedCurves;
  }
  return curve;
}

absl::Status RdpAccountant::Compose(const DpEvent& event) {
  return Compose(std::span<const DpEvent>(&event, 1));
}

absl::Status RdpAccountant::Compose(std::span<const DpEvent> events) {
  // Validate everything (and compute the curves) before touching the state.
  std::optional<Neighbours> seen = relation_;
  std::vector<std::vector<double>> curves;
  curves.reserve(events.size());
  for (const DpEvent& event : events) {
    FEDSILO_ASSIGN_OR_RETURN(std::vector<double> curve, Curve(event));
    curves.push_back(std::move(curve));
    if (event.count == 0) continue;  // validated, composes nothing
    FEDSILO_RETURN_IF_ERROR(CheckRelation(event, seen));
    if (const std::optional<Neighbours> relation = NeighboursOf(event.subsampling)) {
      seen = relation;
    }
  }
  for (size_t e = 0; e < events.size(); ++e) {
    const int64_t count = events[e].count;
    if (count == 0) continue;
    const double c = static_cast<double>(count);
    for (size_t k = 0; k < rdp_.size(); ++k) rdp_[k] += c * curves[e][k];
  }
  relation_ = seen;
  return absl::OkStatus();
}

absl::StatusOr<EpsilonAndOrder> RdpAccountant::GetEpsilon(double delta) const {
  return EpsilonFromRdp(orders_, rdp_, delta);
}

absl::StatusOr<DeltaAndOrder> RdpAccountant::GetDelta(double epsilon) const {
  return DeltaFromRdp(orders_, rdp_, epsilon);
}

}  // namespace fedsilo
