// Amplification by subsampling for any mechanism with a known RDP curve: the general bound of
// Wang, Balle, Kasiviswanathan 2019 ("Subsampled Renyi Differential Privacy and Analytical
// Moments Accountant", AISTATS, Theorem 9) for a batch drawn uniformly without replacement at
// rate q = K / n, replace-one neighbours (the relation every silo's guarantee uses, n public).
// For a base mechanism with RDP eps(j) at integer orders j >= 2 and eps(inf) = inf (as for the
// Skellam mechanism, skellam_rdp.h), at integer alpha >= 2:
//   eps'(alpha) <= 1 / (alpha - 1) log(1 + q^2 C(alpha, 2) min(4 (e^eps(2) - 1), 2 e^eps(2))
//                                    + sum_{j = 3..alpha} q^j C(alpha, j) 2 e^{(j - 1) eps(j)}),
// computed in log space. A fractional alpha gets the linear interpolation of (alpha - 1) eps'
// between floor(alpha) and ceil(alpha), which bounds it because that cumulant is convex in alpha
// (ibid., Corollary 10); for alpha in (1, 2) the interpolation runs from 0 at alpha = 1. Edge
// cases: q = 0 -> 0; q = 1 -> the base curve itself (no sampling); alpha = inf -> inf; order 1 ->
// the value at 2 (RDP is non-decreasing in the order). For the Gaussian,
// rdp.h's SampledWithoutReplacementGaussianRdp uses the tighter Theorem 27 of the same paper;
// this bound is for mechanisms where only the curve is known.
// A limit to know: with eps(inf) = inf the terms j >= 3 do not vanish as the noise grows, so the
// bound keeps a floor of 1 / (alpha - 1) log(1 + 2 sum_{j >= 3} q^j C(alpha, j)) at every order
// (0.0044 at alpha = 10 for q = 0.053). 100 such rounds then cost about epsilon 1.35 at delta
// 1e-5 however large the noise, until the noise is so large that the order-2 value alone (which
// has no floor) bounds the KL divergence below delta^2. Sound, but too loose for a small epsilon
// over many rounds; with Poisson sampling, poisson_subsampled_rdp.h has no floor for symmetric
// mechanisms such as Skellam.
//
// base_rdp(j) must return eps(j) for every integer 2 <= j <= the largest finite order asked
// (at most kMaxSubsampledOrder); it may return +inf. Pure; thread-safe if base_rdp is.
// Errors (InvalidArgument): q outside [0, 1] or NaN, an order below 1, NaN or above
// kMaxSubsampledOrder (and not +inf); base_rdp's own errors are passed on.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

inline constexpr double kMaxSubsampledOrder = 4096;

absl::StatusOr<std::vector<double>> SampledWithoutReplacementRdp(
    double q, const std::function<absl::StatusOr<double>(int)>& base_rdp,
    std::span<const double> orders);

}  // namespace fedsilo
