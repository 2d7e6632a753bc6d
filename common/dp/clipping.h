// Per-record clipping, the first half of every record-level DP gradient (Abadi et al. 2016).
//
// ClipAndSumRows treats each row of `rows` as one record's gradient, scales it to L2 norm at most
// `clip`, and returns the sum of the scaled rows. ClipBlocksAndSumRows does the same block by
// block: the columns are split into consecutive blocks (sizes in order, summing to the number of
// columns) and each record's part in block b is scaled to L2 norm at most blocks[b].clip on its
// own, so a record's whole row has norm at most sqrt(sum_b clip_b^2) after clipping (e.g. FERMI's
// theta and W blocks). A record (or block part) whose gradient norm is not finite (NaN or
// overflow, e.g. at extreme parameters a coordinator sent) contributes zero: the sum stays finite
// and its sensitivity stays clip, so no failure downstream can depend on any one record.
// `rows` is not modified. Pure; thread-safe. Block sizes that do not add up
// to the number of columns, or a non-positive clip, are a broken caller invariant (abort).
#pragma once

#include <span>

#include "common/base/eigen_types.h"

namespace fedsilo {

// *sum = sum_i rows_i * min(1, clip / ||rows_i||). Returns how many rows were scaled down.
int ClipAndSumRows(const Matrix& rows, double clip, Vector* sum);

// One block of consecutive coordinates and its own per-record L2 bound.
struct ClipBlock {
  int size = 0;
  double clip = 1.0;
};

// *sum = sum_i concat_b (rows_i[b] * min(1, clip_b / ||rows_i[b]||)). Returns how many
// (record, block) parts were scaled down.
int ClipBlocksAndSumRows(const Matrix& rows, std::span<const ClipBlock> blocks, Vector* sum);

}  // namespace fedsilo
