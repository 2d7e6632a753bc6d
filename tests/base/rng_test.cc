#include "common/base/rng.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include <gtest/gtest.h>

#include "common/base/poisson_table.h"

namespace fedsilo {
namespace {

TEST(RngTest, SameSeedSameStreamDifferentSeedDifferentStream) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const uint64_t va = a.NextU64();
    EXPECT_EQ(va, b.NextU64());
    EXPECT_NE(va, c.NextU64());
  }
}

TEST(RngTest, DeriveSeedSeparatesPurposesAndIndices) {
  EXPECT_NE(DeriveSeed(1, "noise", 3), DeriveSeed(1, "batch", 3));
  EXPECT_NE(DeriveSeed(1, "noise", 3, 0), DeriveSeed(1, "noise", 0, 3));
  EXPECT_NE(DeriveSeed(1, "noise", 3), DeriveSeed(2, "noise", 3));
  EXPECT_EQ(DeriveSeed(7, "x", 1, 2), DeriveSeed(7, "x", 1, 2));
}

TEST(RngTest, UniformMomentsMatchTheory) {
  Rng rng(5);
  const int n = 400000;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(var, 1.0 / 12, 0.002);
}

TEST(RngTest, UniformIntIsUnbiasedChiSquare) {
  Rng rng(9);
  const int k = 7, n = 70000;
  std::vector<int> counts(k, 0);
  for (int i = 0; i < n; ++i) counts[rng.UniformInt(k)]++;
  double chi2 = 0;
  for (int c : counts) chi2 += (c - n / k) * (c - n / k) / double(n / k);
  // 6 degrees of freedom: P(chi2 > 22.46) = 0.001.
  EXPECT_LT(chi2, 22.46);
}

TEST(RngTest, NormalMeanVarianceAndTailsAtFixedSeed) {
  Rng rng(2024);
  const int n = 1000000;
  double sum = 0, sum_sq = 0, sum4 = 0;
  int beyond2 = 0, beyond3 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.Normal();
    sum += z;
    sum_sq += z * z;
    sum4 += z * z * z * z;
    beyond2 += std::abs(z) > 2.0;
    beyond3 += std::abs(z) > 3.0;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(var, 1.0, 5.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(sum4 / n, 3.0, 0.03);  // kurtosis of N(0,1)
  // P(|Z|>2) = 0.0455003, P(|Z|>3) = 0.0026998 (erfc values); 5-sigma binomial bands.
  const double p2 = std::erfc(2.0 / std::sqrt(2.0)), p3 = std::erfc(3.0 / std::sqrt(2.0));
  EXPECT_NEAR(beyond2 / double(n), p2, 5 * std::sqrt(p2 * (1 - p2) / n));
  EXPECT_NEAR(beyond3 / double(n), p3, 5 * std::sqrt(p3 * (1 - p3) / n));
}

// sup_x |F_n(x) - Phi(x)| of the sample z (sorted in place), with Phi from std::erfc.
double KolmogorovDistanceToNormal(std::vector<double>& z) {
  std::sort(z.begin(), z.end());
  const double n = static_cast<double>(z.size());
  double distance = 0.0;
  for (size_t i = 0; i < z.size(); ++i) {
    const double cdf = 0.5 * std::erfc(-z[i] / std::sqrt(2.0));
    distance = std::max({distance, std::abs(cdf - i / n), std::abs(cdf - (i + 1) / n)});
  }
  return distance;
}

// FillNormal (ziggurat) against the normal law computed independently (std::erfc): the
// Kolmogorov-Smirnov distance of 2 million draws, the moments, and the tail beyond the ziggurat's
// base layer r = 3.654 (drawn by a separate branch) and beyond 4.5.
TEST(RngTest, FillNormalFollowsTheNormalLaw) {
  Rng rng(7);
  const int n = 2000000;
  std::vector<double> z(n);
  rng.FillNormal(z, 1.0);
  double sum = 0, sum_sq = 0, sum4 = 0;
  int beyond_r = 0, beyond45 = 0;
  for (const double v : z) {
    sum += v;
    sum_sq += v * v;
    sum4 += v * v * v * v;
    beyond_r += std::abs(v) > 3.6541528853610088;
    beyond45 += std::abs(v) > 4.5;
  }
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(var, 1.0, 5.0 * std::sqrt(2.0 / n));
  EXPECT_NEAR(sum4 / n, 3.0, 0.025);
  for (const auto& [t, count] : {std::pair{3.6541528853610088, beyond_r}, std::pair{4.5, beyond45}}) {
    const double p = std::erfc(t / std::sqrt(2.0));
    EXPECT_NEAR(count / double(n), p, 5 * std::sqrt(p * (1 - p) / n)) << t;
  }
  // P(sqrt(n) D > 1.95) = 0.001 (Kolmogorov's limit law).
  EXPECT_LT(std::sqrt(double(n)) * KolmogorovDistanceToNormal(z), 1.95);
}

// Short fills (under 64 values) take the one-lane path; fills split into calls of 37 and of 2,048
// values are normal too.
TEST(RngTest, FillNormalInShortAndChunkedCallsFollowsTheNormalLaw) {
  for (const size_t call : {size_t{37}, size_t{2048}}) {
    Rng rng(11);
    const size_t n = 409600;
    std::vector<double> z(n);
    for (size_t start = 0; start < n; start += call) {
      rng.FillNormal(std::span<double>(z.data() + start, std::min(call, n - start)), 1.0);
    }
    double sum = 0, sum_sq = 0;
    for (const double v : z) {
      sum += v;
      sum_sq += v * v;
    }
    EXPECT_NEAR(sum / n, 0.0, 5.0 / std::sqrt(double(n))) << call;
    EXPECT_NEAR(sum_sq / n, 1.0, 5.0 * std::sqrt(2.0 / n)) << call;
    EXPECT_LT(std::sqrt(double(n)) * KolmogorovDistanceToNormal(z), 1.95) << call;
  }
}

// FillNormal's values do not depend on the instruction set: x86-64-v4 builds draw the long fills
// with AVX-512 gathers, others with the compiler's loop. The constant is the hash of these fills
// as a portable (SSE2) build draws them (values unchanged since 20fc55c); v3 and v4 gave the same.
TEST(RngTest, FillNormalDrawsTheSameValuesOnEveryInstructionSet) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a over the values' bits
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed);
    for (size_t len : {64ul, 71ul, 104ul, 1000ul, 68290ul, 200000ul}) {
      std::vector<double> v(len);
      rng.FillNormal(v, seed % 3 == 0 ? 1.0 : 2.5);
      for (double d : v) {
        uint64_t bits;
        std::memcpy(&bits, &d, sizeof bits);
        hash = (hash ^ bits) * 1099511628211ull;
      }
    }
  }
  EXPECT_EQ(hash, 0x652c996f4771d210ull);
}

TEST(RngTest, FillNormalScalesBySigmaAndRepeatsForTheSameSeed) {
  std::vector<double> a(1000), b(1000), c(1000);
  Rng ra(3), rb(3), rc(4);
  ra.FillNormal(a, 2.5);
  rb.FillNormal(b, 1.0);
  rc.FillNormal(c, 2.5);
  for (int i = 0; i < 1000; ++i) EXPECT_DOUBLE_EQ(a[i], 2.5 * b[i]);
  EXPECT_NE(a, c);
}

TEST(RngTest, GammaMeanAndVarianceEqualShape) {
  for (double shape : {0.3, 1.0, 4.5}) {
    Rng rng(11);
    const int n = 200000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; ++i) {
      const double g = rng.Gamma(shape);
      sum += g;
      sum_sq += g * g;
    }
    const double mean = sum / n, var = sum_sq / n - mean * mean;
    EXPECT_NEAR(mean, shape, 5 * std::sqrt(shape / n)) << shape;
    EXPECT_NEAR(var, shape, 0.05 * shape + 0.01) << shape;
  }
}

// log P(X = k) for X ~ Poisson(mean), from the definition.
double LogPoissonPmf(double mean, int64_t k) {
  return -mean + static_cast<double>(k) * std::log(mean) - std::lgamma(static_cast<double>(k) + 1);
}

// Pearson's chi-square statistic of `draws` Poisson(mean) samples (from `sample`, Rng::Poisson by
// default) against the pmf, over bins of single values with an expected count of at least 20 and
// the two tails merged; `df` gets the bins minus one.
double PoissonChiSquare(double mean, int draws, uint64_t seed, int* df,
                        const std::function<int64_t(Rng&)>& sample = {}) {
  Rng rng(seed);
  std::map<int64_t, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[sample ? sample(rng) : rng.Poisson(mean)];
  // The central range of values whose expected count is >= 20.
  const auto expected = [&](int64_t k) { return draws * std::exp(LogPoissonPmf(mean, k)); };
  int64_t lo = static_cast<int64_t>(std::floor(mean)), hi = lo;
  while (lo > 0 && expected(lo - 1) >= 20) --lo;
  while (expected(hi + 1) >= 20) ++hi;
  double below = 0, above = 0, inside = 0;
  for (int64_t k = lo; k <= hi; ++k) inside += expected(k);
  for (int64_t k = 0; k < lo; ++k) below += expected(k);
  above = draws - inside - below;
  double chi = 0;
  int bins = 0;
  const auto add = [&](double observed, double wanted) {
    chi += (observed - wanted) * (observed - wanted) / wanted;
    ++bins;
  };
  double observed_below = 0, observed_above = 0;
  for (const auto& [k, n] : counts) {
    if (k < lo) observed_below += n;
    if (k > hi) observed_above += n;
  }
  for (int64_t k = lo; k <= hi; ++k) add(counts.count(k) ? counts[k] : 0, expected(k));
  if (below >= 5) add(observed_below, below);
  if (above >= 5) add(observed_above, above);
  *df = bins - 1;
  return chi;
}

TEST(RngTest, PoissonPmfOfTheTestMatchesIndependentValues) {
  // mpmath, 30 digits: exp(-l) l^k / k!. The direct form loses about 12 digits to cancellation.
  const struct { double mean; int64_t k; double pmf; } cases[] = {
      {5000, 5000, 0.0056418018046640226}, {5000, 4900, 0.0020825026191865629},
      {5000, 5200, 1.0676612021748405e-4}, {10, 10, 0.1251100357211333},
      {3, 0, 0.049787068367863943}};
  for (const auto& c : cases) {
    EXPECT_NEAR(std::exp(LogPoissonPmf(c.mean, c.k)) / c.pmf, 1.0, 1e-10) << c.mean << " " << c.k;
  }
}

// Both of the sampler's methods (below and above a mean of 10) follow the Poisson pmf: Pearson's
// statistic stays below the chi-square quantile of probability 1 - 1e-6 (Wilson-Hilferty).
TEST(RngTest, PoissonFollowsThePmf) {
  for (double mean : {0.2, 3.0, 9.99, 10.0, 37.5, 5000.0, 2.5e6}) {
    int df = 0;
    const double chi = PoissonChiSquare(mean, 200000, 17, &df);
    ASSERT_GE(df, 2) << mean;
    const double z = 4.753;  // standard normal quantile of 1 - 1e-6
    const double h = 2.0 / (9.0 * df);
    const double critical = df * std::pow(1 - h + z * std::sqrt(h), 3);
    EXPECT_LT(chi, critical) << "mean " << mean << ", df " << df;
  }
}

// The chi-square quantile of probability 1 - 1e-6 at df degrees of freedom (Wilson-Hilferty).
double ChiSquareCritical(int df) {
  const double z = 4.753, h = 2.0 / (9.0 * df);
  return df * std::pow(1 - h + z * std::sqrt(h), 3);
}

// The alias table follows the pmf too, with its default window (the tail almost never drawn) and
// with windows of 0.5 and 1.5 standard deviations, where most or many draws walk a tail.
TEST(PoissonTableTest, FollowsThePmfInTheWindowAndInTheTails) {
  for (double mean : {10.0, 37.5, 5000.0, 150000.0}) {
    for (double sds : {6.0, 1.5, 0.5}) {
      auto table = PoissonTable::Create(mean, sds);
      ASSERT_TRUE(table.ok()) << table.status();
      int df = 0;
      const double chi = PoissonChiSquare(mean, 200000, 19, &df,
                                          [&](Rng& rng) { return (*table)(rng); });
      ASSERT_GE(df, 2) << mean;
      EXPECT_LT(chi, ChiSquareCritical(df)) << "mean " << mean << ", window " << sds << " sds";
    }
  }
}

// The tail mass against the pmf summed here by its recursion p(k) = p(k-1) mean / k, and the
// share of draws that leave the window against it (binomial, 6 standard deviations).
TEST(PoissonTableTest, LeavesTheWindowWithTheTailsMass) {
  const double mean = 100.0;
  auto table = PoissonTable::Create(mean, 0.5);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->lo(), 95);
  EXPECT_EQ(table->hi(), 105);
  double p = std::exp(-mean), inside = 0.0;
  for (int k = 0; k <= 105; ++k) {
    if (k > 0) p *= mean / k;
    if (k >= 95) inside += p;
  }
  EXPECT_NEAR(table->tail_mass(), 1.0 - inside, 1e-12);
  Rng rng(3);
  const int n = 100000;
  int outside = 0;
  for (int i = 0; i < n; ++i) {
    const int64_t k = (*table)(rng);
    outside += (k < 95 || k > 105) ? 1 : 0;
  }
  const double q = table->tail_mass();
  EXPECT_NEAR(outside, n * q, 6.0 * std::sqrt(n * q * (1 - q)));
  // The default window (6 sd) leaves about 2e-9 outside: 2 Phi(-6) = 1.97e-9 for a normal, a
  // little more for the Poisson's longer right tail.
  auto wide = PoissonTable::Create(150000.0);
  ASSERT_TRUE(wide.ok());
  EXPECT_GT(wide->tail_mass(), 1.5e-9);
  EXPECT_LT(wide->tail_mass(), 3e-9);
  EXPECT_EQ(wide->hi() - wide->lo() + 1, 4649);
  // Bad settings are named; the shared table is built once per mean.
  EXPECT_FALSE(PoissonTable::Create(9.0).ok());
  EXPECT_FALSE(PoissonTable::Create(100.0, 0.1).ok());
  EXPECT_EQ(SharedPoissonTable(150000.0), SharedPoissonTable(150000.0));
  EXPECT_EQ(SharedPoissonTable(5.0), nullptr);
}

TEST(RngTest, PoissonMeanAndVarianceAtLargeMeansAndTheEdges) {
  for (double mean : {1e9, 1e14}) {
    Rng rng(5);
    const int n = 100000;
    double sum = 0, sum_sq = 0;
    for (int i = 0; i < n; ++i) {
      const double x = static_cast<double>(rng.Poisson(mean)) - mean;
      sum += x;
      sum_sq += x * x;
    }
    EXPECT_NEAR(sum / n, 0.0, 5 * std::sqrt(mean / n)) << mean;
    EXPECT_NEAR(sum_sq / n / mean, 1.0, 0.03) << mean;
  }
  Rng rng(1);
  EXPECT_EQ(rng.Poisson(0.0), 0);
  Rng a(9), b(9);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.Poisson(123.4), b.Poisson(123.4));
}

}  // namespace
}  // namespace fedsilo
