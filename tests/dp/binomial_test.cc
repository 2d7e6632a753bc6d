// Binomial pmf/cdf (common/dp/binomial.h) against independent values: exact sums of
// n choose k p^k (1-p)^(n-k) built by the multiplicative recurrence in long double, the closed
// forms of the extreme tails, and the symmetry of Bin(n, 1/2).
#include "common/dp/binomial.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace fedsilo {
namespace {

// Pr[X = k] for k = 0..n by the ratio recurrence pmf(k+1) = pmf(k) (n-k)/(k+1) p/(1-p).
std::vector<long double> PmfByRecurrence(int n, long double p) {
  std::vector<long double> pmf(n + 1);
  pmf[0] = std::pow(1.0L - p, static_cast<long double>(n));
  for (int k = 0; k < n; ++k) pmf[k + 1] = pmf[k] * (n - k) / (k + 1) * p / (1.0L - p);
  return pmf;
}

TEST(BinomialTest, CdfMatchesExactSumsForSmallN) {
  for (int n : {1, 2, 7, 10, 40, 150}) {
    for (double p : {0.01, 0.3, 0.5, 0.9}) {
      const std::vector<long double> pmf = PmfByRecurrence(n, p);
      long double cdf = 0.0L;
      for (int k = 0; k <= n; ++k) {
        cdf += pmf[k];
        EXPECT_NEAR(BinomialCdf(k, n, p), static_cast<double>(cdf), 1e-12 * (1.0 + cdf))
            << "n=" << n << " p=" << p << " k=" << k;
        if (pmf[k] > 1e-300L) {
          EXPECT_NEAR(LogBinomialPmf(k, n, p), std::log(static_cast<double>(pmf[k])), 1e-10)
              << "n=" << n << " p=" << p << " k=" << k;
        }
      }
    }
  }
}

TEST(BinomialTest, PublishedSmallValue) {
  // sum_{k<=3} C(10,k) 0.3^k 0.7^(10-k) = 0.6496107184 (exact to 10 digits).
  EXPECT_NEAR(BinomialCdf(3, 10, 0.3), 0.6496107184, 1e-10);
}

TEST(BinomialTest, ExtremeTailsKeepRelativeAccuracy) {
  // Pr[X <= 0] = 2^-100 for Bin(100, 1/2); Pr[X <= 99] = 1 - 2^-100 rounds to 1.
  EXPECT_NEAR(BinomialCdf(0, 100, 0.5) / std::ldexp(1.0, -100), 1.0, 1e-10);
  // Pr[X <= 1] = (1-p)^n + n p (1-p)^(n-1) for n = 1e5, p = 1e-3 (about 4.5e-42).
  const double n = 1e5, p = 1e-3;
  const double exact = std::exp(n * std::log1p(-p)) * (1.0 + n * p / (1.0 - p));
  EXPECT_NEAR(BinomialCdf(1, 100000, p) / exact, 1.0, 1e-8);
}

TEST(BinomialTest, HalfIsSymmetric) {
  for (int64_t c : {5, 100, 99999, 100000}) {
    for (int64_t k = 0; k < c; k += std::max<int64_t>(1, c / 13)) {
      // Pr[X <= k] = Pr[X >= c - k] = 1 - Pr[X <= c - k - 1].
      EXPECT_NEAR(BinomialCdf(k, c, 0.5) + BinomialCdf(c - k - 1, c, 0.5), 1.0, 1e-12)
          << "c=" << c << " k=" << k;
    }
  }
}

TEST(BinomialTest, OutsideTheSupport) {
  EXPECT_EQ(BinomialCdf(-1, 10, 0.3), 0.0);
  EXPECT_EQ(BinomialCdf(10, 10, 0.3), 1.0);
  EXPECT_TRUE(std::isinf(LogBinomialPmf(11, 10, 0.3)));
  EXPECT_TRUE(std::isinf(LogBinomialPmf(-1, 10, 0.3)));
}

}  // namespace
}  // namespace fedsilo
