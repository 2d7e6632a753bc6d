// Poisson sampling with replace-one neighbours and the dataset size public (kPoissonReplaceOne,
// common/dp/rdp.h): the curve against values computed independently with mpmath, the whole-run
// epsilon, its relation to the add/remove-one curve, the relation rules and calibration.
//
// Independent values (python3, mpmath 1.3, 40 digits), from first principles rather than this
// code: A_a = E_{x ~ N(0, z^2)}[((1-q) + q exp((2x-1) / (2z^2)))^a], by the binomial sum
// 1 + sum_{i>=2} C(a,i) q^i (1-q)^(a-i) expm1((i^2-i)/(2z^2)) for integer a and by quadrature
// otherwise; eps_ar(a) = log(A_a) / (a-1) (MTZ19); then Mironov 2017 Prop. 11 with p = q = 2:
//   import mpmath as mp; mp.mp.dps = 40
//   def log_a(q, z, a):
//     q, z, a = mp.mpf(q), mp.mpf(z), mp.mpf(a)
//     if a == int(a):
//       return mp.log(1 + mp.fsum(mp.binomial(int(a), i) * q**i * (1-q)**(a-i)
//                                 * mp.expm1((i*i-i) / (2*z*z)) for i in range(2, int(a)+1)))
//     f = lambda x: mp.npdf(x, 0, z) * ((1-q) + q*mp.exp((2*x-1) / (2*z*z)))**a
//     return mp.log(mp.quad(f, [-mp.inf, -10*z, 0, 0.5, 1, 10*z + a/z**2, mp.inf]))
//   eps_ar = lambda q, z, a: log_a(q, z, a) / (mp.mpf(a) - 1)
//   eps_ro = lambda q, z, a: min((a - 0.5) / (a - 1) * eps_ar(q, z, 2*a) + eps_ar(q, z, 2*a-1),
//                                2*a / mp.mpf(z)**2)
// and for a whole run, over dp_accounting's 156 orders, steps x eps_ro(a) converted with
//   eps = min_a r + log1p(-1/a) - log(delta a) / (a-1)   (r = steps x eps_ro(a); KL edge case: 0).
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "common/dp/calibration.h"
#include "common/dp/dp_event.h"
#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"

namespace fedsilo {
namespace {

double Curve(Subsampling subsampling, double q, double z, double order) {
  const double orders[] = {order};
  auto rdp = ComputeRdp(DpEvent{subsampling, q, z, 1}, orders);
  EXPECT_TRUE(rdp.ok()) << rdp.status();
  return rdp.ok() ? (*rdp)[0] : std::nan("");
}

double RunEpsilon(Subsampling subsampling, double q, double z, int64_t steps, double delta) {
  RdpAccountant accountant;
  EXPECT_TRUE(accountant.Compose(DpEvent{subsampling, q, z, steps}).ok());
  auto epsilon = accountant.GetEpsilon(delta);
  EXPECT_TRUE(epsilon.ok()) << epsilon.status();
  return epsilon.ok() ? epsilon->epsilon : std::nan("");
}

struct OrderCase {
  double q, z, alpha;
  double ar_2a, ar_2a_minus_1, replace_one;  // mpmath
};

TEST(PoissonReplaceOneTest, CurveMatchesMpmathAtEachOrder) {
  const OrderCase cases[] = {
      // integer 2a and 2a - 1: binomial sums
      {0.04, 1.5, 4.0, 0.0042715845267374344, 0.0036103829799627278, 0.0085938982611564013},
      {0.01, 1.1, 2.5, 0.00034015796633296667, 0.00026671831462706143, 0.00072026226973768366},
      // fractional 2a and 2a - 1: quadrature against the code's signed series
      {0.04, 1.5, 3.7, 0.0038686045806685993, 0.0032371766273479239, 0.0078221894636958934},
      {0.2, 0.8, 2.3, 1.5584276111786587, 0.74084782485439707, 2.8986706711017707},
      // large q, little noise: the triangle bound (17.631...) is above the Gaussian of
      // sensitivity 2, 2a / z^2 = 16, which is returned
      {0.9, 0.5, 2.0, 7.8595202227596343, 5.8420152518081411, 16.0},
  };
  for (const OrderCase& c : cases) {
    SCOPED_TRACE(::testing::Message() << "q " << c.q << " z " << c.z << " alpha " << c.alpha);
    EXPECT_NEAR(Curve(Subsampling::kPoisson, c.q, c.z, 2 * c.alpha), c.ar_2a, 1e-9 * c.ar_2a);
    EXPECT_NEAR(Curve(Subsampling::kPoisson, c.q, c.z, 2 * c.alpha - 1), c.ar_2a_minus_1,
                1e-9 * c.ar_2a_minus_1);
    EXPECT_NEAR(Curve(Subsampling::kPoissonReplaceOne, c.q, c.z, c.alpha), c.replace_one,
                1e-9 * c.replace_one);
  }
}

TEST(PoissonReplaceOneTest, EdgeCases) {
  // q = 1: every record is in every batch, so it is the Gaussian of sensitivity 2 clip, exactly.
  for (double alpha : {1.0, 1.5, 2.0, 32.0}) {
    EXPECT_DOUBLE_EQ(Curve(Subsampling::kPoissonReplaceOne, 1.0, 1.3, alpha),
                     2.0 * alpha / (1.3 * 1.3));
  }
  EXPECT_EQ(Curve(Subsampling::kPoissonReplaceOne, 0.0, 1.3, 2.0), 0.0);
  EXPECT_TRUE(std::isinf(Curve(Subsampling::kPoissonReplaceOne, 0.1, 0.0, 2.0)));
  EXPECT_TRUE(std::isinf(Curve(Subsampling::kPoissonReplaceOne, 0.1, 1.0, INFINITY)));
  // Order 1 (no triangle bound) and orders above kMaxRdpOrder / 2 (2 alpha out of range): the
  // unsubsampled Gaussian bound only.
  EXPECT_DOUBLE_EQ(Curve(Subsampling::kPoissonReplaceOne, 0.1, 2.0, 1.0), 2.0 / 4.0);
  EXPECT_DOUBLE_EQ(Curve(Subsampling::kPoissonReplaceOne, 0.1, 2.0, 0.75 * kMaxRdpOrder),
                   2.0 * 0.75 * kMaxRdpOrder / 4.0);
  const double orders[] = {2.0};
  EXPECT_EQ(ComputeRdp(DpEvent{Subsampling::kPoissonReplaceOne, 1.5, 1.0, 1}, orders)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// Opacus' DP-SGD example (q 0.04, z 1.5, 2250 steps, delta 1e-5). Add/remove-one: 7.32911117143
// (Opacus, dp_test_vectors.md; the script's eps_ar gives 7.32911117148). Replace-one: the script's
// whole run gives 18.0673867537642 at order 2.5.
TEST(PoissonReplaceOneTest, WholeRunEpsilonMatchesMpmath) {
  EXPECT_NEAR(RunEpsilon(Subsampling::kPoisson, 0.04, 1.5, 2250, 1e-5), 7.32911117148417, 1e-8);
  RdpAccountant accountant;
  ASSERT_TRUE(accountant.Compose(DpEvent{Subsampling::kPoissonReplaceOne, 0.04, 1.5, 2250}).ok());
  auto epsilon = accountant.GetEpsilon(1e-5);
  ASSERT_TRUE(epsilon.ok());
  EXPECT_NEAR(epsilon->epsilon, 18.0673867537642, 1e-8);
  EXPECT_EQ(epsilon->order, 2.5);
}

// Replacing a record is at least as revealing as removing one, and no worse than the unsampled
// Gaussian of sensitivity 2 clip (kNone at z / 2).
TEST(PoissonReplaceOneTest, LiesBetweenAddRemoveAndTheUnsampledGaussian) {
  for (double q : {0.001, 0.01, 0.1, 0.5}) {
    for (double z : {0.6, 1.0, 2.0, 8.0}) {
      for (int64_t steps : {1, 100, 10000}) {
        SCOPED_TRACE(::testing::Message() << "q " << q << " z " << z << " steps " << steps);
        const double replace_one = RunEpsilon(Subsampling::kPoissonReplaceOne, q, z, steps, 1e-5);
        EXPECT_GE(replace_one, RunEpsilon(Subsampling::kPoisson, q, z, steps, 1e-5));
        EXPECT_LE(replace_one, RunEpsilon(Subsampling::kNone, 1.0, z / 2, steps, 1e-5));
      }
    }
  }
}

TEST(PoissonReplaceOneTest, ComposesWithReplaceOneEventsOnly) {
  RdpAccountant accountant;
  ASSERT_TRUE(accountant.Compose(DpEvent{Subsampling::kPoissonReplaceOne, 0.1, 1.0, 5}).ok());
  ASSERT_TRUE(accountant.Compose(DpEvent{Subsampling::kNone, 1.0, 3.0, 1}).ok());
  ASSERT_TRUE(accountant.Compose(DpEvent{Subsampling::kWithoutReplacement, 0.1, 1.0, 2}).ok());
  const std::vector<double> before = accountant.rdp();
  EXPECT_EQ(accountant.Compose(DpEvent{Subsampling::kPoisson, 0.1, 1.0, 1}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(accountant.rdp(), before);
  RdpAccountant add_remove;
  ASSERT_TRUE(add_remove.Compose(DpEvent{Subsampling::kPoisson, 0.1, 1.0, 5}).ok());
  EXPECT_EQ(add_remove.Compose(DpEvent{Subsampling::kPoissonReplaceOne, 0.1, 1.0, 1}).code(),
            absl::StatusCode::kFailedPrecondition);
  const DpEventShape mixed[] = {{Subsampling::kPoissonReplaceOne, 0.1, 10},
                                {Subsampling::kPoisson, 0.1, 10}};
  EXPECT_EQ(CalibrateNoiseMultiplier(1.0, 1e-5, mixed).status().code(),
            absl::StatusCode::kInvalidArgument);
  const DpEventShape together[] = {{Subsampling::kPoissonReplaceOne, 0.1, 10},
                                   {Subsampling::kWithoutReplacement, 0.1, 10}};
  EXPECT_TRUE(CalibrateNoiseMultiplier(1.0, 1e-5, together).ok());
}

// The calibrated multiplier certifies the target under the replace-one curve and 0.999 of it does
// not; it is larger than the add/remove-one multiplier for the same target.
TEST(PoissonReplaceOneTest, CalibrationIsTightAndCostsMoreNoise) {
  const std::vector<double> orders = DefaultRdpOrders();
  for (const auto& [epsilon, q, steps] :
       {std::tuple{1.0, 0.2, int64_t{200}}, std::tuple{8.0, 0.04, int64_t{2250}}}) {
    SCOPED_TRACE(::testing::Message() << "epsilon " << epsilon << " q " << q);
    const DpEventShape replace_one[] = {{Subsampling::kPoissonReplaceOne, q, steps}};
    const DpEventShape add_remove[] = {{Subsampling::kPoisson, q, steps}};
    auto z = CalibrateNoiseMultiplier(epsilon, 1e-5, replace_one);
    ASSERT_TRUE(z.ok()) << z.status();
    EXPECT_LE(EpsilonForNoiseMultiplier(*z, 1e-5, replace_one, orders)->epsilon, epsilon);
    EXPECT_GT(EpsilonForNoiseMultiplier(0.999 * *z, 1e-5, replace_one, orders)->epsilon, epsilon);
    auto z_add_remove = CalibrateNoiseMultiplier(epsilon, 1e-5, add_remove);
    ASSERT_TRUE(z_add_remove.ok());
    EXPECT_GT(*z, *z_add_remove);
  }
}

}  // namespace
}  // namespace fedsilo
