// PackedRows: the nonzeros of short sparse rows, one fixed-size slot per row, so that a kernel
// reading a sampled record touches one cache line or two instead of the five arrays of
// SparseRows (an Adult record: one 64-byte slot against about eight lines). Sampled batches are
// scattered over a silo's rows, so on such data the kernels wait on these lines more than they
// compute (measured in BENCHMARKS.md).
//
// A second layout of the same index, never a second source of truth: PackRows copies a
// SparseRows whose rows all fit a slot of at most kMaxPackedSlotBytes, and leaves it empty
// otherwise (long rows, such as MNIST's pixels, keep only the arrays). A slot holds the row's
// squared norm, its values other than 1, its columns (one byte each when the matrix has at most
// 256 columns, else two) and its two counts; entries keep the SparseRows order (values other
// than 1 first, then the ones).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace fedsilo {

struct SparseRows;

// One row's nonzeros, read in place: value[k] for k < values are the entries other than 1;
// col[k] for k < entries are the columns, those from `values` on holding a 1. Col is the
// column type of the layout it was read from (int32_t for the SparseRows arrays).
template <typename Col>
struct SparseRowView {
  const double* value;
  const Col* col;
  int values;
  int entries;
  double squared_norm;
};

inline constexpr int kMaxPackedSlotBytes = 128;
// The most shared value columns PackRows records (one vector register of doubles).
inline constexpr int kMaxSharedValues = 8;

class PackedRows {
 public:
  PackedRows() = default;

  bool empty() const { return slot_bytes_ == 0; }
  // 1 or 2 (the column type's size); 0 when empty.
  int column_bytes() const { return column_bytes_; }
  int slot_bytes() const { return slot_bytes_; }
  // The memory the slots take.
  size_t bytes() const { return sizeof(Line) * lines_.size(); }
  // When every row has its values other than 1 in the same columns, at most kMaxSharedValues of
  // them (one-hot tabular data: the numeric features), those columns in the rows' order (each
  // row's col[0, values) repeats them); empty otherwise. A kernel may then keep the sums over
  // these columns in registers instead of memory.
  std::span<const int32_t> shared_value_columns() const { return shared_value_columns_; }

  // Row `row`'s slot; Col must be the layout's column type (uint8_t for column_bytes() 1,
  // uint16_t for 2).
  template <typename Col>
  SparseRowView<Col> Row(int64_t row) const {
    const std::byte* slot = reinterpret_cast<const std::byte*>(lines_.data()) +
                            static_cast<size_t>(row) * static_cast<size_t>(slot_bytes_);
    SparseRowView<Col> view;
    std::memcpy(&view.squared_norm, slot, sizeof(double));
    view.value = reinterpret_cast<const double*>(slot + sizeof(double));
    view.col = reinterpret_cast<const Col*>(slot + counts_offset_ - sizeof(Col) * max_entries_);
    view.values = static_cast<int>(slot[counts_offset_]);
    view.entries = static_cast<int>(slot[counts_offset_ + 1]);
    return view;
  }

  // Asks the processor to start loading row `row`'s slot.
  void Prefetch(int64_t row) const {
    const std::byte* slot = reinterpret_cast<const std::byte*>(lines_.data()) +
                            static_cast<size_t>(row) * static_cast<size_t>(slot_bytes_);
    __builtin_prefetch(slot);
    __builtin_prefetch(slot + slot_bytes_ - 1);
  }

 private:
  friend PackedRows PackRows(const SparseRows& index);

  struct alignas(64) Line {  // the storage's unit, so that slots start on a cache line
    std::byte bytes[64];
  };
  int column_bytes_ = 0;
  int slot_bytes_ = 0;
  int max_entries_ = 0;
  int counts_offset_ = 0;  // where a slot's two count bytes sit
  std::vector<int32_t> shared_value_columns_;
  std::vector<Line> lines_;
};

// A PackedRows read with column type Col: Row(r) like SparseRows::Row.
template <typename Col>
struct PackedRowsOf {
  const PackedRows* rows;
  SparseRowView<Col> Row(int64_t row) const { return rows->Row<Col>(row); }
  std::span<const int32_t> SharedValueColumns() const { return rows->shared_value_columns(); }
  void Prefetch(int64_t row) const { rows->Prefetch(row); }
};

// index's rows in slots when every row fits one of at most kMaxPackedSlotBytes bytes and the
// matrix has at most 65,536 columns; an empty PackedRows otherwise. A slot of at most 64 bytes
// is padded to a divisor of 64, so that no slot straddles two cache lines.
PackedRows PackRows(const SparseRows& index);

}  // namespace fedsilo
