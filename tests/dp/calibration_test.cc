// Noise calibration (common/dp/calibration.h): Opacus' published noise multipliers, the one-sided
// contract (the result meets the target, a slightly smaller z does not) and the error cases.
#include "common/dp/calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"

namespace fedsilo {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double EpsilonAt(double z, double delta, const std::vector<DpEventShape>& steps,
                 const std::vector<double>& orders) {
  absl::StatusOr<EpsilonAndOrder> e = EpsilonForNoiseMultiplier(z, delta, steps, orders);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? e->epsilon : kInf;
}

// Opacus' get_noise_multiplier (opacus/accountants/utils.py), replayed on our accountant:
// sigma_high doubles from 10 until eps <= target, then bisection on [0, sigma_high] until
// target - eps_high <= epsilon_tolerance (0.01); returns sigma_high.
double OpacusGetNoiseMultiplier(double target, double delta,
                                const std::vector<DpEventShape>& steps) {
  const std::vector<double> orders = OpacusRdpOrders();
  double eps_high = kInf, sigma_low = 0.0, sigma_high = 10.0;
  while (eps_high > target) {
    sigma_high *= 2.0;
    eps_high = EpsilonAt(sigma_high, delta, steps, orders);
  }
  while (target - eps_high > 0.01) {
    const double sigma = (sigma_low + sigma_high) / 2.0;
    const double eps = EpsilonAt(sigma, delta, steps, orders);
    if (eps < target) {
      sigma_high = sigma;
      eps_high = eps;
    } else {
      sigma_low = sigma;
    }
  }
  return sigma_high;
}

// Opacus accountants_test.py: target eps 8, delta 1e-5, q 0.04; epochs 90 -> int(90 / 0.04) = 2250
// steps -> 1.416 (4 places); 2000 steps -> 1.3562 (4 places).
TEST(CalibrationTest, ReproducesOpacusGetNoiseMultiplier) {
  const std::vector<DpEventShape> epochs90 = {{Subsampling::kPoisson, 0.04, 2250}};
  const std::vector<DpEventShape> steps2000 = {{Subsampling::kPoisson, 0.04, 2000}};
  EXPECT_NEAR(OpacusGetNoiseMultiplier(8.0, 1e-5, epochs90), 1.416, 5e-5);
  EXPECT_NEAR(OpacusGetNoiseMultiplier(8.0, 1e-5, steps2000), 1.3562, 5e-5);
}

// Our calibrator returns the smallest z (to 1e-4 relative) meeting the target: never above Opacus'
// answer, and below it by at most the z-width of Opacus' 0.01 tolerance in epsilon (the slope
// here is about 9.3 eps per unit z, so 0.01 in eps is about 0.0011 in z).
TEST(CalibrationTest, MatchesOpacusWithinItsEpsilonTolerance) {
  struct Case {
    int64_t steps;
    double opacus_z;
  };
  for (const Case& c : {Case{2250, 1.416}, Case{2000, 1.3562}}) {
    const std::vector<DpEventShape> steps = {{Subsampling::kPoisson, 0.04, c.steps}};
    for (const std::vector<double>& orders : {OpacusRdpOrders(), DefaultRdpOrders()}) {
      CalibrationOptions options;
      options.orders = orders;
      absl::StatusOr<double> z = CalibrateNoiseMultiplier(8.0, 1e-5, steps, options);
      ASSERT_TRUE(z.ok()) << z.status();
      EXPECT_LE(*z, c.opacus_z + 5e-5) << c.steps;
      EXPECT_GE(*z, c.opacus_z - 0.0011) << c.steps;
      // One-sided: z meets the target, z shrunk by twice the tolerance does not.
      EXPECT_LE(EpsilonAt(*z, 1e-5, steps, orders), 8.0);
      EXPECT_GT(EpsilonAt(*z * (1 - 2e-4), 1e-5, steps, orders), 8.0);
      // Opacus' answer is within its tolerance of the target on our accountant too.
      const double eps_opacus = EpsilonAt(c.opacus_z, 1e-5, steps, orders);
      EXPECT_LE(eps_opacus, 8.0);
      EXPECT_GE(eps_opacus, 7.99);
    }
  }
}

// An RDP accountant is looser than the tight PRV one: certifying PRV's epsilon for z 1.5, q 0.04,
// 2249 steps (6.777395712150674 at delta 1e-5) needs more noise than 1.5.
TEST(CalibrationTest, NeedsMoreNoiseThanTightAccountants) {
  const std::vector<DpEventShape> steps = {{Subsampling::kPoisson, 0.04, 2249}};
  absl::StatusOr<double> z = CalibrateNoiseMultiplier(6.777395712150674, 1e-5, steps);
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_GT(*z, 1.5);
}

TEST(CalibrationTest, MonotoneInStepsAndTarget) {
  double prev = 0.0;
  for (int64_t count : {10, 100, 1000, 10000}) {
    const std::vector<DpEventShape> steps = {{Subsampling::kPoisson, 0.01, count}};
    absl::StatusOr<double> z = CalibrateNoiseMultiplier(2.0, 1e-6, steps);
    ASSERT_TRUE(z.ok()) << z.status();
    EXPECT_GT(*z, prev);
    prev = *z;
  }
  prev = kInf;
  for (double target : {0.5, 1.0, 4.0, 16.0}) {
    const std::vector<DpEventShape> steps = {{Subsampling::kPoisson, 0.05, 500}};
    absl::StatusOr<double> z = CalibrateNoiseMultiplier(target, 1e-5, steps);
    ASSERT_TRUE(z.ok()) << z.status();
    EXPECT_LT(*z, prev);
    prev = *z;
  }
}

TEST(CalibrationTest, WithoutReplacementAndMixedGroups) {
  // Fixed-size batches (replace-one), two phases with different batch sizes plus full-batch steps.
  const std::vector<DpEventShape> steps = {{Subsampling::kWithoutReplacement, 0.02, 300},
                                           {Subsampling::kWithoutReplacement, 0.05, 100},
                                           {Subsampling::kNone, 1.0, 2}};
  const double target = 3.0, delta = 1e-6;
  absl::StatusOr<double> z = CalibrateNoiseMultiplier(target, delta, steps);
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_LE(EpsilonAt(*z, delta, steps, DefaultRdpOrders()), target);
  EXPECT_GT(EpsilonAt(*z * (1 - 2e-4), delta, steps, DefaultRdpOrders()), target);
  // The same accounting through an accountant fed DpEvents.
  RdpAccountant acc;
  for (const DpEventShape& s : steps) {
    ASSERT_TRUE(acc.Compose(DpEvent{s.subsampling, s.sampling_rate, *z, s.count}).ok());
  }
  absl::StatusOr<EpsilonAndOrder> e = acc.GetEpsilon(delta);
  ASSERT_TRUE(e.ok());
  EXPECT_LE(e->epsilon, target);
}

TEST(CalibrationTest, LooseTargetReturnsTheFloor) {
  const std::vector<DpEventShape> steps = {{Subsampling::kPoisson, 1e-4, 1}};
  CalibrationOptions options;
  options.min_noise_multiplier = 0.5;
  absl::StatusOr<double> z = CalibrateNoiseMultiplier(50.0, 1e-5, steps, options);
  ASSERT_TRUE(z.ok()) << z.status();
  EXPECT_EQ(*z, 0.5);
}

// At a tiny sampling rate the certified epsilon stays positive (the accountant once rounded it to
// 0, and calibration then returned the floor for any target): the answer meets the target, and
// 1% less noise does not.
TEST(CalibrationTest, TinySamplingRateCalibratesToAPositiveEpsilon) {
  const std::vector<DpEventShape> steps = {{Subsampling::kPoisson, 1e-9, 1000000}};
  absl::StatusOr<double> z = CalibrateNoiseMultiplier(1.0, 1e-10, steps);
  ASSERT_TRUE(z.ok()) << z.status();
  const std::vector<double> orders = DefaultRdpOrders();
  const double eps = EpsilonAt(*z, 1e-10, steps, orders);
  EXPECT_GT(eps, 0.5);
  EXPECT_LE(eps, 1.0);
  EXPECT_GT(EpsilonAt(0.99 * *z, 1e-10, steps, orders), 1.0);
  // The point: z = 0.5 certifies about 2.06 (tests/dp/rdp_accountant_test.cc), so a target
  // of 2 needs more noise than 0.5.
  absl::StatusOr<double> z2 = CalibrateNoiseMultiplier(2.0, 1e-10, steps);
  ASSERT_TRUE(z2.ok()) << z2.status();
  EXPECT_GT(*z2, 0.5);
}

TEST(CalibrationTest, RejectsBadInput) {
  const std::vector<DpEventShape> ok = {{Subsampling::kPoisson, 0.01, 100}};
  auto code = [](absl::StatusOr<double> r) { return r.status().code(); };
  constexpr auto kBad = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code(CalibrateNoiseMultiplier(0.0, 1e-5, ok)), kBad);
  EXPECT_EQ(code(CalibrateNoiseMultiplier(-1.0, 1e-5, ok)), kBad);
  EXPECT_EQ(code(CalibrateNoiseMultiplier(std::nan(""), 1e-5, ok)), kBad);
  EXPECT_EQ(code(CalibrateNoiseMultiplier(kInf, 1e-5, ok)), kBad);
  EXPECT_EQ(code(CalibrateNoiseMultiplier(1.0, 0.0, ok)), kBad);
  EXPECT_EQ(code(CalibrateNoiseMultiplier(1.0, 1.0, ok)), kBad);
  EXPECT_EQ(code(CalibrateNoiseMultiplier(1.0, -1e-5, ok)), kBad);
  EXPECT_EQ(code(CalibrateNoiseMultiplier(1.0, 1e-5, {})), kBad);
  const std::vector<std::vector<DpEventShape>> bad_steps = {
      {{Subsampling::kPoisson, 0.0, 100}},
      {{Subsampling::kPoisson, 1.5, 100}},
      {{Subsampling::kPoisson, std::nan(""), 100}},
      {{Subsampling::kPoisson, 0.1, 0}},
      {{Subsampling::kPoisson, 0.1, -3}},
      {{Subsampling::kNone, 0.5, 10}},
      {{Subsampling::kWithReplacement, 0.1, 10}},
      {{Subsampling::kPoisson, 0.1, 10}, {Subsampling::kWithoutReplacement, 0.1, 10}},
  };
  for (const auto& steps : bad_steps) {
    EXPECT_EQ(code(CalibrateNoiseMultiplier(1.0, 1e-5, steps)), kBad);
  }
  // Unreachable: even the largest allowed noise multiplier misses the target.
  CalibrationOptions small_range;
  small_range.max_noise_multiplier = 2.0;
  EXPECT_EQ(code(CalibrateNoiseMultiplier(0.01, 1e-5, ok, small_range)), kBad);
  CalibrationOptions bad_options;
  bad_options.relative_tolerance = 0.0;
  EXPECT_EQ(code(CalibrateNoiseMultiplier(1.0, 1e-5, ok, bad_options)), kBad);
}

// Fixed events (a one-off Gaussian release with its own noise) composed beside the calibrated
// steps: the composition, computed here directly from the RDP curves, meets the target, and a
// slightly smaller z does not.
TEST(CalibrationTest, FixedEventsAreComposedBesideTheCalibratedSteps) {
  const std::vector<double> orders = DefaultRdpOrders();
  const double delta = 1e-7, target = 1.0, q = 0.04, z_count = 40.0;
  const std::vector<DpEventShape> steps = {{Subsampling::kPoisson, q, 300}};
  const std::vector<DpEvent> fixed = {{Subsampling::kNone, 1.0, z_count, 1}};
  absl::StatusOr<double> z = CalibrateNoiseMultiplier(target, delta, steps, {}, fixed);
  ASSERT_TRUE(z.ok()) << z.status();
  auto composed = [&](double zz) {
    std::vector<double> total = *GaussianRdp(z_count, orders);
    const std::vector<double> step = *PoissonSubsampledGaussianRdp(q, zz, orders);
    for (size_t i = 0; i < total.size(); ++i) total[i] += 300.0 * step[i];
    return EpsilonFromRdp(orders, total, delta)->epsilon;
  };
  EXPECT_LE(composed(*z), target);
  EXPECT_GT(composed(*z * 0.999), target);
  EXPECT_NEAR(EpsilonForNoiseMultiplier(*z, delta, steps, orders, fixed)->epsilon, composed(*z),
              1e-12);
  // The release costs something: more noise on the steps than without it.
  EXPECT_GT(*z, *CalibrateNoiseMultiplier(target, delta, steps));
  // A release that alone takes the whole budget leaves nothing.
  const std::vector<DpEvent> greedy = {{Subsampling::kNone, 1.0, 2.0, 1}};
  absl::StatusOr<double> none = CalibrateNoiseMultiplier(target, delta, steps, {}, greedy);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("fixed events alone"), absl::string_view::npos);
  // Relations still cannot be mixed through the fixed events.
  const std::vector<DpEvent> replace_one = {{Subsampling::kWithoutReplacement, 0.1, 50.0, 1}};
  EXPECT_FALSE(CalibrateNoiseMultiplier(target, delta, steps, {}, replace_one).ok());
}

}  // namespace
}  // namespace fedsilo
