#include "common/dp/clipping.h"

#include <cmath>

#include "common/base/check.h"

namespace fedsilo {

int ClipAndSumRows(const Matrix& rows, double clip, Vector* sum) {
  thread_local Vector scale;
  scale.resize(rows.rows());
  int clipped = 0;
  bool any_non_finite = false;
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    const double norm = rows.row(i).norm();
    if (!std::isfinite(norm)) {
      scale[i] = 0.0;  // see the header: such a record contributes nothing
      any_non_finite = true;
      ++clipped;
    } else if (norm > clip) {
      scale[i] = clip / norm;
      ++clipped;
    } else {
      scale[i] = 1.0;
    }
  }
  if (!any_non_finite) {
    sum->noalias() = rows.transpose() * scale;
    return clipped;
  }
  // 0 * NaN is NaN: leave the non-finite rows out of the sum instead of weighting them by 0.
  sum->setZero(rows.cols());
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    if (scale[i] != 0.0) sum->noalias() += scale[i] * rows.row(i).transpose();
  }
  return clipped;
}

int ClipBlocksAndSumRows(const Matrix& rows, std::span<const ClipBlock> blocks, Vector* sum) {
  Eigen::Index total = 0;
  for (const ClipBlock& block : blocks) {
    FEDSILO_CHECK(block.size >= 0 && block.clip > 0.0, "clip block with a negative size or clip");
    total += block.size;
  }
  FEDSILO_CHECK(total == rows.cols(), "clip blocks do not cover the gradient's coordinates");
  sum->resize(rows.cols());
  thread_local Vector part;
  int clipped = 0;
  Eigen::Index offset = 0;
  for (const ClipBlock& block : blocks) {
    clipped += ClipAndSumRows(rows.middleCols(offset, block.size), block.clip, &part);
    sum->segment(offset, block.size) = part;
    offset += block.size;
  }
  return clipped;
}

namespace {

// Block b of *v times (blocks[0].clip / blocks[b].clip)^power.
void ScaleClipBlocks(std::span<const ClipBlock> blocks, double power, Vector* v) {
  Eigen::Index offset = 0;
  for (const ClipBlock& block : blocks) {
    FEDSILO_CHECK(block.clip > 0.0 && offset + block.size <= v->size(),
                  "clip blocks that do not fit the vector");
    v->segment(offset, block.size) *= std::pow(blocks.front().clip / block.clip, power);
    offset += block.size;
  }
  FEDSILO_CHECK(offset == v->size(), "clip blocks do not cover the vector");
}

}  // namespace

void EqualizeClipBlocks(std::span<const ClipBlock> blocks, Vector* v) {
  if (!blocks.empty()) ScaleClipBlocks(blocks, 1.0, v);
}

void RestoreClipBlocks(std::span<const ClipBlock> blocks, Vector* v) {
  if (!blocks.empty()) ScaleClipBlocks(blocks, -1.0, v);
}

double EqualizedRecordBound(std::span<const ClipBlock> blocks, double clip) {
  if (blocks.empty()) return clip;
  return std::sqrt(static_cast<double>(blocks.size())) * blocks.front().clip;
}

}  // namespace fedsilo
