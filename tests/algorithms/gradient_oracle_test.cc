#include "common/algorithms/gradient_oracle.h"

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "common/dp/clipping.h"
#include "common/dp/paper_calibration.h"
#include "tests/algorithms/test_models.h"

namespace fedsilo {
namespace {

using testing::LineDataset;
using testing::QuadraticModel;
using testing::Range;

TEST(ClippingTest, ScalesOnlyRowsAboveTheBound) {
  Matrix rows(3, 2);
  rows << 3, 4,    // norm 5 -> scaled to norm 2: (1.2, 1.6)
      0.6, 0.8,    // norm 1 -> unchanged
      0, -10;      // norm 10 -> (0, -2)
  Vector sum;
  EXPECT_EQ(ClipAndSumRows(rows, 2.0, &sum), 2);
  EXPECT_NEAR(sum[0], 1.2 + 0.6 + 0.0, 1e-15);
  EXPECT_NEAR(sum[1], 1.6 + 0.8 - 2.0, 1e-15);
}

TEST(PaperCalibrationTest, MatchesPublishedExample) {
  // dp_test_vectors.md: n = 1238, R = 35, eps = 0.75, delta = 1/n^2 gives sigma / L = 0.068013.
  const double n = 1238;
  EXPECT_NEAR(PaperIsrlDpSigma(1.0, 35, n, 0.75, 1.0 / (n * n)), 0.068013, 5e-7);
  // Linear in the clipping bound.
  EXPECT_NEAR(PaperIsrlDpSigma(3.0, 35, n, 0.75, 1.0 / (n * n)), 3 * 0.068013, 2e-6);
}

class DpOracleTest : public ::testing::Test {
 protected:
  Dataset data_ = LineDataset(20, 3);
  QuadraticModel model_{3};
  std::vector<int> rows_ = Range(20);
};

TEST_F(DpOracleTest, NoNoiseNoClippingFullBatchEqualsPlainGradient) {
  OracleSettings settings;
  settings.batch_size = 20;
  settings.record_level_dp = true;
  settings.clip = 1e9;
  settings.noise_std_sum = 0.0;
  Rng sampling(3), noise(4);
  PrivacyLedger ledger;
  DpGradientOracle dp(OracleData{&model_, &data_, rows_}, settings, &sampling, &noise, &ledger);
  Vector w = Vector::Constant(3, 0.7), g_dp, g_plain;
  ASSERT_TRUE(dp.Next(w, &g_dp).ok());
  model_.Gradient(w, Batch{&data_, rows_}, &g_plain);
  EXPECT_LT((g_dp - g_plain).norm(), 1e-13);
}

TEST_F(DpOracleTest, ClipsEachRecordBeforeAveraging) {
  OracleSettings settings;
  settings.batch_size = 20;
  settings.record_level_dp = true;
  settings.clip = 0.5;
  Rng sampling(3), noise(4);
  PrivacyLedger ledger;
  DpGradientOracle dp(OracleData{&model_, &data_, rows_}, settings, &sampling, &noise, &ledger);
  const Vector w = Vector::Zero(3);
  Vector g;
  ASSERT_TRUE(dp.Next(w, &g).ok());
  // By hand: record i's gradient is -x_i; clip each to norm 0.5, average over 20.
  Vector expected = Vector::Zero(3);
  for (int i = 0; i < 20; ++i) {
    Vector gi = -data_.x.row(i).transpose();
    const double norm = gi.norm();
    if (norm > 0.5) gi *= 0.5 / norm;
    expected += gi;
  }
  expected /= 20.0;
  EXPECT_LT((g - expected).norm(), 1e-14);
}

TEST_F(DpOracleTest, NoiseHasTheCalibratedStandardDeviationOnTheMean) {
  OracleSettings settings;
  settings.batch_size = 20;
  settings.record_level_dp = true;
  settings.clip = 1e9;
  settings.noise_std_sum = 4.0;  // std on the mean: 4 / 20 = 0.2
  Rng sampling(3), noise(4);
  PrivacyLedger ledger;
  DpGradientOracle dp(OracleData{&model_, &data_, rows_}, settings, &sampling, &noise, &ledger);
  const Vector w = Vector::Zero(3);
  Vector exact;
  model_.Gradient(w, Batch{&data_, rows_}, &exact);
  const int draws = 20000;
  double sum = 0, sum_sq = 0;
  Vector g;
  for (int t = 0; t < draws; ++t) {
    ASSERT_TRUE(dp.Next(w, &g).ok());
    for (int j = 0; j < 3; ++j) {
      const double e = g[j] - exact[j];
      sum += e;
      sum_sq += e * e;
    }
  }
  const double n = 3.0 * draws;
  EXPECT_NEAR(sum / n, 0.0, 5 * 0.2 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(sum_sq / n), 0.2, 0.2 * 5 / std::sqrt(2 * n));
  // Every query is in the ledger, merged into one event.
  EXPECT_EQ(ledger.num_queries(), draws);
  ASSERT_EQ(ledger.events().size(), 1u);
}

TEST_F(DpOracleTest, LedgerEventUsesTheConventionOfTheSampler) {
  OracleSettings settings;
  settings.batch_size = 5;
  settings.record_level_dp = true;
  settings.clip = 2.0;
  settings.noise_std_sum = 6.0;
  Rng sampling(3), noise(4);
  PrivacyLedger ledger;
  settings.sampling = Sampling::kPoisson;
  DpGradientOracle poisson(OracleData{&model_, &data_, rows_}, settings, &sampling, &noise, &ledger);
  // Replace-one with the silo's size public (it releases n_i), not add/remove-one.
  EXPECT_EQ(poisson.event().subsampling, Subsampling::kPoissonReplaceOne);
  EXPECT_DOUBLE_EQ(poisson.event().noise_multiplier, 3.0);   // std_sum / C
  EXPECT_DOUBLE_EQ(poisson.event().sampling_rate, 0.25);
  settings.sampling = Sampling::kWithoutReplacement;
  DpGradientOracle wor(OracleData{&model_, &data_, rows_}, settings, &sampling, &noise, &ledger);
  EXPECT_EQ(wor.event().subsampling, Subsampling::kWithoutReplacement);
  EXPECT_DOUBLE_EQ(wor.event().noise_multiplier, 1.5);       // std_sum / (2C)
  Vector g;
  ASSERT_TRUE(poisson.Next(Vector::Zero(3), &g).ok());
  ASSERT_TRUE(wor.Next(Vector::Zero(3), &g).ok());
  ASSERT_TRUE(wor.Next(Vector::Zero(3), &g).ok());
  ASSERT_EQ(ledger.events().size(), 2u);
  EXPECT_EQ(ledger.events()[0].count, 1);
  EXPECT_EQ(ledger.events()[1].count, 2);
}

TEST(ClippingTest, ClipsEachBlockOfARecordToItsOwnBound) {
  Matrix rows(3, 4);
  rows << 3, 4, 0, 5,       // theta part norm 5 -> (0.6, 0.8); W part norm 5 -> (0, 2)
      0.3, 0.4, 1, 0,       // both parts within their bounds: unchanged
      0, -2, 0.6, -0.8;     // theta part norm 2 -> (0, -1); W part norm 1: unchanged
  const ClipBlock blocks[] = {{2, 1.0}, {2, 2.0}};
  Vector sum;
  EXPECT_EQ(ClipBlocksAndSumRows(rows, blocks, &sum), 3);
  ASSERT_EQ(sum.size(), 4);
  EXPECT_NEAR(sum[0], 0.6 + 0.3 + 0.0, 1e-15);
  EXPECT_NEAR(sum[1], 0.8 + 0.4 - 1.0, 1e-15);
  EXPECT_NEAR(sum[2], 0.0 + 1.0 + 0.6, 1e-15);
  EXPECT_NEAR(sum[3], 2.0 + 0.0 - 0.8, 1e-15);
  // One block is joint clipping.
  const ClipBlock joint[] = {{4, 2.0}};
  Vector joint_sum, reference;
  ClipBlocksAndSumRows(rows, joint, &joint_sum);
  ClipAndSumRows(rows, 2.0, &reference);
  EXPECT_LT((joint_sum - reference).norm(), 1e-15);
}

// Separate block clipping in the DP oracle: coordinates {0, 1} (theta) clipped to 0.3, {2}
// (W) to 2.
OracleSettings BlockSettings(Sampling sampling, double std_theta, double std_w) {
  OracleSettings settings;
  settings.sampling = sampling;
  settings.batch_size = 20;
  settings.record_level_dp = true;
  settings.clip = 0.3;
  settings.clip_blocks = {{2, 0.3}, {1, 2.0}};
  settings.block_noise_std_sum = {std_theta, std_w};
  settings.noise_std_sum = std_theta;
  return settings;
}

TEST_F(DpOracleTest, BlockClippingBoundsEachBlockOfEveryRecord) {
  const OracleSettings settings = BlockSettings(Sampling::kWithoutReplacement, 0.0, 0.0);
  Rng sampling(3), noise(4);
  PrivacyLedger ledger;
  DpGradientOracle dp(OracleData{&model_, &data_, rows_}, settings, &sampling, &noise, &ledger);
  const Vector w = Vector::Zero(3);
  Vector g;
  ASSERT_TRUE(dp.Next(w, &g).ok());
  // By hand: record i's gradient is -x_i = -(1, 2, 3) i / 20; its first two coordinates are
  // clipped to norm 0.3 and its third to norm 2 (|3i/20| < 3, so some are clipped), summed,
  // averaged over the 20 records of the full batch.
  Vector expected = Vector::Zero(3);
  int clipped_theta = 0;
  for (int i = 0; i < 20; ++i) {
    Vector theta(2);
    theta << -1.0 * i / 20, -2.0 * i / 20;
    if (theta.norm() > 0.3) {
      theta *= 0.3 / theta.norm();
      ++clipped_theta;
    }
    double wpart = -3.0 * i / 20;
    if (std::abs(wpart) > 2.0) wpart *= 2.0 / std::abs(wpart);
    expected.head(2) += theta;
    expected[2] += wpart;
  }
  expected /= 20.0;
  EXPECT_GT(clipped_theta, 10);
  EXPECT_LT((g - expected).norm(), 1e-14);
  // Each record's clipped gradient has norm at most sqrt(0.3^2 + 2^2), whatever the records.
  Matrix per_record;
  model_.PerExampleGradients(Vector::Constant(3, 5.0), Batch{&data_, rows_}, &per_record);
  for (int i = 0; i < 20; ++i) {
    Vector one;
    ClipBlocksAndSumRows(per_record.row(i), settings.clip_blocks, &one);
    EXPECT_LE(one.head(2).norm(), 0.3 + 1e-12);
    EXPECT_LE(std::abs(one[2]), 2.0 + 1e-12);
  }
}

TEST_F(DpOracleTest, BlockNoiseHasEachBlocksStandardDeviationAndOneEvent) {
  // std on the sum 1.2 on theta, 8 on W: on the mean (batch 20) 0.06 and 0.4.
  const OracleSettings settings = BlockSettings(Sampling::kWithoutReplacement, 1.2, 8.0);
  Rng sampling(3), noise(4);
  PrivacyLedger ledger;
  DpGradientOracle dp(OracleData{&model_, &data_, rows_}, settings, &sampling, &noise, &ledger);
  const OracleSettings silent = BlockSettings(Sampling::kWithoutReplacement, 0.0, 0.0);
  Rng sampling0(3), noise0(4);
  PrivacyLedger ledger0;
  DpGradientOracle exact(OracleData{&model_, &data_, rows_}, silent, &sampling0, &noise0, &ledger0);
  const Vector w = Vector::Constant(3, 0.2);
  Vector clean, g;
  ASSERT_TRUE(exact.Next(w, &clean).ok());  // full batch: the same clipped mean every time
  const int draws = 20000;
  double sq_theta = 0, sq_w = 0;
  for (int t = 0; t < draws; ++t) {
    ASSERT_TRUE(dp.Next(w, &g).ok());
    sq_theta += (g.head(2) - clean.head(2)).squaredNorm();
    sq_w += (g[2] - clean[2]) * (g[2] - clean[2]);
  }
  EXPECT_NEAR(std::sqrt(sq_theta / (2.0 * draws)), 0.06, 0.06 * 5 / std::sqrt(4.0 * draws));
  EXPECT_NEAR(std::sqrt(sq_w / draws), 0.4, 0.4 * 5 / std::sqrt(2.0 * draws));
  EXPECT_EQ(ledger.num_queries(), draws);
  ASSERT_EQ(ledger.events().size(), 1u);
  // The event is the equivalent single Gaussian: scaling block b by 1 / std_b gives unit noise
  // and sensitivity k sqrt(sum_b (clip_b / std_b)^2), k = 2 for replace-one.
  const double replace_one = 1.0 / (2.0 * std::sqrt(std::pow(0.3 / 1.2, 2) + std::pow(2.0 / 8.0, 2)));
  EXPECT_NEAR(dp.event().noise_multiplier, replace_one, 1e-15);
  EXPECT_NEAR(QueryNoiseMultiplier(settings), replace_one, 1e-15);
  const OracleSettings poisson = BlockSettings(Sampling::kPoisson, 1.2, 8.0);
  EXPECT_NEAR(QueryNoiseMultiplier(poisson), 2.0 * replace_one, 1e-15);
  // A block without noise means no privacy: multiplier 0.
  EXPECT_EQ(QueryNoiseMultiplier(BlockSettings(Sampling::kPoisson, 1.2, 0.0)), 0.0);
}

// A batch covering the silo: fixed-size batches are the whole data (kNone, z = std_sum / (2C));
// Poisson stays kPoissonReplaceOne at q = 1, whose curve is then the Gaussian of sensitivity 2C
// for z = std_sum / C.
TEST(QuerySubsamplingTest, EveryEventIsReplaceOne) {
  EXPECT_EQ(QuerySubsampling(Sampling::kPoisson, 0.1), Subsampling::kPoissonReplaceOne);
  EXPECT_EQ(QuerySubsampling(Sampling::kPoisson, 1.0), Subsampling::kPoissonReplaceOne);
  EXPECT_EQ(QuerySubsampling(Sampling::kWithoutReplacement, 0.1), Subsampling::kWithoutReplacement);
  EXPECT_EQ(QuerySubsampling(Sampling::kWithoutReplacement, 1.0), Subsampling::kNone);
  EXPECT_EQ(QuerySubsampling(Sampling::kWithReplacement, 0.1), Subsampling::kWithReplacement);
  EXPECT_EQ(QuerySubsampling(Sampling::kWithReplacement, 1.0), Subsampling::kNone);
}

TEST_F(DpOracleTest, PlainOracleUsesTheSampledBatch) {
  OracleSettings settings;
  settings.batch_size = 4;
  settings.sampling = Sampling::kWithoutReplacement;
  Rng a(9), b(9);
  PlainGradientOracle oracle(OracleData{&model_, &data_, rows_}, settings, &a);
  const Vector w = Vector::Zero(3);
  Vector g;
  ASSERT_TRUE(oracle.Next(w, &g).ok());
  // Replay the same sampler stream and compute the batch gradient by hand.
  std::vector<int> batch;
  SampleBatch(rows_, 4, Sampling::kWithoutReplacement, b, &batch);
  ASSERT_EQ(batch.size(), 4u);
  Vector expected = Vector::Zero(3);
  for (int r : batch) expected -= data_.x.row(r).transpose();
  expected /= 4.0;
  EXPECT_LT((g - expected).norm(), 1e-14);
}

}  // namespace
}  // namespace fedsilo
