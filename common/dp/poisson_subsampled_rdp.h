// Amplification by Poisson subsampling for a symmetric additive-noise mechanism known by its RDP
// curve (the Skellam mechanism, skellam_rdp.h): floor-free, unlike the general bounds that only
// use the curve (subsampled_rdp.h).
//
// Setting. Records are sampled independently with probability q; the base mechanism releases
// f(S) + N for the sample S, with noise N symmetric (N and -N have the same law) and of full
// support. For neighbours D' = D + {x} and a fixed sample S of the other records, let
// Q = M(S), P = M(S + {x}) (a shift of Q by v = f(S + x) - f(S)) and R = (1 - q) Q + q P, the
// law with x present. base_rdp(j) must bound D_j(P || Q) and D_j(Q || P) for every shift the
// mechanism allows, at every integer order j >= 2. Both bounds below hold for each S and extend
// to the mixture over S by the joint convexity of E_b[(a / b)^alpha] in (a, b).
//
// With record (x present against absent), integer alpha >= 2: the binomial expansion
//   E_Q[(R/Q)^a] = sum_k C(a, k) (1 - q)^(a - k) q^k E_Q[(P/Q)^k],  E_Q[(P/Q)^k] = e^{(k-1) D_k},
// an identity (Mironov, Talwar, Zhang 2019, Section 3.3; Zhu, Wang 2019), bounded term by term.
//
// Without record (x absent against present): D_a(Q || R) = log E_Q[Y^-A] / A with A = a - 1,
// Y = 1 + q W, W = P/Q - 1 >= -1, E_Q[W] = 0. Our derivation (no published theorem found that
// covers a mechanism known only by its curve without a floor; the proof is short):
//   1. Taylor with integral remainder: Y^-A = 1 - A (Y - 1) + Rm(Y), and Rm(1 + t) / t^2 is
//      the average of the decreasing f''(y) = A (A + 1) y^-(A+2) between 1 and 1 + t, so it is
//      at most c2 = A (A + 1) / 2 for t >= 0 and at most G(tau) = ((1 - tau)^-A - 1 - A tau) /
//      tau^2 (increasing in tau) for -tau <= t < 0.
//   2. Symmetry: the map z -> v - z swaps P and Q, so W has the law of 1/(1+W) - 1 under P, and
//      E_Q[W^2; W < 0] = E_Q[W^2 / (1 + W); W > 0] <= E_Q[W^2; W > 0]: at most half of
//      s = E_Q[W^2] = e^{D_2(P||Q)} - 1 lies below 0.
//   3. For a cut u in (0, 1]: E_Q[Y^-A] <= 1 + q^2 ((c2 + G(q u)) / 2 s + G(q) Pr_Q[W < -u]), and
//      by Markov on (Q/P)^t, Pr_Q[P/Q < 1 - u] <= (1 - u)^t e^{t D_{t+1}(Q||P)} for any t >= 1.
//   The bound takes the best cut on a grid of 50 and the best integer t.
// Both directions are also capped by joint convexity, E <= 1 - q + q e^{A eps(a)} (the unsampled
// curve at rate q), and "without" by log(1 / (1 - q)), since R >= (1 - q) Q. For the Gaussian curve the result stays within about 10% in epsilon of the
// exact Mironov-Talwar-Zhang value over 100 rounds at q = 0.053 (tested), and it goes to 0 with
// the noise (no floor).
//
// Replace-one (x replaced by x' with the same sampling coin, the dataset size public), through
// R0 = M(D - x), by the weak triangle inequality (Mironov 2017, Prop. 11; rdp.h uses the same
// for the Gaussian): D_a(P||P') <= (a - 1/2) / (a - 1) D_2a(with) + D_(2a-1)(without), capped by
// the unsampled replace-one curve (the two sums differ by one record's replacement whatever the
// coins; replace_one_base(j) bounds it).
//
// Orders: integers up to kMaxPoissonSymmetricOrder (replace-one: 2 alpha up to it); a
// fractional order interpolates the cumulant (alpha - 1) eps linearly between its neighbours
// (it is convex in alpha; from 0 at alpha = 1); order 1 gets the value at 2; +inf gives +inf.
// q = 0 gives 0; q = 1 gives the base curve. Pure; thread-safe if the callbacks are.
// Errors (InvalidArgument): q outside [0, 1] or NaN, an order below 1, NaN or above the maximum;
// the callbacks' own errors are passed on.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

inline constexpr int kMaxPoissonSymmetricOrder = 2048;

// eps(j) of the unsampled base mechanism at integer order j >= 2; may be +inf.
using IntegerOrderRdp = std::function<absl::StatusOr<double>(int)>;

struct PoissonSubsampledRdp {
  std::vector<double> with_record;     // bounds D_alpha(R || Q): x present against absent
  std::vector<double> without_record;  // bounds D_alpha(Q || R): x absent against present
};

absl::StatusOr<PoissonSubsampledRdp> PoissonSubsampledSymmetricRdp(
    double q, const IntegerOrderRdp& base_rdp, std::span<const double> orders);

absl::StatusOr<std::vector<double>> PoissonSubsampledSymmetricReplaceOneRdp(
    double q, const IntegerOrderRdp& add_remove_base_rdp, const IntegerOrderRdp& replace_one_base_rdp,
    std::span<const double> orders);

}  // namespace fedsilo
