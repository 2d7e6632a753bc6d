// AddSkellamNoise against the Skellam pmf e^-v I_|k|(v) (Bessel functions; mpmath values check
// the test's own pmf), by Pearson's chi-square, and its mean and variance at a large variance.
#include "common/dp/skellam_noise.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <vector>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

double SkellamPmf(double variance, int64_t k) {
  return std::exp(-variance) *
         std::cyl_bessel_i(static_cast<double>(std::llabs(k)), variance);
}

TEST(SkellamNoiseTest, TheTestsPmfMatchesMpmath) {
  EXPECT_NEAR(SkellamPmf(10, 0), 0.12783333716342861, 1e-13);
  EXPECT_NEAR(SkellamPmf(10, 1), 0.12126268138445552, 1e-13);
  EXPECT_NEAR(SkellamPmf(10, -2), 0.1035808008865375, 1e-13);
}

// Pearson's statistic over the values whose expected count is >= 20, tails merged, stays below
// the chi-square quantile of probability 1 - 1e-6 (Wilson-Hilferty), for small and large
// variances (the two Poisson methods), on top of non-zero values.
TEST(SkellamNoiseTest, FollowsTheSkellamPmf) {
  for (double variance : {0.7, 10.0, 30.0, 400.0}) {
    const int n = 200000;
    std::vector<int64_t> values(n, 1000);
    Rng rng(23);
    ASSERT_TRUE(AddSkellamNoise(values, variance, rng).ok());
    std::map<int64_t, int> counts;
    for (int64_t v : values) ++counts[v - 1000];
    int64_t reach = 0;
    while (n * SkellamPmf(variance, reach + 1) >= 20) ++reach;
    double chi = 0, inside = 0, observed_inside = 0;
    int bins = 0;
    for (int64_t k = -reach; k <= reach; ++k) {
      const double expected = n * SkellamPmf(variance, k);
      const double observed = counts.count(k) ? counts[k] : 0;
      chi += (observed - expected) * (observed - expected) / expected;
      inside += expected;
      observed_inside += observed;
      ++bins;
    }
    if (n - inside >= 5) {
      const double tail = n - inside, observed = n - observed_inside;
      chi += (observed - tail) * (observed - tail) / tail;
      ++bins;
    }
    const int df = bins - 1;
    const double h = 2.0 / (9.0 * df);
    EXPECT_LT(chi, df * std::pow(1 - h + 4.753 * std::sqrt(h), 3)) << variance << " df " << df;
  }
}

TEST(SkellamNoiseTest, MeanZeroAndTheGivenVarianceAtLargeVariance) {
  const int n = 100000;
  std::vector<int64_t> values(n, 0);
  Rng rng(4);
  ASSERT_TRUE(AddSkellamNoise(values, 2e10, rng).ok());
  double sum = 0, sum_sq = 0;
  for (int64_t v : values) {
    sum += static_cast<double>(v);
    sum_sq += static_cast<double>(v) * static_cast<double>(v);
  }
  EXPECT_NEAR(sum / n, 0.0, 5 * std::sqrt(2e10 / n));
  EXPECT_NEAR(sum_sq / n / 2e10, 1.0, 0.03);
}

TEST(SkellamNoiseTest, ZeroVarianceLeavesTheValuesAndBadArgumentsAreRefused) {
  std::vector<int64_t> values = {5, -7, 0};
  Rng rng(1);
  ASSERT_TRUE(AddSkellamNoise(values, 0, rng).ok());
  EXPECT_EQ(values, (std::vector<int64_t>{5, -7, 0}));
  EXPECT_FALSE(AddSkellamNoise(values, -1, rng).ok());
  EXPECT_FALSE(AddSkellamNoise(values, std::nan(""), rng).ok());
  EXPECT_FALSE(AddSkellamNoise(values, 3e15, rng).ok());
  // At the int64 edge a positive draw overflows and is refused, leaving the value as it was; a
  // negative one fits. Over 40 seeds both happen (each has probability about 1/2).
  int refused = 0, fitted = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Rng edge_rng(seed);
    std::vector<int64_t> edge = {std::numeric_limits<int64_t>::max()};
    const absl::Status status = AddSkellamNoise(edge, 1e6, edge_rng);
    if (status.ok()) {
      ++fitted;
    } else {
      ++refused;
      EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
      EXPECT_EQ(edge[0], std::numeric_limits<int64_t>::max());
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(fitted, 0);
}

}  // namespace
}  // namespace fedsilo
