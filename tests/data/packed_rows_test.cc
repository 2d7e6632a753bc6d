// PackRows against the SparseRows it packs: every row read back from its slot equals the row in
// the index's arrays; the layout's choices (column width, slot size, alignment) and the cases it
// refuses.
#include "common/data/packed_rows.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "common/base/rng.h"
#include "common/data/sparse_rows.h"

namespace fedsilo {
namespace {

// n rows over d columns: `values` random numbers (not 0 or 1) and `ones` ones per row, at
// random distinct columns.
Matrix OneHotLike(int n, int d, int values, int ones, uint64_t seed) {
  Matrix x = Matrix::Zero(n, d);
  Rng rng(seed);
  std::vector<int> columns(static_cast<size_t>(d));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) columns[static_cast<size_t>(j)] = j;
    rng.Shuffle(std::span<int>(columns));
    for (int k = 0; k < values; ++k) x(i, columns[static_cast<size_t>(k)]) = 2.0 + rng.Normal();
    for (int k = values; k < values + ones; ++k) x(i, columns[static_cast<size_t>(k)]) = 1.0;
  }
  return x;
}

template <typename Col>
void ExpectSlotsEqualArrays(const SparseRows& index) {
  const PackedRows& packed = index.packed;
  for (int64_t r = 0; r < index.rows(); ++r) {
    const SparseRowView<int32_t> expected = index.Row(r);
    const SparseRowView<Col> row = packed.Row<Col>(r);
    ASSERT_EQ(row.values, expected.values) << "row " << r;
    ASSERT_EQ(row.entries, expected.entries) << "row " << r;
    EXPECT_EQ(row.squared_norm, expected.squared_norm) << "row " << r;
    for (int k = 0; k < row.values; ++k) EXPECT_EQ(row.value[k], expected.value[k]) << "row " << r;
    for (int k = 0; k < row.entries; ++k) {
      EXPECT_EQ(static_cast<int32_t>(row.col[k]), expected.col[k]) << "row " << r << " entry " << k;
    }
  }
}

TEST(PackedRowsTest, AnAdultLikeMatrixPacksIntoOneCacheLinePerRow) {
  // Adult after one-hot encoding: 103 columns, 5 numeric values and 8 ones a row.
  const auto index = IndexNonzeros(OneHotLike(500, 103, 5, 8, 1));
  ASSERT_NE(index, nullptr);
  const PackedRows& packed = index->packed;
  ASSERT_FALSE(packed.empty());
  EXPECT_EQ(packed.column_bytes(), 1);
  EXPECT_EQ(packed.slot_bytes(), 64);  // 8 (norm) + 40 (values) + 13 (columns) + 2 (counts)
  EXPECT_EQ(packed.bytes(), 500u * 64u);
  for (int64_t r = 0; r < 500; ++r) {  // each slot starts a cache line
    const auto address = reinterpret_cast<uintptr_t>(packed.Row<uint8_t>(r).value) - 8;
    EXPECT_EQ(address % 64, 0u) << "row " << r;
  }
  ExpectSlotsEqualArrays<uint8_t>(*index);
}

TEST(PackedRowsTest, MoreThan256ColumnsTakeTwoBytesEach) {
  const auto index = IndexNonzeros(OneHotLike(200, 300, 3, 6, 2));
  ASSERT_NE(index, nullptr);
  ASSERT_FALSE(index->packed.empty());
  EXPECT_EQ(index->packed.column_bytes(), 2);
  EXPECT_EQ(index->packed.slot_bytes(), 64);  // 8 + 24 + 18 + 2 = 52 -> 56 -> a divisor of 64
  ExpectSlotsEqualArrays<uint16_t>(*index);
}

TEST(PackedRowsTest, ASmallSlotIsPaddedToADivisorOf64AndRowsMayBeShorter) {
  Matrix x = OneHotLike(100, 50, 1, 2, 3);
  x.row(7).setZero();  // an empty row
  x(9, 0) = 0.0;  // rows with fewer entries than the longest
  x(9, 1) = 0.0;
  const auto index = IndexNonzeros(x);
  ASSERT_NE(index, nullptr);
  ASSERT_FALSE(index->packed.empty());
  EXPECT_EQ(index->packed.slot_bytes(), 32);  // 8 + 8 + 3 + 2 = 21 -> 24 -> 32
  ExpectSlotsEqualArrays<uint8_t>(*index);
  EXPECT_EQ(index->packed.Row<uint8_t>(7).entries, 0);
}

TEST(PackedRowsTest, LongRowsOrTooManyColumnsAreNotPacked) {
  // 15 values other than 1 take 8 + 120 bytes: over the 128-byte bound.
  const auto long_rows = IndexNonzeros(OneHotLike(50, 100, 15, 0, 4));
  ASSERT_NE(long_rows, nullptr);
  EXPECT_TRUE(long_rows->packed.empty());
  EXPECT_EQ(long_rows->packed.column_bytes(), 0);
  EXPECT_EQ(long_rows->packed.bytes(), 0u);
  // 14 values take 8 + 112 + 14 + 2 = 136 bytes, too many; 13 take 127 and are packed.
  EXPECT_TRUE(IndexNonzeros(OneHotLike(50, 100, 14, 0, 5))->packed.empty());
  EXPECT_FALSE(IndexNonzeros(OneHotLike(50, 100, 13, 0, 6))->packed.empty());
  // More columns than two bytes can name.
  Matrix wide = Matrix::Zero(2, 70000);
  wide(0, 69999) = 1.0;
  wide(1, 3) = 1.0;
  const auto wide_index = IndexNonzeros(wide);
  ASSERT_NE(wide_index, nullptr);
  EXPECT_TRUE(wide_index->packed.empty());
}

TEST(PackedRowsTest, ValuesInTheSameColumnsOfEveryRowAreRecordedAsShared) {
  // Three numeric columns (2, 5, 9) in every row, ones elsewhere.
  Matrix x = OneHotLike(80, 40, 0, 4, 7);
  Rng rng(8);
  for (int i = 0; i < 80; ++i) {
    for (const int j : {2, 5, 9}) x(i, j) = 3.0 + rng.Normal();
  }
  const auto index = IndexNonzeros(x);
  ASSERT_NE(index, nullptr);
  ASSERT_FALSE(index->packed.empty());
  const auto shared = index->packed.shared_value_columns();
  EXPECT_EQ(std::vector<int32_t>(shared.begin(), shared.end()), (std::vector<int32_t>{2, 5, 9}));
  ExpectSlotsEqualArrays<uint8_t>(*index);

  x(40, 5) = 1.0;  // one row without a value in column 5: no shared columns
  EXPECT_TRUE(IndexNonzeros(x)->packed.shared_value_columns().empty());
  x(40, 5) = 0.5;
  x(41, 11) = 0.5;  // one row with a value elsewhere too
  EXPECT_TRUE(IndexNonzeros(x)->packed.shared_value_columns().empty());
  // Ones only, or more values than kMaxSharedValues: none recorded either.
  EXPECT_TRUE(IndexNonzeros(OneHotLike(20, 40, 0, 5, 9))->packed.shared_value_columns().empty());
  Matrix many = Matrix::Zero(20, 40);
  for (int i = 0; i < 20; ++i) many.row(i).head(kMaxSharedValues + 1).setConstant(2.5);
  const auto many_index = IndexNonzeros(many, 0.5);
  ASSERT_NE(many_index, nullptr);
  EXPECT_FALSE(many_index->packed.empty());
  EXPECT_TRUE(many_index->packed.shared_value_columns().empty());
}

}  // namespace
}  // namespace fedsilo
