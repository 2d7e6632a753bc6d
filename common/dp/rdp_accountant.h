// RdpAccountant: bounds the privacy loss of a sequence of DpEvents with Renyi DP.
//
// Composition (Mironov 2017, "Renyi Differential Privacy", Prop. 1): RDP curves add, order by
// order. Compose(event) computes the event's per-step curve ONCE (common/dp/rdp.h: Mironov, Talwar,
// Zhang 2019 for Poisson sampling, signed series "variant E" for fractional orders, and from it
// Mironov 2017 Prop. 11 for Poisson sampling with replace-one neighbours; Wang, Balle,
// Kasiviswanathan 2019 Thm 27 for sampling without replacement) and adds count x curve; it never
// loops over steps. Curves of recently seen distinct events are cached, so replaying a ledger
// whose entries repeat costs one curve per distinct (subsampling, q, z).
//
// Conversion to (epsilon, delta) (EpsilonFromRdp / DeltaFromRdp, as dp_accounting's
// compute_epsilon / compute_delta): the improved bound of Canonne, Kamath, Steinke 2020
// (arXiv:2004.00010, Prop. 12) = Balle et al. 2020 (arXiv:1905.09982, Thm 21):
//   eps   = min_alpha RDP(alpha) + log((alpha-1)/alpha) - (log(delta) + log(alpha))/(alpha-1)
//   delta = min_alpha exp((alpha-1)(RDP(alpha) - eps + log(1 - 1/alpha)) - log(alpha)),
// used only for alpha > 1.01 (unstable as alpha -> 1), with dp_accounting's edge cases: an order
// whose RDP r satisfies delta^2 > 1 - e^-r gives eps 0 (the KL bound delta <= sqrt(1 - e^-KL)),
// delta is also bounded by sqrt(1 - e^-r) at every order, an order with negative RDP (which no
// curve of rdp.h produces: dp_accounting counts it as 0) is skipped rather than read as zero loss,
// delta = 0 gives eps 0 if all RDP are 0 and +inf otherwise (optimal order reported as 0).
// Ties keep the first order in the list. An empty accountant gives epsilon 0 and delta 0.
//
// Neighbouring relations (NeighboursOf, common/dp/dp_event.h): kPoisson events are add/remove-one;
// kWithoutReplacement and kPoissonReplaceOne events are replace-one and compose with each other;
// an accountant refuses (FailedPrecondition) to mix the two relations, since the sum of their
// curves bounds neither. kNone events mix with either. kWithReplacement events are refused
// (InvalidArgument): no standard RDP accountant covers them.
//
// Errors are values: InvalidArgument for malformed events, orders or targets. Not thread-safe
// (one accountant per silo / per thread); the free functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/dp/dp_event.h"
#include "common/dp/rdp.h"

namespace fedsilo {

struct EpsilonAndOrder {
  double epsilon = 0.0;
  double order = 0.0;  // the RDP order achieving the minimum
};

struct DeltaAndOrder {
  double delta = 0.0;
  double order = 0.0;
};

// Errors: InvalidArgument if the spans differ in size or are empty, an order is below 1 or NaN,
// or delta is outside [0, 1] (NaN included).
absl::StatusOr<EpsilonAndOrder> EpsilonFromRdp(std::span<const double> orders,
                                               std::span<const double> rdp, double delta);

// EpsilonFromRdp for many curves at one list of orders and one delta, the terms that depend only
// on them (log(1 - 1/alpha), log(delta alpha) / (alpha - 1), the KL bound's reach) computed once:
// Epsilon(rdp, scale) returns exactly EpsilonFromRdp(orders, scale x rdp, delta), bit for bit
// (EpsilonFromRdp is built on it), at a few multiply-adds per order. For ledgers read every round
// (a silo that answers a shuffler's question about its spending each round). Borrows nothing;
// immutable, thread-safe.
class EpsilonConverter {
 public:
  // Errors: InvalidArgument if the orders are empty, an order is below 1 or NaN, or delta is
  // outside [0, 1] (NaN included).
  static absl::StatusOr<EpsilonConverter> Create(std::span<const double> orders, double delta);
  // Errors: InvalidArgument if rdp's size differs from the orders'.
  absl::StatusOr<EpsilonAndOrder> Epsilon(std::span<const double> rdp, double scale = 1.0) const;

 private:
  EpsilonConverter() = default;
  std::vector<double> orders_;
  std::vector<double> log_ratio_;  // log1p(-1 / alpha)
  std::vector<double> log_term_;   // log(delta alpha) / (alpha - 1)
  double delta_ = 0.0;
  double kl_reach_ = 0.0;  // no RDP at or above this meets the KL bound (2 (-log1p(-delta^2)))
};

// Errors: InvalidArgument if the spans differ in size or are empty, an order is below 1 or NaN,
// or epsilon is negative or NaN.
absl::StatusOr<DeltaAndOrder> DeltaFromRdp(std::span<const double> orders,
                                           std::span<const double> rdp, double epsilon);

class RdpAccountant {
 public:
  // Uses DefaultRdpOrders() (dp_accounting's 156 orders).
  RdpAccountant();
  // Errors: InvalidArgument for an empty list, an order below 1, NaN, or a finite order above
  // kMaxRdpOrder.
  static absl::StatusOr<RdpAccountant> Create(std::vector<double> orders);

  // Adds event.count x (per-step RDP curve of the event). count == 0 only validates. On error the
  // accountant is unchanged.
  absl::Status Compose(const DpEvent& event);
  // Composes several events; all-or-nothing (validated first).
  absl::Status Compose(std::span<const DpEvent> events);

  absl::StatusOr<EpsilonAndOrder> GetEpsilon(double delta) const;
  absl::StatusOr<DeltaAndOrder> GetDelta(double epsilon) const;

  const std::vector<double>& orders() const { return orders_; }
  // Accumulated RDP per order (same length as orders()).
  const std::vector<double>& rdp() const { return rdp_; }

 private:
  struct CurveKey {
    Subsampling subsampling;
    double sampling_rate;
    double noise_multiplier;
    bool operator==(const CurveKey&) const = default;
  };
  static constexpr size_t kMaxCachedCurves = 64;

  explicit RdpAccountant(std::vector<double> orders);
  // The per-step curve of `event`, from the cache or computed (and cached).
  absl::StatusOr<std::vector<double>> Curve(const DpEvent& event);
  absl::Status CheckRelation(const DpEvent& event, std::optional<Neighbours> seen) const;

  std::vector<double> orders_;
  std::vector<double> rdp_;
  // The neighbouring relation of the events composed so far, if any has one.
  std::optional<Neighbours> relation_;
  std::vector<std::pair<CurveKey, std::vector<double>>> cache_;  // FIFO, at most kMaxCachedCurves
  size_t cache_next_ = 0;
};

}  // namespace fedsilo
