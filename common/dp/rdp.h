// RDP curves of the Gaussian mechanism, plain and subsampled: pure math on numbers, per step.
//
// Each function returns, for every order alpha in `orders`, the Renyi-DP epsilon(alpha) of ONE
// application of the mechanism (compose k steps by multiplying by k). Orders are >= 1; +inf is
// allowed and gives +inf (or 0 when q = 0).
//
//  * GaussianRdp: no subsampling, epsilon(alpha) = alpha / (2 z^2) (Mironov 2017, Prop. 7).
//  * PoissonSubsampledGaussianRdp: Poisson sampling with rate q, add/remove-one, z = std_sum/clip.
//    Mironov, Talwar, Zhang 2019, "Renyi Differential Privacy of the Sampled Gaussian Mechanism"
//    (arXiv:1908.10530), Section 3.3: epsilon(alpha) = log(A_alpha) / (alpha - 1).
//      - integer alpha: A_alpha = sum_i C(alpha,i) q^i (1-q)^(alpha-i) exp((i^2-i) / (2z^2)),
//        i = 0..alpha, summed in log space (lgamma-based log binomials);
//      - fractional alpha: the two-sided series split at z0 = z^2 log(1/q - 1) + 1/2, summed with
//        the EXACT SIGNED binomial coefficients ("variant E": Opacus, TF Privacy and dp_accounting
//        before 2024). dp_accounting since 2024 sums absolute values ("variant G", a slightly
//        looser bound); the two differ only when the best order is fractional and below about 3.
//        The series is stopped once both parts' terms decrease and fall below e^-30 (relative to
//        the running total when that exceeds 1); if it does not converge within
//        kMaxFractionalSeriesTerms terms the order is reported as +inf (never the optimum).
//    Edge cases (as dp_accounting): q = 0 -> 0; z = 0 or alpha = inf -> inf; q = 1 -> Gaussian.
//    Order exactly 1 (KL) with 0 < q < 1 has no closed form here: reported as +inf.
//  * PoissonSubsampledGaussianReplaceOneRdp: the same mechanism (Poisson rate q, z = std_sum /
//    clip), replace-one neighbours (x replaced by x' in the same place, so with the same sampling
//    coin) with the dataset size public. With P = M(D), Q = M(D'), R = M(D without x), the weak
//    triangle inequality for Renyi divergence (Mironov 2017, "Renyi Differential Privacy",
//    arXiv:1702.07476, Prop. 11 with p = q = 2; it is Hoelder's inequality on
//    E_Q[(P/Q)^a] = E_R[(P/R)^a (R/Q)^(a-1)]) gives, for alpha > 1,
//      D_a(P||Q) <= (a - 1/2) / (a - 1) D_2a(P||R) + D_(2a-1)(R||Q).
//    P, R and R, Q are add/remove neighbours of the same Poisson-subsampled Gaussian, whose
//    add/remove curve eps_ar bounds both directions (MTZ19, Theorem 5), so
//      epsilon(alpha) <= (alpha - 1/2) / (alpha - 1) eps_ar(2 alpha) + eps_ar(2 alpha - 1).
//    Also, whatever the coins, the two sums differ by at most 2 clip, so epsilon(alpha) <=
//    2 alpha / z^2 (the Gaussian of sensitivity 2 in units of z, since E_Q[(P/Q)^a] is jointly
//    convex in (P, Q) and both are mixtures over the same coins); the smaller bound is
//    returned (the second is exact at q = 1 and is the only one at alpha = 1). Orders with
//    2 alpha > kMaxRdpOrder use the second bound only. Edge cases: q = 0 -> 0; z = 0 or
//    alpha = inf -> inf.
//  * SampledWithoutReplacementGaussianRdp: fixed-size batch, q = K/n, replace-one,
//    z = std_sum / (2 clip). Wang, Balle, Kasiviswanathan 2019, "Subsampled Renyi Differential
//    Privacy and Analytical Moments Accountant" (AISTATS), Theorem 27, as dp_accounting's
//    _compute_rdp_sample_wor_gaussian implements it: integer alpha <= 256 via the theorem's bound
//    with forward differences of exp((j-1) eps_G(j)) computed in signed log space; integer
//    alpha > 256 with the simpler term 2 e^{(j-1) eps_G(j)}; fractional alpha by linear
//    interpolation of (alpha-1) epsilon between floor(alpha) and ceil(alpha) (Corollary 10).
//    Edge cases: q = 0 -> 0; q = 1 -> Gaussian; alpha = inf -> inf; z = 0 -> inf.
//
// All functions are pure and thread-safe. Errors (InvalidArgument): q outside [0, 1] or NaN,
// z negative, infinite or NaN, an order below 1 or NaN, or a finite order above kMaxRdpOrder.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "common/dp/dp_event.h"

namespace fedsilo {

// Largest finite order accepted (integer orders cost O(alpha) terms, or O(alpha^2) for
// without-replacement sampling up to 256).
inline constexpr double kMaxRdpOrder = 1e5;
// Cap on the number of terms of the fractional-order series (per order).
inline constexpr int kMaxFractionalSeriesTerms = 100000;

// dp_accounting's DEFAULT_RDP_ORDERS (156 orders): 1.1, 1.2, ..., 10.9 (computed as 1 + x / 10.0
// exactly as in Python), 11, ..., 63, 128, 256, 512, 1024.
std::vector<double> DefaultRdpOrders();

// Opacus' RDPAccountant.DEFAULT_ALPHAS (151 orders): 1.1, ..., 10.9, 12, ..., 63.
std::vector<double> OpacusRdpOrders();

absl::StatusOr<std::vector<double>> GaussianRdp(double noise_multiplier,
                                                std::span<const double> orders);

absl::StatusOr<std::vector<double>> PoissonSubsampledGaussianRdp(double q, double noise_multiplier,
                                                                 std::span<const double> orders);

absl::StatusOr<std::vector<double>> PoissonSubsampledGaussianReplaceOneRdp(
    double q, double noise_multiplier, std::span<const double> orders);

absl::StatusOr<std::vector<double>> SampledWithoutReplacementGaussianRdp(
    double q, double noise_multiplier, std::span<const double> orders);

// The per-step RDP curve of `event` (its `count` is NOT applied; it must be >= 0). Errors:
// InvalidArgument for a malformed event (kNone with sampling_rate != 1, q outside [0, 1], ...)
// and for kWithReplacement, which no standard RDP accountant covers.
absl::StatusOr<std::vector<double>> ComputeRdp(const DpEvent& event,
                                               std::span<const double> orders);

// Numerical building blocks, exposed for tests. Logs of non-negative numbers; -inf is log(0).
namespace rdp_internal {

// log(exp(x) + exp(y)).
double LogAdd(double x, double y);
// log(exp(x) - exp(y)) for x >= y (returns -inf when x == y).
double LogSub(double x, double y);
// log(erfc(x)), accurate also where erfc(x) underflows (large x).
double LogErfc(double x);
// log |C(n, k)| = lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1) (n real, k integer >= 0), and its
// sign in *sign (+1 or -1; 0 when the coefficient is 0, with -inf returned).
double LogAbsBinomial(double n, int64_t k, int* sign);
// log(A_alpha) of the Poisson-subsampled Gaussian for integer alpha >= 1, 0 < q < 1.
double LogAPoissonInteger(double q, double sigma, int64_t alpha);
// log(A_alpha) for fractional alpha > 1, 0 < q < 1 (signed series, variant E). +inf if the series
// did not converge.
double LogAPoissonFractional(double q, double sigma, double alpha);

}  // namespace rdp_internal

}  // namespace fedsilo
