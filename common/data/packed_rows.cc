#include "common/data/packed_rows.h"

#include <algorithm>

#include "common/data/sparse_rows.h"

namespace fedsilo {

PackedRows PackRows(const SparseRows& index) {
  PackedRows packed;
  const int64_t rows = index.rows();
  if (rows <= 0 || index.cols > 65536) return packed;
  int64_t max_values = 0, max_entries = 0;
  for (int64_t i = 0; i < rows; ++i) {
    max_values = std::max(max_values, index.ones_start[i] - index.row_start[i]);
    max_entries = std::max(max_entries, index.row_start[i + 1] - index.row_start[i]);
  }
  const int column_bytes = index.cols <= 256 ? 1 : 2;
  const int64_t counts_offset =
      static_cast<int64_t>(sizeof(double)) * (1 + max_values) + column_bytes * max_entries;
  int64_t slot_bytes = (counts_offset + 2 + 7) / 8 * 8;
  if (slot_bytes > kMaxPackedSlotBytes) return packed;
  while (slot_bytes < 64 && 64 % slot_bytes != 0) slot_bytes += 8;

  packed.column_bytes_ = column_bytes;
  packed.slot_bytes_ = static_cast<int>(slot_bytes);
  packed.max_entries_ = static_cast<int>(max_entries);
  packed.counts_offset_ = static_cast<int>(counts_offset);
  const int64_t total = rows * slot_bytes;
  packed.lines_.assign(static_cast<size_t>((total + 63) / 64), PackedRows::Line{});
  std::byte* base = reinterpret_cast<std::byte*>(packed.lines_.data());
  for (int64_t i = 0; i < rows; ++i) {
    std::byte* slot = base + i * slot_bytes;
    const int64_t start = index.row_start[i];
    const int64_t values = index.ones_start[i] - start, entries = index.row_start[i + 1] - start;
    std::memcpy(slot, &index.squared_norm[static_cast<size_t>(i)], sizeof(double));
    std::memcpy(slot + sizeof(double), index.value.data() + start,
                sizeof(double) * static_cast<size_t>(values));
    std::byte* cols = slot + counts_offset - column_bytes * max_entries;
    for (int64_t k = 0; k < entries; ++k) {
      const auto col = static_cast<uint16_t>(index.col[static_cast<size_t>(start + k)]);
      if (column_bytes == 1) {
        cols[k] = static_cast<std::byte>(col);
      } else {
        std::memcpy(cols + 2 * k, &col, sizeof(col));
      }
    }
    slot[counts_offset] = static_cast<std::byte>(values);
    slot[counts_offset + 1] = static_cast<std::byte>(entries);
  }
  // Shared value columns: every row's first `values` columns equal row 0's.
  const int64_t shared = index.ones_start[0] - index.row_start[0];
  bool same = shared > 0 && shared <= kMaxSharedValues;
  for (int64_t i = 1; same && i < rows; ++i) {
    same = index.ones_start[i] - index.row_start[i] == shared &&
           std::equal(index.col.begin() + index.row_start[i],
                      index.col.begin() + index.row_start[i] + shared, index.col.begin());
  }
  if (same) packed.shared_value_columns_.assign(index.col.begin(), index.col.begin() + shared);
  return packed;
}

}  // namespace fedsilo
