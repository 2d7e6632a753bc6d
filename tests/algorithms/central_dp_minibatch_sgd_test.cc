// The trusted-server baseline against values by hand: without noise the coordinator steps along
// the mean of the deltas; with noise, the added noise has mean 0 and the std
// lr * std_on_sum / (K * S) worked out in the header (checked over many rounds), and the same
// seed and round give the same noise. The clipping oracle returns the clipped sum over K.
#include "common/algorithms/central_dp_minibatch_sgd.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/algorithms/gradient_oracle.h"
#include "tests/algorithms/test_models.h"

namespace fedsilo {
namespace {

RoundResults TwoSilos() {
  RoundResults results;
  SiloUpdate a, b;
  a.silo_id = 0;
  a.delta = Vector::Constant(4, 1.0);
  b.silo_id = 1;
  b.delta = Vector::Constant(4, 3.0);
  results.updates = {a, b};
  return results;
}

TEST(CentralDpCoordinatorTest, AddsNoiseOfTheCalibratedScaleToTheMeanDelta) {
  const ServerOptimizerOptions sgd{.lr = 1.0};
  CentralDpCoordinator silent(0.5, 8, CentralNoise{0.0, 1}, sgd);
  Vector global = Vector::Zero(4);
  ASSERT_TRUE(silent.Aggregate(1, TwoSilos(), &global).ok());
  EXPECT_EQ(global, Vector::Constant(4, 2.0));  // the mean delta, no noise
  // std_on_sum 40, lr 0.5, K 8, S 2: the noise on the mean has std 0.5 * 40 / 16 = 1.25.
  CentralDpCoordinator noisy(0.5, 8, CentralNoise{40.0, 7}, sgd);
  double sum = 0.0, squares = 0.0;
  const int rounds = 5000;
  for (int round = 1; round <= rounds; ++round) {
    Vector w = Vector::Zero(4);
    ASSERT_TRUE(noisy.Aggregate(round, TwoSilos(), &w).ok());
    for (int j = 0; j < 4; ++j) {
      sum += w[j] - 2.0;
      squares += (w[j] - 2.0) * (w[j] - 2.0);
    }
  }
  const double n = 4.0 * rounds;
  EXPECT_NEAR(sum / n, 0.0, 5 * 1.25 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(squares / n), 1.25, 5 * 1.25 / std::sqrt(2 * n));
  // The same seed and round: the same noise.
  CentralDpCoordinator again(0.5, 8, CentralNoise{40.0, 7}, sgd);
  Vector x = Vector::Zero(4), y = Vector::Zero(4);
  ASSERT_TRUE(noisy.Aggregate(3, TwoSilos(), &x).ok());
  ASSERT_TRUE(again.Aggregate(3, TwoSilos(), &y).ok());
  EXPECT_EQ(x, y);
  RoundResults none;
  EXPECT_TRUE(absl::IsUnavailable(noisy.Aggregate(1, none, &x)));
}

TEST(ClipOnlyOracleTest, ReturnsTheClippedSumOverTheBatchSizeWithoutNoise) {
  // Quadratic loss: each record's gradient is w - x_i; clipped to 0.5; the whole silo (4
  // records, batch 4 without replacement) so the batch is known.
  const Dataset data = testing::LineDataset(4, 2);
  const testing::QuadraticModel model(2);
  const std::vector<int> rows = testing::Range(4);
  OracleSettings settings;
  settings.sampling = Sampling::kWithoutReplacement;
  settings.batch_size = 4;
  settings.clip = 0.5;
  settings.clip_only = true;
  Rng rng(1);
  PlainGradientOracle oracle(OracleData{&model, &data, rows}, settings, &rng);
  const Vector w = Vector::Constant(2, 0.3);
  Vector grad;
  ASSERT_TRUE(oracle.Next(w, &grad).ok());
  Vector expected = Vector::Zero(2);
  for (int i = 0; i < 4; ++i) {
    Vector g(2);
    for (int j = 0; j < 2; ++j) g[j] = 0.3 - (j + 1.0) * i / 4.0;
    if (g.norm() > 0.5) g *= 0.5 / g.norm();
    expected += g / 4.0;
  }
  EXPECT_NEAR((grad - expected).norm(), 0.0, 1e-12);
}

}  // namespace
}  // namespace fedsilo
