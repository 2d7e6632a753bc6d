// SparseRows: the nonzero entries of a dense row-major feature matrix, row by row (compressed
// sparse rows), so that kernels whose cost should follow the nonzeros can skip the zeros, as in
// one-hot tabular data (Adult: 13 of 103 features nonzero). The logistic model (from the packed
// slots when rows are short) and the MLP's first layer read it.
//
// An index of Dataset::x, never a second source of truth: built from x once the matrix is final
// (after LayOutBySilo) and read-only afterwards. Row i's nonzeros are col[k], value[k] for k in
// [row_start[i], row_start[i + 1]): first those other than 1, then, from ones_start[i], those
// equal to 1 (one-hot features, which a kernel may add without a multiplication), each part in
// increasing column order. NaN and infinities count as nonzero (they are not 0). A kernel that
// uses it must give what the dense matrix gives up to rounding, for finite parameters (a zero
// feature times an infinite weight is NaN densely and skipped here, so kernels fall back to x
// when their parameters are not finite).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/data/packed_rows.h"

namespace fedsilo {

struct SparseRows {
  std::vector<int64_t> row_start;  // rows + 1 offsets
  std::vector<int32_t> col;
  std::vector<double> value;
  std::vector<int64_t> ones_start;   // rows entries: where row i's entries equal to 1 begin
  std::vector<double> squared_norm;  // rows entries: the sum of row i's squared values
  int64_t cols = 0;
  PackedRows packed;  // the same rows in one slot each, when they are short (packed_rows.h)

  int64_t rows() const { return static_cast<int64_t>(row_start.size()) - 1; }
  // The memory the index takes (the arrays and the packed slots).
  size_t bytes() const {
    return sizeof(int32_t) * col.size() + sizeof(double) * (value.size() + squared_norm.size()) +
           sizeof(int64_t) * (row_start.size() + ones_start.size()) + packed.bytes();
  }

  // Row `row`'s entries in the arrays above.
  SparseRowView<int32_t> Row(int64_t row) const {
    const auto r = static_cast<size_t>(row);
    return {value.data() + row_start[r], col.data() + row_start[r],
            static_cast<int>(ones_start[r] - row_start[r]),
            static_cast<int>(row_start[r + 1] - row_start[r]), squared_norm[r]};
  }
  void Prefetch(int64_t /*row*/) const {}  // the arrays are read as streams: not prefetched
  std::span<const int32_t> SharedValueColumns() const { return {}; }  // not looked for here
};

// Calls visit(rows) with the layout a kernel should read: index.packed when it is not empty
// (PackedRows with its column type), else the arrays; each has Row(r) -> SparseRowView,
// Prefetch(r) and SharedValueColumns() (PackedRows::shared_value_columns, empty for the arrays).
template <typename Visit>
decltype(auto) VisitRowLayout(const SparseRows& index, Visit&& visit) {
  switch (index.packed.column_bytes()) {
    case 1:
      return visit(PackedRowsOf<uint8_t>{&index.packed});
    case 2:
      return visit(PackedRowsOf<uint16_t>{&index.packed});
    default:
      return visit(index);
  }
}

// At most this fraction of nonzero entries makes a matrix worth indexing. A rough bound, not a
// measured crossing point: an indexed entry takes 12 bytes against a dense one's 8, and its
// reads are gathers.
inline constexpr double kMaxIndexedDensity = 0.3;

// The index of x's nonzeros (packed too when its rows are short: PackRows) when at most
// max_density of its entries are nonzero (and x is not empty); nullptr otherwise.
std::shared_ptr<const SparseRows> IndexNonzeros(const Matrix& x,
                                                double max_density = kMaxIndexedDensity);

}  // namespace fedsilo
