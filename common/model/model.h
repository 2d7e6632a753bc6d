// Model: a stateless, differentiable predictor over a flat parameter vector.
//
// Parameters are passed in (never stored), so one const Model serves every silo thread at once;
// every method is const and thread-safe. Losses are the mean over the batch; the batch must be
// non-empty unless stated otherwise. Callers own all outputs; methods resize them as needed.
// Implementations: logistic (binary), softmax (multiclass), mlp. Algorithms see only this interface;
// the fairness objective (issue 6) wraps a Model into another Model over [theta | W].
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/rng.h"
#include "common/data/dataset.h"
#include "common/dp/clipping.h"

namespace fedsilo {

class Model {
 public:
  virtual ~Model() = default;

  virtual std::string name() const = 0;
  // Length of the flat parameter vector.
  virtual int num_parameters() const = 0;
  // Number of classes the model predicts (2 for logistic).
  virtual int num_classes() const = 0;
  // Where each entry of the flat parameter vector belongs, in words (written beside a saved
  // model.bin). Models of fedsilo override it; a user's model may.
  virtual std::string ParameterLayout() const {
    return "not described by this model (" + name() + ")";
  }

  // A starting point; deterministic given the Rng state.
  virtual Vector InitialParameters(Rng& rng) const = 0;

  // Mean loss over the batch.
  virtual double Loss(const Vector& w, const Batch& batch) const = 0;
  // Gradient of the mean loss.
  virtual void Gradient(const Vector& w, const Batch& batch, Vector* grad) const = 0;
  // Row i of `out` (batch.size() x num_parameters()) is the gradient of record i's loss.
  virtual void PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const = 0;
  // Sum over the batch of each record's gradient scaled to L2 norm at most `clip`
  // (sum_i g_i * min(1, clip / ||g_i||)): the kernel of record-level DP. The default builds the
  // per-example gradients and clips them; models whose per-record gradient norms have a closed
  // form (linear models: ||g_i|| = ||r_i|| * ||[x_i, 1]||) override it without materializing them.
  // Returns how many records were clipped.
  virtual int ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                                 Vector* sum) const;
  // Block-wise clipping of the records' gradients (ClipBlocksAndSumRows of common/dp/clipping.h:
  // each record's part in each block scaled to that block's clip). Returns how many (record,
  // block) parts were scaled down. The default builds the per-example gradients; FERMI clips its
  // [theta | W] blocks without them.
  virtual int ClippedBlocksGradientSum(const Vector& w, const Batch& batch,
                                       std::span<const ClipBlock> blocks, Vector* sum) const;
  // As ClippedGradientSum, for the per-record vectors g_i + J_i^T u_i: record i's loss gradient
  // plus the vector-Jacobian product of its class probabilities with u_i = upstream.row(i) (what
  // an objective over the probabilities adds, e.g. FERMI's psi). For models with
  // has_probability_vjp(). `probabilities` are the batch's class probabilities at w (what
  // PredictBatchProba gives; the caller computed upstream from them): the linear models take
  // them instead of running their forward pass again. The default builds both per-record
  // matrices; the MLP folds u_i into its backward pass and clips by ghost norms.
  virtual int ClippedGradientPlusVjpSum(const Vector& w, const Batch& batch,
                                        const Matrix& upstream, const Matrix& probabilities,
                                        double clip, Vector* sum) const;
  // Hessian of the mean loss times v.
  virtual void HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                                    Vector* out) const = 0;
  // Class probabilities for each row of x: out is x.rows() x num_classes().
  virtual void PredictProba(const Vector& w, const Matrix& x, Matrix* out) const = 0;
  // Class probabilities of the batch's records (out is batch.size() x num_classes()), as
  // PredictProba gives them for those rows, to rounding. The default copies the rows and calls
  // PredictProba; models that read only the nonzero features override it.
  virtual void PredictBatchProba(const Vector& w, const Batch& batch, Matrix* out) const;
  // Evaluation in one pass: returns the sum (not the mean) of the batch's losses and sets
  // (*predicted)[i] to the class PredictProba gives record i the highest probability (the first
  // on a tie). The default calls Loss and PredictBatchProba; models whose forward pass is costly
  // override it to run it once.
  virtual double LossSumAndPredictions(const Vector& w, const Batch& batch,
                                       std::vector<int>* predicted) const;

  // Vector-Jacobian products of the predicted probabilities (the fairness objective needs them):
  // row i of `out` (batch.size() x num_parameters()) is J_i^T u_i, where J_i is the Jacobian
  // (num_classes() x num_parameters()) of record i's class probabilities, as PredictProba returns
  // them, with respect to w, and u_i = upstream.row(i) (upstream is batch.size() x num_classes()).
  // Models that do not provide it return false from has_probability_vjp(); calling it on them
  // is a broken caller invariant and aborts. Built-ins (logistic, softmax, mlp) provide it.
  virtual bool has_probability_vjp() const { return false; }
  // Whether some kernel of this model skips zero features through Dataset::nonzeros (built only
  // for models that read it).
  virtual bool reads_nonzeros() const { return false; }
  virtual void PerExampleProbabilityVjp(const Vector& w, const Batch& batch,
                                        const Matrix& upstream, Matrix* out) const;
  // The sum over the batch of J_i^T u_i (PerExampleProbabilityVjp's rows summed, to rounding):
  // what an objective over the probabilities adds to the gradient. The default sums those rows;
  // the linear models override it without per-record vectors.
  virtual void ProbabilityVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                                 Vector* sum) const;
};

// Aborts (FEDSILO_CHECK) when a caller passes arguments that break a model's invariants: a
// parameter vector of the wrong length, a batch without data, a dataset of another width, a row
// index out of range, a label outside [0, model.num_classes()). For model implementations.
void CheckBatchArguments(const Model& model, int input_dim, const Vector& w, const Batch& batch);

// The data's index of nonzero features (common/data/sparse_rows.h) when it has one and the
// parameters that multiply the features are finite; nullptr otherwise, and the kernel reads the
// dense rows. Finite is decided by one reduction: a finite sum means no NaN or infinity, and a sum
// that overflows only sends finite parameters to the dense path. Aborts when the index does not
// match the feature matrix. For model implementations.
const SparseRows* UsableNonzeros(const Dataset& data, Eigen::Ref<const Vector> parameters);

}  // namespace fedsilo
