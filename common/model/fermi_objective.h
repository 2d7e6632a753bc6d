// FermiObjective: the FERMI fair-learning objective (Lowy et al., TMLR 2022; private version
// Lowy, Gupta, Razaviyayn, ICLR 2023) as a Model over [theta | W].
//
// It wraps a base classifier (any Model with has_probability_vjp(): logistic, softmax, mlp) with
// parameters theta and adds a dual block W. Record i's objective is
//   f_i(theta, W) = loss_i(theta) + lambda * psi_i(theta, W),
//   psi_i = -Tr(W_b diag(F_i) W_b^T) + 2 Tr(W_b F_i s_i^T P_b^{-1/2}) - 1
//         = -sum_{j,c} W_b[j,c]^2 F_i[c] + 2 W_b[s_i, :] . F_i / sqrt(P_b[s_i]) - 1,
// with F_i the base model's class probabilities (m classes), s_i the one-hot group (k groups),
// b = b(i) the record's conditioning block and P_b the group marginals of that block. W_b is
// k x m (groups x classes). Averaged over the data, max over W_b of E[psi | block b] is the
// exponential Renyi mutual information ERMI(yhat; s | b) = sum_{c,j} P(c,j)^2 / (P(c) P(j)) - 1,
// attained at W_b* = P_s^{-1/2} P_{yhat,s}^T P_yhat^{-1} (P_{yhat,s}: m x k joint, P_yhat: m x m
// diagonal), so min_theta max_W of the mean objective is ERM plus lambda times ERMI.
// Notions (blocks): demographic_parity: one block, every record (ERMI(yhat; s)); equalized_odds:
// one block per label value c, record i uses b = y_i, P_b = P(s | y = c) (conditional ERMI
// weighted by P(y)); equal_opportunity: one block for y = 1 only, records with y != 1 have
// psi_i = 0.
// Parameter layout: [theta (base.num_parameters()) | W_0 | W_1 | ...], each W_b k x m row-major
// (W_b[j, c] at dual_offset() + (b k + j) m + c). Loss, Gradient and PerExampleGradients are
// exact (both blocks); ClippedGradientSum clips each record's FULL gradient over [theta | W], as
// record-level DP needs; ClippedBlocksGradientSum clips the two blocks apart.
// HessianVectorProduct is a central finite difference of Gradient (documented approximation; no
// algorithm that uses it runs FERMI). PredictProba is the base model's at theta. Immutable; const
// methods are thread-safe when the base model's are. WithMarginals derives objectives that share
// the (immutable) base model. Records must carry a group id (Dataset::group); a missing group, a
// group id out of range or a parameter vector of the wrong length is a broken caller invariant
// (abort).
#pragma once

#include <memory>
#include <span>
#include <string>

#include "common/base/status.h"
#include "common/model/model.h"

namespace fedsilo {

enum class FairnessNotion { kDemographicParity, kEqualizedOdds, kEqualOpportunity };

// "demographic_parity" | "equalized_odds" | "equal_opportunity"; anything else InvalidArgument.
absl::StatusOr<FairnessNotion> ParseFairnessNotion(const std::string& name);

struct FermiOptions {
  FairnessNotion notion = FairnessNotion::kDemographicParity;
  double lambda = 0.0;  // >= 0
  int num_groups = 0;   // k >= 2
  // One row per block (num_blocks x k), each a probability vector with positive entries:
  // P(s) (demographic parity), P(s | y = c) for c = 0..m-1 (equalized odds), P(s | y = 1)
  // (equal opportunity).
  Matrix group_marginals;
};

// Number of W blocks the notion uses for an m-class base model.
int FermiNumBlocks(FairnessNotion notion, int num_classes);

// The marginals FermiOptions needs, counted on `rows` of `data` (empirical frequencies; a group
// with no record in some block gets a tiny positive mass so that P^{-1/2} stays finite).
// InvalidArgument when the data has no groups or a conditioning label never occurs.
absl::StatusOr<Matrix> EmpiricalGroupMarginals(const Dataset& data, std::span<const int> rows,
                                               FairnessNotion notion);

// The histogram cell of a record with label y and group s: block * k + s, or -1 when the record
// is in no block (equal_opportunity, y != 1). Each record is in at most one cell.
int FermiCountCell(FairnessNotion notion, int label, int group, int num_groups);

// Marginals (num_blocks x k) from per-cell counts (num_blocks * k, row by row, possibly noisy):
// every count is raised to at least `min_count`, each block normalized (a block whose counts are
// all zero becomes uniform), and a group left with no mass gets a tiny positive one, so that
// P^{-1/2} stays finite. Pure.
Matrix MarginalsFromCounts(const Vector& counts, int num_blocks, int num_groups, double min_count);

class FermiObjective final : public Model {
 public:
  // InvalidArgument: base without probability VJP, lambda < 0 or not finite, num_groups < 2,
  // marginals of the wrong shape or not a positive probability vector per row.
  static absl::StatusOr<std::unique_ptr<FermiObjective>> Create(std::unique_ptr<Model> base,
                                                                FermiOptions options);
  // The same objective (sharing this one's base model) with other group marginals, e.g. a silo's
  // own estimate. Same errors as Create for the marginals.
  absl::StatusOr<std::unique_ptr<FermiObjective>> WithMarginals(Matrix group_marginals) const;

  std::string name() const override { return "fermi(" + base_->name() + ")"; }
  std::string ParameterLayout() const override {
    return "[theta | W]: theta = the first " + std::to_string(dual_offset()) +
           " entries, the base model's parameters (" + base_->ParameterLayout() + "); then W, " +
           std::to_string(dual_size()) + " entries: " + std::to_string(num_blocks()) +
           " block(s) of k x m row-major (k = " + std::to_string(options_.num_groups) +
           " groups, m = " + std::to_string(base_->num_classes()) +
           " classes), FERMI's dual variable; predictions use theta only";
  }
  int num_parameters() const override { return dual_offset() + dual_size(); }
  int num_classes() const override { return base_->num_classes(); }

  const Model& base() const { return *base_; }
  const FermiOptions& options() const { return options_; }
  int num_blocks() const { return static_cast<int>(options_.group_marginals.rows()); }
  int dual_offset() const { return base_->num_parameters(); }
  int dual_size() const { return num_blocks() * options_.num_groups * base_->num_classes(); }

  Vector InitialParameters(Rng& rng) const override;  // base's, then W = 0
  double Loss(const Vector& w, const Batch& batch) const override;
  void Gradient(const Vector& w, const Batch& batch, Vector* grad) const override;
  void PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const override;
  // With lambda = 0 the base model's clipped sum at theta (W's gradient is 0); otherwise
  // Model's default over the per-example gradients.
  int ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                         Vector* sum) const override;
  // With the blocks [theta | W] (what private FERMI clips), without per-example gradients: the
  // theta block through the base model's ClippedGradientPlusVjpSum (ghost norms for the MLP),
  // the small W block from its per-record rows. Other blocks: Model's default.
  int ClippedBlocksGradientSum(const Vector& w, const Batch& batch,
                               std::span<const ClipBlock> blocks, Vector* sum) const override;
  void HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                            Vector* out) const override;
  void PredictProba(const Vector& w, const Matrix& x, Matrix* out) const override;
  void PredictBatchProba(const Vector& w, const Batch& batch, Matrix* out) const override;

  // psi_i for each record of the batch (0 for records outside every block).
  Vector PerExamplePsi(const Vector& w, const Batch& batch) const;

  // The block of a record with label y, or -1 when it has none.
  int BlockOf(int label) const;

 private:
  FermiObjective(std::shared_ptr<const Model> base, FermiOptions options)
      : base_(std::move(base)), options_(std::move(options)) {}
  static absl::StatusOr<std::unique_ptr<FermiObjective>> CreateShared(
      std::shared_ptr<const Model> base, FermiOptions options);

  // psi_i, d psi_i / d F_i (rows of upstream) and d psi_i / d W (rows of dual, n x dual_size()).
  void PsiTerms(const Vector& w, const Batch& batch, const Matrix& f, Vector* psi,
                Matrix* upstream, Matrix* dual) const;

  std::shared_ptr<const Model> base_;  // shared by the objectives WithMarginals derives
  FermiOptions options_;
};

}  // namespace fedsilo
