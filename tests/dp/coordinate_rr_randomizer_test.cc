// The coordinate + randomized-response local randomizer (common/dp/coordinate_rr_randomizer.h):
// its exact output law against the textbook two-stage formula (stochastic rounding, then
// randomized response keeping the sign with probability e^eps0 / (e^eps0 + 1)), the worst-case
// likelihood ratio over all outputs and inputs (<= e^eps0, attained), sampled frequencies against
// the exact law, unbiasedness and the variance formula as statistics over many draws, and refusals.
#include "common/dp/coordinate_rr_randomizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/base/rng.h"

namespace fedsilo {
namespace {

// Pr[(j, s) | x] built from the two stages, with pi = e^eps0 / (e^eps0 + 1).
double TwoStageProbability(int64_t j, int s, const std::vector<double>& x, double clip,
                           double eps0) {
  const double pi = std::exp(eps0) / (std::exp(eps0) + 1.0);
  const double t = x[j] / clip;
  const double rounded_plus = (1.0 + t) / 2.0;
  const double plus = pi * rounded_plus + (1.0 - pi) * (1.0 - rounded_plus);
  return (s == 1 ? plus : 1.0 - plus) / static_cast<double>(x.size());
}

std::vector<std::vector<double>> TestInputs(int64_t d, double clip) {
  std::vector<std::vector<double>> inputs;
  inputs.push_back(std::vector<double>(d, 0.0));
  for (double sign : {1.0, -1.0}) {
    std::vector<double> x(d, 0.0);
    x[0] = sign * clip;
    inputs.push_back(x);
  }
  std::vector<double> diagonal(d, clip / std::sqrt(static_cast<double>(d)));
  inputs.push_back(diagonal);
  Rng rng(7);
  for (int i = 0; i < 5; ++i) {
    std::vector<double> x(d);
    double norm2 = 0.0;
    for (double& v : x) {
      v = rng.Normal();
      norm2 += v * v;
    }
    const double radius = clip * rng.Uniform();
    for (double& v : x) v *= radius / std::sqrt(norm2);
    inputs.push_back(x);
  }
  return inputs;
}

TEST(CoordinateRrRandomizerTest, ExactLawAndWorstCaseLikelihoodRatio) {
  for (int64_t d : {1, 3, 10}) {
    for (double eps0 : {0.1, 1.0, 4.0, 10.0}) {
      const double clip = 2.5;
      absl::StatusOr<CoordinateRrRandomizer> r = CoordinateRrRandomizer::Create(d, clip, eps0);
      ASSERT_TRUE(r.ok()) << r.status();
      const std::vector<std::vector<double>> inputs = TestInputs(d, clip);
      double worst_ratio = 0.0;
      for (int64_t j = 0; j < d; ++j) {
        for (int s : {-1, 1}) {
          const CoordinateRrReport report{j, s};
          double smallest = 1.0, largest = 0.0;
          for (const std::vector<double>& x : inputs) {
            const double prob = r->ReportProbability(report, x);
            EXPECT_NEAR(prob, TwoStageProbability(j, s, x, clip, eps0), 1e-15);
            smallest = std::min(smallest, prob);
            largest = std::max(largest, prob);
          }
          ASSERT_GT(smallest, 0.0);
          worst_ratio = std::max(worst_ratio, largest / smallest);
        }
      }
      // Every output, every pair of inputs: ratio <= e^eps0, attained by x = +-C e_0.
      EXPECT_LE(worst_ratio, std::exp(eps0) * (1 + 1e-12)) << "d=" << d << " eps0=" << eps0;
      EXPECT_NEAR(worst_ratio / std::exp(eps0), 1.0, 1e-9) << "d=" << d << " eps0=" << eps0;
      // The law sums to one for each input.
      for (const std::vector<double>& x : inputs) {
        double total = 0.0;
        for (int64_t j = 0; j < d; ++j) {
          for (int s : {-1, 1}) total += r->ReportProbability({j, s}, x);
        }
        EXPECT_NEAR(total, 1.0, 1e-14);
      }
    }
  }
}

TEST(CoordinateRrRandomizerTest, SampledFrequenciesMatchTheExactLaw) {
  const int64_t d = 4;
  const double clip = 1.0, eps0 = 1.5;
  absl::StatusOr<CoordinateRrRandomizer> r = CoordinateRrRandomizer::Create(d, clip, eps0);
  ASSERT_TRUE(r.ok());
  const std::vector<double> x = {0.6, -0.5, 0.1, 0.0};  // norm 0.787
  constexpr int kDraws = 400000;
  std::vector<int> counts(2 * d, 0);
  Rng rng(DeriveSeed(11, "coordinate_rr_test"));
  for (int i = 0; i < kDraws; ++i) {
    absl::StatusOr<CoordinateRrReport> report = r->Randomize(x, rng);
    ASSERT_TRUE(report.ok());
    ++counts[2 * report->coordinate + (report->sign == 1 ? 1 : 0)];
  }
  // Each cell count is Binomial(kDraws, p): within 5 standard deviations.
  for (int64_t j = 0; j < d; ++j) {
    for (int s : {-1, 1}) {
      const double p = r->ReportProbability({j, s}, x);
      const double expected = kDraws * p;
      const double sd = std::sqrt(kDraws * p * (1 - p));
      EXPECT_NEAR(counts[2 * j + (s == 1 ? 1 : 0)], expected, 5 * sd) << "j=" << j << " s=" << s;
    }
  }
}

TEST(CoordinateRrRandomizerTest, UnbiasedWithTheStatedVariance) {
  const int64_t d = 5;
  const double clip = 2.0, eps0 = 1.0;
  absl::StatusOr<CoordinateRrRandomizer> r = CoordinateRrRandomizer::Create(d, clip, eps0);
  ASSERT_TRUE(r.ok());
  const std::vector<double> x = {1.2, -0.8, 0.0, 0.5, -1.1};  // norm 1.906 <= 2
  const double S = r->scale();
  // The scale from its definition, independently: d C (e^eps0 + 1) / (e^eps0 - 1).
  EXPECT_NEAR(S, d * clip * (std::exp(eps0) + 1) / (std::exp(eps0) - 1), 1e-12 * S);
  constexpr int kDraws = 1000000;
  std::vector<double> sum(d, 0.0), sum_sq(d, 0.0);
  double sum_sq_error = 0.0;
  Rng rng(DeriveSeed(12, "coordinate_rr_test"));
  std::vector<double> y(d);
  for (int i = 0; i < kDraws; ++i) {
    absl::StatusOr<CoordinateRrReport> report = r->Randomize(x, rng);
    ASSERT_TRUE(report.ok());
    std::fill(y.begin(), y.end(), 0.0);
    r->AddDecoded(*report, y);
    double err = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      sum[j] += y[j];
      sum_sq[j] += y[j] * y[j];
      err += (y[j] - x[j]) * (y[j] - x[j]);
    }
    sum_sq_error += err;
  }
  for (int64_t j = 0; j < d; ++j) {
    const double var = r->CoordinateVariance(x, j);
    // Independent: Var(Y_j) = E[Y_j^2] - x_j^2 with E[Y_j^2] = S^2 / d.
    EXPECT_NEAR(var, S * S / d - x[j] * x[j], 1e-9 * var);
    // Mean: standard error sqrt(var / N); 5 standard errors.
    const double mean = sum[j] / kDraws;
    EXPECT_NEAR(mean, x[j], 5 * std::sqrt(var / kDraws)) << "j=" << j;
    // Variance: E[Y_j^2] estimated by the sample second moment; Y_j^2 is S^2 w.p. 1/d, else 0,
    // so its standard error is S^2 sqrt((1/d)(1 - 1/d) / N).
    const double second_moment = sum_sq[j] / kDraws;
    const double se = S * S * std::sqrt((1.0 / d) * (1 - 1.0 / d) / kDraws);
    EXPECT_NEAR(second_moment - x[j] * x[j], var, 5 * se) << "j=" << j;
  }
  double norm2 = 0.0;
  for (double v : x) norm2 += v * v;
  EXPECT_NEAR(r->ExpectedSquaredError(x), S * S - norm2, 1e-9 * S * S);
  // ||Y - x||^2 = S^2 - 2 <Y, x> + ||x||^2; its sample mean against S^2 - ||x||^2, within
  // 5 standard errors (Var ||Y - x||^2 = 4 Var <Y, x> <= 4 S^2 max_j x_j^2).
  const double max_x = 1.2;
  EXPECT_NEAR(sum_sq_error / kDraws, r->ExpectedSquaredError(x),
              5 * 2 * S * max_x / std::sqrt(static_cast<double>(kDraws)));
}

// The summation a round would do: many records, one report each, decoded and added. Over many
// repetitions the mean of the sum equals the true sum of the records, within 5 standard errors
// from the stated variance (reports are independent: Var(sum_j) = sum_i Var_i(Y_j)).
TEST(CoordinateRrRandomizerTest, SumOfReportsIsUnbiasedForTheSum) {
  const int64_t d = 3;
  const double clip = 1.0, eps0 = 2.0;
  absl::StatusOr<CoordinateRrRandomizer> r = CoordinateRrRandomizer::Create(d, clip, eps0);
  ASSERT_TRUE(r.ok());
  Rng data_rng(5);
  std::vector<std::vector<double>> records(40, std::vector<double>(d));
  std::vector<double> true_sum(d, 0.0), sum_variance(d, 0.0);
  for (std::vector<double>& x : records) {
    double norm2 = 0.0;
    for (double& v : x) {
      v = data_rng.Normal();
      norm2 += v * v;
    }
    for (double& v : x) v *= clip / std::max(clip, std::sqrt(norm2));  // clip to norm <= 1
    for (int64_t j = 0; j < d; ++j) {
      true_sum[j] += x[j];
      sum_variance[j] += r->CoordinateVariance(x, j);
    }
  }
  constexpr int kRepetitions = 20000;
  std::vector<double> mean_of_sums(d, 0.0);
  Rng rng(DeriveSeed(13, "coordinate_rr_test"));
  for (int rep = 0; rep < kRepetitions; ++rep) {
    std::vector<double> sum(d, 0.0);
    for (const std::vector<double>& x : records) {
      absl::StatusOr<CoordinateRrReport> report = r->Randomize(x, rng);
      ASSERT_TRUE(report.ok());
      r->AddDecoded(*report, sum);
    }
    for (int64_t j = 0; j < d; ++j) mean_of_sums[j] += sum[j] / kRepetitions;
  }
  for (int64_t j = 0; j < d; ++j) {
    EXPECT_NEAR(mean_of_sums[j], true_sum[j], 5 * std::sqrt(sum_variance[j] / kRepetitions))
        << "j=" << j;
  }
}

TEST(CoordinateRrRandomizerTest, SameSeedSameReports) {
  absl::StatusOr<CoordinateRrRandomizer> r = CoordinateRrRandomizer::Create(6, 1.0, 2.0);
  ASSERT_TRUE(r.ok());
  const std::vector<double> x = {0.1, 0.2, -0.3, 0.4, 0.0, -0.5};
  Rng a(99), b(99);
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<CoordinateRrReport> ra = r->Randomize(x, a);
    absl::StatusOr<CoordinateRrReport> rb = r->Randomize(x, b);
    ASSERT_TRUE(ra.ok() && rb.ok());
    EXPECT_EQ(ra->coordinate, rb->coordinate);
    EXPECT_EQ(ra->sign, rb->sign);
  }
}

TEST(CoordinateRrRandomizerTest, Refusals) {
  EXPECT_EQ(CoordinateRrRandomizer::Create(0, 1.0, 1.0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CoordinateRrRandomizer::Create(3, 0.0, 1.0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CoordinateRrRandomizer::Create(3, 1.0, 0.0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CoordinateRrRandomizer::Create(3, 1.0, INFINITY).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<CoordinateRrRandomizer> r = CoordinateRrRandomizer::Create(3, 1.0, 1.0);
  ASSERT_TRUE(r.ok());
  Rng rng(1);
  const std::vector<double> wrong_size = {0.1, 0.1};
  EXPECT_EQ(r->Randomize(wrong_size, rng).status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<double> too_long = {0.8, 0.8, 0.0};  // norm 1.13 > 1
  absl::StatusOr<CoordinateRrReport> refused = r->Randomize(too_long, rng);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("clip"), std::string::npos);
  const std::vector<double> on_the_sphere = {0.6, 0.8, 0.0};
  EXPECT_TRUE(r->Randomize(on_the_sphere, rng).ok());
}

}  // namespace
}  // namespace fedsilo
