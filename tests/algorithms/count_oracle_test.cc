// CountOracle: the exact histogram against counts made by hand, the DP oracle's noise against
// its formula (std z * sqrt(2): replace-one, the relation of every silo) over many seeds,
// its one ledger event, and its refusals.
#include "common/algorithms/count_oracle.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "tests/algorithms/test_models.h"

namespace fedsilo {
namespace {

using testing::Range;

// Record r is in cell r % 3, except every 5th record, which is in none.
int Cell(int row) { return row % 5 == 4 ? -1 : row % 3; }

TEST(CountOracleTest, ExactCountsAreTheHistogram) {
  const std::vector<int> rows = Range(20);
  ExactCountOracle oracle(rows);
  Vector counts;
  ASSERT_TRUE(oracle.Release(Cell, 3, &counts).ok());
  // Rows 0..19 without 4, 9, 14, 19: cell 0 {0,3,6,12,15,18}, 1 {1,7,10,13,16}, 2 {2,5,8,11,17}.
  ASSERT_EQ(counts.size(), 3);
  EXPECT_EQ(counts[0], 6.0);
  EXPECT_EQ(counts[1], 5.0);
  EXPECT_EQ(counts[2], 5.0);
  EXPECT_EQ(oracle.noise_std(), 0.0);
  EXPECT_FALSE(oracle.Release([](int) { return 3; }, 3, &counts).ok());
  EXPECT_FALSE(oracle.Release(Cell, 0, &counts).ok());
}

// Every silo releases its size, so its relation is replace-one whatever its sampler: one record
// replaced moves 1 between two cells, sensitivity sqrt(2) (Poisson silos used to claim
// add/remove-one and sensitivity 1).
TEST(CountOracleTest, NoiseHasTheStandardDeviationOfReplaceOne) {
  const std::vector<int> rows = Range(20);
  const double z = 2.5;
  {
    const double expected_std = z * std::sqrt(2.0);
    const int seeds = 4000;
    double sum = 0, sum_sq = 0;
    for (int seed = 0; seed < seeds; ++seed) {
      Rng noise(1000 + seed);
      PrivacyLedger ledger;
      DpCountOracle oracle(rows, z, &noise, &ledger);
      EXPECT_DOUBLE_EQ(oracle.noise_std(), expected_std);
      Vector counts;
      ASSERT_TRUE(oracle.Release(Cell, 3, &counts).ok());
      const double exact[] = {6.0, 5.0, 5.0};
      for (int c = 0; c < 3; ++c) {
        sum += counts[c] - exact[c];
        sum_sq += (counts[c] - exact[c]) * (counts[c] - exact[c]);
      }
      // One event, the plain Gaussian on the whole silo, written when the noise was drawn.
      ASSERT_EQ(ledger.events().size(), 1u);
      EXPECT_EQ(ledger.events()[0].subsampling, Subsampling::kNone);
      EXPECT_EQ(ledger.events()[0].sampling_rate, 1.0);
      EXPECT_EQ(ledger.events()[0].noise_multiplier, z);
      EXPECT_EQ(ledger.events()[0].count, 1);
      // The silo budgeted for one release.
      EXPECT_TRUE(absl::IsFailedPrecondition(oracle.Release(Cell, 3, &counts)));
      EXPECT_EQ(ledger.num_queries(), 1);
    }
    const double n = 3.0 * seeds;
    EXPECT_NEAR(sum / n, 0.0, 5 * expected_std / std::sqrt(n));
    EXPECT_NEAR(std::sqrt(sum_sq / n), expected_std, expected_std * 5 / std::sqrt(2 * n));
  }
  EXPECT_DOUBLE_EQ(kHistogramSensitivity, std::sqrt(2.0));
}

TEST(CountOracleTest, ABadCellReleasesNothing) {
  const std::vector<int> rows = Range(20);
  Rng noise(1);
  PrivacyLedger ledger;
  DpCountOracle oracle(rows, 3.0, &noise, &ledger);
  Vector counts;
  EXPECT_TRUE(absl::IsInvalidArgument(oracle.Release([](int r) { return r == 7 ? 5 : 0; }, 3,
                                                     &counts)));
  EXPECT_EQ(ledger.num_queries(), 0);
  // Nothing was released, so the one planned release is still available.
  EXPECT_TRUE(oracle.Release(Cell, 3, &counts).ok());
  EXPECT_EQ(ledger.num_queries(), 1);
}

}  // namespace
}  // namespace fedsilo
