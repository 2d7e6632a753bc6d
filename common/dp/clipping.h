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
// EqualizeClipBlocks and RestoreClipBlocks serve one mechanism for every block (the secure sum,
// secure_sum_oracle.h): block b of a block-clipped sum times blocks[0].clip / blocks[b].clip
// bounds every block's part of a record by blocks[0].clip (the whole record by
// sqrt(B) blocks[0].clip), so one noise scale gives each block noise in proportion to its own
// bound; RestoreClipBlocks multiplies back.
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

// Block b of *v times blocks[0].clip / blocks[b].clip (Equalize) or its inverse (Restore); nothing
// for no blocks.
void EqualizeClipBlocks(std::span<const ClipBlock> blocks, Vector* v);
void RestoreClipBlocks(std::span<const ClipBlock> blocks, Vector* v);
// The L2 bound of a record's equalized row: sqrt(B) blocks[0].clip (`clip` for no blocks).
double EqualizedRecordBound(std::span<const ClipBlock> blocks, double clip);

}  // namespace fedsilo
