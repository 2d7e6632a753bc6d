// Test-only model with closed-form derivatives: loss_i(w) = 0.5 * ||w - x_i||^2 (a quadratic
// whose gradient on a batch is w - mean(x_i) and whose Hessian is the identity), so algorithm
// tests can compare against values computed by hand.
#pragma once

#include <numeric>
#include <vector>

#include "common/model/model.h"

namespace fedsilo::testing {

class QuadraticModel : public Model {
 public:
  explicit QuadraticModel(int dim) : dim_(dim) {}
  std::string name() const override { return "quadratic"; }
  int num_parameters() const override { return dim_; }
  int num_classes() const override { return 2; }
  Vector InitialParameters(Rng&) const override { return Vector::Zero(dim_); }
  double Loss(const Vector& w, const Batch& b) const override {
    double total = 0;
    for (int r : b.rows) total += 0.5 * (w - b.data->x.row(r).transpose()).squaredNorm();
    return total / b.size();
  }
  void Gradient(const Vector& w, const Batch& b, Vector* g) const override {
    g->setZero(dim_);
    for (int r : b.rows) *g += w - b.data->x.row(r).transpose();
    *g /= b.size();
  }
  void PerExampleGradients(const Vector& w, const Batch& b, Matrix* out) const override {
    out->resize(b.size(), dim_);
    for (int i = 0; i < b.size(); ++i) out->row(i) = (w - b.data->x.row(b.rows[i]).transpose()).transpose();
  }
  void HessianVectorProduct(const Vector&, const Batch&, const Vector& v, Vector* out) const override {
    *out = v;
  }
  void PredictProba(const Vector&, const Matrix& x, Matrix* out) const override {
    *out = Matrix::Constant(x.rows(), 2, 0.5);
  }

 private:
  int dim_;
};

// n records in `dim` dimensions with x_i = (i, 2i, ...) / n, so means are known in closed form.
inline Dataset LineDataset(int n, int dim) {
  Dataset data;
  data.x.resize(n, dim);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < dim; ++j) data.x(i, j) = (j + 1.0) * i / n;
  data.y.assign(n, 0);
  data.num_classes = 2;
  return data;
}

// The row indices 0 .. n-1.
inline std::vector<int> Range(int n) {
  std::vector<int> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

}  // namespace fedsilo::testing
