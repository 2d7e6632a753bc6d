// The secure-sum plan against independent values: without subsampling and with much noise the
// Skellam mechanism is the Gaussian one plus an O(1 / variance) term, so its calibrated standard
// deviation must land within 2% of the Gaussian mechanism's (calibrated by the RDP accountant's
// own code, common/dp/calibration.h) for the same sensitivity; the other fields follow their
// formulas; dropouts never leave the sum under-noised; bad settings are named.
#include "common/dp/secure_sum_plan.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/dp/calibration.h"
#include "common/dp/rdp.h"
#include "common/dp/skellam_calibration.h"

namespace fedsilo {
namespace {

SecureSumSetting MnistLike() {
  SecureSumSetting s;
  s.clip = 3.0;
  s.dimension = 51;    // PCA-50 logistic
  s.batch = 32;
  s.records = 600;
  s.rounds = 100;
  s.epsilon = 0.5;
  s.delta = 1e-5;
  s.min_honest_silos = 80;
  s.max_silos = 100;
  s.shares = 3;
  return s;
}

TEST(SecureSumPlanTest, WithoutSamplingTheNoiseIsTheGaussianMechanismsToTwoPercent) {
  SecureSumSetting setting = MnistLike();
  setting.batch = setting.records;  // q = 1
  const std::vector<double> orders = DefaultRdpOrders();
  auto plan = PlanSecureSum(setting, orders);
  ASSERT_TRUE(plan.ok()) << plan.status();
  // The Gaussian mechanism on a sum of L2 sensitivity 2B, 100 times, at (0.5, 1e-5).
  const std::vector<DpEventShape> steps = {{Subsampling::kNone, 1.0, setting.rounds}};
  auto z = CalibrateNoiseMultiplier(0.5, 1e-5, steps);
  ASSERT_TRUE(z.ok()) << z.status();
  const double gaussian_std = *z * 2.0 * plan->sensitivity.l2;
  const double skellam_std = std::sqrt(plan->total_variance);
  EXPECT_GE(skellam_std, gaussian_std * 0.999);  // never less noise than the Gaussian needs
  EXPECT_LE(skellam_std, gaussian_std * 1.02);
  // At the public rate 1 a silo of any size still samples Poisson batches of mean 600 (its own
  // rate 600 / n_i): the range counts them at their Bernstein bound, 600 + L/3 + sqrt(L^2/9 +
  // 1200 L) = 803 with L = ln(2 * 100 * 100 / 1e-9) = 30.63, not at 600.
  EXPECT_GT(plan->range, 100.0 * 803.0 * plan->params.record_bound);
}

TEST(SecureSumPlanTest, FieldsFollowTheirFormulasAndDropoutsLeaveEnoughNoise) {
  const SecureSumSetting setting = MnistLike();
  auto plan = PlanSecureSum(setting, DefaultRdpOrders());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_DOUBLE_EQ(plan->params.scale, 256.0 * std::sqrt(51.0) / 3.0);
  // One record moves the rounded sum by s * clip + sqrt(d) = 257 sqrt(51) at most.
  EXPECT_DOUBLE_EQ(plan->params.record_bound, 257.0 * std::sqrt(51.0));
  EXPECT_DOUBLE_EQ(plan->sensitivity.l2, plan->params.record_bound);
  // 80 honest silos of the 100 suffice: each adds a 1/80 share, so 80 replies carry the total.
  EXPECT_DOUBLE_EQ(plan->share_variance * 80.0, plan->total_variance);
  EXPECT_DOUBLE_EQ(plan->noise_std, std::sqrt(plan->total_variance) / plan->params.scale);
  // The range holds 100 silos of Poisson batches (mean 32) at their Bernstein bound, and 100
  // shares; the bits hold 4 times it. L = ln(2 * 100 * 100 / 1e-9) = 30.63:
  // 32 + 10.21 + sqrt(104.2 + 1960.3) = 87.65 -> 88 records a silo.
  const double l = std::log(2.0 * 100 * 100 / 1e-9);
  const double batch_bound = std::ceil(32 + l / 3 + std::sqrt(l * l / 9 + 64 * l));
  EXPECT_EQ(batch_bound, 88.0);
  EXPECT_GT(plan->range, 8800.0 * plan->params.record_bound);
  EXPECT_LT(plan->range, 8801.0 * plan->params.record_bound + 20.0 * std::sqrt(plan->total_variance));
  EXPECT_LT(4.0 * plan->range, std::ldexp(1.0, plan->params.bits - 1));
  EXPECT_GE(4.0 * plan->range, std::ldexp(1.0, plan->params.bits - 2));
  EXPECT_EQ(plan->params.shares, 3);
}

// A count release before training (a Gaussian histogram of multiplier z, replace-one: RDP
// alpha / (2 z^2) per order) is composed with the rounds: the plan carries its curve, and the
// rounds get the rest of the budget, so they need more noise than without it.
TEST(SecureSumPlanTest, ACountReleaseIsComposedWithTheRounds) {
  const std::vector<double> orders = DefaultRdpOrders();
  SecureSumSetting setting = MnistLike();
  auto without = PlanSecureSum(setting, orders);
  setting.count_noise_multiplier = 10.0;
  auto with = PlanSecureSum(setting, orders);
  ASSERT_TRUE(with.ok() && without.ok()) << with.status();
  ASSERT_EQ(with->count_rdp.size(), orders.size());
  for (size_t i = 0; i < orders.size(); ++i) {
    EXPECT_NEAR(with->count_rdp[i], orders[i] / 200.0, 1e-12 * orders[i]) << orders[i];
  }
  EXPECT_TRUE(without->count_rdp.empty());
  EXPECT_GT(with->total_variance, without->total_variance * 1.01);
  const SkellamSampling sampling{Subsampling::kPoissonReplaceOne, 32.0 / 600.0};
  auto spent = SkellamRoundsEpsilon(with->total_variance, with->sensitivity, sampling, 100, 1e-5,
                                    orders, with->count_rdp);
  ASSERT_TRUE(spent.ok());
  EXPECT_LE(spent->epsilon, 0.5);
  EXPECT_GT(spent->epsilon, 0.49);
  setting.count_noise_multiplier = -1.0;
  EXPECT_TRUE(absl::IsInvalidArgument(PlanSecureSum(setting, orders).status()));
}

TEST(SecureSumPlanTest, NamesBadSettings) {
  const std::vector<double> orders = DefaultRdpOrders();
  SecureSumSetting s = MnistLike();
  s.min_honest_silos = 101;
  EXPECT_FALSE(PlanSecureSum(s, orders).ok());
  s = MnistLike();
  s.batch = 601;
  EXPECT_FALSE(PlanSecureSum(s, orders).ok());
  s = MnistLike();
  s.clip = 0.0;
  EXPECT_FALSE(PlanSecureSum(s, orders).ok());
  s = MnistLike();
  s.headroom = 0.5;
  EXPECT_FALSE(PlanSecureSum(s, orders).ok());
}

}  // namespace
}  // namespace fedsilo
