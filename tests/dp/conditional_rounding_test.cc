// Conditional randomized rounding against values worked out by hand: the norm bound's formula,
// unbiasedness and the floor/ceiling support of each coordinate, the bound always met, the exact
// conditional distribution when the bound refuses some roundings, and the errors.
#include "common/dp/conditional_rounding.h"

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

TEST(RoundingNormBoundTest, MatchesTheFormulaWorkedByHand) {
  // c = 10, d = 100, beta = e^{-1/2}: sqrt(2 ln(1 / beta)) = 1, so
  // B^2 = min(100 + 25 + (10 + 5), (10 + 10)^2) = min(140, 400) = 140.
  auto bound = RoundingNormBound(10.0, 100, std::exp(-0.5));
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_NEAR(*bound, std::sqrt(140.0), 1e-12);
  // c = 0, d = 1, beta = e^{-8}: sqrt(16) = 4, first term 0.25 + 4 * 0.5 = 2.25 > (0 + 1)^2 = 1.
  auto deterministic = RoundingNormBound(0.0, 1, std::exp(-8.0));
  ASSERT_TRUE(deterministic.ok());
  EXPECT_NEAR(*deterministic, 1.0, 1e-12);
  EXPECT_FALSE(RoundingNormBound(-1.0, 3, 0.1).ok());
  EXPECT_FALSE(RoundingNormBound(1.0, 0, 0.1).ok());
  EXPECT_FALSE(RoundingNormBound(1.0, 3, 0.0).ok());
  EXPECT_FALSE(RoundingNormBound(1.0, 3, 1.0).ok());
  EXPECT_FALSE(RoundingNormBound(std::numeric_limits<double>::infinity(), 3, 0.1).ok());
}

TEST(ConditionalRoundingTest, IsUnbiasedAndRoundsEachCoordinateToItsFloorOrCeiling) {
  const std::vector<double> x = {0.25, -1.7, 3.0, 2.9, -0.5};
  std::vector<double> sum(x.size(), 0.0);
  std::vector<int64_t> out(x.size());
  Rng rng(5);
  constexpr int kDraws = 40000;
  for (int n = 0; n < kDraws; ++n) {
    ASSERT_TRUE(ConditionallyRound(x, 1e9, rng, out).ok());
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
}

TEST(ConditionalRoundingTest, DrawsAgainUntilTheBoundHoldsLeavingTheOthersEquallyLikely) {
  // (0.5, 0.5, 0.5, 0.5) rounds to each of the 16 vectors of {0, 1}^4 with probability 1/16;
  // a bound of sqrt(2) keeps those with at most two ones (1 + 4 + 6 = 11), each then 1/11.
  const std::vector<double> x(4, 0.5);
  std::vector<int64_t> out(4);
  std::map<std::vector<int64_t>, int> seen;
  Rng rng(6);
  constexpr int kDraws = 22000;
  for (int n = 0; n < kDraws; ++n) {
    ASSERT_TRUE(ConditionallyRound(x, std::sqrt(2.0), rng, out).ok());
    int ones = 0;
    for (int64_t v : out) ones += static_cast<int>(v);
    ASSERT_LE(ones, 2);
    ++seen[out];
  }
  EXPECT_EQ(seen.size(), 11u);
  const double p = 1.0 / 11.0, sd = std::sqrt(p * (1.0 - p) / kDraws);
  for (const auto& [vector, count] : seen) {
    EXPECT_NEAR(static_cast<double>(count) / kDraws, p, 5.0 * sd);
  }
}

TEST(ConditionalRoundingTest, RefusesWhatNoRoundingCanMeetAndBadInput) {
  std::vector<int64_t> out(2);
  Rng rng(7);
  // Every rounding of (1.5, 1.5) has norm >= sqrt(2) > 1.
  const absl::Status impossible = ConditionallyRound(std::vector<double>{1.5, 1.5}, 1.0, rng, out, 50);
  EXPECT_EQ(impossible.code(), absl::StatusCode::kResourceExhausted) << impossible;
  EXPECT_FALSE(ConditionallyRound(std::vector<double>{1.0}, 1.0, rng, out).ok());  // lengths
  EXPECT_FALSE(
      ConditionallyRound(std::vector<double>{std::nan(""), 0.0}, 10.0, rng, out).ok());
  EXPECT_FALSE(ConditionallyRound(std::vector<double>{1e17, 0.0}, 1e18, rng, out).ok());
  EXPECT_FALSE(ConditionallyRound(std::vector<double>{0.0, 0.0}, -1.0, rng, out).ok());
  // Integers round to themselves.
  ASSERT_TRUE(ConditionallyRound(std::vector<double>{-3.0, 4.0}, 5.0, rng, out).ok());
  EXPECT_EQ(out, (std::vector<int64_t>{-3, 4}));
}

}  // namespace
}  // namespace fedsilo
