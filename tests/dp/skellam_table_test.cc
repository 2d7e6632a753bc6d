// SkellamTable against the Skellam pmf computed independently, P(k) = e^(-2 lambda)
// I_|k|(2 lambda) (the modified Bessel function, std::cyl_bessel_i), by Pearson's statistic
// below the chi-square quantile of probability 1 - 1e-6: with the default window (the tails
// almost never drawn) and with windows of 1.5 and 0.5 standard deviations, where the mixture's
// outside cases are drawn often. At a large variance, the sample variance.
#include "common/dp/skellam_table.h"

#include <cmath>
#include <cstdlib>
#include <map>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

double SkellamPmf(double lambda, int64_t k) {
  return std::exp(-2.0 * lambda) * std::cyl_bessel_i(static_cast<double>(std::llabs(k)),
                                                     2.0 * lambda);
}

TEST(SkellamTableTest, FollowsTheSkellamPmfInsideAndOutsideTheWindow) {
  for (double lambda : {10.0, 37.5, 150.0}) {
    for (double sds : {6.0, 1.5, 0.5}) {
      auto table = SkellamTable::Create(2.0 * lambda, sds);
      ASSERT_TRUE(table.ok()) << table.status();
      EXPECT_EQ(table->variance(), 2.0 * lambda);
      Rng rng(31);
      constexpr int kDraws = 200000;
      std::map<int64_t, int> counts;
      for (int i = 0; i < kDraws; ++i) ++counts[(*table)(rng)];
      // Bins of single values with an expected count >= 20, the two tails merged.
      int64_t hi = 0;
      while (kDraws * SkellamPmf(lambda, hi + 1) >= 20) ++hi;
      double chi = 0.0, inside = 0.0;
      int bins = 0;
      for (int64_t k = -hi; k <= hi; ++k) {
        const double expected = kDraws * SkellamPmf(lambda, k);
        const double observed = counts.count(k) ? counts[k] : 0;
        chi += (observed - expected) * (observed - expected) / expected;
        inside += expected;
        ++bins;
      }
      double observed_outside = 0;
      for (const auto& [k, n] : counts) observed_outside += (std::llabs(k) > hi) ? n : 0;
      const double expected_outside = kDraws - inside;
      if (expected_outside >= 5) {
        chi += (observed_outside - expected_outside) * (observed_outside - expected_outside) /
               expected_outside;
        ++bins;
      }
      const int df = bins - 1;
      const double h = 2.0 / (9.0 * df);
      const double critical = df * std::pow(1 - h + 4.753 * std::sqrt(h), 3);
      EXPECT_LT(chi, critical) << "lambda " << lambda << ", window " << sds << " sds";
    }
  }
}

TEST(SkellamTableTest, HasItsVarianceAtALargeOneAndRefusesWhatItCannotHold) {
  auto table = SharedSkellamTable(300000.0);
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table, SharedSkellamTable(300000.0));  // built once
  Rng rng(8);
  constexpr int kDraws = 100000;
  double sum = 0.0, squares = 0.0;
  for (int i = 0; i < kDraws; ++i) {
    const double x = static_cast<double>((*table)(rng));
    sum += x;
    squares += x * x;
  }
  // Mean 0 (sd of the mean 1.7) and variance 300,000 (relative sd of the estimate sqrt(2 / n)).
  EXPECT_NEAR(sum / kDraws, 0.0, 5.0 * std::sqrt(300000.0 / kDraws));
  EXPECT_NEAR(squares / kDraws / 300000.0, 1.0, 5.0 * std::sqrt(2.0 / kDraws));
  EXPECT_FALSE(SkellamTable::Create(10.0).ok());    // mean 5: below the Poisson table's range
  EXPECT_FALSE(SkellamTable::Create(4e7).ok());     // a window of 126,000 values
  EXPECT_EQ(SharedSkellamTable(4e7), nullptr);
}

}  // namespace
}  // namespace fedsilo
