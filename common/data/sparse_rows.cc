#include "common/data/sparse_rows.h"

namespace fedsilo {

std::shared_ptr<const SparseRows> IndexNonzeros(const Matrix& x, double max_density) {
  if (x.size() == 0) return nullptr;
  const int64_t nonzeros = (x.array() != 0.0).count();
  if (static_cast<double>(nonzeros) > max_density * static_cast<double>(x.size())) return nullptr;
  auto index = std::make_shared<SparseRows>();
  index->cols = x.cols();
  index->row_start.reserve(static_cast<size_t>(x.rows()) + 1);
  index->col.reserve(static_cast<size_t>(nonzeros));
  index->value.reserve(static_cast<size_t>(nonzeros));
  index->squared_norm.reserve(static_cast<size_t>(x.rows()));
  index->ones_start.reserve(static_cast<size_t>(x.rows()));
  index->row_start.push_back(0);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const double* row = x.row(i).data();
    double squared_norm = 0.0;
    for (Eigen::Index j = 0; j < x.cols(); ++j) {  // first the entries other than 1
      if (row[j] != 0.0 && row[j] != 1.0) {
        index->col.push_back(static_cast<int32_t>(j));
        index->value.push_back(row[j]);
        squared_norm += row[j] * row[j];
      }
    }
    index->ones_start.push_back(static_cast<int64_t>(index->col.size()));
    for (Eigen::Index j = 0; j < x.cols(); ++j) {  // then the ones
      if (row[j] == 1.0) {
        index->col.push_back(static_cast<int32_t>(j));
        index->value.push_back(1.0);
        squared_norm += 1.0;
      }
    }
    index->row_start.push_back(static_cast<int64_t>(index->col.size()));
    index->squared_norm.push_back(squared_norm);
  }
  index->packed = PackRows(*index);
  return index;
}

}  // namespace fedsilo
