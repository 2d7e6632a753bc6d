#include "common/model/model.h"

#include <cmath>

#include "common/base/check.h"
#include "common/dp/clipping.h"

namespace fedsilo {

int Model::ClippedGradientSum(const Vector& w, const Batch& batch, double clip, Vector* sum) const {
  thread_local Matrix per_example;
  PerExampleGradients(w, batch, &per_example);
  return ClipAndSumRows(per_example, clip, sum);
}

int Model::ClippedBlocksGradientSum(const Vector& w, const Batch& batch,
                                    std::span<const ClipBlock> blocks, Vector* sum) const {
  thread_local Matrix per_example;
  PerExampleGradients(w, batch, &per_example);
  return ClipBlocksAndSumRows(per_example, blocks, sum);
}

int Model::ClippedGradientPlusVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                                     const Matrix& /*probabilities*/, double clip,
                                     Vector* sum) const {
  thread_local Matrix per_example, vjp;
  PerExampleGradients(w, batch, &per_example);
  PerExampleProbabilityVjp(w, batch, upstream, &vjp);
  per_example += vjp;
  return ClipAndSumRows(per_example, clip, sum);
}

double Model::LossSumAndPredictions(const Vector& w, const Batch& batch,
                                    std::vector<int>* predicted) const {
  const int n = batch.size();
  predicted->resize(static_cast<size_t>(n));
  if (n == 0) return 0.0;
  Matrix proba;
  PredictBatchProba(w, batch, &proba);
  for (int i = 0; i < n; ++i) {
    Eigen::Index best;
    proba.row(i).maxCoeff(&best);
    (*predicted)[static_cast<size_t>(i)] = static_cast<int>(best);
  }
  return Loss(w, batch) * n;
}

void Model::PredictBatchProba(const Vector& w, const Batch& batch, Matrix* out) const {
  Matrix x(batch.size(), batch.data->dim());
  for (int i = 0; i < batch.size(); ++i) x.row(i) = batch.data->x.row(batch.rows[i]);
  PredictProba(w, x, out);
}

void Model::PerExampleProbabilityVjp(const Vector&, const Batch&, const Matrix&, Matrix*) const {
  FEDSILO_CHECK(false, "this model provides no probability vector-Jacobian product");
}

void Model::ProbabilityVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                              Vector* sum) const {
  thread_local Matrix vjp;
  PerExampleProbabilityVjp(w, batch, upstream, &vjp);
  *sum = vjp.colwise().sum().transpose();
}

const SparseRows* UsableNonzeros(const Dataset& data, Eigen::Ref<const Vector> parameters) {
  if (data.nonzeros == nullptr || !std::isfinite(parameters.sum())) return nullptr;
  FEDSILO_CHECK(data.nonzeros->rows() == data.x.rows() && data.nonzeros->cols == data.x.cols(),
                "the index of nonzeros does not match the feature matrix");
  return data.nonzeros.get();
}

void CheckBatchArguments(const Model& model, int input_dim, const Vector& w, const Batch& batch) {
  FEDSILO_CHECK(w.size() == model.num_parameters(), "parameter vector has the wrong length");
  FEDSILO_CHECK(batch.data != nullptr, "batch has no dataset");
  const Dataset& data = *batch.data;
  FEDSILO_CHECK(data.dim() == input_dim, "dataset width differs from the model input_dim");
  const int n = data.size();
  const int classes = model.num_classes();
  for (const int r : batch.rows) {
    FEDSILO_CHECK(r >= 0 && r < n, "batch row index out of range");
    FEDSILO_CHECK(data.y[static_cast<size_t>(r)] >= 0 && data.y[static_cast<size_t>(r)] < classes,
                  "label out of range");
  }
}

}  // namespace fedsilo
