#include "common/model/fermi_objective.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

#include "common/base/check.h"

namespace fedsilo {

absl::StatusOr<FairnessNotion> ParseFairnessNotion(const std::string& name) {
  if (name == "demographic_parity") return FairnessNotion::kDemographicParity;
  if (name == "equalized_odds") return FairnessNotion::kEqualizedOdds;
  if (name == "equal_opportunity") return FairnessNotion::kEqualOpportunity;
  return absl::InvalidArgumentError(
      "fairness notion must be demographic_parity, equalized_odds or equal_opportunity, got '" +
      name + "'");
}

int FermiNumBlocks(FairnessNotion notion, int num_classes) {
  return notion == FairnessNotion::kEqualizedOdds ? num_classes : 1;
}

int FermiCountCell(FairnessNotion notion, int label, int group, int num_groups) {
  switch (notion) {
    case FairnessNotion::kDemographicParity:
      return group;
    case FairnessNotion::kEqualizedOdds:
      return label * num_groups + group;
    case FairnessNotion::kEqualOpportunity:
      return label == 1 ? group : -1;
  }
  return -1;
}

absl::StatusOr<Matrix> EmpiricalGroupMarginals(const Dataset& data, std::span<const int> rows,
                                               FairnessNotion notion) {
  if (!data.has_groups() || data.num_groups < 2) {
    return absl::InvalidArgumentError(
        "fairness: the dataset has no sensitive attribute with at least 2 groups (set "
        "data.sensitive)");
  }
  const int k = data.num_groups;
  const int blocks = FermiNumBlocks(notion, data.num_classes);
  Matrix counts = Matrix::Zero(blocks, k);
  for (const int r : rows) {
    const int cell = FermiCountCell(notion, data.y[static_cast<size_t>(r)],
                                    data.group[static_cast<size_t>(r)], k);
    if (cell >= 0) counts(cell / k, cell % k) += 1.0;
  }
  for (int b = 0; b < blocks; ++b) {
    const double total = counts.row(b).sum();
    if (total <= 0.0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fairness: no training record in conditioning block ", b, " (label never occurs)"));
    }
    counts.row(b) /= total;
    // A group absent from a block: a tiny mass keeps P^{-1/2} finite (its W row then only
    // multiplies records that do not exist).
    for (int j = 0; j < k; ++j) counts(b, j) = std::max(counts(b, j), 1e-12);
    counts.row(b) /= counts.row(b).sum();
  }
  return counts;
}

Matrix MarginalsFromCounts(const Vector& counts, int num_blocks, int num_groups,
                           double min_count) {
  FEDSILO_CHECK(counts.size() == static_cast<Eigen::Index>(num_blocks) * num_groups,
                "counts of the wrong length");
  Matrix p(num_blocks, num_groups);
  for (int b = 0; b < num_blocks; ++b) {
    for (int j = 0; j < num_groups; ++j) {
      const double c = counts[b * num_groups + j];
      p(b, j) = std::isfinite(c) ? std::max(c, min_count) : min_count;
    }
    const double total = p.row(b).sum();
    if (total > 0.0) {
      p.row(b) /= total;
    } else {
      p.row(b).setConstant(1.0 / num_groups);
    }
    for (int j = 0; j < num_groups; ++j) p(b, j) = std::max(p(b, j), 1e-12);
    p.row(b) /= p.row(b).sum();
  }
  return p;
}

absl::StatusOr<std::unique_ptr<FermiObjective>> FermiObjective::Create(std::unique_ptr<Model> base,
                                                                       FermiOptions options) {
  return CreateShared(std::shared_ptr<const Model>(std::move(base)), std::move(options));
}

absl::StatusOr<std::unique_ptr<FermiObjective>> FermiObjective::WithMarginals(
    Matrix group_marginals) const {
  FermiOptions options = options_;
  options.group_marginals = std::move(group_marginals);
  return CreateShared(base_, std::move(options));
}

absl::StatusOr<std::unique_ptr<FermiObjective>> FermiObjective::CreateShared(
    std::shared_ptr<const Model> base, FermiOptions options) {
  if (base == nullptr || !base->has_probability_vjp()) {
    return absl::InvalidArgumentError(
        "fairness: the model must provide probability vector-Jacobian products (logistic, "
        "softmax or mlp)");
  }
  if (!(options.lambda >= 0.0) || !std::isfinite(options.lambda)) {
    return absl::InvalidArgumentError(
        absl::StrCat("fairness.lambda must be finite and >= 0, got ", options.lambda));
  }
  if (options.num_groups < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("fairness: needs at least 2 groups, got ", options.num_groups));
  }
  const int blocks = FermiNumBlocks(options.notion, base->num_classes());
  const Matrix& p = options.group_marginals;
  if (p.rows() != blocks || p.cols() != options.num_groups) {
    return absl::InvalidArgumentError(absl::StrCat(
        "fairness.group_marginals: expected ", blocks, " x ", options.num_groups,
        " values (blocks x groups), got ", p.rows(), " x ", p.cols()));
  }
  for (int b = 0; b < blocks; ++b) {
    if (!(p.row(b).minCoeff() > 0.0) || !p.row(b).allFinite() ||
        std::abs(p.row(b).sum() - 1.0) > 1e-6) {
      return absl::InvalidArgumentError(
          "fairness.group_marginals: each block must be positive and sum to 1");
    }
  }
  return std::unique_ptr<FermiObjective>(new FermiObjective(std::move(base), std::move(options)));
}

int FermiObjective::BlockOf(int label) const {
  switch (options_.notion) {
    case FairnessNotion::kDemographicParity:
      return 0;
    case FairnessNotion::kEqualizedOdds:
      return label;
    case FairnessNotion::kEqualOpportunity:
      return label == 1 ? 0 : -1;
  }
  return -1;
}

Vector FermiObjective::InitialParameters(Rng& rng) const {
  Vector w = Vector::Zero(num_parameters());
  w.head(dual_offset()) = base_->InitialParameters(rng);
  return w;
}

void FermiObjective::PsiTerms(const Vector& w, const Batch& batch, const Matrix& f, Vector* psi,
                              Matrix* upstream, Matrix* dual) const {
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  FEDSILO_CHECK(batch.data->has_groups(), "fairness objective on records without groups");
  const int n = batch.size();
  const int k = options_.num_groups;
  const int m = base_->num_classes();
  psi->setZero(n);
  upstream->setZero(n, m);
  if (dual != nullptr) dual->setZero(n, dual_size());
  // sum_j W_b[j, c]^2 for each block b and class c, and 1 / sqrt(P_b[s]): once, not per record.
  const int blocks = FermiNumBlocks(options_.notion, m);
  Matrix col_sq_of(blocks, m);
  for (int b = 0; b < blocks; ++b) {
    const Eigen::Map<const Matrix> W(w.data() + dual_offset() + b * k * m, k, m);
    col_sq_of.row(b) = W.array().square().colwise().sum();
  }
  const Matrix inv_sqrt_p_of = options_.group_marginals.array().sqrt().inverse().matrix();
  for (int i = 0; i < n; ++i) {
    const int r = batch.rows[i];
    const int b = BlockOf(batch.data->y[static_cast<size_t>(r)]);
    if (b < 0) continue;
    const int s = batch.data->group[static_cast<size_t>(r)];
    FEDSILO_CHECK(s >= 0 && s < k, "group id out of range");
    const int offset = dual_offset() + b * k * m;
    const Eigen::Map<const Matrix> W(w.data() + offset, k, m);
    const double inv_sqrt_p = inv_sqrt_p_of(b, s);
    const auto fi = f.row(i);
    // psi = -sum_{j,c} W[j,c]^2 F[c] + 2 W[s,:] . F / sqrt(P[s]) - 1.
    const auto col_sq = col_sq_of.row(b);
    (*psi)[i] = -col_sq.dot(fi) + 2.0 * inv_sqrt_p * W.row(s).dot(fi) - 1.0;
    // d psi / d F[c] = -sum_j W[j,c]^2 + 2 W[s,c] / sqrt(P[s]).
    upstream->row(i) = -col_sq + 2.0 * inv_sqrt_p * W.row(s);
    if (dual != nullptr) {
      // d psi / d W[j,c] = -2 W[j,c] F[c] + 2 [j = s] F[c] / sqrt(P[s]).
      Eigen::Map<Matrix> G(dual->row(i).data() + b * k * m, k, m);
      G = -2.0 * (W.array().rowwise() * fi.array());
      G.row(s) += 2.0 * inv_sqrt_p * fi;
    }
  }
}

Vector FermiObjective::PerExamplePsi(const Vector& w, const Batch& batch) const {
  const Vector theta = w.head(dual_offset());
  Matrix f, upstream;
  Vector psi;
  base_->PredictBatchProba(theta, batch, &f);
  PsiTerms(w, batch, f, &psi, &upstream, nullptr);
  return psi;
}

double FermiObjective::Loss(const Vector& w, const Batch& batch) const {
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  if (batch.size() == 0) return 0.0;
  const Vector theta = w.head(dual_offset());
  const double base_loss = base_->Loss(theta, batch);
  if (options_.lambda == 0.0) return base_loss;
  return base_loss + options_.lambda * PerExamplePsi(w, batch).mean();
}

void FermiObjective::Gradient(const Vector& w, const Batch& batch, Vector* grad) const {
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  grad->setZero(num_parameters());
  const int n = batch.size();
  if (n == 0) return;
  const Vector theta = w.head(dual_offset());
  Vector base_grad;
  base_->Gradient(theta, batch, &base_grad);
  grad->head(dual_offset()) = base_grad;
  if (options_.lambda == 0.0) return;
  Matrix f, upstream, dual;
  Vector psi, vjp_sum;
  base_->PredictBatchProba(theta, batch, &f);
  PsiTerms(w, batch, f, &psi, &upstream, &dual);
  base_->ProbabilityVjpSum(theta, batch, upstream, &vjp_sum);
  grad->head(dual_offset()) += (options_.lambda / n) * vjp_sum;
  grad->tail(dual_size()) = (options_.lambda / n) * dual.colwise().sum().transpose();
}

void FermiObjective::PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const {
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  const int n = batch.size();
  out->setZero(n, num_parameters());
  if (n == 0) return;
  const Vector theta = w.head(dual_offset());
  Matrix base_rows;
  base_->PerExampleGradients(theta, batch, &base_rows);
  out->leftCols(dual_offset()) = base_rows;
  if (options_.lambda == 0.0) return;
  Matrix f, upstream, dual, vjp;
  Vector psi;
  base_->PredictBatchProba(theta, batch, &f);
  PsiTerms(w, batch, f, &psi, &upstream, &dual);
  base_->PerExampleProbabilityVjp(theta, batch, upstream, &vjp);
  out->leftCols(dual_offset()) += options_.lambda * vjp;
  out->rightCols(dual_size()) = options_.lambda * dual;
}

int FermiObjective::ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                                       Vector* sum) const {
  if (options_.lambda != 0.0) return Model::ClippedGradientSum(w, batch, clip, sum);
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  sum->setZero(num_parameters());
  if (batch.size() == 0) return 0;
  Vector part;
  const int clipped = base_->ClippedGradientSum(w.head(dual_offset()), batch, clip, &part);
  sum->head(dual_offset()) = part;
  return clipped;
}

int FermiObjective::ClippedBlocksGradientSum(const Vector& w, const Batch& batch,
                                             std::span<const ClipBlock> blocks,
                                             Vector* sum) const {
  if (blocks.size() != 2 || blocks[0].size != dual_offset() || blocks[1].size != dual_size()) {
    return Model::ClippedBlocksGradientSum(w, batch, blocks, sum);
  }
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  FEDSILO_CHECK(blocks[0].clip > 0.0 && blocks[1].clip > 0.0,
                "clip block with a non-positive clip");
  sum->setZero(num_parameters());
  if (batch.size() == 0) return 0;
  const Vector theta = w.head(dual_offset());
  Vector part;
  if (options_.lambda == 0.0) {  // W's gradient is 0: nothing of it is clipped
    const int clipped = base_->ClippedGradientSum(theta, batch, blocks[0].clip, &part);
    sum->head(dual_offset()) = part;
    return clipped;
  }
  Matrix f, upstream, dual;
  Vector psi;
  base_->PredictBatchProba(theta, batch, &f);
  PsiTerms(w, batch, f, &psi, &upstream, &dual);
  upstream *= options_.lambda;
  int clipped =
      base_->ClippedGradientPlusVjpSum(theta, batch, upstream, f, blocks[0].clip, &part);
  sum->head(dual_offset()) = part;
  dual *= options_.lambda;
  clipped += ClipAndSumRows(dual, blocks[1].clip, &part);
  sum->tail(dual_size()) = part;
  return clipped;
}

void FermiObjective::HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                                          Vector* out) const {
  FEDSILO_CHECK(v.size() == num_parameters(), "direction vector has the wrong length");
  const double norm = v.norm();
  if (norm == 0.0) {
    out->setZero(num_parameters());
    return;
  }
  const double h = 1e-5 * std::max(1.0, w.norm()) / norm;
  Vector plus, minus;
  Gradient(w + h * v, batch, &plus);
  Gradient(w - h * v, batch, &minus);
  *out = (plus - minus) / (2.0 * h);
}

void FermiObjective::PredictProba(const Vector& w, const Matrix& x, Matrix* out) const {
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  base_->PredictProba(w.head(dual_offset()), x, out);
}

void FermiObjective::PredictBatchProba(const Vector& w, const Batch& batch, Matrix* out) const {
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  base_->PredictBatchProba(w.head(dual_offset()), batch, out);
}

}  // namespace fedsilo
