// Numeric types used across fedsilo: double precision, row-major matrices (a row is a record
// or a per-example gradient, so rows are contiguous). Header-only.
#pragma once

#include <Eigen/Dense>

namespace fedsilo {

using Vector = Eigen::VectorXd;
using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace fedsilo
