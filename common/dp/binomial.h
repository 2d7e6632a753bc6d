// Binomial distribution Bin(n, p): log of the probability mass and the cumulative distribution,
// relative error about 1e-10 for n up to 1e6 (lgamma-based; used by the shuffle-amplification bound, where n is the number
// of reports).
//
// Contract: LogBinomialPmf(k, n, p) = log P[X = k] for X ~ Bin(n, p), -infinity outside [0, n].
// BinomialCdf(k, n, p) = P[X <= k]: 0 for k < 0, 1 for k >= n; otherwise computed as the
// regularized incomplete beta function I_{1-p}(n - k, k + 1) (Abramowitz & Stegun 26.5.24),
// evaluated by its continued fraction (A&S 26.5.8, modified Lentz), so tails far from the mean
// keep their relative accuracy (no 1 - (1 - x) cancellation).
// Callers guarantee n >= 0 and p in [0, 1] (broken invariant: abort). Pure; thread-safe.
#pragma once

#include <cstdint>

namespace fedsilo {

double LogBinomialPmf(int64_t k, int64_t n, double p);
double BinomialCdf(int64_t k, int64_t n, double p);

// Regularized incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1].
double RegularizedIncompleteBeta(double a, double b, double x);

}  // namespace fedsilo
