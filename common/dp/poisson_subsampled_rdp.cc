#include "common/dp/poisson_subsampled_rdp.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace fedsilo {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kCuts = 50;  // cuts u = 1/50, 2/50, ..., 1 for the "without" bound

// log(e^a + e^b), with -inf allowed.
double LogAddExp(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

// log n! for n = 0..largest.
std::vector<double> LogFactorials(int largest) {
  std::vector<double> table(largest + 1, 0.0);
  for (int n = 2; n <= largest; ++n) table[n] = table[n - 1] + std::log(static_cast<double>(n));
  return table;
}

// log G(tau) for exponent A: G(tau) = ((1 - tau)^-A - 1 - A tau) / tau^2
//                                   = sum_{j >= 2} C(A + j - 1, j) tau^(j - 2).
double LogG(double tau, double a) {
  if (tau >= 1.0) return kInf;
  if (a * tau <= 0.1) {  // the series, all terms positive: no cancellation
    double term = a * (a + 1.0) / 2.0, sum = 0.0;
    for (int j = 2; term > 1e-18 * sum; ++j) {
      sum += term;
      term *= (a + j) / (j + 1.0) * tau;
    }
    return std::log(sum);
  }
  const double l = -a * std::log1p(-tau);  // log (1 - tau)^-A
  const double log_numerator =
      l < 700.0 ? std::log(std::expm1(l) - a * tau) : l + std::log1p(-(1.0 + a * tau) * std::exp(-l));
  return log_numerator - 2.0 * std::log(tau);
}

// log(1 - q + q e^x): the unsampled curve mixed at rate q (joint convexity).
double LogConvexityCap(double q, double x) {
  if (x == kInf) return kInf;
  return LogAddExp(std::log1p(-q), std::log(q) + x);
}

absl::Status ValidateArguments(double q, std::span<const double> orders, double max_order) {
  if (!(q >= 0.0 && q <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Poisson-subsampled RDP: the rate must be in [0, 1], got ", q));
  }
  for (double a : orders) {
    if (!(a >= 1.0) || (std::isfinite(a) && a > max_order)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Poisson-subsampled RDP: orders must be in [1, ", max_order, "] or +inf, got ", a));
    }
  }
  return absl::OkStatus();
}

// The integer orders a fractional order interpolates between, and the largest needed.
int LargestIntegerOrder(std::span<const double> orders) {
  int largest = 2;
  for (double a : orders) {
    if (std::isfinite(a)) largest = std::max(largest, static_cast<int>(std::ceil(a)));
  }
  return largest;
}

// Value at `alpha` from integer-order values `at` (index = order): order 1 gets order 2's, a
// fractional order the linear interpolation of the cumulant (alpha - 1) eps.
double AtOrder(const std::vector<double>& at, double alpha) {
  if (std::isinf(alpha)) return kInf;
  // Below 2 the cumulant runs linearly from 0 at order 1 to eps(2) at 2: eps(2) itself.
  if (alpha <= 2.0) return at[2];
  const double lo = std::floor(alpha), hi = std::ceil(alpha);
  if (lo == hi) return at[static_cast<int>(lo)];
  const double w = alpha - lo;
  const double cumulant = (1.0 - w) * (lo - 1.0) * at[static_cast<int>(lo)] +
                          w * (hi - 1.0) * at[static_cast<int>(hi)];
  return cumulant / (alpha - 1.0);
}

// Base curve eps(j) for j = 0..largest (0 and 1 unused).
absl::StatusOr<std::vector<double>> BaseCurve(const IntegerOrderRdp& base_rdp, int largest) {
  std::vector<double> eps(largest + 1, 0.0);
  for (int j = 2; j <= largest; ++j) {
    FEDSILO_ASSIGN_OR_RETURN(eps[j], base_rdp(j));
    if (std::isnan(eps[j]) || eps[j] < 0.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Poisson-subsampled RDP: the base curve at order ", j, " is ", eps[j]));
    }
  }
  return eps;
}

// The integer orders a list of orders reads (index = order): each order's floor and ceiling,
// and 2 for the orders up to 2; with `doubled`, 2 alpha and 2 alpha - 1 instead (replace-one).
std::vector<char> NeededOrders(std::span<const double> orders, int largest, bool doubled) {
  std::vector<char> need(largest + 1, 0);
  for (double a : orders) {
    if (!std::isfinite(a)) continue;
    for (double v : {std::floor(a), std::ceil(a)}) {
      const int n = std::max(2, static_cast<int>(v));
      if (doubled) {
        need[2 * n] = need[2 * n - 1] = 1;
      } else {
        need[n] = 1;
      }
    }
  }
  return need;
}

// Both directions at the integer orders marked in `need` (index = order, up to largest), for
// 0 < q < 1; other entries stay 0.
PoissonSubsampledRdp IntegerCurves(double q, const std::vector<double>& eps,
                                   const std::vector<char>& need) {
  const int largest = static_cast<int>(need.size()) - 1;
  const std::vector<double> log_factorial = LogFactorials(largest);
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  PoissonSubsampledRdp out{std::vector<double>(largest + 1, 0.0),
                           std::vector<double>(largest + 1, 0.0)};

  // Pr_Q[W < -u] <= min_t (1 - u)^t e^{t eps(t + 1)} for each cut u < 1, in log space.
  std::vector<double> log_tail(kCuts + 1, 0.0);
  for (int c = 1; c <= kCuts; ++c) {
    const double u = static_cast<double>(c) / kCuts;
    if (c == kCuts) {
      log_tail[c] = -kInf;  // W >= -1 always
      continue;
    }
    double best = 0.0;
    for (int t = 1; t + 1 <= largest; ++t) {
      best = std::min(best, t * std::log1p(-u) + t * eps[t + 1]);
    }
    log_tail[c] = best;
  }
  const double log_s = eps[2] == kInf ? kInf : std::log(std::expm1(eps[2]));  // -inf at 0

  for (int alpha = 2; alpha <= largest; ++alpha) {
    if (!need[alpha]) continue;
    const double a = alpha - 1.0;  // A
    const double cap = LogConvexityCap(q, a * eps[alpha]) / a;

    // With record: the binomial expansion, k = 0 and 1 together.
    double log_sum = a * log_1mq + std::log1p(a * q);
    for (int k = 2; k <= alpha; ++k) {
      const double log_binomial =
          log_factorial[alpha] - log_factorial[k] - log_factorial[alpha - k];
      const double term = log_binomial + (alpha - k) * log_1mq + k * log_q + (k - 1) * eps[k];
      log_sum = LogAddExp(log_sum, term);
    }
    out.with_record[alpha] = std::min(std::max(log_sum, 0.0) / a, cap);

    // Without record: 1 + q^2 min_u ((c2 + G(q u)) / 2 s + G(q) tail(u)).
    const double log_c2 = std::log(a * (a + 1.0) / 2.0);
    const double log_g_q = LogG(q, a);
    double log_b = kInf;
    for (int c = 1; c <= kCuts; ++c) {
      const double u = static_cast<double>(c) / kCuts;
      const double near = LogAddExp(log_c2, LogG(q * u, a)) - std::log(2.0) + log_s;
      const double far = log_tail[c] == -kInf ? -kInf : log_g_q + log_tail[c];
      log_b = std::min(log_b, LogAddExp(near, far));
    }
    const double x = 2.0 * log_q + log_b;  // log(q^2 B)
    const double without = x > 30.0 ? (x + std::log1p(std::exp(-x))) / a : std::log1p(std::exp(x)) / a;
    // And R >= (1 - q) Q pointwise, so E_Q[(Q/R)^A] <= (1 - q)^-A.
    out.without_record[alpha] = std::min({without, cap, -log_1mq});
  }
  return out;
}

}  // namespace

absl::StatusOr<PoissonSubsampledRdp> PoissonSubsampledSymmetricRdp(
    double q, const IntegerOrderRdp& base_rdp, std::span<const double> orders) {
  FEDSILO_RETURN_IF_ERROR(ValidateArguments(q, orders, kMaxPoissonSymmetricOrder));
  PoissonSubsampledRdp out{std::vector<double>(orders.size(), 0.0),
                           std::vector<double>(orders.size(), 0.0)};
  if (q == 0.0) return out;
  const int largest = LargestIntegerOrder(orders);
  FEDSILO_ASSIGN_OR_RETURN(const std::vector<double> eps, BaseCurve(base_rdp, largest));
  if (q == 1.0) {
    for (size_t k = 0; k < orders.size(); ++k) {
      out.with_record[k] = out.without_record[k] = AtOrder(eps, orders[k]);
    }
    return out;
  }
  const PoissonSubsampledRdp curves =
      IntegerCurves(q, eps, NeededOrders(orders, largest, /*doubled=*/false));
  for (size_t k = 0; k < orders.size(); ++k) {
    out.with_record[k] = AtOrder(curves.with_record, orders[k]);
    out.without_record[k] = AtOrder(curves.without_record, orders[k]);
  }
  return out;
}

absl::StatusOr<std::vector<double>> PoissonSubsampledSymmetricReplaceOneRdp(
    double q, const IntegerOrderRdp& add_remove_base_rdp, const IntegerOrderRdp& replace_one_base_rdp,
    std::span<const double> orders) {
  FEDSILO_RETURN_IF_ERROR(ValidateArguments(q, orders, kMaxPoissonSymmetricOrder / 2));
  std::vector<double> rdp(orders.size(), 0.0);
  if (q == 0.0) return rdp;
  // Integer orders 2..largest of both curves: the unsampled replace-one cap, and the two
  // directions at 2 alpha and 2 alpha - 1.
  const int largest = LargestIntegerOrder(orders);
  FEDSILO_ASSIGN_OR_RETURN(const std::vector<double> unsampled,
                           BaseCurve(replace_one_base_rdp, largest));
  std::vector<double> at(largest + 1, 0.0);
  if (q == 1.0) {
    at = unsampled;
  } else {
    FEDSILO_ASSIGN_OR_RETURN(const std::vector<double> eps,
                             BaseCurve(add_remove_base_rdp, 2 * largest));
    const std::vector<char> need = NeededOrders(orders, 2 * largest, /*doubled=*/true);
    const PoissonSubsampledRdp curves = IntegerCurves(q, eps, need);
    for (int alpha = 2; alpha <= largest; ++alpha) {
      if (!need[2 * alpha]) continue;
      const double a = alpha;
      const double triangle = (a - 0.5) / (a - 1.0) * curves.with_record[2 * alpha] +
                              curves.without_record[2 * alpha - 1];
      at[alpha] = std::min(triangle, unsampled[alpha]);
    }
  }
  for (size_t k = 0; k < orders.size(); ++k) rdp[k] = AtOrder(at, orders[k]);
  return rdp;
}

}  // namespace fedsilo
