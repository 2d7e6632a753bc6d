#include "common/dp/clipping.h"

namespace fedsilo {

int ClipAndSumRows(const Matrix& rows, double clip, Vector* sum) {
  thread_local Vector scale;
  scale.resize(rows.rows());
  int clipped = 0;
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    const double norm = rows.row(i).norm();
    if (norm > clip) {
      scale[i] = clip / norm;
      ++clipped;
    } else {
      scale[i] = 1.0;
    }
  }
  sum->noalias() = rows.transpose() * scale;
  return clipped;
}

}  // namespace fedsilo
