// SoftmaxModel: multinomial logistic regression over m >= 2 classes,
// p(c | x) = exp(w_c . x + b_c) / sum_k exp(w_k . x + b_k).
//
// Parameter layout (m (d + 1) entries): the m x (d + 1) matrix W = [w_c, b_c] flattened row-major,
// so class c occupies [c (d + 1), (c + 1)(d + 1)) with its bias last. The loss is the mean
// cross-entropy computed with a max-shifted log-sum-exp (no overflow for large logits).
// Built by the model registry (type "softmax") or directly with Create(); algorithms use it only
// through the Model interface. Immutable after construction; every method is const and safe to call
// from any number of threads at once (scratch buffers are thread_local, batches are processed in
// fixed-size chunks so results do not depend on the thread). Create() reports bad shapes as
// InvalidArgument; a parameter vector of the wrong length, a dataset of the wrong width or a label
// outside [0, m) is a broken caller invariant and aborts with a message.
#pragma once

#include <memory>
#include <string>

#include "common/base/status.h"
#include "common/model/model.h"

namespace fedsilo {

class SoftmaxModel final : public Model {
 public:
  // input_dim > 0, num_classes >= 2. init_scale == 0: InitialParameters is all zeros; > 0:
  // weights are drawn uniformly from [-init_scale, init_scale] (biases zero).
  static absl::StatusOr<std::unique_ptr<SoftmaxModel>> Create(int input_dim, int num_classes,
                                                              double init_scale = 0.0);

  std::string name() const override { return "softmax"; }
  std::string ParameterLayout() const override {
    return "the m x (d + 1) matrix [w_c, b_c] flattened row-major, m = " +
           std::to_string(classes_) + " classes (in the order of 'classes'), d = " +
           std::to_string(dim_) + " features: class c's weights at [c (d + 1), c (d + 1) + d), " +
           "its bias at c (d + 1) + d";
  }
  int num_parameters() const override { return classes_ * (dim_ + 1); }
  int num_classes() const override { return classes_; }
  int input_dim() const { return dim_; }

  Vector InitialParameters(Rng& rng) const override;
  double Loss(const Vector& w, const Batch& batch) const override;
  void Gradient(const Vector& w, const Batch& batch, Vector* grad) const override;
  void PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const override;
  int ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                         Vector* sum) const override;
  // Record i's loss gradient plus J_i^T u_i is (p_i - e_{y_i} + p_i .* (u_i - p_i . u_i))
  // [x_i, 1]^T: clipped by its closed-form norm, no per-record vectors (FERMI's theta block).
  int ClippedGradientPlusVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                                const Matrix& probabilities, double clip,
                                Vector* sum) const override;
  void HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                            Vector* out) const override;
  void PredictProba(const Vector& w, const Matrix& x, Matrix* out) const override;
  bool has_probability_vjp() const override { return true; }
  void PerExampleProbabilityVjp(const Vector& w, const Batch& batch, const Matrix& upstream,
                                Matrix* out) const override;
  void ProbabilityVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                         Vector* sum) const override;

 private:
  SoftmaxModel(int input_dim, int num_classes, double init_scale)
      : dim_(input_dim), classes_(num_classes), init_scale_(init_scale) {}

  void CheckArgs(const Vector& w, const Batch& batch) const;
  // The clipped sum of the records' outer products r_i [x_i, 1]^T, r_i the loss residual plus
  // upstream's VJP factor, from the given probabilities, when upstream is not null.
  int ClippedSum(const Vector& w, const Batch& batch, const Matrix* upstream,
                 const Matrix* probabilities, double clip, Vector* sum) const;

  const int dim_;
  const int classes_;
  const double init_scale_;
};

}  // namespace fedsilo
