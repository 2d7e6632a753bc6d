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

}  // namespace
}  // namespace fedsilo
