// SkellamRdp against independent values: the exact Renyi divergence of shifted Skellam
// distributions, summed here from the pmf e^-mu I_|k|(mu) (Bessel functions), which the bound
// must never undercut; mpmath values of that divergence; and hand-computed points of the formula.
#include "common/dp/skellam_rdp.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

// log P(K = k) for K ~ Sk(mu) = Poisson(mu/2) - Poisson(mu/2): e^-mu I_|k|(mu).
double LogSkellamPmf(double mu, int k) {
  return -mu + std::log(std::cyl_bessel_i(static_cast<double>(std::abs(k)), mu));
}

// The exact D_alpha(Sk(mu) + shift || Sk(mu)) in one dimension, by direct summation in log space
// (mu <= 200: libstdc++'s I_k(mu) fails further out).
double SkellamDivergence(double mu, int shift, double alpha) {
  const int reach = static_cast<int>(40 * std::sqrt(mu)) + 40 + std::abs(shift);
  std::vector<double> logs;
  for (int k = -reach; k <= reach; ++k) {
    logs.push_back(alpha * LogSkellamPmf(mu, k - shift) + (1 - alpha) * LogSkellamPmf(mu, k));
  }
  const double top = *std::max_element(logs.begin(), logs.end());
  double sum = 0;
  for (double l : logs) sum += std::exp(l - top);
  return (top + std::log(sum)) / (alpha - 1);
}

TEST(SkellamRdpTest, TheTestsPmfAndDivergenceMatchMpmath) {
  // mpmath, 30 digits.
  EXPECT_NEAR(std::exp(LogSkellamPmf(10, 0)), 0.12783333716342861, 1e-13);
  EXPECT_NEAR(std::exp(LogSkellamPmf(10, 5)), 0.035284293614933963, 1e-13);
  EXPECT_NEAR(std::exp(LogSkellamPmf(10, -10)), 9.9388192221399772e-4, 1e-15);
  EXPECT_NEAR(SkellamDivergence(50, 1, 2), 0.0199968000315, 1e-10);
  EXPECT_NEAR(SkellamDivergence(50, 3, 32), 2.06617472905, 1e-8);
  EXPECT_NEAR(SkellamDivergence(200, 5, 8), 0.495779039858, 1e-9);
}

TEST(SkellamRdpTest, HandComputedPoints) {
  // mu = 1e4, l1 = 100, l2 = 10: alpha/200 + ((2 alpha - 1) 100 + 600) / 4e8.
  const std::vector<double> orders = {2, 8, 32};
  auto rdp = SkellamRdp(100, 10, 1e4, orders);
  ASSERT_TRUE(rdp.ok()) << rdp.status();
  EXPECT_DOUBLE_EQ((*rdp)[0], 0.01000225);
  EXPECT_DOUBLE_EQ((*rdp)[1], 0.04000525);
  EXPECT_DOUBLE_EQ((*rdp)[2], 0.16001725);
  // A small variance takes the other branch of the min: 3 l1 / (2 mu).
  auto small = SkellamRdp(4, 2, 1, std::vector<double>{3});
  ASSERT_TRUE(small.ok());
  EXPECT_DOUBLE_EQ((*small)[0], 3 * 4 / 2.0 + 6.0);
}

// The bound holds over the exact divergence, in one dimension and for a two-coordinate shift
// (the divergence of a product is the sum over coordinates).
TEST(SkellamRdpTest, BoundsTheExactDivergence) {
  for (double mu : {3.0, 20.0, 50.0, 200.0}) {
    for (double alpha : {2.0, 5.0, 16.0, 64.0}) {
      for (int shift : {1, 3, 7}) {
        const double exact = SkellamDivergence(mu, shift, alpha);
        auto rdp = SkellamRdp(shift, shift, mu, std::vector<double>{alpha});
        ASSERT_TRUE(rdp.ok());
        EXPECT_GE((*rdp)[0], exact * (1 - 1e-9)) << mu << " " << alpha << " " << shift;
      }
      const double exact = SkellamDivergence(mu, 3, alpha) + SkellamDivergence(mu, 4, alpha);
      auto rdp = SkellamRdp(7, 5, mu, std::vector<double>{alpha});
      ASSERT_TRUE(rdp.ok());
      EXPECT_GE((*rdp)[0], exact * (1 - 1e-9)) << mu << " " << alpha;
    }
  }
}

TEST(SkellamRdpTest, OrdersBetweenIntegersTakeTheCeiling) {
  auto rdp = SkellamRdp(10, 5, 100, std::vector<double>{1.0, 1.5, 2.0, 2.01, 3.0,
                                                        std::numeric_limits<double>::infinity()});
  ASSERT_TRUE(rdp.ok());
  EXPECT_EQ((*rdp)[0], (*rdp)[2]);
  EXPECT_EQ((*rdp)[1], (*rdp)[2]);
  EXPECT_EQ((*rdp)[3], (*rdp)[4]);
  EXPECT_TRUE(std::isinf((*rdp)[5]));
}

TEST(SkellamRdpTest, RefusesImpossibleArguments) {
  const std::vector<double> two = {2};
  EXPECT_FALSE(SkellamRdp(-1, 0, 1, two).ok());
  EXPECT_FALSE(SkellamRdp(1, 2, 1, two).ok());  // L2 above L1
  EXPECT_FALSE(SkellamRdp(1, 1, 0, two).ok());
  EXPECT_FALSE(SkellamRdp(1, 1, std::nan(""), two).ok());
  EXPECT_FALSE(SkellamRdp(std::numeric_limits<double>::infinity(), 1, 1, two).ok());
  EXPECT_FALSE(SkellamRdp(1, 1, 1, std::vector<double>{0.5}).ok());
  EXPECT_FALSE(SkellamRdp(1, 1, 1, std::vector<double>{std::nan("")}).ok());
}

}  // namespace
}  // namespace fedsilo
