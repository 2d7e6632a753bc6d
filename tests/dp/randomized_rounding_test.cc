// Randomized rounding against independent values: each coordinate lands on its floor or its
// ceiling, up with probability its fractional part (binomial tolerance over many draws); the
// sensitivity bound the secure sum relies on, ||out(x) - out(y)|| <= ||x - y|| + sqrt(d) for a
// shared draw, checked over random pairs; bad input named.
#include "common/dp/randomized_rounding.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

TEST(RandomizedRoundingTest, IsUnbiasedAndRoundsEachCoordinateToItsFloorOrCeiling) {
  const std::vector<double> x = {0.25, -1.7, 3.0, 2.9, -0.5};
  std::vector<double> sum(x.size(), 0.0);
  std::vector<int64_t> out(x.size());
  Rng rng(5);
  constexpr int kDraws = 40000;
  for (int n = 0; n < kDraws; ++n) {
    ASSERT_TRUE(RandomizedRound(x, 1.0, rng, out).ok());
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_TRUE(out[i] == std::floor(x[i]) || out[i] == std::ceil(x[i])) << i << " " << out[i];
      sum[i] += static_cast<double>(out[i]);
    }
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const double p = x[i] - std::floor(x[i]);  // P(round up)
    const double sd = std::sqrt(p * (1.0 - p) / kDraws);
    EXPECT_NEAR(sum[i] / kDraws, x[i], 5.0 * sd + 1e-12) << i;
  }
  // An integer coordinate is never moved: 3.0 stayed 3 in every draw.
  EXPECT_EQ(sum[2], 3.0 * kDraws);
}

TEST(RandomizedRoundingTest, ASharedDrawMovesTheDifferenceByAtMostSqrtD) {
  constexpr int kDim = 20;
  Rng data(11);
  double worst_excess = -1e9;
  for (int trial = 0; trial < 5000; ++trial) {
    std::vector<double> x(kDim), y(kDim);
    double diff_sq = 0.0;
    for (int j = 0; j < kDim; ++j) {
      x[j] = 50.0 * data.Normal();
      // y differs from x in a few coordinates only, by up to a few units.
      y[j] = (j % 4 == trial % 4) ? x[j] + 3.0 * data.Normal() : x[j];
      diff_sq += (x[j] - y[j]) * (x[j] - y[j]);
    }
    Rng draw(1000 + trial);
    Rng same = draw;  // the same uniforms for both inputs
    std::vector<int64_t> rx(kDim), ry(kDim);
    ASSERT_TRUE(RandomizedRound(x, 1.0, draw, rx).ok());
    ASSERT_TRUE(RandomizedRound(y, 1.0, same, ry).ok());
    double out_sq = 0.0;
    int moved = 0;
    for (int j = 0; j < kDim; ++j) {
      const double d = static_cast<double>(rx[j] - ry[j]);
      out_sq += d * d;
      if (x[j] != y[j]) ++moved;
      if (x[j] == y[j]) {
        EXPECT_EQ(rx[j], ry[j]);
      }
    }
    // The bound with the coordinates that differ (5 of 20): ||x - y|| + sqrt(5) <= ... + sqrt(d).
    EXPECT_LE(std::sqrt(out_sq), std::sqrt(diff_sq) + std::sqrt(static_cast<double>(moved)) + 1e-9);
    worst_excess = std::max(worst_excess, std::sqrt(out_sq) - std::sqrt(diff_sq));
  }
  EXPECT_GT(worst_excess, 0.5);  // the rounding does add to the difference: the bound is not idle
}

TEST(RandomizedRoundingTest, RefusesBadInput) {
  Rng rng(7);
  std::vector<int64_t> out(2);
  EXPECT_FALSE(RandomizedRound(std::vector<double>{1.0}, 1.0, rng, out).ok());  // lengths
  EXPECT_FALSE(RandomizedRound(std::vector<double>{std::nan(""), 0.0}, 1.0, rng, out).ok());
  EXPECT_FALSE(
      RandomizedRound(std::vector<double>{std::numeric_limits<double>::infinity(), 0.0}, 1.0, rng,
                      out)
          .ok());
  EXPECT_FALSE(RandomizedRound(std::vector<double>{1e17, 0.0}, 1.0, rng, out).ok());
  EXPECT_FALSE(RandomizedRound(std::vector<double>{1e15, 0.0}, 1e3, rng, out).ok());  // scaled
  ASSERT_TRUE(RandomizedRound(std::vector<double>{-3.0, 4.0}, 1.0, rng, out).ok());
  EXPECT_EQ(out[0], -3);
  EXPECT_EQ(out[1], 4);
  ASSERT_TRUE(RandomizedRound(std::vector<double>{-1.5, 2.0}, 2.0, rng, out).ok());
  EXPECT_EQ(out[0], -3);  // the scaled values, integers, are kept
  EXPECT_EQ(out[1], 4);
}

}  // namespace
}  // namespace fedsilo
