// Golden values for the RDP accountant (common/dp/rdp.h, common/dp/rdp_accountant.h), from the
// test suites of public DP libraries, as collected in shared/reference/dp_test_vectors.md, plus
// property tests of the accountant contract.
#include "common/dp/rdp_accountant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "common/base/rng.h"
#include "common/dp/dp_event.h"
#include "common/dp/rdp.h"

namespace fedsilo {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<double> Range(int lo, int hi_exclusive) {
  std::vector<double> v;
  for (int a = lo; a < hi_exclusive; ++a) v.push_back(a);
  return v;
}

// TF Privacy's compute_dp_sgd_privacy orders (72): [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4,
// 4.5] + range(5, 64) + [128, 256, 512].
std::vector<double> TfPrivacyOrders() {
  std::vector<double> v = {1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5};
  for (int a = 5; a < 64; ++a) v.push_back(a);
  for (double a : {128.0, 256.0, 512.0}) v.push_back(a);
  return v;
}

void ExpectRelNear(double expected, double actual, double rtol, const char* what = "") {
  if (std::isinf(expected)) {
    EXPECT_EQ(actual, expected) << what;
    return;
  }
  EXPECT_NEAR(actual, expected, rtol * std::abs(expected)) << what;
}

RdpAccountant MakeAccountant(std::vector<double> orders) {
  absl::StatusOr<RdpAccountant> acc = RdpAccountant::Create(std::move(orders));
  EXPECT_TRUE(acc.ok()) << acc.status();
  return *std::move(acc);
}

EpsilonAndOrder Epsilon(const RdpAccountant& acc, double delta) {
  absl::StatusOr<EpsilonAndOrder> e = acc.GetEpsilon(delta);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.value_or(EpsilonAndOrder{kInf, 0});
}

DeltaAndOrder Delta(const RdpAccountant& acc, double epsilon) {
  absl::StatusOr<DeltaAndOrder> d = acc.GetDelta(epsilon);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.value_or(DeltaAndOrder{1.0, 0});
}

DpEvent Poisson(double q, double z, int64_t count) {
  return DpEvent{Subsampling::kPoisson, q, z, count};
}

// ---------------------------------------------------------------- orders

TEST(RdpOrdersTest, DefaultOrdersAreDpAccountingsList) {
  const std::vector<double> orders = DefaultRdpOrders();
  ASSERT_EQ(orders.size(), 156u);
  EXPECT_EQ(orders[0], 1.1);
  EXPECT_EQ(orders[98], 10.9);
  EXPECT_EQ(orders[99], 11.0);
  EXPECT_EQ(orders[151], 63.0);
  EXPECT_EQ(orders[152], 128.0);
  EXPECT_EQ(orders[155], 1024.0);
  EXPECT_EQ(orders[9], 2.0);  // 1 + 10 / 10.0 is an exact integer order, as in Python
}

TEST(RdpOrdersTest, OpacusOrdersAre151) {
  const std::vector<double> orders = OpacusRdpOrders();
  ASSERT_EQ(orders.size(), 151u);
  EXPECT_EQ(orders[98], 10.9);
  EXPECT_EQ(orders[99], 12.0);
  EXPECT_EQ(orders.back(), 63.0);
}

// ---------------------------------------------------------------- per-order RDP curves

// dp_accounting rdp_privacy_accountant_test.py, test_compute_rdp_poisson_sampled_gaussian:
// q = 0.01, z = 2.5, 50 steps, rtol 1e-4. We implement variant E (exact signed series, Opacus and
// dp_accounting before 2024): orders 5, 50, 100 match both variants; 1.5 and 2.5 are variant E.
TEST(PoissonRdpTest, MatchesDpAccountingVariantE) {
  const std::vector<double> orders = {1.5, 2.5, 5, 50, 100, kInf};
  const std::vector<double> variant_e = {6.50070897e-04, 1.08541806e-03, 2.18075656e-03,
                                         2.38460375e-02, 1.67416308e+02, kInf};
  RdpAccountant acc = MakeAccountant(orders);
  ASSERT_TRUE(acc.Compose(Poisson(0.01, 2.5, 50)).ok());
  for (size_t k = 0; k < orders.size(); ++k) {
    ExpectRelNear(variant_e[k], acc.rdp()[k], 1e-4, "variant E");
  }
  // Variant G (dp_accounting since 2024) is looser at 1.5: we are NOT that variant.
  EXPECT_GT(std::abs(acc.rdp()[0] - 6.70579741e-04), 1e-4 * 6.70579741e-04);
}

// TF Privacy rdp_accountant_test.py, test_compute_rdp_sequence (absolute tolerance 1e-5).
TEST(PoissonRdpTest, MatchesTfPrivacySequence) {
  const std::vector<double> orders = {1.5, 2.5, 5, 50, 100};
  const std::vector<double> expected = {0.00065, 0.001085, 0.00218075, 0.023846, 167.416307};
  absl::StatusOr<std::vector<double>> rdp = PoissonSubsampledGaussianRdp(0.01, 2.5, orders);
  ASSERT_TRUE(rdp.ok());
  for (size_t k = 0; k < orders.size(); ++k) EXPECT_NEAR(50 * (*rdp)[k], expected[k], 1e-5);
  // test_compute_rdp_scalar: q 0.1, z 2, 10 steps, order 5 -> 0.07737 (5 places).
  const std::vector<double> order5 = {5.0};
  absl::StatusOr<std::vector<double>> scalar = PoissonSubsampledGaussianRdp(0.1, 2, order5);
  ASSERT_TRUE(scalar.ok());
  EXPECT_NEAR(10 * (*scalar)[0], 0.07737, 5e-6);
}

// log(A_alpha) against a 40-digit mpmath numerical integration of
//   A_alpha = int N(x; 0, s^2) ((1-q) + q exp((2x-1)/(2 s^2)))^alpha dx,
// at the parameters of dp_accounting's test_compute_log_a_equals_mp (rtol 1e-4, atol 1e-8 there).
// The reference numbers were computed for this test (mpmath.quad, maxdegree 10).
TEST(PoissonRdpTest, LogAMatchesNumericalIntegration) {
  struct Case {
    double q, sigma, alpha, log_a_mp;
  };
  const Case cases[] = {
      {1e-7, 0.1, 1.01, 4.0034123225264e-8}, {1e-6, 0.1, 256, 3260448.82370197},
      {1e-5, 0.1, 256.1, 3263586.43287296},  {1e-6, 1.0, 27, 8.7695113048485e-10},
      {1e-4, 1.0, 1.5, 6.44268695383665e-9}, {1e-3, 1.0, 2, 1.71828035221452e-6},
      {0.01, 10, 20, 0.00019129699912843},   {0.1, 100, 20.5, 0.000199918184580683},
      {0.99, 0.1, 256, 3263983.02151883},    {0.999, 100, 256.1, 3.26010803797311},
  };
  for (const Case& c : cases) {
    const double log_a =
        std::floor(c.alpha) == c.alpha
            ? rdp_internal::LogAPoissonInteger(c.q, c.sigma, static_cast<int64_t>(c.alpha))
            : rdp_internal::LogAPoissonFractional(c.q, c.sigma, c.alpha);
    EXPECT_NEAR(log_a, c.log_a_mp, 1e-8 + 1e-4 * std::abs(c.log_a_mp))
        << "q=" << c.q << " sigma=" << c.sigma << " alpha=" << c.alpha;
  }
}

// TF Privacy rdp_accountant_test.py, test_compute_rdp_sequence_without_replacement:
// q = 0.01, z = 2.5, 50 steps, absolute tolerance 1e-5 (Wang-Balle-Kasiviswanathan Thm 27, the
// code dp_accounting's _compute_rdp_sample_wor_gaussian still runs).
TEST(WithoutReplacementRdpTest, MatchesTfPrivacySequence) {
  const std::vector<double> orders = {1.001, 1.5, 2.5, 5, 50, 100, 256, 512, 1024, kInf};
  // The published value at order 256 is 792.838516. We obtain 792.974427, exactly
  // 50 log(2) / 255 above it (the top term of the sum counted with factor 2 instead of 1); a
  // line-by-line transcription of the reference Python run with numpy 1.24 / scipy 1.10 also gives
  // 792.9744273662, so the test pins that value (it is the larger, i.e. safe, bound).
  const std::vector<double> expected = {0.003470,   0.003470,   0.004638,   0.0087633,  0.098474,
                                        167.766388, 792.974427, 1817.35871, 3865.55029, kInf};
  absl::StatusOr<std::vector<double>> rdp = SampledWithoutReplacementGaussianRdp(0.01, 2.5, orders);
  ASSERT_TRUE(rdp.ok()) << rdp.status();
  for (size_t k = 0; k + 1 < orders.size(); ++k) {
    EXPECT_NEAR(50 * (*rdp)[k], expected[k], 1e-5) << "order " << orders[k];
  }
  EXPECT_EQ((*rdp).back(), kInf);
  EXPECT_GE(50 * (*rdp)[6], 792.838516);
}

TEST(WithoutReplacementRdpTest, FractionalOrdersInterpolateAndBoundAbove) {
  // (alpha - 1) eps(alpha) is linear between neighbouring integers.
  const std::vector<double> orders = {3, 3.25, 4};
  absl::StatusOr<std::vector<double>> rdp = SampledWithoutReplacementGaussianRdp(0.05, 1.2, orders);
  ASSERT_TRUE(rdp.ok());
  const double cgf3 = 2 * (*rdp)[0], cgf4 = 3 * (*rdp)[2];
  EXPECT_NEAR(2.25 * (*rdp)[1], 0.75 * cgf3 + 0.25 * cgf4, 1e-12);
  for (double r : *rdp) EXPECT_TRUE(r > 0.0 && std::isfinite(r));
}

TEST(RdpEdgeCasesTest, FollowDpAccounting) {
  const std::vector<double> orders = {1.5, 2, 32, kInf};
  for (auto fn : {&PoissonSubsampledGaussianRdp, &SampledWithoutReplacementGaussianRdp}) {
    // q = 0: nothing touched, even without noise.
    for (double z : {0.0, 1.0}) {
      absl::StatusOr<std::vector<double>> r = fn(0.0, z, orders);
      ASSERT_TRUE(r.ok());
      for (double v : *r) EXPECT_EQ(v, 0.0);
    }
    // z = 0: no privacy.
    absl::StatusOr<std::vector<double>> none = fn(0.3, 0.0, orders);
    ASSERT_TRUE(none.ok());
    for (double v : *none) EXPECT_EQ(v, kInf);
    // q = 1: the plain Gaussian, alpha / (2 z^2); order inf -> inf.
    absl::StatusOr<std::vector<double>> full = fn(1.0, 2.0, orders);
    ASSERT_TRUE(full.ok());
    for (size_t k = 0; k + 1 < orders.size(); ++k) {
      EXPECT_DOUBLE_EQ((*full)[k], orders[k] / 8.0);
    }
    EXPECT_EQ(full->back(), kInf);
    absl::StatusOr<std::vector<double>> sub = fn(0.1, 2.0, orders);
    ASSERT_TRUE(sub.ok());
    EXPECT_EQ(sub->back(), kInf);
    // Errors.
    EXPECT_EQ(fn(-0.1, 1.0, orders).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(fn(1.1, 1.0, orders).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(fn(std::nan(""), 1.0, orders).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(fn(0.1, -1.0, orders).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(fn(0.1, kInf, orders).status().code(), absl::StatusCode::kInvalidArgument);
    const std::vector<double> bad_order = {0.5};
    EXPECT_EQ(fn(0.1, 1.0, bad_order).status().code(), absl::StatusCode::kInvalidArgument);
  }
  absl::StatusOr<std::vector<double>> gauss = GaussianRdp(0.0, orders);
  ASSERT_TRUE(gauss.ok());
  EXPECT_EQ((*gauss)[0], kInf);
}

TEST(RdpEdgeCasesTest, ComputeRdpValidatesEvents) {
  const std::vector<double> orders = {2, 8};
  EXPECT_EQ(ComputeRdp(DpEvent{Subsampling::kWithReplacement, 0.1, 1.0, 1}, orders).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeRdp(DpEvent{Subsampling::kNone, 0.5, 1.0, 1}, orders).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ComputeRdp(DpEvent{Subsampling::kPoisson, 0.5, 1.0, -1}, orders).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::StatusOr<std::vector<double>> full =
      ComputeRdp(DpEvent{Subsampling::kNone, 1.0, 2.0, 5}, orders);
  ASSERT_TRUE(full.ok());
  EXPECT_DOUBLE_EQ((*full)[1], 1.0);  // count is not applied: 8 / (2 * 4)
}

// ---------------------------------------------------------------- RDP -> (eps, delta)

// dp_accounting test_compute_epsilon_delta_pure_dp (TF Privacy
// test_get_privacy_spent_check_target_delta/eps): constant RDP 1.1 at orders 2..32, delta 1e-5.
TEST(ConversionTest, ConstantRdpGivesHandComputedEpsilon) {
  const std::vector<double> orders = Range(2, 33);
  const std::vector<double> rdp(orders.size(), 1.1);
  absl::StatusOr<EpsilonAndOrder> eps = EpsilonFromRdp(orders, rdp, 1e-5);
  ASSERT_TRUE(eps.ok());
  EXPECT_NEAR(eps->epsilon, 1.32783806176, 1e-7);
  EXPECT_EQ(eps->order, 32);
  absl::StatusOr<DeltaAndOrder> delta = DeltaFromRdp(orders, rdp, 1.32783806176);
  ASSERT_TRUE(delta.ok());
  EXPECT_NEAR(delta->delta, 1e-5, 1e-7);
  EXPECT_EQ(delta->order, 32);
}

// dp_accounting test_compute_epsilon_delta_gaussian: q = 1, z = 4.530877117 is exactly (1, 1e-6)-DP
// on the fine orders 1.000, 1.001, ..., 99.999.
// The converter against the conversion written out here from its formula, order by order (the
// KL exception, alpha <= 1.01 unused, alpha = inf as its limit), on random curves, scales and
// deltas, NaN and negative entries included: the same epsilon and order, bit for bit.
TEST(ConversionTest, TheConverterIsTheFormulaBitForBit) {
  std::vector<double> orders = DefaultRdpOrders();
  orders.insert(orders.begin(), 1.005);
  orders.push_back(std::numeric_limits<double>::infinity());
  const auto by_formula = [&](const std::vector<double>& rdp, double delta) {
    double best = std::numeric_limits<double>::infinity(), best_order = orders[0];
    for (size_t k = 0; k < orders.size(); ++k) {
      const double a = orders[k];
      const double r = (std::isnan(rdp[k]) || rdp[k] < 0) ? std::numeric_limits<double>::infinity()
                                                         : rdp[k];
      double eps;
      if (delta * delta + std::expm1(-r) > 0.0) {
        eps = 0.0;
      } else if (a > 1.01) {
        eps = std::isinf(a) ? r : r + std::log1p(-1.0 / a) - std::log(delta * a) / (a - 1.0);
      } else {
        eps = std::numeric_limits<double>::infinity();
      }
      if (eps < best) {
        best = eps;
        best_order = a;
      }
    }
    return std::pair{std::max(0.0, best), best_order};
  };
  Rng rng(12);
  for (int trial = 0; trial < 300; ++trial) {
    const double delta = std::pow(10.0, -1.0 - 9.0 * rng.Uniform());
    const double scale = trial % 3 == 0 ? 1.0 : 1.0 + 500.0 * rng.Uniform();
    std::vector<double> curve(orders.size()), scaled(orders.size());
    for (size_t k = 0; k < orders.size(); ++k) {
      // Tiny values (the KL exception), ordinary ones, and a few NaN or negative entries.
      const double u = rng.Uniform();
      curve[k] = u < 0.02 ? std::nan("") : u < 0.04 ? -1.0
                 : u < 0.3 ? 1e-13 * rng.Uniform() : 0.05 * orders[k] * rng.Uniform();
      if (std::isinf(orders[k])) curve[k] = 0.5 * rng.Uniform();
      scaled[k] = curve[k] * scale;
    }
    auto converter = EpsilonConverter::Create(orders, delta);
    ASSERT_TRUE(converter.ok());
    auto got = converter->Epsilon(curve, scale);
    ASSERT_TRUE(got.ok());
    const auto [epsilon, order] = by_formula(scaled, delta);
    EXPECT_EQ(got->epsilon, epsilon) << trial;
    EXPECT_EQ(got->order, order) << trial;
  }
  EXPECT_FALSE(EpsilonConverter::Create(orders, 1.5).ok());
  EXPECT_FALSE(EpsilonConverter::Create(std::vector<double>{}, 1e-5).ok());
  auto converter = EpsilonConverter::Create(orders, 1e-5);
  EXPECT_FALSE(converter->Epsilon(std::vector<double>{1.0}).ok());
}

TEST(ConversionTest, GaussianOnFineOrdersIsOneAtOneInAMillion) {
  std::vector<double> orders;
  for (int i = 1000; i < 100000; ++i) orders.push_back(0.001 * i);
  absl::StatusOr<std::vector<double>> rdp = PoissonSubsampledGaussianRdp(1.0, 4.530877117, orders);
  ASSERT_TRUE(rdp.ok());
  absl::StatusOr<EpsilonAndOrder> eps = EpsilonFromRdp(orders, *rdp, 1e-6);
  ASSERT_TRUE(eps.ok());
  EXPECT_NEAR(eps->epsilon, 1.0, 1e-7);
  absl::StatusOr<DeltaAndOrder> delta = DeltaFromRdp(orders, *rdp, 1.0);
  ASSERT_TRUE(delta.ok());
  EXPECT_NEAR(delta->delta, 1e-6, 1e-6 * 1e-4);
}

// dp_accounting test_delta_bounds_gaussian: for the Gaussian with z = 1, the RDP delta lies between
// the exact delta (Balle & Wang 2018, Thm 8) and the "standard" bound exp(-(eps - 1/2)^2 / 2).
TEST(ConversionTest, GaussianDeltaBetweenExactAndStandardBound) {
  std::vector<double> orders;
  for (int x = 10; x < 505; ++x) orders.push_back(0.1 * x);
  absl::StatusOr<std::vector<double>> rdp = GaussianRdp(1.0, orders);
  ASSERT_TRUE(rdp.ok());
  for (int i = 0; i < 500; ++i) {
    const double eps = 0.1 * i;
    absl::StatusOr<DeltaAndOrder> d = DeltaFromRdp(orders, *rdp, eps);
    ASSERT_TRUE(d.ok());
    const double exact = std::erfc((eps - 0.5) / std::sqrt(2.0)) / 2 -
                         std::exp(eps) * std::erfc((eps + 0.5) / std::sqrt(2.0)) / 2;
    EXPECT_LE(exact, d->delta + 1e-300) << eps;
    const double standard = eps >= 0.5 ? std::exp(-0.5 * (eps - 0.5) * (eps - 0.5)) : 1.0;
    EXPECT_LE(d->delta, standard + 1e-300) << eps;
  }
}

TEST(ConversionTest, EdgeCasesAndErrors) {
  const std::vector<double> orders = {2, 4};
  const std::vector<double> zero = {0, 0};
  const std::vector<double> some = {0.5, 1.0};
  EXPECT_EQ(EpsilonFromRdp(orders, zero, 0.0)->epsilon, 0.0);
  EXPECT_EQ(EpsilonFromRdp(orders, some, 0.0)->epsilon, kInf);
  EXPECT_EQ(EpsilonFromRdp(orders, some, 1.0)->epsilon, 0.0);
  const std::vector<double> infinite = {kInf, kInf};
  EXPECT_EQ(EpsilonFromRdp(orders, infinite, 1e-5)->epsilon, kInf);
  EXPECT_EQ(DeltaFromRdp(orders, infinite, 3.0)->delta, 1.0);
  // An order with negative RDP certifies nothing (it is never read as zero loss): the answer is
  // the other order's, 0.3 + log(3/4) - log(1e-5 * 4) / 3, and delta at epsilon 0 is not 0.
  const std::vector<double> negative = {-1e-12, 0.3};
  EXPECT_NEAR(EpsilonFromRdp(orders, negative, 1e-5)->epsilon,
              0.3 + std::log(0.75) - std::log(4e-5) / 3.0, 1e-12);
  EXPECT_GT(DeltaFromRdp(orders, negative, 0.0)->delta, 0.0);
  // Orders <= 1.01 never give a finite epsilon through the CKS bound.
  const std::vector<double> low_orders = {1.0, 1.005};
  EXPECT_EQ(EpsilonFromRdp(low_orders, some, 1e-5)->epsilon, kInf);
  // Errors.
  const std::vector<double> one = {0.1};
  const std::vector<double> empty;
  EXPECT_EQ(EpsilonFromRdp(orders, one, 1e-5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EpsilonFromRdp(empty, empty, 1e-5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EpsilonFromRdp(orders, some, -1e-5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EpsilonFromRdp(orders, some, 1.5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EpsilonFromRdp(orders, some, std::nan("")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DeltaFromRdp(orders, some, -1.0).status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<double> bad_orders = {0.5, 2};
  EXPECT_EQ(DeltaFromRdp(bad_orders, some, 1.0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- end-to-end epsilons

// TF Privacy compute_dp_sgd_privacy_test.py (7 places and the optimal order), 72-order TF list,
// steps = ceil(epochs * n / batch).
TEST(EndToEndTest, TfPrivacyComputeDpSgdPrivacy) {
  struct Case {
    double n, batch, z, epochs, delta, eps, order;
  };
  const Case cases[] = {
      {60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19.0},
      {100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13.0},
  };
  for (const Case& c : cases) {
    RdpAccountant acc = MakeAccountant(TfPrivacyOrders());
    const auto steps = static_cast<int64_t>(std::ceil(c.epochs * c.n / c.batch));
    ASSERT_TRUE(acc.Compose(Poisson(c.batch / c.n, c.z, steps)).ok());
    const EpsilonAndOrder e = Epsilon(acc, c.delta);
    EXPECT_NEAR(e.epsilon, c.eps, 1e-7);
    EXPECT_EQ(e.order, c.order);
  }
}

// TF Privacy's third case (n 1e8, batch 1024, z 0.1, 10 epochs, delta 1e-7: 5907982.3113978775 at
// order 1.25) sits on a fractional order with very small noise, where variant E matters. Its
// absolute 7-place tolerance is below double precision at this magnitude; we check 1e-9 relative.
TEST(EndToEndTest, TfPrivacyHugeEpsilonAtFractionalOrder) {
  RdpAccountant acc = MakeAccountant(TfPrivacyOrders());
  const auto steps = static_cast<int64_t>(std::ceil(10 * 1e8 / 1024));
  ASSERT_TRUE(acc.Compose(Poisson(1024 / 1e8, 0.1, steps)).ok());
  const EpsilonAndOrder e = Epsilon(acc, 1e-7);
  ExpectRelNear(5907982.3113978775, e.epsilon, 1e-9);
  EXPECT_EQ(e.order, 1.25);
}

// Opacus accountants_test.py test_rdp_accountant: z 1.5, q 0.04, steps int(90 / 0.04) = 2250,
// delta 1e-5, Opacus' 151 orders: 7.32911117143 (7 places), best order 3.9.
TEST(EndToEndTest, OpacusRdpAccountant) {
  RdpAccountant acc = MakeAccountant(OpacusRdpOrders());
  ASSERT_TRUE(acc.Compose(Poisson(0.04, 1.5, static_cast<int64_t>(90 / 0.04))).ok());
  const EpsilonAndOrder e = Epsilon(acc, 1e-5);
  EXPECT_NEAR(e.epsilon, 7.32911117143, 1e-7);
  EXPECT_DOUBLE_EQ(e.order, 3.9);
  // dp_accounting's default orders contain Opacus' optimum: same epsilon.
  RdpAccountant def;
  ASSERT_TRUE(def.Compose(Poisson(0.04, 1.5, 2250)).ok());
  EXPECT_NEAR(Epsilon(def, 1e-5).epsilon, 7.32911117143, 1e-7);
}

// Opacus analysis/rdp.py doctest: orders 2..32, (q 1e-5, z 1.0, 10 steps) then
// (q 1e-4, z 3.0, 4 steps), delta 1e-5: (0.336, 23).
TEST(EndToEndTest, OpacusTwoPhaseDoctest) {
  RdpAccountant acc = MakeAccountant(Range(2, 33));
  ASSERT_TRUE(acc.Compose(Poisson(1e-5, 1.0, 10)).ok());
  ASSERT_TRUE(acc.Compose(Poisson(1e-4, 3.0, 4)).ok());
  const EpsilonAndOrder e = Epsilon(acc, 1e-5);
  EXPECT_NEAR(e.epsilon, 0.336, 5e-4);
  EXPECT_EQ(e.order, 23);
}

// Tight (PLD/PRV) values: an RDP accountant may only report more.
TEST(EndToEndTest, NeverBelowTightAccountants) {
  // Opacus PRV accountant: z 1.5, q 0.04, int(90 // 0.04) = 2249 steps, delta 1e-5.
  RdpAccountant acc;
  ASSERT_TRUE(acc.Compose(Poisson(0.04, 1.5, 2249)).ok());
  EXPECT_GE(Epsilon(acc, 1e-5).epsilon, 6.777395712150674);
  // Gaussian z = sqrt(3) composed 3 times (= z 1): exact delta(eps = 1) =
  // Phi(-0.5) - e Phi(-1.5) = 0.1269367375 (dp_accounting PLD test: 0.126936).
  RdpAccountant gauss;
  ASSERT_TRUE(gauss.Compose(DpEvent{Subsampling::kNone, 1.0, std::sqrt(3.0), 3}).ok());
  EXPECT_GE(Delta(gauss, 1.0).delta, 0.1269367375);
  EXPECT_GE(Epsilon(gauss, 0.1269367375).epsilon, 1.0);
}

// ---------------------------------------------------------------- accountant properties

TEST(RdpAccountantTest, EmptyAccountantGivesZero) {
  RdpAccountant acc;
  EXPECT_EQ(acc.orders().size(), 156u);
  EXPECT_EQ(Epsilon(acc, 1e-5).epsilon, 0.0);
  EXPECT_EQ(Epsilon(acc, 0.0).epsilon, 0.0);
  EXPECT_EQ(Delta(acc, 0.0).delta, 0.0);
  // q = 0 and count = 0 compose nothing.
  ASSERT_TRUE(acc.Compose(Poisson(0.0, 1.0, 100)).ok());
  ASSERT_TRUE(acc.Compose(Poisson(0.5, 1.0, 0)).ok());
  EXPECT_EQ(Epsilon(acc, 1e-10).epsilon, 0.0);
  EXPECT_EQ(Delta(acc, 1e-10).delta, 0.0);
}

// A tiny sampling rate keeps a small, positive loss: 1 + (A - 1) must not round to 1. Reference:
// 60-digit mpmath, A - 1 as the exact binomial sum for integer orders and as a numerical integral
// of E[((1-q) + q exp((2x-1)/(2 z^2)))^alpha - 1] over x ~ N(0, z^2) for fractional ones, then the
// same conversion over the same 156 orders (best at order 10.6).
TEST(RdpAccountantTest, TinySamplingRateIsNeverReportedAsZero) {
  const std::vector<double> orders = {2, 5, 10};
  const auto rdp = PoissonSubsampledGaussianRdp(1e-9, 0.5, orders);
  ASSERT_TRUE(rdp.ok()) << rdp.status();
  EXPECT_NEAR((*rdp)[0] / 5.3598150033144238e-17, 1.0, 1e-9);
  EXPECT_NEAR((*rdp)[1] / 1.3399578159852242e-16, 1.0, 1e-9);
  EXPECT_NEAR((*rdp)[2] / 1.6575551021187952e-13, 1.0, 1e-9);
  RdpAccountant acc;
  ASSERT_TRUE(acc.Compose(Poisson(1e-9, 0.5, 1000000)).ok());
  const EpsilonAndOrder e = Epsilon(acc, 1e-10);
  EXPECT_NEAR(e.epsilon, 2.0636367034298, 1e-6);
  EXPECT_DOUBLE_EQ(e.order, 10.6);
}

TEST(RdpAccountantTest, NoNoiseGivesInfiniteEpsilon) {
  RdpAccountant acc;
  ASSERT_TRUE(acc.Compose(Poisson(0.1, 0.0, 1)).ok());
  EXPECT_EQ(Epsilon(acc, 0.1).epsilon, kInf);
  EXPECT_EQ(Delta(acc, 5.0).delta, 1.0);
}

TEST(RdpAccountantTest, EpsilonGrowsWithStepsAndRateAndFallsWithNoise) {
  auto eps = [](double q, double z, int64_t steps) {
    RdpAccountant acc;
    EXPECT_TRUE(acc.Compose(Poisson(q, z, steps)).ok());
    return Epsilon(acc, 1e-5).epsilon;
  };
  double prev = 0.0;
  for (int64_t steps : {1, 10, 100, 1000, 10000}) {
    const double e = eps(0.01, 1.0, steps);
    EXPECT_GT(e, prev) << steps;
    prev = e;
  }
  prev = 0.0;
  for (double q : {0.001, 0.01, 0.05, 0.2, 0.6, 1.0}) {
    const double e = eps(q, 1.0, 100);
    EXPECT_GT(e, prev) << q;
    prev = e;
  }
  prev = kInf;
  for (double z : {0.5, 0.8, 1.0, 2.0, 5.0, 20.0}) {
    const double e = eps(0.05, z, 100);
    EXPECT_LT(e, prev) << z;
    prev = e;
  }
  // Same for sampling without replacement.
  prev = 0.0;
  for (int64_t steps : {1, 10, 100, 1000}) {
    RdpAccountant acc;
    ASSERT_TRUE(acc.Compose(DpEvent{Subsampling::kWithoutReplacement, 0.02, 1.0, steps}).ok());
    const double e = Epsilon(acc, 1e-5).epsilon;
    EXPECT_GT(e, prev) << steps;
    prev = e;
  }
}

TEST(RdpAccountantTest, CountKEqualsComposingKTimes) {
  for (Subsampling s : {Subsampling::kPoisson, Subsampling::kWithoutReplacement}) {
    RdpAccountant once, many;
    ASSERT_TRUE(once.Compose(DpEvent{s, 0.03, 1.1, 7}).ok());
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(many.Compose(DpEvent{s, 0.03, 1.1, 1}).ok());
    for (size_t k = 0; k < once.rdp().size(); ++k) {
      EXPECT_NEAR(once.rdp()[k], many.rdp()[k], 1e-12 * once.rdp()[k]);
    }
    EXPECT_NEAR(Epsilon(once, 1e-5).epsilon, Epsilon(many, 1e-5).epsilon, 1e-12);
  }
}

TEST(RdpAccountantTest, HeterogeneousEventsAddCurves) {
  // More distinct events than the curve cache holds: the sum must still be exact.
  const std::vector<double> orders = {1.5, 3, 10.5, 40};
  RdpAccountant acc = MakeAccountant(orders);
  std::vector<double> expected(orders.size(), 0.0);
  for (int i = 0; i < 150; ++i) {
    const double z = 0.8 + 0.01 * (i % 100);
    ASSERT_TRUE(acc.Compose(Poisson(0.02, z, 3)).ok());
    absl::StatusOr<std::vector<double>> r = PoissonSubsampledGaussianRdp(0.02, z, orders);
    ASSERT_TRUE(r.ok());
    for (size_t k = 0; k < orders.size(); ++k) expected[k] += 3 * (*r)[k];
  }
  for (size_t k = 0; k < orders.size(); ++k) {
    EXPECT_NEAR(acc.rdp()[k], expected[k], 1e-12 * expected[k]);
  }
}

// dp_accounting test_epsilon_delta_consistency: epsilon -> delta -> epsilon round trips.
TEST(RdpAccountantTest, EpsilonDeltaRoundTrip) {
  for (double q : {0.0, 0.01, 0.1, 0.8, 1.0}) {
    for (double z : {0.0, 0.1, 1.0, 10.0, 100.0}) {
      RdpAccountant acc = MakeAccountant(Range(2, 50));
      ASSERT_TRUE(acc.Compose(Poisson(q, z, 1)).ok());
      for (double delta : {0.99, 0.9, 0.1, 0.01, 1e-3, 1e-5, 1e-9, 1e-12}) {
        const double eps = Epsilon(acc, delta).epsilon;
        const double delta2 = Delta(acc, eps).delta;
        if (std::isinf(eps)) {
          EXPECT_EQ(delta2, 1.0);
        } else if (eps == 0.0) {
          EXPECT_LE(delta2, delta);
        } else {
          EXPECT_NEAR(delta2, delta, 1e-6 * delta) << "q=" << q << " z=" << z;
          EXPECT_NEAR(Epsilon(acc, delta2).epsilon, eps, 1e-6 * eps);
        }
      }
    }
  }
}

TEST(RdpAccountantTest, RefusesToMixNeighbouringRelations) {
  RdpAccountant acc;
  ASSERT_TRUE(acc.Compose(Poisson(0.1, 1.0, 5)).ok());
  ASSERT_TRUE(acc.Compose(DpEvent{Subsampling::kNone, 1.0, 3.0, 1}).ok());
  const std::vector<double> before = acc.rdp();
  EXPECT_EQ(acc.Compose(DpEvent{Subsampling::kWithoutReplacement, 0.1, 1.0, 1}).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(acc.Compose(DpEvent{Subsampling::kWithReplacement, 0.1, 1.0, 1}).code(),
            absl::StatusCode::kInvalidArgument);
  // All-or-nothing: a bad event in a batch leaves the accountant unchanged.
  const DpEvent batch[] = {Poisson(0.1, 1.0, 5), DpEvent{Subsampling::kPoisson, 2.0, 1.0, 1}};
  EXPECT_EQ(acc.Compose(batch).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(acc.rdp(), before);
}

TEST(RdpAccountantTest, CreateValidatesOrders) {
  EXPECT_EQ(RdpAccountant::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RdpAccountant::Create({2.0, 0.5}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RdpAccountant::Create({std::nan("")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(RdpAccountant::Create({1.5, 2.0, kInf}).ok());
  RdpAccountant acc;
  EXPECT_EQ(acc.GetEpsilon(2.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(acc.GetDelta(-1.0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedsilo
