#include "common/dp/coordinate_rr_mean.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/base/rng.h"

namespace fedsilo {
namespace {

// n records in R^d, each clipped to norm <= C (a third of them have raw norm above C).
std::vector<Vector> ClippedRecords(int n, int d, double clip, Rng& rng) {
  std::vector<Vector> records;
  for (int i = 0; i < n; ++i) {
    Vector x(d);
    for (int j = 0; j < d; ++j) x[j] = rng.Normal() * (i % 3 == 0 ? 1.5 : 0.3) + 0.2;
    if (x.norm() > clip) x *= clip / x.norm();
    records.push_back(x);
  }
  return records;
}

// Statistical test of unbiasedness: the average of T independent estimates of the mean of n
// clipped records lies within 5 standard errors of the exact mean in every coordinate, where the
// standard error comes from the randomizer's variance formula written out here
// (Var(Y_j) = S^2/d - x_j^2 per report, independent reports). The mean squared error agrees with
// (1/n^2) sum_i (S^2 - ||x_i||^2) to 10%.
TEST(CoordinateRrMeanTest, AverageOfDecodedReportsIsUnbiasedForTheMeanClippedGradient) {
  const int n = 200, d = 5, trials = 2000;
  const double clip = 1.0, eps0 = 2.0;
  Rng data_rng(11);
  const std::vector<Vector> records = ClippedRecords(n, d, clip, data_rng);
  Vector mean = Vector::Zero(d);
  for (const Vector& x : records) mean += x;
  mean /= n;
  auto randomizer = CoordinateRrRandomizer::Create(d, clip, eps0);
  ASSERT_TRUE(randomizer.ok());
  const double s = d * clip * (std::exp(eps0) + 1) / (std::exp(eps0) - 1);
  ASSERT_NEAR(randomizer->scale(), s, 1e-12);

  Rng rng(12);
  Vector average = Vector::Zero(d);
  double squared_error = 0.0;
  for (int t = 0; t < trials; ++t) {
    std::vector<CoordinateRrReport> reports;
    for (const Vector& x : records) {
      auto r = randomizer->Randomize(std::span<const double>(x.data(), d), rng);
      ASSERT_TRUE(r.ok()) << r.status();
      reports.push_back(*r);
    }
    auto estimate = EstimateMeanFromCoordinateRr(*randomizer, reports);
    ASSERT_TRUE(estimate.ok()) << estimate.status();
    average += *estimate;
    squared_error += (*estimate - mean).squaredNorm();
  }
  average /= trials;
  squared_error /= trials;
  double expected_squared_error = 0.0;
  for (int j = 0; j < d; ++j) {
    double variance = 0.0;  // of one estimate's coordinate j
    for (const Vector& x : records) variance += s * s / d - x[j] * x[j];
    variance /= double(n) * n;
    expected_squared_error += variance;
    EXPECT_NEAR(average[j], mean[j], 5.0 * std::sqrt(variance / trials)) << j;
  }
  EXPECT_NEAR(squared_error / expected_squared_error, 1.0, 0.1);
}

TEST(CoordinateRrMeanTest, OrderOfTheReportsDoesNotMatter) {
  auto randomizer = CoordinateRrRandomizer::Create(4, 1.0, 1.0);
  ASSERT_TRUE(randomizer.ok());
  std::vector<CoordinateRrReport> reports = {{0, 1}, {3, -1}, {1, 1}, {0, -1}, {2, 1}, {3, -1}};
  auto a = EstimateMeanFromCoordinateRr(*randomizer, reports);
  Rng rng(3);
  rng.Shuffle(std::span<CoordinateRrReport>(reports));
  auto b = EstimateMeanFromCoordinateRr(*randomizer, reports);
  ASSERT_TRUE(a.ok() && b.ok());
  // Exact value: coordinate 3 got two -1 reports, 0 cancels, 1 and 2 one +1 each.
  const double s = randomizer->scale();
  const Vector expected = (Vector(4) << 0.0, s, s, -2 * s).finished() / 6.0;
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR((*a)[j], expected[j], 1e-12);
    EXPECT_NEAR((*b)[j], expected[j], 1e-12);
  }
}

TEST(CoordinateRrMeanTest, RefusesMalformedReports) {
  auto randomizer = CoordinateRrRandomizer::Create(3, 1.0, 1.0);
  ASSERT_TRUE(randomizer.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(EstimateMeanFromCoordinateRr(*randomizer, {}).status()));
  const std::vector<CoordinateRrReport> out_of_range = {{0, 1}, {3, 1}};
  auto bad = EstimateMeanFromCoordinateRr(*randomizer, out_of_range);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_NE(bad.status().message().find("report 1"), std::string::npos);
  const std::vector<CoordinateRrReport> zero_sign = {{0, 0}};
  EXPECT_TRUE(
      absl::IsInvalidArgument(EstimateMeanFromCoordinateRr(*randomizer, zero_sign).status()));
}

}  // namespace
}  // namespace fedsilo
