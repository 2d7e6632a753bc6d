// Binomial distribution Bin(n, p): log of the probability mass and the cumulative distribution,
// used by the shuffle-amplification bound (n = number of reports). lgamma-based, so the absolute
// error of the log grows like n * 1e-16; tested to 1e-12 against exact sums for n <= 150 and to
// 1e-8 relative in a far tail (about 1e-42) at n = 1e5 (tests/dp/binomial_test.cc).
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
