#include "common/data/batch_sampler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fedsilo {
namespace {

using ::testing::HasSubstr;

// A pool of n row ids that are not 0..n-1 (so the tests see the sampler returns pool values).
std::vector<int> MakePool(int n) {
  std::vector<int> pool(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) pool[i] = 1000 + 3 * i;
  return pool;
}
int PoolIndex(int row) { return (row - 1000) / 3; }

constexpr Sampling kAllSamplings[] = {Sampling::kPoisson, Sampling::kWithoutReplacement,
                                      Sampling::kWithReplacement};

TEST(BatchSamplerTest, ParseAndNameRoundTrip) {
  for (Sampling s : kAllSamplings) {
    auto parsed = ParseSampling(SamplingName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  auto bad = ParseSampling("bernoulli");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'bernoulli'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("poisson"));
}

TEST(BatchSamplerTest, PoissonBatchSizeHasBinomialMeanAndVariance) {
  const int n = 1000, batch = 50, trials = 20000;
  const double q = double(batch) / n;
  const std::vector<int> pool = MakePool(n);
  Rng rng(123);
  std::vector<int> out, inclusions(n, 0);
  double sum = 0, sum_sq = 0;
  for (int t = 0; t < trials; ++t) {
    SampleBatch(pool, batch, Sampling::kPoisson, rng, &out);
    ASSERT_TRUE(std::is_sorted(out.begin(), out.end()));  // pool order, no repeats
    ASSERT_TRUE(std::adjacent_find(out.begin(), out.end()) == out.end());
    for (int row : out) ++inclusions[PoolIndex(row)];
    sum += out.size();
    sum_sq += double(out.size()) * out.size();
  }
  const double mean = sum / trials, var = (sum_sq - trials * mean * mean) / (trials - 1);
  const double expected_var = n * q * (1 - q);  // 47.5
  // Mean: standard error sqrt(47.5 / 20000) = 0.049; allow 5 standard errors.
  EXPECT_NEAR(mean, n * q, 5 * std::sqrt(expected_var / trials));
  // Sample variance of a near-normal count: standard error ~ var * sqrt(2 / (T - 1)) = 0.475.
  EXPECT_NEAR(var, expected_var, 5 * expected_var * std::sqrt(2.0 / (trials - 1)));
  // Each record's inclusion count ~ Binomial(T, q) independently: sum of squared z-scores is
  // ~ chi-square with n dof (mean 1000, sd 44.7); allow 6 sd. No single record beyond 6 sd.
  const double e = trials * q, sd = std::sqrt(trials * q * (1 - q));
  double chi2 = 0;
  for (int c : inclusions) {
    chi2 += (c - e) * (c - e) / (sd * sd);
    EXPECT_LT(std::abs(c - e), 6 * sd);
  }
  EXPECT_NEAR(chi2, n, 6 * std::sqrt(2.0 * n));
}

TEST(BatchSamplerTest, WithoutReplacementGivesExactlyBatchDistinctRowsUniformly) {
  const int n = 200, batch = 20, trials = 20000;
  const std::vector<int> pool = MakePool(n);
  Rng rng(7);
  std::vector<int> out, inclusions(n, 0);
  for (int t = 0; t < trials; ++t) {
    SampleBatch(pool, batch, Sampling::kWithoutReplacement, rng, &out);
    ASSERT_EQ(out.size(), static_cast<size_t>(batch));
    ASSERT_TRUE(std::is_sorted(out.begin(), out.end()));  // pool order
    ASSERT_EQ(std::set<int>(out.begin(), out.end()).size(), static_cast<size_t>(batch));
    for (int row : out) {
      ASSERT_TRUE(std::binary_search(pool.begin(), pool.end(), row));
      ++inclusions[PoolIndex(row)];
    }
  }
  // Record i is included in each trial with probability p = batch / n, independently across
  // trials: Var(count_i) = T p (1 - p). X = sum z_i^2 has mean n exactly (counts are negatively
  // correlated, which only lowers its spread below chi-square(n)'s sd sqrt(2n) = 20); allow 6 sd.
  const double p = double(batch) / n, e = trials * p, var = trials * p * (1 - p);
  double x = 0;
  for (int c : inclusions) x += (c - e) * (c - e) / var;
  EXPECT_NEAR(x, n, 6 * std::sqrt(2.0 * n));
}

// A large pool and a small batch take the sampler's other way out (the chosen positions sorted
// rather than its bitmap read in order): the same law, and the records still in pool order.
TEST(BatchSamplerTest, WithoutReplacementFromALargePoolIsUniformAndInPoolOrder) {
  const int n = 3000, batch = 3, trials = 60000;
  const std::vector<int> pool = MakePool(n);
  Rng rng(17);
  std::vector<int> out, inclusions(n, 0);
  for (int t = 0; t < trials; ++t) {
    SampleBatch(pool, batch, Sampling::kWithoutReplacement, rng, &out);
    ASSERT_EQ(out.size(), static_cast<size_t>(batch));
    ASSERT_TRUE(std::is_sorted(out.begin(), out.end()));  // pool order (the pool is increasing)
    ASSERT_EQ(std::set<int>(out.begin(), out.end()).size(), static_cast<size_t>(batch));
    for (int row : out) ++inclusions[PoolIndex(row)];
  }
  // As above: sum of squared z-scores of the inclusion counts, mean n, allow 6 sd.
  const double p = double(batch) / n, e = trials * p, var = trials * p * (1 - p);
  double x = 0;
  for (int c : inclusions) x += (c - e) * (c - e) / var;
  EXPECT_NEAR(x, n, 6 * std::sqrt(2.0 * n));
  // The first and the last record of the pool (the ends of Floyd's loop) at the same rate.
  EXPECT_NEAR(inclusions.front(), e, 6 * std::sqrt(var));
  EXPECT_NEAR(inclusions.back(), e, 6 * std::sqrt(var));
}

TEST(BatchSamplerTest, WithoutReplacementDrawsEverySubsetEquallyOften) {
  // All C(5, 2) = 10 subsets equally likely: Pearson chi-square with 9 dof,
  // P(chi2 > 45) = 9.2e-7.
  const std::vector<int> pool = MakePool(5);
  const int trials = 100000;
  Rng rng(99);
  std::map<std::vector<int>, int> counts;
  std::vector<int> out;
  for (int t = 0; t < trials; ++t) {
    SampleBatch(pool, 2, Sampling::kWithoutReplacement, rng, &out);
    ++counts[out];
  }
  ASSERT_EQ(counts.size(), 10u);
  double chi2 = 0;
  const double e = trials / 10.0;
  for (const auto& [subset, c] : counts) chi2 += (c - e) * (c - e) / e;
  EXPECT_LT(chi2, 45.0);
}

TEST(BatchSamplerTest, WithReplacementGivesBatchRowsWithUniformFrequencies) {
  const int n = 100, batch = 10, trials = 10000;
  const std::vector<int> pool = MakePool(n);
  Rng rng(5);
  std::vector<int> out, counts(n, 0);
  for (int t = 0; t < trials; ++t) {
    SampleBatch(pool, batch, Sampling::kWithReplacement, rng, &out);
    ASSERT_EQ(out.size(), static_cast<size_t>(batch));
    for (int row : out) {
      ASSERT_TRUE(std::binary_search(pool.begin(), pool.end(), row));
      ++counts[PoolIndex(row)];
    }
  }
  // Multinomial(T * batch, 1/n): Pearson chi-square with 99 dof, P(chi2 > 183) = 5.9e-7.
  const double e = double(trials) * batch / n;
  double chi2 = 0;
  for (int c : counts) chi2 += (c - e) * (c - e) / e;
  EXPECT_LT(chi2, 183.0);
  EXPECT_GT(chi2, 40.0);  // P(chi2_99 < 40) = 2e-8: catches suspiciously even (non-random) draws

  // Repeats happen: 50 draws from 100 repeat a row with probability 1 - 100!/(50! 100^50) > 0.99.
  int with_repeat = 0;
  for (int t = 0; t < 100; ++t) {
    SampleBatch(pool, 50, Sampling::kWithReplacement, rng, &out);
    with_repeat += std::set<int>(out.begin(), out.end()).size() < out.size();
  }
  EXPECT_GT(with_repeat, 90);
}

TEST(BatchSamplerTest, BatchAtLeastPoolSizeReturnsTheWholePool) {
  const std::vector<int> pool = MakePool(37);
  Rng rng(1);
  std::vector<int> out = {42};  // replaced, not appended to
  for (int batch : {37, 38, 1000}) {
    SampleBatch(pool, batch, Sampling::kWithoutReplacement, rng, &out);
    EXPECT_EQ(out, pool);
    SampleBatch(pool, batch, Sampling::kPoisson, rng, &out);
    EXPECT_EQ(out, pool);
    SampleBatch(pool, batch, Sampling::kWithReplacement, rng, &out);
    EXPECT_EQ(out.size(), static_cast<size_t>(batch));
  }
}

TEST(BatchSamplerTest, EmptyPoolOrNonPositiveBatchGivesEmptyBatch) {
  Rng rng(1);
  std::vector<int> out = {1, 2, 3};
  const std::vector<int> empty;
  for (Sampling s : kAllSamplings) {
    SampleBatch(empty, 5, s, rng, &out);
    EXPECT_TRUE(out.empty());
    out = {1};
    SampleBatch(MakePool(10), 0, s, rng, &out);
    EXPECT_TRUE(out.empty());
  }
}

// Floyd's algorithm written plainly (a std::set of positions): the sampler's byte marks (small
// pools) and bitmap (larger ones) must choose the same records from the same draws, and leave
// the generator in the same state.
TEST(BatchSamplerTest, WithoutReplacementMatchesAPlainFloydOnEveryPoolSize) {
  for (const int n : {5, 64, 65, 326, 1000, 1024, 1025, 3000, 60000}) {
    for (const int batch : {1, 7, 64, 200}) {
      if (batch >= n) continue;
      const std::vector<int> pool = MakePool(n);
      for (uint64_t seed = 1; seed <= 3; ++seed) {
        Rng sampler_rng(seed), reference_rng(seed);
        std::vector<int> out;
        SampleBatch(pool, batch, Sampling::kWithoutReplacement, sampler_rng, &out);
        std::set<int> chosen;
        for (int j = n - batch; j < n; ++j) {
          const int t = static_cast<int>(reference_rng.UniformInt(static_cast<uint64_t>(j) + 1));
          chosen.insert(chosen.count(t) != 0 ? j : t);
        }
        std::vector<int> expected;
        for (const int position : chosen) expected.push_back(pool[position]);
        ASSERT_EQ(out, expected) << "n " << n << ", batch " << batch << ", seed " << seed;
        EXPECT_EQ(sampler_rng.NextU64(), reference_rng.NextU64());
      }
    }
  }
}

TEST(BatchSamplerTest, SameRngStateSameBatch) {
  const std::vector<int> pool = MakePool(500);
  for (Sampling s : kAllSamplings) {
    Rng a(77), b(77), c(78);
    std::vector<int> out_a, out_b, out_c;
    SampleBatch(pool, 40, s, a, &out_a);
    SampleBatch(pool, 40, s, b, &out_b);
    SampleBatch(pool, 40, s, c, &out_c);
    EXPECT_EQ(out_a, out_b);
    EXPECT_NE(out_a, out_c);
  }
}

}  // namespace
}  // namespace fedsilo
