#include "common/model/softmax_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/str_cat.h"

#include "common/base/check.h"

namespace fedsilo {
namespace {

// Batches are processed in chunks of at most this many rows: bounded scratch memory, and the
// result is independent of how large the batch is relative to any cache.
constexpr int kChunk = 256;

using ConstMap = Eigen::Map<const Matrix>;
using MutMap = Eigen::Map<Matrix>;

struct Workspace {
  Matrix x;  // gathered features of one chunk (rows x d)
  Matrix z;  // logits, then probabilities / residuals (rows x m)
  Matrix u;  // HVP: directional derivative of the logits (rows x m)
};

Workspace& ThreadWorkspace() {
  thread_local Workspace ws;
  return ws;
}

void Gather(const Batch& batch, int start, int len, Matrix* xb) {
  const Matrix& x = batch.data->x;
  xb->resize(len, x.cols());
  for (int i = 0; i < len; ++i) xb->row(i) = x.row(batch.rows[start + i]);
}

// z = x Wd^T + 1 b^T for W = [Wd | b] (m x (d + 1), row-major).
template <typename X>
void Logits(const ConstMap& W, const X& x, Matrix* z) {
  const Eigen::Index d = W.cols() - 1;
  z->resize(x.rows(), W.rows());
  z->noalias() = x * W.leftCols(d).transpose();
  z->rowwise() += W.col(d).transpose();
}

// Row-wise softmax in place; returns nothing. Max-shifted, so exp never overflows.
void SoftmaxRowsInPlace(Matrix* z) {
  for (Eigen::Index i = 0; i < z->rows(); ++i) {
    auto row = z->row(i);
    const double mx = row.maxCoeff();
    row = (row.array() - mx).exp();
    row /= row.sum();
  }
}

// sum_i [logsumexp(z_i) - z_i[y_i]] over the chunk.
double SumNegLogLik(const Matrix& z, const Batch& batch, int start) {
  double total = 0.0;
  for (Eigen::Index i = 0; i < z.rows(); ++i) {
    const auto row = z.row(i);
    const double mx = row.maxCoeff();
    const double lse = mx + std::log((row.array() - mx).exp().sum());
    total += lse - row[batch.data->y[batch.rows[start + i]]];
  }
  return total;
}

// Softmax, then subtract the one-hot label: row i becomes d loss_i / d logits_i = p_i - e_{y_i}.
void Residuals(const Batch& batch, int start, Matrix* z) {
  SoftmaxRowsInPlace(z);
  for (Eigen::Index i = 0; i < z->rows(); ++i) (*z)(i, batch.data->y[batch.rows[start + i]]) -= 1.0;
}

// out += sum_i r_i [x_i, 1]^T over the first `len` rows of r and x (out is m x (d + 1)).
void AddOuterProducts(const Matrix& r, const Matrix& x, int len, MutMap* out) {
  const Eigen::Index d = x.cols();
  out->leftCols(d).noalias() += r.topRows(len).transpose() * x.topRows(len);
  out->col(d) += r.topRows(len).colwise().sum().transpose();
}

// Row `row` of `out` (viewed as the m x (d + 1) matrix) = r_i [x_i, 1]^T.
void SetOuterProduct(const Matrix& r, const Matrix& x, int i, Matrix* out, int row) {
  const Eigen::Index d = x.cols();
  MutMap Gi(out->row(row).data(), r.cols(), d + 1);
  Gi.leftCols(d).noalias() = r.row(i).transpose() * x.row(i);
  Gi.col(d) = r.row(i).transpose();
}

// Row i of the probabilities p becomes p_i .* (shift + u_i - p_i . u_i), u_i = u.row(start + i):
// with shift 0, u_i^T dF/dz_i (dF/dz = diag(p) - p p^T); with shift 1, p_i plus it.
void VjpFactorsInPlace(const Matrix& u, int start, double shift, Matrix* p) {
  for (Eigen::Index i = 0; i < p->rows(); ++i) {
    const auto ui = u.row(start + i);
    const double pu = p->row(i).dot(ui);
    p->row(i).array() *= shift + (ui.array() - pu);
  }
}

// For the chunk [start, start + len) of the batch: ws->x its rows, ws->z the factors
// p_i .* (u_i - p_i . u_i) of its probabilities' VJPs with upstream's rows.
void ChunkVjpFactors(const ConstMap& W, const Batch& batch, const Matrix& upstream, int start,
                     int len, Workspace* ws) {
  Gather(batch, start, len, &ws->x);
  Logits(W, ws->x, &ws->z);
  SoftmaxRowsInPlace(&ws->z);
  VjpFactorsInPlace(upstream, start, 0.0, &ws->z);  // u^T dF/dz; the logits are W [x, 1]
}

}  // namespace

absl::StatusOr<std::unique_ptr<SoftmaxModel>> SoftmaxModel::Create(int input_dim,
                                                                   int num_classes,
                                                                   double init_scale) {
  if (input_dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("softmax model: input dimension must be positive, got ", input_dim));
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("softmax model: needs at least 2 classes, got ", num_classes));
  }
  if (static_cast<long long>(num_classes) * (input_dim + 1LL) > (1LL << 31) - 1) {
    return absl::InvalidArgumentError("softmax model: too many parameters");
  }
  if (!(init_scale >= 0.0) || !std::isfinite(init_scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("softmax model: init_scale must be finite and >= 0, got ", init_scale));
  }
  return std::unique_ptr<SoftmaxModel>(new SoftmaxModel(input_dim, num_classes, init_scale));
}

Vector SoftmaxModel::InitialParameters(Rng& rng) const {
  Vector w = Vector::Zero(num_parameters());
  if (init_scale_ > 0.0) {
    MutMap W(w.data(), classes_, dim_ + 1);
    for (int c = 0; c < classes_; ++c) {
      for (int j = 0; j < dim_; ++j) W(c, j) = init_scale_ * (2.0 * rng.Uniform() - 1.0);
    }
  }
  return w;
}

void SoftmaxModel::CheckArgs(const Vector& w, const Batch& batch) const {
  CheckBatchArguments(*this, dim_, w, batch);
}

double SoftmaxModel::Loss(const Vector& w, const Batch& batch) const {
  CheckArgs(w, batch);
  const int n = batch.size();
  if (n == 0) return 0.0;
  const ConstMap W(w.data(), classes_, dim_ + 1);
  Workspace& ws = ThreadWorkspace();
  double total = 0.0;
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    Logits(W, ws.x, &ws.z);
    total += SumNegLogLik(ws.z, batch, start);
  }
  return total / n;
}

void SoftmaxModel::Gradient(const Vector& w, const Batch& batch, Vector* grad) const {
  // The unclipped sum of the records' gradients (same chunks and summation order), averaged.
  ClippedGradientSum(w, batch, std::numeric_limits<double>::infinity(), grad);
  if (batch.size() > 0) *grad /= batch.size();
}

void SoftmaxModel::PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const {
  CheckArgs(w, batch);
  const int n = batch.size();
  out->resize(n, num_parameters());
  const ConstMap W(w.data(), classes_, dim_ + 1);
  Workspace& ws = ThreadWorkspace();
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    Logits(W, ws.x, &ws.z);
    Residuals(batch, start, &ws.z);
    for (int i = 0; i < len; ++i) SetOuterProduct(ws.z, ws.x, i, out, start + i);
  }
}

int SoftmaxModel::ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                                     Vector* sum) const {
  CheckArgs(w, batch);
  return ClippedSum(w, batch, nullptr, nullptr, clip, sum);
}

int SoftmaxModel::ClippedGradientPlusVjpSum(const Vector& w, const Batch& batch,
                                            const Matrix& upstream, const Matrix& probabilities,
                                            double clip, Vector* sum) const {
  CheckArgs(w, batch);
  FEDSILO_CHECK(upstream.rows() == batch.size() && upstream.cols() == classes_,
                "upstream has the wrong shape");
  FEDSILO_CHECK(probabilities.rows() == batch.size() && probabilities.cols() == classes_,
                "probabilities have the wrong shape");
  return ClippedSum(w, batch, &upstream, &probabilities, clip, sum);
}

int SoftmaxModel::ClippedSum(const Vector& w, const Batch& batch, const Matrix* upstream,
                             const Matrix* probabilities, double clip, Vector* sum) const {
  sum->setZero(num_parameters());
  const int n = batch.size();
  const ConstMap W(w.data(), classes_, dim_ + 1);
  MutMap S(sum->data(), classes_, dim_ + 1);
  Workspace& ws = ThreadWorkspace();
  int clipped = 0;
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    if (upstream != nullptr) {
      // The probabilities' VJP added to each row before the label, so that row i becomes the
      // factor of record i's vector.
      ws.z = probabilities->middleRows(start, len);
      VjpFactorsInPlace(*upstream, start, 1.0, &ws.z);
      for (int i = 0; i < len; ++i) ws.z(i, batch.data->y[batch.rows[start + i]]) -= 1.0;
    } else {
      Logits(W, ws.x, &ws.z);
      Residuals(batch, start, &ws.z);
    }
    // Record i's gradient is r_i [x_i, 1]^T (an outer product): its Frobenius norm is
    // ||r_i|| sqrt(||x_i||^2 + 1). Scale each residual row, then sum as for the gradient.
    for (int i = 0; i < len; ++i) {
      const double norm = ws.z.row(i).norm() * std::sqrt(ws.x.row(i).squaredNorm() + 1.0);
      if (!std::isfinite(norm)) {
        ws.z.row(i).setZero();  // contributes zero (common/dp/clipping.h); 0 * NaN is NaN,
        ws.x.row(i).setZero();  // so x_i's copy too
        ++clipped;
      } else if (norm > clip) {
        ws.z.row(i) *= clip / norm;
        ++clipped;
      }
    }
    AddOuterProducts(ws.z, ws.x, len, &S);
  }
  return clipped;
}

void SoftmaxModel::HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                                        Vector* out) const {
  CheckArgs(w, batch);
  FEDSILO_CHECK(v.size() == num_parameters(), "direction vector has the wrong length");
  out->setZero(num_parameters());
  const int n = batch.size();
  if (n == 0) return;
  // Per record, H_i = (diag(p) - p p^T) (x) xa xa^T, so H_i vec(V) = vec(s xa^T) with
  // u = V xa (the logits' directional derivative) and s = p .* (u - p . u).
  const ConstMap W(w.data(), classes_, dim_ + 1);
  const ConstMap V(v.data(), classes_, dim_ + 1);
  MutMap H(out->data(), classes_, dim_ + 1);
  Workspace& ws = ThreadWorkspace();
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    Logits(W, ws.x, &ws.z);
    SoftmaxRowsInPlace(&ws.z);
    Logits(V, ws.x, &ws.u);
    VjpFactorsInPlace(ws.u, 0, 0.0, &ws.z);  // s
    AddOuterProducts(ws.z, ws.x, len, &H);
  }
  *out /= n;
}

void SoftmaxModel::PredictProba(const Vector& w, const Matrix& x, Matrix* out) const {
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  FEDSILO_CHECK(x.cols() == dim_, "feature matrix width differs from input_dim");
  const ConstMap W(w.data(), classes_, dim_ + 1);
  Logits(W, x, out);
  SoftmaxRowsInPlace(out);
}

void SoftmaxModel::PerExampleProbabilityVjp(const Vector& w, const Batch& batch,
                                            const Matrix& upstream, Matrix* out) const {
  CheckArgs(w, batch);
  const int n = batch.size();
  FEDSILO_CHECK(upstream.rows() == n && upstream.cols() == classes_,
                "upstream has the wrong shape");
  out->resize(n, num_parameters());
  const ConstMap W(w.data(), classes_, dim_ + 1);
  Workspace& ws = ThreadWorkspace();
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    ChunkVjpFactors(W, batch, upstream, start, len, &ws);
    for (int i = 0; i < len; ++i) SetOuterProduct(ws.z, ws.x, i, out, start + i);
  }
}

void SoftmaxModel::ProbabilityVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                                     Vector* sum) const {
  CheckArgs(w, batch);
  const int n = batch.size();
  FEDSILO_CHECK(upstream.rows() == n && upstream.cols() == classes_,
                "upstream has the wrong shape");
  sum->setZero(num_parameters());
  const ConstMap W(w.data(), classes_, dim_ + 1);
  MutMap S(sum->data(), classes_, dim_ + 1);
  Workspace& ws = ThreadWorkspace();
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    ChunkVjpFactors(W, batch, upstream, start, len, &ws);
    AddOuterProducts(ws.z, ws.x, len, &S);
  }
}

}  // namespace fedsilo
