// The general without-replacement subsampling bound against values worked out by hand from
// Wang, Balle, Kasiviswanathan 2019, Theorem 9, against the tighter Gaussian-specific bound
// (never below it, and close to it), and at its edges.
#include "common/dp/subsampled_rdp.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "common/dp/rdp.h"
#include "common/dp/skellam_rdp.h"

namespace fedsilo {
namespace {

// A base mechanism with eps(j) = c j (a Gaussian's shape).
std::function<absl::StatusOr<double>(int)> Linear(double c) {
  return [c](int j) -> absl::StatusOr<double> { return c * j; };
}

TEST(SampledWithoutReplacementRdpTest, MatchesTheTheoremWorkedByHand) {
  // c = 0.5, q = 0.1. eps(2) = 1: min(4 (e - 1), 2 e) = 2e = 5.43656.
  //   alpha = 2: log(1 + 0.01 * 1 * 5.43656) / 1 = 0.0529393.
  //   alpha = 3: eps(3) = 1.5; log(1 + 0.01 * 3 * 5.43656 + 0.001 * 1 * 2 e^3) / 2
  //            = log(1 + 0.1630969 + 0.0401711) / 2 = 0.0925206.
  const std::vector<double> orders = {2.0, 3.0, 2.5};
  auto rdp = SampledWithoutReplacementRdp(0.1, Linear(0.5), orders);
  ASSERT_TRUE(rdp.ok()) << rdp.status();
  const double two = std::log1p(0.01 * 2.0 * std::exp(1.0));
  const double three = std::log1p(0.03 * 2.0 * std::exp(1.0) + 0.002 * std::exp(3.0)) / 2.0;
  EXPECT_NEAR((*rdp)[0], two, 1e-12);
  EXPECT_NEAR((*rdp)[0], 0.0529393, 1e-6);
  EXPECT_NEAR((*rdp)[1], three, 1e-12);
  EXPECT_NEAR((*rdp)[1], 0.0925206, 1e-6);
  // alpha = 2.5: ((1 - 0.5) * 1 * eps'(2) + 0.5 * 2 * eps'(3)) / 1.5.
  EXPECT_NEAR((*rdp)[2], (0.5 * two + 0.5 * 2.0 * three) / 1.5, 1e-12);
  // With a small eps(2) the other branch of the min: c = 0.05, eps(2) = 0.1:
  // 4 (e^0.1 - 1) = 0.420684 < 2 e^0.1.
  auto small = SampledWithoutReplacementRdp(0.1, Linear(0.05), std::vector<double>{2.0});
  ASSERT_TRUE(small.ok());
  EXPECT_NEAR((*small)[0], std::log1p(0.01 * 4.0 * std::expm1(0.1)), 1e-12);
}

// The floor the header warns of: a base mechanism with eps(j) = 0 at every finite order (but
// eps(inf) = inf) keeps eps'(3) = log(1 + 2 q^3) / 2, while eps'(2) = log(1 + q^2 * 4 (e^0 - 1))
// = 0.
TEST(SampledWithoutReplacementRdpTest, KeepsAFloorAsTheNoiseGrows) {
  auto rdp = SampledWithoutReplacementRdp(0.1, Linear(0.0), std::vector<double>{2.0, 3.0});
  ASSERT_TRUE(rdp.ok());
  EXPECT_EQ((*rdp)[0], 0.0);
  EXPECT_NEAR((*rdp)[1], std::log1p(2.0 * 0.001) / 2.0, 1e-15);
}

TEST(SampledWithoutReplacementRdpTest, NeverBelowTheGaussianSpecificBoundAndCloseToIt) {
  // A Gaussian of noise multiplier z in the without-replacement convention (sensitivity 2 clip,
  // std_sum = 2 z clip): eps(j) = j / (2 z^2).
  const std::vector<double> orders = DefaultRdpOrders();
  for (double z : {0.8, 1.5, 4.0}) {
    for (double q : {0.01, 0.05}) {
      auto general = SampledWithoutReplacementRdp(q, Linear(1.0 / (2.0 * z * z)), orders);
      auto gaussian = SampledWithoutReplacementGaussianRdp(q, z, orders);
      ASSERT_TRUE(general.ok()) << general.status();
      ASSERT_TRUE(gaussian.ok()) << gaussian.status();
      for (size_t i = 0; i < orders.size(); ++i) {
        if (std::isinf((*gaussian)[i])) continue;
        EXPECT_GE((*general)[i], (*gaussian)[i] * (1.0 - 1e-9)) << z << " " << q << " " << orders[i];
        if (orders[i] <= 8.0 && orders[i] >= 2.0) {  // where accountants pick their order here
          EXPECT_LE((*general)[i], 4.0 * (*gaussian)[i] + 1e-9) << z << " " << q << " " << orders[i];
        }
      }
    }
  }
}

TEST(SampledWithoutReplacementRdpTest, EdgesAndErrors) {
  const std::vector<double> orders = {1.0, 2.0, 7.0, std::numeric_limits<double>::infinity()};
  auto none = SampledWithoutReplacementRdp(0.0, Linear(1.0), orders);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, (std::vector<double>{0.0, 0.0, 0.0, 0.0}));
  auto all = SampledWithoutReplacementRdp(1.0, Linear(0.5), orders);
  ASSERT_TRUE(all.ok());
  EXPECT_DOUBLE_EQ((*all)[0], 1.0);  // order 1: the value at 2
  EXPECT_DOUBLE_EQ((*all)[2], 3.5);
  EXPECT_TRUE(std::isinf((*all)[3]));
  EXPECT_FALSE(SampledWithoutReplacementRdp(1.5, Linear(1.0), orders).ok());
  EXPECT_FALSE(SampledWithoutReplacementRdp(std::nan(""), Linear(1.0), orders).ok());
  EXPECT_FALSE(SampledWithoutReplacementRdp(0.1, Linear(1.0), std::vector<double>{0.5}).ok());
  const auto failing = [](int) -> absl::StatusOr<double> {
    return absl::InvalidArgumentError("base failed");
  };
  EXPECT_FALSE(SampledWithoutReplacementRdp(0.1, failing, std::vector<double>{3.0}).ok());
  // The Skellam curve plugs in: subsampling lowers it, and more noise lowers it further.
  const auto skellam = [](double mu) {
    return [mu](int j) -> absl::StatusOr<double> {
      auto curve = SkellamRdp(20.0, 10.0, mu, std::vector<double>{static_cast<double>(j)});
      if (!curve.ok()) return curve.status();
      return (*curve)[0];
    };
  };
  auto plain = SkellamRdp(20.0, 10.0, 400.0, std::vector<double>{4.0});
  auto sampled = SampledWithoutReplacementRdp(0.05, skellam(400.0), std::vector<double>{4.0});
  auto noisier = SampledWithoutReplacementRdp(0.05, skellam(1600.0), std::vector<double>{4.0});
  ASSERT_TRUE(plain.ok() && sampled.ok() && noisier.ok());
  EXPECT_LT((*sampled)[0], (*plain)[0]);
  EXPECT_LT((*noisier)[0], (*sampled)[0]);
}

}  // namespace
}  // namespace fedsilo
