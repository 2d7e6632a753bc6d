// The Skellam protocol's per-record privacy against independent values: the replace-one
// sensitivities worked by hand, the composed epsilon against a composition written out here from
// the published pieces, and the calibrated variance: within the target, tight, monotone.
#include "common/dp/skellam_calibration.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/dp/rdp.h"
#include "common/dp/skellam_rdp.h"
#include "common/dp/subsampled_rdp.h"

namespace fedsilo {
namespace {

TEST(SkellamCalibrationTest, ReplaceOneSensitivitiesWorkedByHand) {
  // B = 10, d = 50: L2 = 20; L1 = 2 min(sqrt(50) * 10, 100) = 2 * 70.71 = 141.42.
  auto s = RecordReplaceSensitivity(10.0, 50);
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(s->l2, 20.0);
  EXPECT_NEAR(s->l1, 2.0 * std::sqrt(50.0) * 10.0, 1e-12);
  // B = 3, d = 100: 2 min(30, 9) = 18.
  EXPECT_DOUBLE_EQ(RecordReplaceSensitivity(3.0, 100)->l1, 18.0);
  EXPECT_FALSE(RecordReplaceSensitivity(-1.0, 10).ok());
  EXPECT_FALSE(RecordReplaceSensitivity(1.0, 0).ok());
}

TEST(SkellamCalibrationTest, EpsilonIsTheCompositionOfTheSubsampledSkellamCurve) {
  const SkellamSensitivity s{141.42, 20.0};
  const std::vector<double> orders = DefaultRdpOrders();
  auto spent = SkellamRoundsEpsilon(5000.0, s, 0.02, 300, 1e-5, orders);
  ASSERT_TRUE(spent.ok()) << spent.status();
  // The same composition written out: Theorem 9 on the Skellam curve, times 300, converted.
  auto curve = SampledWithoutReplacementRdp(
      0.02,
      [&](int j) -> absl::StatusOr<double> {
        const double alpha = j;
        auto c = SkellamRdp(141.42, 20.0, 5000.0, std::vector<double>{alpha});
        if (!c.ok()) return c.status();
        return (*c)[0];
      },
      orders);
  ASSERT_TRUE(curve.ok());
  for (double& v : *curve) v *= 300.0;
  EXPECT_DOUBLE_EQ(spent->epsilon, EpsilonFromRdp(orders, *curve, 1e-5)->epsilon);
  // Without sampling, one round is the plain Skellam curve.
  auto once = SkellamRoundsEpsilon(5000.0, s, 1.0, 1, 1e-5, orders);
  auto plain = SkellamRdp(141.42, 20.0, 5000.0, orders);
  ASSERT_TRUE(once.ok() && plain.ok());
  EXPECT_DOUBLE_EQ(once->epsilon, EpsilonFromRdp(orders, *plain, 1e-5)->epsilon);
}

TEST(SkellamCalibrationTest, CalibratedVarianceMeetsTheTargetTightlyAndGrowsWithRounds) {
  const SkellamSensitivity s = *RecordReplaceSensitivity(30.0, 50);
  const std::vector<double> orders = DefaultRdpOrders();
  auto variance = CalibrateSkellamVariance(1.0, 1e-5, s, 0.05, 100, orders);
  ASSERT_TRUE(variance.ok()) << variance.status();
  const double at = SkellamRoundsEpsilon(*variance, s, 0.05, 100, 1e-5, orders)->epsilon;
  const double below =
      SkellamRoundsEpsilon(*variance * (1.0 - 1e-3), s, 0.05, 100, 1e-5, orders)->epsilon;
  EXPECT_LE(at, 1.0);
  EXPECT_GT(below, 1.0);  // a variance 0.1% smaller no longer fits: tight
  auto more_rounds = CalibrateSkellamVariance(1.0, 1e-5, s, 0.05, 400, orders);
  auto larger_eps = CalibrateSkellamVariance(4.0, 1e-5, s, 0.05, 100, orders);
  ASSERT_TRUE(more_rounds.ok() && larger_eps.ok());
  EXPECT_GT(*more_rounds, *variance);
  EXPECT_LT(*larger_eps, *variance);
  EXPECT_FALSE(CalibrateSkellamVariance(0.0, 1e-5, s, 0.05, 100, orders).ok());
  EXPECT_FALSE(CalibrateSkellamVariance(1.0, 1e-5, SkellamSensitivity{0.0, 0.0}, 0.05, 100,
                                        orders).ok());
}

}  // namespace
}  // namespace fedsilo
