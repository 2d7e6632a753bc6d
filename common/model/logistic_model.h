// LogisticModel: binary logistic regression, p(y = 1 | x) = sigmoid(w . x + b).
//
// Parameter layout (d + 1 entries): [w_0 .. w_{d-1}, b]. Labels must be 0 or 1. The loss is the
// mean log-loss, computed as softplus(+-logit) so that no |logit| overflows; probabilities use the
// two-sided stable sigmoid. PredictProba returns n x 2 with columns [1 - p, p].
// Built by the model registry (type "logistic") or directly with Create(); algorithms use it only
// through the Model interface. Immutable after construction; every method is const, allocation-free
// in steady state (outputs are resized only when their shape changes) and safe to call from any
// number of threads at once. Create() reports bad shapes as InvalidArgument; calling a method with
// a parameter vector of the wrong length, a dataset of the wrong width or a label outside {0, 1}
// is a broken caller invariant and aborts with a message.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/model/model.h"

namespace fedsilo {

class LogisticModel final : public Model {
 public:
  // input_dim > 0. init_scale == 0: InitialParameters is all zeros; > 0: weights are drawn
  // uniformly from [-init_scale, init_scale] (bias zero).
  static absl::StatusOr<std::unique_ptr<LogisticModel>> Create(int input_dim,
                                                               double init_scale = 0.0);

  std::string name() const override { return "logistic"; }
  std::string ParameterLayout() const override {
    return "[w_0 .. w_{d-1}, b] with d = " + std::to_string(dim_) +
           " input features (in the order of 'features'); p(y = 1 | x) = sigmoid(w . x + b)";
  }
  int num_parameters() const override { return dim_ + 1; }
  int num_classes() const override { return 2; }
  int input_dim() const { return dim_; }

  Vector InitialParameters(Rng& rng) const override;
  double Loss(const Vector& w, const Batch& batch) const override;
  double LossSumAndPredictions(const Vector& w, const Batch& batch,
                               std::vector<int>* predicted) const override;
  // Loss, LossSumAndPredictions, Gradient, ClippedGradientSum, ClippedGradientPlusVjpSum,
  // PredictBatchProba and ProbabilityVjpSum read only a record's nonzero features when the data
  // has an index of them and w is finite (sparse_rows.h); the other methods read the dense rows.
  void Gradient(const Vector& w, const Batch& batch, Vector* grad) const override;
  bool reads_nonzeros() const override { return true; }
  void PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const override;
  int ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                         Vector* sum) const override;
  // Record i's loss gradient plus J_i^T u_i is (r_i + (u_i1 - u_i0) p_i (1 - p_i)) [x_i, 1]:
  // clipped by its closed-form norm, no per-record vectors (FERMI's theta block).
  int ClippedGradientPlusVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                                const Matrix& probabilities, double clip,
                                Vector* sum) const override;
  void HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                            Vector* out) const override;
  void PredictProba(const Vector& w, const Matrix& x, Matrix* out) const override;
  void PredictBatchProba(const Vector& w, const Batch& batch, Matrix* out) const override;
  bool has_probability_vjp() const override { return true; }
  void PerExampleProbabilityVjp(const Vector& w, const Batch& batch, const Matrix& upstream,
                                Matrix* out) const override;
  void ProbabilityVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                         Vector* sum) const override;

 private:
  LogisticModel(int input_dim, double init_scale) : dim_(input_dim), init_scale_(init_scale) {}

  void CheckArgs(const Vector& w, const Batch& batch) const;
  // The sum of the batch's losses; sets predicted[i] (when not null) as PredictProba's argmax.
  double LossSum(const Vector& w, const Batch& batch, int* predicted) const;
  // The clipped sum of the records' vectors r_i [x_i, 1] (BlockResiduals, with upstream's VJP
  // factor and the given probabilities when not null).
  int ClippedSum(const Vector& w, const Batch& batch, const Matrix* upstream,
                 const Matrix* probabilities, double clip, Vector* sum) const;

  const int dim_;
  const double init_scale_;
};

}  // namespace fedsilo
