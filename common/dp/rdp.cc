#include "common/dp/rdp.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "common/dp/log_gamma.h"

namespace fedsilo {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLog2 = std::numbers::ln2;
constexpr double kLog4 = 2.0 * std::numbers::ln2;
// Largest integer order for which Theorem 27 of Wang et al. is evaluated with forward
// differences (dp_accounting's max_alpha); above it the O(alpha) bound is used.
constexpr int64_t kWorMaxExactOrder = 256;
// Below this value the fractional-order series for log(A_alpha) is dominated by rounding (its
// absolute error is ~1e-15): the convex upper bound from integer orders is used instead.
constexpr double kFractionalSeriesPrecisionFloor = 1e-11;


bool IsInteger(double x) { return std::isfinite(x) && std::floor(x) == x; }

absl::Status ValidateQ(double q) {
  if (!(q >= 0.0 && q <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("sampling rate must be in [0, 1], got ", q));
  }
  return absl::OkStatus();
}

absl::Status ValidateNoise(double z) {
  if (!(z >= 0.0 && std::isfinite(z))) {
    return absl::InvalidArgumentError(
        absl::StrCat("noise multiplier must be finite and >= 0, got ", z));
  }
  return absl::OkStatus();
}

absl::Status ValidateOrders(std::span<const double> orders) {
  for (double a : orders) {
    if (!(a >= 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat("RDP orders must be >= 1, got ", a));
    }
    if (std::isfinite(a) && a > kMaxRdpOrder) {
      return absl::InvalidArgumentError(
          absl::StrCat("finite RDP orders must be <= ", kMaxRdpOrder, ", got ", a));
    }
  }
  return absl::OkStatus();
}

// A real number as (sign, log|x|); sign 0 means x == 0.
struct SignedLog {
  int sign = 0;
  double log_mag = -kInf;
};

SignedLog SignedAdd(SignedLog a, SignedLog b) {
  if (a.sign == 0 || a.log_mag == -kInf) return b;
  if (b.sign == 0 || b.log_mag == -kInf) return a;
  if (a.sign == b.sign) return {a.sign, rdp_internal::LogAdd(a.log_mag, b.log_mag)};
  // Opposite signs: the larger magnitude wins the sign.
  if (a.log_mag > b.log_mag) return {a.sign, rdp_internal::LogSub(a.log_mag, b.log_mag)};
  if (b.log_mag > a.log_mag) return {b.sign, rdp_internal::LogSub(b.log_mag, a.log_mag)};
  return {};
}

// ---------------------------------------------------------------- Poisson (Mironov et al.)

// log(A_alpha) for integer alpha >= 1, where
//   A_alpha = sum_i C(n, i) q^i (1-q)^(n-i) exp((i^2 - i) / (2 z^2)),
// with log_fact[k] = lgamma(k + 1) precomputed for k <= n (lgamma-based log binomials). Since the
// binomial weights sum to 1, A_alpha - 1 = sum_{i >= 2} C(n, i) q^i (1-q)^(n-i) expm1((i^2-i)/(2z^2)),
// a sum of positive terms: computed as such (log-sum-exp) and returned as log1p(A_alpha - 1), so a
// tiny sampling rate (q = 1e-9) keeps its small but positive loss instead of rounding 1 + tiny to 1.
double LogAPoissonIntegerWithTable(double q, double z, int64_t n,
                                   const std::vector<double>& log_fact) {
  if (n < 2) return 0.0;  // A_1 = 1
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  const double two_var = 2.0 * z * z;
  std::vector<double> terms;
  terms.reserve(static_cast<size_t>(n - 1));
  double max_term = -kInf;
  for (int64_t i = 2; i <= n; ++i) {
    const double di = static_cast<double>(i);
    const double log_comb = log_fact[n] - log_fact[i] - log_fact[n - i];
    const double x = (di * di - di) / two_var;            // > 0
    const double log_expm1_x = x + std::log(-std::expm1(-x));  // log(e^x - 1) without overflow
    const double s = log_comb + di * log_q + static_cast<double>(n - i) * log_1mq + log_expm1_x;
    terms.push_back(s);
    max_term = std::max(max_term, s);
  }
  if (max_term == kInf) return kInf;
  if (max_term == -kInf) return 0.0;
  double sum = 0.0;
  for (double s : terms) sum += std::exp(s - max_term);  // max first: one exp per term
  return rdp_internal::LogAdd(0.0, max_term + std::log(sum));  // log(1 + (A - 1))
}

// RDP at one order; log_fact covers every integer order in the caller's list.
double PoissonRdpAtOrder(double q, double z, double alpha, const std::vector<double>& log_fact) {
  if (q == 0.0) return 0.0;
  if (std::isinf(alpha) || z == 0.0) return kInf;
  if (q == 1.0) return alpha / (2.0 * z * z);
  if (alpha == 1.0) return kInf;  // KL divergence: not computed for subsampled mechanisms.
  if (IsInteger(alpha)) {
    return LogAPoissonIntegerWithTable(q, z, static_cast<int64_t>(alpha), log_fact) / (alpha - 1.0);
  }
  double log_a = rdp_internal::LogAPoissonFractional(q, z, alpha);
  if (!(log_a > kFractionalSeriesPrecisionFloor)) {
    // The signed series sums terms of size up to 1, so a result this small is mostly rounding
    // (it can even come out <= 0 at q = 1e-9). log(A_alpha) is convex in alpha (a log moment
    // generating function), so the chord between the neighbouring integer orders bounds it from
    // above; those are computed without cancellation.
    const double lo = std::floor(alpha);
    const double t = alpha - lo;
    log_a = (1.0 - t) * rdp_internal::LogAPoissonInteger(q, z, static_cast<int64_t>(lo)) +
            t * rdp_internal::LogAPoissonInteger(q, z, static_cast<int64_t>(lo) + 1);
  }
  return log_a / (alpha - 1.0);
}

// ---------------------------------------------------------------- without replacement (WBK19)

// deltas[m - 1] = log |Delta^m a (0)|, the m-th forward difference at 0 of the sequence
// a_k = exp((k - 1) k / (2 z^2)) = exp((k-1) eps_Gauss(k)), k = 0, 1, 2, ... (dp_accounting's
// _get_forward_diffs(cgf, n)), for m = 1 .. n + 2. Computed in signed log space, O(n^2). The
// values do not depend on the order alpha, so one table serves every order <= n.
std::vector<double> WorForwardDifferences(double z, int64_t n) {
  const double two_var = 2.0 * z * z;
  const auto size = static_cast<size_t>(n + 3);
  std::vector<SignedLog> vec(size);
  vec[0] = {1, 0.0};  // a_0 = 1
  for (size_t k = 1; k < size; ++k) {
    const double x = static_cast<double>(k - 1);
    vec[k] = {1, x * (x + 1.0) / two_var};  // cgf(k - 1)
  }
  std::vector<double> deltas(static_cast<size_t>(n + 2));
  for (size_t i = 0; i < deltas.size(); ++i) {
    const size_t len = size - 1 - i;  // differences computed in this pass
    for (size_t j = 0; j < len; ++j) {
      SignedLog neg = vec[j];
      neg.sign = -neg.sign;
      vec[j] = SignedAdd(vec[j + 1], neg);
    }
    deltas[i] = vec[0].log_mag;
  }
  return deltas;
}

// log(A_alpha) bound of Theorem 27 for integer alpha >= 1 (dp_accounting's
// _compute_rdp_sample_wor_gaussian_int). `deltas` must cover alpha when alpha <= 256.
double WorLogAInteger(double q, double z, int64_t alpha, const std::vector<double>& deltas) {
  if (alpha == 1) return 0.0;
  const double two_var = 2.0 * z * z;
  auto cgf = [two_var](double x) { return x * (x + 1.0) / two_var; };
  const double eps2 = 2.0 / two_var;                            // Gaussian RDP at order 2
  const double log_f2m1 = eps2 + std::log1p(-std::exp(-eps2));  // log(e^eps2 - 1)
  const double log_q = std::log(q);
  const double log_fact_alpha = LogGamma(static_cast<double>(alpha) + 1.0);
  auto log_comb = [&](int64_t i) {
    return log_fact_alpha - LogGamma(static_cast<double>(i) + 1.0) -
           LogGamma(static_cast<double>(alpha - i) + 1.0);
  };
  double log_a = 0.0;
  for (int64_t i = 2; i <= alpha; ++i) {
    const double di = static_cast<double>(i);
    double s;
    if (i == 2) {
      s = 2.0 * log_q + log_comb(2) + std::min(kLog4 + log_f2m1, eps2 + kLog2);
    } else if (alpha <= kWorMaxExactOrder) {
      const double delta_lo = deltas[static_cast<size_t>(2 * (i / 2) - 1)];
      const double delta_hi = deltas[static_cast<size_t>(2 * ((i + 1) / 2) - 1)];
      s = kLog4 + 0.5 * (delta_lo + delta_hi);
      s = std::min(s, kLog2 + cgf(di - 1.0));
      s += di * log_q + log_comb(i);
    } else {
      s = kLog2 + cgf(di - 1.0) + di * log_q + log_comb(i);
    }
    log_a = rdp_internal::LogAdd(log_a, s);
  }
  return log_a;
}

}  // namespace

namespace rdp_internal {

double LogAdd(double x, double y) {
  const double a = std::min(x, y);
  const double b = std::max(x, y);
  if (a == -kInf) return b;
  if (b == kInf) return kInf;
  return std::log1p(std::exp(a - b)) + b;
}

double LogSub(double x, double y) {
  if (y == -kInf) return x;
  if (x == y) return -kInf;
  if (x == kInf) return kInf;
  // exp(x) - exp(y) = exp(x) * (1 - exp(y - x)); expm1 keeps precision when y is close to x.
  return x + std::log(-std::expm1(y - x));
}

double LogErfc(double x) {
  if (x < 20.0) return std::log(std::erfc(x));
  // Asymptotic expansion: erfc(x) = exp(-x^2) / (x sqrt(pi)) * sum_n (-1)^n (2n-1)!! / (2x^2)^n.
  const double inv = 1.0 / (2.0 * x * x);
  double term = 1.0, series = 1.0;
  for (int n = 1; n <= 6; ++n) {
    term *= -static_cast<double>(2 * n - 1) * inv;
    series += term;
  }
  return -x * x - std::log(x) - 0.5 * std::log(std::numbers::pi) + std::log(series);
}

double LogAbsBinomial(double n, int64_t k, int* sign) {
  const double m = n - static_cast<double>(k) + 1.0;
  if (m <= 0.0 && IsInteger(m)) {  // n integer and k > n: the coefficient is exactly 0
    *sign = 0;
    return -kInf;
  }
  int gamma_sign = 1;
  const double log_abs_gamma_m = LogAbsGamma(m, &gamma_sign);
  *sign = gamma_sign;
  return LogGamma(n + 1.0) - LogGamma(static_cast<double>(k) + 1.0) -
         log_abs_gamma_m;
}

double LogAPoissonInteger(double q, double sigma, int64_t alpha) {
  std::vector<double> log_fact(static_cast<size_t>(alpha + 1));
  for (int64_t k = 0; k <= alpha; ++k) log_fact[k] = LogGamma(static_cast<double>(k) + 1.0);
  return LogAPoissonIntegerWithTable(q, sigma, alpha, log_fact);
}

double LogAPoissonFractional(double q, double sigma, double alpha) {
  // Section 3.3 of Mironov, Talwar, Zhang 2019: A_alpha = sum over i of the two integrals over
  // (-inf, z0] and [z0, inf), each term a signed binomial coefficient C(alpha, i) times a Gaussian
  // tail. Variant E: the coefficients keep their signs (they alternate once i > alpha + 1).
  const double two_var = 2.0 * sigma * sigma;
  const double z0 = sigma * sigma * std::log(1.0 / q - 1.0) + 0.5;
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  const double inv_sqrt2_sigma = 1.0 / (std::numbers::sqrt2 * sigma);
  const double log_half = -kLog2;
  SignedLog a0, a1;
  double last_s0 = kInf, last_s1 = kInf;
  for (int64_t i = 0; i < kMaxFractionalSeriesTerms; ++i) {
    const double di = static_cast<double>(i);
    int coef_sign = 1;
    const double log_coef = LogAbsBinomial(alpha, i, &coef_sign);
    const double j = alpha - di;
    const double log_t0 = log_coef + di * log_q + j * log_1mq;
    const double log_t1 = log_coef + j * log_q + di * log_1mq;
    const double log_e0 = log_half + LogErfc((di - z0) * inv_sqrt2_sigma);
    const double log_e1 = log_half + LogErfc((z0 - j) * inv_sqrt2_sigma);
    const double log_s0 = log_t0 + (di * di - di) / two_var + log_e0;
    const double log_s1 = log_t1 + (j * j - j) / two_var + log_e1;
    a0 = SignedAdd(a0, {coef_sign, log_s0});
    a1 = SignedAdd(a1, {coef_sign, log_s1});
    const SignedLog total = SignedAdd(a0, a1);
    // Stop once both parts' terms decrease and are negligible: below e^-30 (Opacus' threshold),
    // or below e^-30 times the running total when that exceeds 1.
    const double threshold = -30.0 + (total.sign > 0 ? std::max(0.0, total.log_mag) : 0.0);
    if (i > 0 && log_s0 < last_s0 && log_s1 < last_s1 && std::max(log_s0, log_s1) < threshold) {
      return total.sign > 0 ? total.log_mag : kInf;  // A_alpha >= 1 in exact arithmetic
    }
    last_s0 = log_s0;
    last_s1 = log_s1;
  }
  return kInf;  // did not converge: this order never becomes the optimum
}

}  // namespace rdp_internal

std::vector<double> DefaultRdpOrders() {
  std::vector<double> orders;
  orders.reserve(156);
  for (int x = 1; x < 100; ++x) orders.push_back(1.0 + x / 10.0);
  for (int a = 11; a < 64; ++a) orders.push_back(a);
  for (double a : {128.0, 256.0, 512.0, 1024.0}) orders.push_back(a);
  return orders;
}

std::vector<double> OpacusRdpOrders() {
  std::vector<double> orders;
  orders.reserve(151);
  for (int x = 1; x < 100; ++x) orders.push_back(1.0 + x / 10.0);
  for (int a = 12; a < 64; ++a) orders.push_back(a);
  return orders;
}

absl::StatusOr<std::vector<double>> GaussianRdp(double noise_multiplier,
                                                std::span<const double> orders) {
  FEDSILO_RETURN_IF_ERROR(ValidateNoise(noise_multiplier));
  FEDSILO_RETURN_IF_ERROR(ValidateOrders(orders));
  std::vector<double> rdp(orders.size());
  for (size_t k = 0; k < orders.size(); ++k) {
    const double a = orders[k];
    rdp[k] = (noise_multiplier == 0.0 || std::isinf(a))
                 ? kInf
                 : a / (2.0 * noise_multiplier * noise_multiplier);
  }
  return rdp;
}

absl::StatusOr<std::vector<double>> PoissonSubsampledGaussianRdp(double q, double noise_multiplier,
                                                                 std::span<const double> orders) {
  FEDSILO_RETURN_IF_ERROR(ValidateQ(q));
  FEDSILO_RETURN_IF_ERROR(ValidateNoise(noise_multiplier));
  FEDSILO_RETURN_IF_ERROR(ValidateOrders(orders));
  // lgamma(k + 1) for every k up to the largest integer order: the binomial sums share it.
  int64_t max_int_order = 0;
  for (double a : orders) {
    if (IsInteger(a)) max_int_order = std::max(max_int_order, static_cast<int64_t>(a));
  }
  std::vector<double> log_fact;
  if (q > 0.0 && q < 1.0 && noise_multiplier > 0.0) {
    log_fact.resize(static_cast<size_t>(max_int_order + 1));
    for (int64_t k = 0; k <= max_int_order; ++k) {
      log_fact[k] = LogGamma(static_cast<double>(k) + 1.0);
    }
  }
  std::vector<double> rdp(orders.size());
  for (size_t k = 0; k < orders.size(); ++k) {
    rdp[k] = PoissonRdpAtOrder(q, noise_multiplier, orders[k], log_fact);
  }
  return rdp;
}

absl::StatusOr<std::vector<double>> PoissonSubsampledGaussianReplaceOneRdp(
    double q, double noise_multiplier, std::span<const double> orders) {
  FEDSILO_RETURN_IF_ERROR(ValidateQ(q));
  FEDSILO_RETURN_IF_ERROR(ValidateNoise(noise_multiplier));
  FEDSILO_RETURN_IF_ERROR(ValidateOrders(orders));
  std::vector<double> rdp(orders.size(), 0.0);
  if (q == 0.0) return rdp;
  // The add/remove curve at 2 alpha and 2 alpha - 1 for every order the triangle bound covers.
  std::vector<double> paired_orders;
  std::vector<bool> paired(orders.size(), false);
  for (size_t k = 0; k < orders.size(); ++k) {
    const double a = orders[k];
    if (a > 1.0 && 2.0 * a <= kMaxRdpOrder) {
      paired[k] = true;
      paired_orders.push_back(2.0 * a);
      paired_orders.push_back(2.0 * a - 1.0);
    }
  }
  FEDSILO_ASSIGN_OR_RETURN(const std::vector<double> add_remove,
                           PoissonSubsampledGaussianRdp(q, noise_multiplier, paired_orders));
  const double z = noise_multiplier;
  size_t next = 0;
  for (size_t k = 0; k < orders.size(); ++k) {
    const double a = orders[k];
    // Whatever the coins, the two sums differ by at most 2 clip: the Gaussian of sensitivity 2
    // (in units of z) bounds every order, and is exact at q = 1.
    const double unsampled = (z == 0.0 || std::isinf(a)) ? kInf : 2.0 * a / (z * z);
    double triangle = kInf;
    if (paired[k]) {
      triangle = (a - 0.5) / (a - 1.0) * add_remove[next] + add_remove[next + 1];
      next += 2;
    }
    rdp[k] = std::min(triangle, unsampled);
  }
  return rdp;
}

absl::StatusOr<std::vector<double>> SampledWithoutReplacementGaussianRdp(
    double q, double noise_multiplier, std::span<const double> orders) {
  FEDSILO_RETURN_IF_ERROR(ValidateQ(q));
  FEDSILO_RETURN_IF_ERROR(ValidateNoise(noise_multiplier));
  FEDSILO_RETURN_IF_ERROR(ValidateOrders(orders));
  const double z = noise_multiplier;
  std::vector<double> rdp(orders.size());
  if (q == 0.0) return rdp;  // all zeros
  if (q == 1.0 || z == 0.0) return GaussianRdp(z, orders);

  // One forward-difference table for all integer orders <= 256 that the orders need.
  int64_t max_exact = 1;
  for (double a : orders) {
    if (!std::isfinite(a)) continue;
    for (double v : {std::floor(a), std::ceil(a)}) {
      const auto n = static_cast<int64_t>(v);
      if (n <= kWorMaxExactOrder) max_exact = std::max(max_exact, n);
    }
  }
  const std::vector<double> deltas = WorForwardDifferences(z, max_exact);
  std::unordered_map<int64_t, double> log_a_cache;
  auto log_a = [&](int64_t alpha) {
    auto it = log_a_cache.find(alpha);
    if (it != log_a_cache.end()) return it->second;
    const double v = WorLogAInteger(q, z, alpha, deltas);
    log_a_cache.emplace(alpha, v);
    return v;
  };
  for (size_t k = 0; k < orders.size(); ++k) {
    const double a = orders[k];
    if (std::isinf(a) || a == 1.0) {
      rdp[k] = kInf;  // infinite order; order 1 (KL) is not computed for subsampled mechanisms
    } else if (IsInteger(a)) {
      rdp[k] = log_a(static_cast<int64_t>(a)) / (a - 1.0);
    } else {
      // Corollary 10 of WBK19: (alpha - 1) eps(alpha) is convex in alpha, so interpolating it
      // linearly between the neighbouring integers gives an upper bound.
      const double lo = std::floor(a);
      const double hi = std::ceil(a);
      const double x = log_a(static_cast<int64_t>(lo));
      const double y = log_a(static_cast<int64_t>(hi));
      const double t = a - lo;
      rdp[k] = ((1.0 - t) * x + t * y) / (a - 1.0);
    }
  }
  return rdp;
}

absl::StatusOr<std::vector<double>> ComputeRdp(const DpEvent& event,
                                               std::span<const double> orders) {
  if (event.count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("DpEvent count must be >= 0, got ", event.count));
  }
  switch (event.subsampling) {
    case Subsampling::kNone:
      if (event.sampling_rate != 1.0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "DpEvent without subsampling must have sampling_rate 1, got ", event.sampling_rate));
      }
      return GaussianRdp(event.noise_multiplier, orders);
    case Subsampling::kPoisson:
      return PoissonSubsampledGaussianRdp(event.sampling_rate, event.noise_multiplier, orders);
    case Subsampling::kPoissonReplaceOne:
      return PoissonSubsampledGaussianReplaceOneRdp(event.sampling_rate, event.noise_multiplier,
                                                    orders);
    case Subsampling::kWithoutReplacement:
      return SampledWithoutReplacementGaussianRdp(event.sampling_rate, event.noise_multiplier,
                                                  orders);
    case Subsampling::kWithReplacement:
      return absl::InvalidArgumentError(
          "sampling with replacement has no standard RDP accountant; use Poisson or "
          "without-replacement sampling");
  }
  return absl::InvalidArgumentError("unknown Subsampling value");
}

}  // namespace fedsilo
