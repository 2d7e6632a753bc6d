// IndexNonzeros against a small matrix whose nonzeros are written out by hand.
#include "common/data/sparse_rows.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace fedsilo {
namespace {

TEST(SparseRowsTest, IndexesEachRowsNonzerosInColumnOrder) {
  Matrix x = Matrix::Zero(4, 5);
  x(0, 1) = 2.0;
  x(0, 4) = -1.5;
  x(2, 0) = 3.0;  // row 1 and row 3 stay empty
  const auto index = IndexNonzeros(x, /*max_density=*/0.5);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->rows(), 4);
  EXPECT_EQ(index->cols, 5);
  EXPECT_EQ(index->row_start, (std::vector<int64_t>{0, 2, 2, 3, 3}));
  EXPECT_EQ(index->col, (std::vector<int32_t>{1, 4, 0}));
  EXPECT_EQ(index->value, (std::vector<double>{2.0, -1.5, 3.0}));
  EXPECT_EQ(index->ones_start, (std::vector<int64_t>{2, 2, 3, 3}));
  EXPECT_EQ(index->squared_norm, (std::vector<double>{6.25, 0.0, 9.0, 0.0}));
}

TEST(SparseRowsTest, EntriesEqualToOneComeLastInEachRow) {
  Matrix x = Matrix::Zero(2, 6);
  x(0, 0) = 1.0;
  x(0, 2) = 0.5;
  x(0, 3) = 1.0;
  x(0, 5) = -1.0;  // not a one
  x(1, 4) = 1.0;
  const auto index = IndexNonzeros(x, 0.5);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->row_start, (std::vector<int64_t>{0, 4, 5}));
  EXPECT_EQ(index->ones_start, (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(index->col, (std::vector<int32_t>{2, 5, 0, 3, 4}));
  EXPECT_EQ(index->value, (std::vector<double>{0.5, -1.0, 1.0, 1.0, 1.0}));
  EXPECT_EQ(index->squared_norm, (std::vector<double>{3.25, 1.0}));
}

TEST(SparseRowsTest, NotANumberAndInfinityAreNonzeros) {
  Matrix x = Matrix::Zero(2, 4);
  x(0, 2) = std::numeric_limits<double>::quiet_NaN();
  x(1, 3) = -std::numeric_limits<double>::infinity();
  const auto index = IndexNonzeros(x, 0.5);
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->col, (std::vector<int32_t>{2, 3}));
  EXPECT_TRUE(std::isnan(index->value[0]));
  EXPECT_EQ(index->value[1], -std::numeric_limits<double>::infinity());
}

TEST(SparseRowsTest, ADenserMatrixOrAnEmptyOneIsNotIndexed) {
  Matrix x = Matrix::Zero(2, 5);
  x.row(0).setOnes();  // 5 of 10 entries
  EXPECT_EQ(IndexNonzeros(x, 0.49), nullptr);
  EXPECT_NE(IndexNonzeros(x, 0.5), nullptr);
  EXPECT_EQ(IndexNonzeros(Matrix(0, 3)), nullptr);
  // The default bound indexes one-hot data (1 of 4 here) and not dense data.
  Matrix one_hot = Matrix::Zero(8, 4);
  for (int i = 0; i < 8; ++i) one_hot(i, i % 4) = 1.0;
  EXPECT_NE(IndexNonzeros(one_hot), nullptr);
  EXPECT_EQ(IndexNonzeros(Matrix::Ones(8, 4)), nullptr);
}

}  // namespace
}  // namespace fedsilo
