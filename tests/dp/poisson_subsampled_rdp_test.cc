// The Poisson-subsampling bound for symmetric mechanisms against independent values: both
// directions computed exactly by numerical integration (Gaussian) and by summation over the
// lattice (one-dimensional Skellam, its pmf built from two Poisson pmfs), the Mironov-Talwar-Zhang
// formula of rdp.h, and its edges.
#include "common/dp/poisson_subsampled_rdp.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"
#include "common/dp/subsampled_rdp.h"

namespace fedsilo {
namespace {

IntegerOrderRdp Linear(double c) {
  return [c](int j) -> absl::StatusOr<double> { return c * j; };
}

// Exact D_alpha(R || Q) and D_alpha(Q || R) for Q = N(0, sigma^2), P = N(1, sigma^2),
// R = (1 - q) Q + q P, by the trapezoid rule on a fine grid.
struct Directions {
  double with_record;
  double without_record;
};
Directions GaussianByQuadrature(double q, double sigma, int alpha) {
  const double lo = -40.0 * sigma, hi = 40.0 * sigma + alpha, h = 1e-3 * sigma;
  double with_sum = 0.0, without_sum = 0.0;
  for (double x = lo; x <= hi; x += h) {
    const double qx = std::exp(-x * x / (2 * sigma * sigma));
    const double px = std::exp(-(x - 1) * (x - 1) / (2 * sigma * sigma));
    const double rx = (1 - q) * qx + q * px;
    if (qx == 0.0 || rx == 0.0) continue;
    with_sum += qx * std::pow(rx / qx, alpha);
    without_sum += rx * std::pow(qx / rx, alpha);
  }
  const double norm = h / (sigma * std::sqrt(2 * M_PI));
  return {std::log(with_sum * norm) / (alpha - 1), std::log(without_sum * norm) / (alpha - 1)};
}

TEST(PoissonSubsampledSymmetricRdpTest, BoundsTheGaussiansExactDivergencesAndIsExactWithRecord) {
  for (double sigma : {1.0, 2.0, 5.0}) {
    for (double q : {0.01, 0.1, 0.3}) {
      const std::vector<double> orders = {2, 3, 5, 10, 20};
      auto bound = PoissonSubsampledSymmetricRdp(q, Linear(1.0 / (2 * sigma * sigma)), orders);
      ASSERT_TRUE(bound.ok()) << bound.status();
      for (size_t k = 0; k < orders.size(); ++k) {
        const Directions exact = GaussianByQuadrature(q, sigma, static_cast<int>(orders[k]));
        SCOPED_TRACE(testing::Message() << "sigma " << sigma << " q " << q << " alpha " << orders[k]);
        // The expansion is an identity for the Gaussian (its curve is exact).
        EXPECT_NEAR(bound->with_record[k], exact.with_record, 1e-7 + 1e-6 * exact.with_record);
        EXPECT_GE(bound->without_record[k], exact.without_record * (1 - 1e-6) - 1e-12);
      }
    }
  }
}

// One-dimensional Skellam of variance mu, shift 1: not a Gaussian, still symmetric.
std::vector<double> SkellamPmf(double mu, int half_width) {
  // Difference of two Poisson(mu / 2): p(k) = sum_n Pois(n + k) Pois(n).
  std::vector<double> pois(2 * half_width + 1);
  for (int n = 0; n < static_cast<int>(pois.size()); ++n) {
    pois[n] = std::exp(n * std::log(mu / 2) - mu / 2 - std::lgamma(n + 1.0));
  }
  std::vector<double> pmf(2 * half_width + 1, 0.0);  // index k + half_width
  for (int k = -half_width; k <= half_width; ++k) {
    double p = 0.0;
    for (int n = 0; n < static_cast<int>(pois.size()); ++n) {
      const int m = n + k;
      if (m >= 0 && m < static_cast<int>(pois.size())) p += pois[m] * pois[n];
    }
    pmf[k + half_width] = p;
  }
  return pmf;
}

TEST(PoissonSubsampledSymmetricRdpTest, BoundsTheSkellamsExactDivergences) {
  const double mu = 6.0;
  const int w = 120;
  const std::vector<double> pmf = SkellamPmf(mu, w);
  const auto q_of = [&](int k) { return pmf[k + w]; };
  const auto p_of = [&](int k) { return k - 1 >= -w ? pmf[k - 1 + w] : 0.0; };
  // The base curve, exact: D_j(P || Q) by summation (= D_j(Q || P) by symmetry).
  const IntegerOrderRdp exact_base = [&](int j) -> absl::StatusOr<double> {
    double sum = 0.0;
    for (int k = -w + 1; k <= w - 1; ++k) sum += q_of(k) * std::pow(p_of(k) / q_of(k), j);
    return std::log(sum) / (j - 1);
  };
  for (double q : {0.05, 0.2}) {
    const std::vector<double> orders = {2, 4, 8, 16};
    auto bound = PoissonSubsampledSymmetricRdp(q, exact_base, orders);
    ASSERT_TRUE(bound.ok()) << bound.status();
    for (size_t i = 0; i < orders.size(); ++i) {
      const int alpha = static_cast<int>(orders[i]);
      double with_sum = 0.0, without_sum = 0.0;
      for (int k = -w + 1; k <= w - 1; ++k) {
        const double r = (1 - q) * q_of(k) + q * p_of(k);
        with_sum += q_of(k) * std::pow(r / q_of(k), alpha);
        without_sum += r * std::pow(q_of(k) / r, alpha);
      }
      const double with_exact = std::log(with_sum) / (alpha - 1);
      const double without_exact = std::log(without_sum) / (alpha - 1);
      SCOPED_TRACE(testing::Message() << "q " << q << " alpha " << alpha);
      EXPECT_NEAR(bound->with_record[i], with_exact, 1e-9 + 1e-7 * with_exact);
      EXPECT_GE(bound->without_record[i], without_exact * (1 - 1e-9));
      EXPECT_GT(without_exact, 0.0);
    }
  }
}

TEST(PoissonSubsampledSymmetricRdpTest, OverManyRoundsStaysNearTheGaussiansExactEpsilon) {
  // The regime: q = 0.053, 100 rounds, delta 1e-5; the exact add/remove curve is
  // Mironov-Talwar-Zhang's (rdp.h), which bounds both directions for the Gaussian.
  std::vector<double> orders;
  for (int a = 2; a <= 256; ++a) orders.push_back(a);
  for (double z : {3.0, 8.0}) {
    auto ours = PoissonSubsampledSymmetricRdp(0.053, Linear(1.0 / (2 * z * z)), orders);
    auto exact = PoissonSubsampledGaussianRdp(0.053, z, orders);
    ASSERT_TRUE(ours.ok() && exact.ok());
    std::vector<double> both(orders.size()), mtz(orders.size());
    for (size_t k = 0; k < orders.size(); ++k) {
      both[k] = 100 * std::max(ours->with_record[k], ours->without_record[k]);
      mtz[k] = 100 * (*exact)[k];
      EXPECT_NEAR(ours->with_record[k], (*exact)[k], 1e-9 + 1e-9 * (*exact)[k]);
    }
    auto eps_ours = EpsilonFromRdp(orders, both, 1e-5);
    auto eps_exact = EpsilonFromRdp(orders, mtz, 1e-5);
    ASSERT_TRUE(eps_ours.ok() && eps_exact.ok());
    SCOPED_TRACE(testing::Message() << "z " << z);
    EXPECT_GE(eps_ours->epsilon, eps_exact->epsilon);
    EXPECT_LE(eps_ours->epsilon, 1.12 * eps_exact->epsilon);
  }
}

TEST(PoissonSubsampledSymmetricRdpTest, HasNoFloorWhereTheGeneralBoundHasOne) {
  // A nearly silent base mechanism: eps(j) = 1e-9 j. The general without-replacement bound keeps
  // its floor (subsampled_rdp.h); this one vanishes with the curve.
  const std::vector<double> orders = {10};
  auto ours = PoissonSubsampledSymmetricRdp(0.053, Linear(1e-9), orders);
  auto general = SampledWithoutReplacementRdp(0.053, Linear(1e-9), orders);
  ASSERT_TRUE(ours.ok() && general.ok());
  EXPECT_LT(ours->with_record[0], 1e-9);
  EXPECT_LT(ours->without_record[0], 1e-9);
  EXPECT_GT((*general)[0], 1e-3);
}

TEST(PoissonSubsampledSymmetricRdpTest, EdgesAndFractionalOrders) {
  const std::vector<double> orders = {1.0, 2.5, 3.0, INFINITY};
  auto none = PoissonSubsampledSymmetricRdp(0.0, Linear(0.5), orders);
  ASSERT_TRUE(none.ok());
  for (double v : none->with_record) EXPECT_EQ(v, 0.0);
  auto all = PoissonSubsampledSymmetricRdp(1.0, Linear(0.5), orders);
  ASSERT_TRUE(all.ok());
  EXPECT_DOUBLE_EQ(all->with_record[0], 1.0);  // order 1 takes order 2's value
  EXPECT_DOUBLE_EQ(all->without_record[2], 1.5);
  EXPECT_TRUE(std::isinf(all->with_record[3]));
  // 2.5 interpolates (alpha - 1) eps between 2 and 3.
  auto some = PoissonSubsampledSymmetricRdp(0.1, Linear(0.5), std::vector<double>{2, 2.5, 3});
  ASSERT_TRUE(some.ok());
  EXPECT_NEAR(some->with_record[1],
              (0.5 * some->with_record[0] + 0.5 * 2 * some->with_record[2]) / 1.5, 1e-15);
  EXPECT_FALSE(PoissonSubsampledSymmetricRdp(1.5, Linear(0.5), orders).ok());
  EXPECT_FALSE(PoissonSubsampledSymmetricRdp(0.1, Linear(0.5), std::vector<double>{0.5}).ok());
  EXPECT_FALSE(PoissonSubsampledSymmetricRdp(0.1, Linear(0.5), std::vector<double>{5000}).ok());
}

TEST(PoissonSubsampledSymmetricReplaceOneRdpTest, BoundsTheTriangleOfExactDirectionsAndIsCloseToRdpH) {
  // For the Gaussian the triangle's exact ingredients are known: the with-record direction is
  // Mironov-Talwar-Zhang's curve, the without-record one comes from quadrature. Ours can be
  // below rdp.h's curve, which uses the with-record value for both directions (larger at high
  // orders, where "without" is capped by log(1 / (1 - q))); its epsilon stays close.
  const double q = 0.053;
  for (double z : {4.0, 8.0}) {
    const double c = 1.0 / (2 * z * z);
    const std::vector<double> few = {2, 5, 10};
    auto ours = PoissonSubsampledSymmetricReplaceOneRdp(q, Linear(c), Linear(4 * c), few);
    ASSERT_TRUE(ours.ok()) << ours.status();
    for (size_t k = 0; k < few.size(); ++k) {
      const double a = few[k];
      auto with = PoissonSubsampledGaussianRdp(q, z, std::vector<double>{2 * a});
      ASSERT_TRUE(with.ok());
      const double without = GaussianByQuadrature(q, z, static_cast<int>(2 * a - 1)).without_record;
      const double exact_triangle = (a - 0.5) / (a - 1) * (*with)[0] + without;
      EXPECT_GE((*ours)[k], std::min(exact_triangle, 4 * c * a) * (1 - 1e-6)) << "z " << z << " a " << a;
    }
  }
  std::vector<double> orders;
  for (int a = 2; a <= 128; ++a) orders.push_back(a);
  for (double z : {1.0, 4.0, 8.0}) {
    const double c = 1.0 / (2 * z * z);
    auto ours = PoissonSubsampledSymmetricReplaceOneRdp(q, Linear(c), Linear(4 * c), orders);
    auto gaussian = PoissonSubsampledGaussianReplaceOneRdp(q, z, orders);
    ASSERT_TRUE(ours.ok() && gaussian.ok()) << ours.status();
    std::vector<double> a(orders.size()), b(orders.size());
    for (size_t k = 0; k < orders.size(); ++k) {
      a[k] = 100 * (*ours)[k];
      b[k] = 100 * (*gaussian)[k];
    }
    auto eps_ours = EpsilonFromRdp(orders, a, 1e-5);
    auto eps_gaussian = EpsilonFromRdp(orders, b, 1e-5);
    ASSERT_TRUE(eps_ours.ok() && eps_gaussian.ok());
    SCOPED_TRACE(testing::Message() << "z " << z);
    EXPECT_GE(eps_ours->epsilon, 0.9 * eps_gaussian->epsilon);
    EXPECT_LE(eps_ours->epsilon, 1.15 * eps_gaussian->epsilon);
  }
  // q = 1: the unsampled replace-one curve.
  auto whole = PoissonSubsampledSymmetricReplaceOneRdp(1.0, Linear(0.1), Linear(0.4),
                                                       std::vector<double>{3});
  ASSERT_TRUE(whole.ok());
  EXPECT_DOUBLE_EQ((*whole)[0], 1.2);
}

}  // namespace
}  // namespace fedsilo
