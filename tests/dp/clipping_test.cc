// Per-record clipping when a record's gradient is not finite (NaN or overflow at extreme
// parameters): that record contributes zero, so the clipped sum is what the other records give.
#include "common/dp/clipping.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>


namespace fedsilo {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(ClipAndSumRowsTest, NonFiniteRowsContributeNothing) {
  Matrix rows(4, 2);
  rows << 3, 4,        // norm 5: scaled to (0.6, 0.8)
      kNaN, 1,         // NaN: left out
      0.3, 0.4,        // norm 0.5: kept
      kInf, 0;         // infinite: left out
  Vector sum;
  EXPECT_EQ(ClipAndSumRows(rows, 1.0, &sum), 3);
  ASSERT_EQ(sum.size(), 2);
  EXPECT_DOUBLE_EQ(sum[0], 0.6 + 0.3);
  EXPECT_DOUBLE_EQ(sum[1], 0.8 + 0.4);
  // Block by block: the finite block of a record with a NaN block still counts.
  const ClipBlock blocks[] = {{1, 1.0}, {1, 1.0}};
  EXPECT_EQ(ClipBlocksAndSumRows(rows, blocks, &sum), 4);  // 3 -> 1, NaN, inf, and 4 -> 1
  EXPECT_DOUBLE_EQ(sum[0], 1.0 + 0.3);
  EXPECT_DOUBLE_EQ(sum[1], 1.0 + 1.0 + 0.4);
}

// Equalizing: block b times clip_0 / clip_b, so a record clipped block by block has every block
// within clip_0 and the whole row within sqrt(B) clip_0; restoring multiplies back.
TEST(ClipBlocksTest, EqualizeScalesEachBlockToTheFirstBoundAndRestoreUndoesIt) {
  const ClipBlock blocks[] = {{2, 0.5}, {1, 2.0}, {1, 0.25}};
  Vector v(4);
  v << 1.0, -2.0, 8.0, 3.0;
  Vector equalized = v;
  EqualizeClipBlocks(blocks, &equalized);
  EXPECT_DOUBLE_EQ(equalized[0], 1.0);
  EXPECT_DOUBLE_EQ(equalized[1], -2.0);
  EXPECT_DOUBLE_EQ(equalized[2], 8.0 * 0.5 / 2.0);
  EXPECT_DOUBLE_EQ(equalized[3], 3.0 * 0.5 / 0.25);
  Vector restored = equalized;
  RestoreClipBlocks(blocks, &restored);
  for (int j = 0; j < 4; ++j) EXPECT_DOUBLE_EQ(restored[j], v[j]) << j;
  // A record clipped to (0.5, 2, 0.25) block by block, equalized: norm sqrt(3) * 0.5 at most.
  Matrix record(1, 4);
  record << 30.0, 40.0, -7.0, 9.0;
  Vector clipped;
  ClipBlocksAndSumRows(record, blocks, &clipped);
  EqualizeClipBlocks(blocks, &clipped);
  EXPECT_NEAR(clipped.norm(), std::sqrt(3.0) * 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(EqualizedRecordBound(blocks, 9.0), std::sqrt(3.0) * 0.5);
  EXPECT_DOUBLE_EQ(EqualizedRecordBound({}, 9.0), 9.0);  // one joint clip: the clip itself
  Vector untouched = v;
  EqualizeClipBlocks({}, &untouched);
  EXPECT_EQ(untouched, v);
}

}  // namespace
}  // namespace fedsilo
