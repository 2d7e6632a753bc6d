// MlpModel: a fully connected network with a softmax output, trained with mean cross-entropy.
//
// Shape: widths n_0 = input_dim, n_1 .. n_{L-1} = hidden (at least one), n_L = num_classes
// (binary tasks use 2 outputs). Layer l = 1..L computes z_l = W_l a_{l-1} + b_l; hidden layers
// apply the activation (relu | elu (alpha = 1) | tanh | sigmoid), the output layer a softmax.
// Parameter layout, layer by layer: for l = 1..L, first W_l (n_l x n_{l-1}, row-major: W_l[j][k] at
// offset_l + j n_{l-1} + k), then b_l (n_l entries); offset_1 = 0 and offset_{l+1} = offset_l +
// n_l (n_{l-1} + 1). WeightOffset/BiasOffset give the offsets.
// Initialisation: weights uniform in [-a, a] with a = sqrt(6 / fan_in) (He, relu/elu) or
// sqrt(6 / (fan_in + fan_out)) (Glorot, tanh/sigmoid), or a = init_scale when init_scale > 0;
// biases zero; drawn in parameter order, so deterministic given the Rng state.
// The Hessian-vector product is exact (Pearlmutter's R-operator, forward-over-reverse): the
// directional derivative of the back-propagated gradient, about twice the cost of Gradient.
// At z = 0 exactly, relu'(0) = 0 and ELU''(0) = 1 (its left limit).
// Built by the model registry (type "mlp") or directly with Create(); algorithms use it only
// through the Model interface. Immutable after construction; every method is const and safe to call
// from any number of threads at once (scratch buffers are thread_local; batches are processed in
// fixed-size chunks so results do not depend on the thread). Create() reports bad shapes and unknown
// activations as InvalidArgument; a parameter vector of the wrong length, a dataset of the wrong
// width or a label outside [0, num_classes) is a broken caller invariant and aborts with a message.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/model/model.h"

namespace fedsilo {

class MlpModel final : public Model {
 public:
  enum class Activation { kRelu, kElu, kTanh, kSigmoid };

  // "relu" | "elu" | "tanh" | "sigmoid"; anything else is InvalidArgument.
  static absl::StatusOr<Activation> ParseActivation(std::string_view name);
  static std::string_view ActivationName(Activation activation);

  // input_dim > 0, hidden non-empty with positive widths, num_classes >= 2, init_scale >= 0.
  static absl::StatusOr<std::unique_ptr<MlpModel>> Create(int input_dim,
                                                          const std::vector<int>& hidden,
                                                          Activation activation, int num_classes,
                                                          double init_scale = 0.0);

  std::string name() const override { return "mlp"; }
  std::string ParameterLayout() const override {
    std::string widths;
    for (size_t l = 0; l < widths_.size(); ++l) {
      widths += (l > 0 ? ", " : "") + std::to_string(widths_[l]);
    }
    return "layer by layer, l = 1..L with widths n_0..n_L = [" + widths +
           "]: W_l (n_l x n_{l-1}, row-major), then b_l (n_l); the input is 'features', the output "
           "'classes'";
  }
  int num_parameters() const override { return num_parameters_; }
  int num_classes() const override { return widths_.back(); }
  int input_dim() const { return widths_.front(); }
  Activation activation() const { return activation_; }
  // Number of affine layers L (hidden layers + the output layer).
  int num_layers() const { return static_cast<int>(layers_.size()); }
  // Offsets of W_l and b_l in the parameter vector, l = 1..num_layers().
  int WeightOffset(int l) const { return layers_[l - 1].w_offset; }
  int BiasOffset(int l) const { return layers_[l - 1].b_offset; }

  Vector InitialParameters(Rng& rng) const override;
  double Loss(const Vector& w, const Batch& batch) const override;
  void Gradient(const Vector& w, const Batch& batch, Vector* grad) const override;
  void PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const override;
  // Without per-example gradients ("ghost clipping", Goodfellow 2015; Li et al. 2022): record i's
  // gradient of layer l is the outer product delta_l,i [a_{l-1,i}, 1]^T, whose squared norm is
  // ||delta_l,i||^2 (||a_{l-1,i}||^2 + 1); the clipped sum is then one product per layer with the
  // delta rows scaled by min(1, clip / ||g_i||).
  int ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                         Vector* sum) const override;
  // The same ghost clipping, with u_i folded into the output delta (p_i .* (u_i - p_i . u_i));
  // the backward pass needs the hidden activations, so its own forward pass runs.
  int ClippedGradientPlusVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                                const Matrix& probabilities, double clip,
                                Vector* sum) const override;
  void HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                            Vector* out) const override;
  void PredictProba(const Vector& w, const Matrix& x, Matrix* out) const override;
  double LossSumAndPredictions(const Vector& w, const Batch& batch,
                               std::vector<int>* predicted) const override;
  bool has_probability_vjp() const override { return true; }
  // ClippedGradientSum and ClippedGradientPlusVjpSum compute the first layer from a record's
  // nonzero features when the data has an index of them and W_1, b_1 are finite (sparse_rows.h).
  bool reads_nonzeros() const override { return true; }
  void PerExampleProbabilityVjp(const Vector& w, const Batch& batch, const Matrix& upstream,
                                Matrix* out) const override;

 private:
  struct Layer {
    int in = 0;        // n_{l-1}
    int out = 0;       // n_l
    int w_offset = 0;  // W_l, out x in row-major
    int b_offset = 0;  // b_l, out entries
  };
  struct Workspace;  // per-thread scratch (defined in the .cc)
  static Workspace& ThreadWorkspace();

  MlpModel(std::vector<int> widths, Activation activation, double init_scale);

  void CheckArgs(const Vector& w, const Batch& batch) const;
  // Forward pass for the rows of ws->x: pre-activations z_l, hidden activations a_l and their
  // derivatives (first, and second when `second_derivatives`), output logits z_L.
  // With first_product_done, ws->z[0] already holds the first layer's pre-activations (for
  // ws->z[0].rows() rows) and ws->x is not read.
  void Forward(const Vector& w, bool second_derivatives, Workspace* ws,
               bool first_product_done = false) const;
  // The first layer's pre-activations z_1 = x W_1^T + b_1 of the records rows[0, len) into
  // ws->z[0], from their nonzeros only (sparse_rows.h).
  void SparseFirstProduct(const Vector& w, const SparseRows& nz, const int* rows, int len,
                          Workspace* ws) const;
  // Adds to gW (W_1's block of the sum) sum_i x_i^T delta_1,i over the nonzeros of the records
  // rows[0, len) whose scale is not 0 (ws->delta[0] already scaled).
  void AddSparseFirstLayerSum(const SparseRows& nz, const int* rows, int len, const Vector& scale,
                              Workspace* ws, Eigen::Map<Matrix>* gW) const;
  // Backward pass after Forward on rows [start, start + len) of the batch: output probabilities
  // and ws->delta[l - 1] = d loss_i / d z_l for every row i (not divided by the batch size).
  void Backward(const Vector& w, const Batch& batch, int start, Workspace* ws) const;
  // Ghost-clipped sum of the per-record gradients, plus J_i^T u_i when upstream is not null.
  int GhostClippedSum(const Vector& w, const Batch& batch, const Matrix* upstream, double clip,
                      Vector* sum) const;
  // Propagates ws->delta[L - 1] (already set) down to every layer.
  void BackPropagate(const Vector& w, Workspace* ws) const;

  std::vector<int> widths_;  // n_0 .. n_L
  std::vector<Layer> layers_;
  Activation activation_;
  double init_scale_;
  int num_parameters_ = 0;
};

}  // namespace fedsilo
