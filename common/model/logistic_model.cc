#include "common/model/logistic_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

#include "common/base/check.h"

namespace fedsilo {
namespace {

// log(1 + e^t) without overflow or cancellation.
inline double Softplus(double t) { return std::max(t, 0.0) + std::log1p(std::exp(-std::abs(t))); }

// 1 / (1 + e^-t), two-sided so exp never overflows.
inline double Sigmoid(double t) {
  if (t >= 0.0) return 1.0 / (1.0 + std::exp(-t));
  const double e = std::exp(t);
  return e / (1.0 + e);
}

// p (1 - p) = e^-|t| / (1 + e^-|t|)^2, accurate even when p rounds to 0 or 1.
inline double SigmoidVariance(double t) {
  const double e = std::exp(-std::abs(t));
  const double q = 1.0 + e;
  return e / (q * q);
}

// Batches are processed in blocks of up to kBlock rows held in stack arrays (no heap, no TLS):
// first every logit of the block (independent dot products that pipeline well), then the
// sigmoids in one vectorised, branch-free pass, then the writes.
constexpr int kBlock = 64;
using BlockArray = Eigen::Array<double, Eigen::Dynamic, 1, Eigen::ColMajor, kBlock, 1>;

// z[i] = x_{rows[i]} . w for i < len. Four rows at a time, so each packet of w is loaded once
// for four products and the four accumulators hide the add latency (~1.5x faster than four
// separate Eigen dot products on the d = 105 hot path). Deterministic for a given build.
void BlockDots(const Matrix& x, const int* rows, int len, const double* w, BlockArray* z) {
  using Packet = Eigen::internal::packet_traits<double>::type;
  constexpr int kPacket = Eigen::internal::packet_traits<double>::size;
  namespace ei = Eigen::internal;
  const int d = static_cast<int>(x.cols());
  int i = 0;
  for (; i + 4 <= len; i += 4) {
    const double* x0 = x.row(rows[i]).data();
    const double* x1 = x.row(rows[i + 1]).data();
    const double* x2 = x.row(rows[i + 2]).data();
    const double* x3 = x.row(rows[i + 3]).data();
    Packet s0 = ei::pset1<Packet>(0.0), s1 = s0, s2 = s0, s3 = s0;
    int j = 0;
    for (; j + kPacket <= d; j += kPacket) {
      const Packet wj = ei::ploadu<Packet>(w + j);
      s0 = ei::pmadd(ei::ploadu<Packet>(x0 + j), wj, s0);
      s1 = ei::pmadd(ei::ploadu<Packet>(x1 + j), wj, s1);
      s2 = ei::pmadd(ei::ploadu<Packet>(x2 + j), wj, s2);
      s3 = ei::pmadd(ei::ploadu<Packet>(x3 + j), wj, s3);
    }
    double t0 = ei::predux(s0), t1 = ei::predux(s1), t2 = ei::predux(s2), t3 = ei::predux(s3);
    for (; j < d; ++j) {
      t0 += x0[j] * w[j];
      t1 += x1[j] * w[j];
      t2 += x2[j] * w[j];
      t3 += x3[j] * w[j];
    }
    (*z)[i] = t0;
    (*z)[i + 1] = t1;
    (*z)[i + 2] = t2;
    (*z)[i + 3] = t3;
  }
  // Remaining rows: the same accumulation order, so a record's logit does not depend on its
  // position in the batch.
  for (; i < len; ++i) {
    const double* x0 = x.row(rows[i]).data();
    Packet s0 = ei::pset1<Packet>(0.0);
    int j = 0;
    for (; j + kPacket <= d; j += kPacket) {
      s0 = ei::pmadd(ei::ploadu<Packet>(x0 + j), ei::ploadu<Packet>(w + j), s0);
    }
    double t0 = ei::predux(s0);
    for (; j < d; ++j) t0 += x0[j] * w[j];
    (*z)[i] = t0;
  }
}

// A row's values other than 1 in kMaxSharedValues slots, zero after row.values (layouts with
// shared value columns: PackedRows::shared_value_columns).
template <typename View>
inline void LoadSharedValues(const View& row, double (&values)[kMaxSharedValues]) {
  for (int k = 0; k < kMaxSharedValues; ++k) values[k] = k < row.values ? row.value[k] : 0.0;
}

// x_row . w over the row's ones, from entry `first`: two partial sums, so that the adds do not
// all wait on each other.
template <typename View>
inline double SumOfOnes(const View& row, int first, const double* w) {
  double t0 = 0.0, t1 = 0.0;
  int k = first;
  for (; k + 2 <= row.entries; k += 2) {
    t0 += w[row.col[k]];
    t1 += w[row.col[k + 1]];
  }
  if (k < row.entries) t0 += w[row.col[k]];
  return t0 + t1;
}

// z[i] = x_{rows[i]} . w for i < len, over the rows' nonzeros only (the ones without a
// multiplication), read from `layout` (a SparseRows or PackedRowsOf: VisitRowLayout).
template <typename Layout>
void BlockSparseDots(const Layout& layout, const int* rows, int len, const double* w,
                     BlockArray* z) {
  // Sampled rows are scattered over the data: asking for all of them first lets their loads
  // overlap instead of waiting on a few at a time.
  for (int i = 0; i < len; ++i) layout.Prefetch(rows[i]);
  const std::span<const int32_t> shared = layout.SharedValueColumns();
  if (!shared.empty()) {  // the values' weights gathered once, the products side by side
    double shared_w[kMaxSharedValues] = {};
    for (size_t k = 0; k < shared.size(); ++k) shared_w[k] = w[shared[k]];
    for (int i = 0; i < len; ++i) {
      const auto row = layout.Row(rows[i]);
      double v[kMaxSharedValues];
      LoadSharedValues(row, v);
      double p[kMaxSharedValues];
      for (int k = 0; k < kMaxSharedValues; ++k) p[k] = v[k] * shared_w[k];
      const double values = ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
      (*z)[i] = values + SumOfOnes(row, row.values, w);
    }
    return;
  }
  for (int i = 0; i < len; ++i) {
    const auto row = layout.Row(rows[i]);
    double t0 = 0.0, t1 = 0.0;
    int k = 0;
    for (; k + 2 <= row.values; k += 2) {
      t0 += row.value[k] * w[row.col[k]];
      t1 += row.value[k + 1] * w[row.col[k + 1]];
    }
    if (k < row.values) t0 += row.value[k] * w[row.col[k]];
    (*z)[i] = (t0 + t1) + SumOfOnes(row, row.values, w);
  }
}

// out[0, d) += sum_i c_i x_{r_i} over the records given to Add, in their order. From nz (its
// layout chosen by VisitRowLayout) when not null, the records alternating between out and a
// second accumulator: the adds into a column that most records share (a numeric feature, a
// common category) then form two chains of dependent additions, each half as long, instead of
// one (Adult's private training loop: 37 -> 32 ms; four chains gave no more). Dense rows go into
// out directly. Finish adds the second accumulator into out.
class RecordSum {
 public:
  RecordSum(const Matrix& x, const SparseRows* nz, double* out)
      : x_(x), nz_(nz), out_(out), second_(Vector::Zero(nz != nullptr ? x.cols() : 0)) {}

  void Add(const int* rows, int len, const double* c) {
    if (nz_ == nullptr) {
      for (int i = 0; i < len; ++i) {
        Eigen::Map<Eigen::RowVectorXd>(out_, x_.cols()).noalias() += c[i] * x_.row(rows[i]);
      }
      return;
    }
    VisitRowLayout(*nz_, [&](const auto& layout) {
      const std::span<const int32_t> shared = layout.SharedValueColumns();
      if (shared.empty()) {
        const auto add_to = [](double* sum) {
          return [sum](const auto& row, double ci) {
            int k = 0;
            for (; k < row.values; ++k) sum[row.col[k]] += ci * row.value[k];
            for (; k < row.entries; ++k) sum[row.col[k]] += ci;
          };
        };
        AddRows(layout, rows, len, c, add_to(out_), add_to(second_.data()));
        return;
      }
      // The shared value columns' sums in registers, one set per accumulator, added into the
      // accumulators at the end.
      double even_values[kMaxSharedValues] = {}, odd_values[kMaxSharedValues] = {};
      const auto add_to = [](double* sum, double* values_sum) {
        return [sum, values_sum](const auto& row, double ci) {
          double v[kMaxSharedValues];
          LoadSharedValues(row, v);
          for (int k = 0; k < kMaxSharedValues; ++k) values_sum[k] += ci * v[k];
          for (int k = row.values; k < row.entries; ++k) sum[row.col[k]] += ci;
        };
      };
      AddRows(layout, rows, len, c, add_to(out_, even_values),
              add_to(second_.data(), odd_values));
      for (size_t k = 0; k < shared.size(); ++k) {
        out_[shared[k]] += even_values[k];
        second_[shared[k]] += odd_values[k];
      }
    });
    added_ += len;
  }

  // For the records in order: add_even(row, c[i]) and add_odd(row, c[i]) alternately, the
  // alternation continuing across calls (even adds into out_, odd into second_).
  template <typename Layout, typename AddEven, typename AddOdd>
  void AddRows(const Layout& layout, const int* rows, int len, const double* c,
               const AddEven& add_even, const AddOdd& add_odd) {
    int i = 0;
    if (len > 0 && (added_ & 1) != 0) {
      add_odd(layout.Row(rows[0]), c[0]);
      i = 1;
    }
    for (; i + 2 <= len; i += 2) {
      add_even(layout.Row(rows[i]), c[i]);
      add_odd(layout.Row(rows[i + 1]), c[i + 1]);
    }
    if (i < len) add_even(layout.Row(rows[i]), c[i]);
  }

  void Finish() {
    if (nz_ != nullptr) Eigen::Map<Vector>(out_, x_.cols()) += second_;
  }

 private:
  const Matrix& x_;
  const SparseRows* nz_;
  double* out_;
  Vector second_;
  int64_t added_ = 0;
};

// squared_norm[i] = ||x_{rows[i]}||^2 for i < len: from nz when not null.
void BlockSquaredNorms(const Matrix& x, const SparseRows* nz, const int* rows, int len,
                       BlockArray* squared_norm) {
  squared_norm->resize(len);
  if (nz == nullptr) {
    for (int i = 0; i < len; ++i) (*squared_norm)[i] = x.row(rows[i]).squaredNorm();
    return;
  }
  VisitRowLayout(*nz, [&](const auto& layout) {
    for (int i = 0; i < len; ++i) (*squared_norm)[i] = layout.Row(rows[i]).squared_norm;
  });
}

// z[i] = x_{rows[i]} . w_d + b for i < len, where w = [w_d, b]; from nz when not null.
void BlockLogits(const Matrix& x, const SparseRows* nz, const int* rows, int len, const Vector& w,
                 BlockArray* z) {
  z->resize(len);
  if (nz != nullptr) {
    VisitRowLayout(*nz,
                   [&](const auto& layout) { BlockSparseDots(layout, rows, len, w.data(), z); });
  } else {
    BlockDots(x, rows, len, w.data(), z);
  }
  *z += w[x.cols()];
}

// p = sigmoid(z) and, when q is not null, q = 1 - p = sigmoid(-z) for a block of logits, in one
// vectorised pass: sigmoid(t) = 1 / (1 + e) for t >= 0 and e / (1 + e) for t < 0, with
// e = exp(-|t|) <= 1.
void BlockSigmoids(const BlockArray& z, BlockArray* p, BlockArray* q) {
  const BlockArray e = (-z.abs()).exp();
  const BlockArray inv = (1.0 + e).inverse();
  const BlockArray small = e * inv;
  *p = (z >= 0.0).select(inv, small);
  if (q != nullptr) *q = (z >= 0.0).select(small, inv);
}

// r[i] = sigmoid(x_i . w_d + b) - y_i for the records rows[0, len). With `upstream` (the rows of
// the batch's upstream matrix for these records, from row `first`), r[i] also gets the
// probability VJP's factor (u_i1 - u_i0) p_i (1 - p_i): record i's loss gradient plus J_i^T u_i
// is then r[i] [x_i, 1]. With `probabilities` (the batch's [1 - p, p], rows from `first`), p is
// read from them instead of computed.
void BlockResiduals(const Dataset& data, const SparseRows* nz, const int* rows, int len,
                    const Vector& w, const Matrix* upstream, const Matrix* probabilities,
                    int first, BlockArray* r) {
  BlockArray z, p, q, labels(len);
  for (int i = 0; i < len; ++i) labels[i] = data.y[rows[i]];
  if (probabilities != nullptr) {
    q = probabilities->col(0).segment(first, len).array();
    p = probabilities->col(1).segment(first, len).array();
  } else {
    BlockLogits(data.x, nz, rows, len, w, &z);
    BlockSigmoids(z, &p, upstream != nullptr ? &q : nullptr);  // q only for the VJP's factor
  }
  *r = p - labels;
  if (upstream != nullptr) {
    const auto u = upstream->middleRows(first, len).array();
    *r += (u.col(1) - u.col(0)) * p * q;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<LogisticModel>> LogisticModel::Create(int input_dim,
                                                                     double init_scale) {
  if (input_dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic model: input dimension must be positive, got ", input_dim));
  }
  if (!(init_scale >= 0.0) || !std::isfinite(init_scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("logistic model: init_scale must be finite and >= 0, got ", init_scale));
  }
  return std::unique_ptr<LogisticModel>(new LogisticModel(input_dim, init_scale));
}

Vector LogisticModel::InitialParameters(Rng& rng) const {
  Vector w = Vector::Zero(num_parameters());
  if (init_scale_ > 0.0) {
    for (int j = 0; j < dim_; ++j) w[j] = init_scale_ * (2.0 * rng.Uniform() - 1.0);
  }
  return w;
}

void LogisticModel::CheckArgs(const Vector& w, const Batch& batch) const {
  CheckBatchArguments(*this, dim_, w, batch);
}

double LogisticModel::Loss(const Vector& w, const Batch& batch) const {
  CheckArgs(w, batch);
  const int m = batch.size();
  if (m == 0) return 0.0;
  return LossSum(w, batch, nullptr) / m;
}

double LogisticModel::LossSumAndPredictions(const Vector& w, const Batch& batch,
                                            std::vector<int>* predicted) const {
  CheckArgs(w, batch);
  predicted->resize(static_cast<size_t>(batch.size()));
  return LossSum(w, batch, predicted->data());
}

double LogisticModel::LossSum(const Vector& w, const Batch& batch, int* predicted) const {
  const int m = batch.size();
  const Matrix& x = batch.data->x;
  const auto& y = batch.data->y;
  const SparseRows* nz = UsableNonzeros(*batch.data, w);
  double total = 0.0;
  BlockArray z;
  for (int start = 0; start < m; start += kBlock) {
    const int len = std::min(kBlock, m - start);
    BlockLogits(x, nz, batch.rows.data() + start, len, w, &z);
    for (int i = 0; i < len; ++i) {
      total += Softplus(y[batch.rows[start + i]] ? -z[i] : z[i]);  // -log p(y | x)
    }
    if (predicted != nullptr) {  // PredictProba's argmax of [1 - p, p], class 0 on a tie
      for (int i = 0; i < len; ++i) predicted[start + i] = Sigmoid(z[i]) > Sigmoid(-z[i]) ? 1 : 0;
    }
  }
  return total;
}

void LogisticModel::Gradient(const Vector& w, const Batch& batch, Vector* grad) const {
  CheckArgs(w, batch);
  grad->setZero(num_parameters());
  const int m = batch.size();
  if (m == 0) return;
  const Matrix& x = batch.data->x;
  auto gw = grad->head(dim_);
  double gb = 0.0;
  BlockArray res;
  const SparseRows* nz = UsableNonzeros(*batch.data, w);
  RecordSum record_sum(x, nz, gw.data());
  for (int start = 0; start < m; start += kBlock) {
    const int len = std::min(kBlock, m - start);
    const int* rows = batch.rows.data() + start;
    BlockResiduals(*batch.data, nz, rows, len, w, nullptr, nullptr, 0, &res);
    record_sum.Add(rows, len, res.data());
    gb += res.sum();
  }
  record_sum.Finish();
  (*grad)[dim_] = gb;
  *grad /= m;
}

void LogisticModel::PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const {
  CheckArgs(w, batch);
  const int m = batch.size();
  out->resize(m, num_parameters());
  const Matrix& x = batch.data->x;
  BlockArray res;
  for (int start = 0; start < m; start += kBlock) {
    const int len = std::min(kBlock, m - start);
    BlockResiduals(*batch.data, nullptr, batch.rows.data() + start, len, w, nullptr, nullptr, 0,
                   &res);
    for (int i = 0; i < len; ++i) {
      // Row i = r_i [x_i, 1].
      out->row(start + i).head(dim_).noalias() = res[i] * x.row(batch.rows[start + i]);
      (*out)(start + i, dim_) = res[i];
    }
  }
}

int LogisticModel::ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                                      Vector* sum) const {
  CheckArgs(w, batch);
  return ClippedSum(w, batch, nullptr, nullptr, clip, sum);
}

int LogisticModel::ClippedGradientPlusVjpSum(const Vector& w, const Batch& batch,
                                             const Matrix& upstream, const Matrix& probabilities,
                                             double clip, Vector* sum) const {
  CheckArgs(w, batch);
  FEDSILO_CHECK(upstream.rows() == batch.size() && upstream.cols() == 2,
                "upstream has the wrong shape");
  FEDSILO_CHECK(probabilities.rows() == batch.size() && probabilities.cols() == 2,
                "probabilities have the wrong shape");
  return ClippedSum(w, batch, &upstream, &probabilities, clip, sum);
}

int LogisticModel::ClippedSum(const Vector& w, const Batch& batch, const Matrix* upstream,
                              const Matrix* probabilities, double clip, Vector* sum) const {
  sum->setZero(num_parameters());
  const int m = batch.size();
  const Matrix& x = batch.data->x;
  auto sw = sum->head(dim_);
  double sb = 0.0;
  int clipped = 0;
  BlockArray res, squared_norm;
  int kept_rows[kBlock];
  double kept_coefficient[kBlock];
  const SparseRows* nz = UsableNonzeros(*batch.data, w);
  RecordSum record_sum(x, nz, sw.data());
  for (int start = 0; start < m; start += kBlock) {
    const int len = std::min(kBlock, m - start);
    const int* rows = batch.rows.data() + start;
    BlockResiduals(*batch.data, nz, rows, len, w, upstream, probabilities, start, &res);
    // Record i's gradient is r_i [x_i, 1]: its norm is |r_i| sqrt(||x_i||^2 + 1), and it is
    // scaled by min(1, clip / norm). The block's norms and scales are computed side by side
    // (vectorized, no branch on whether a record is clipped), then the rows are added.
    BlockSquaredNorms(x, nz, rows, len, &squared_norm);
    const BlockArray norm = res.abs() * (squared_norm + 1.0).sqrt();
    const BlockArray coefficient = res * (clip / norm).min(1.0);
    int kept = 0;
    for (int i = 0; i < len; ++i) {
      if (!std::isfinite(norm[i])) {
        ++clipped;  // a non-finite record gradient contributes zero (common/dp/clipping.h)
        continue;
      }
      clipped += norm[i] > clip ? 1 : 0;
      kept_rows[kept] = rows[i];
      kept_coefficient[kept++] = coefficient[i];
      sb += coefficient[i];
    }
    record_sum.Add(kept_rows, kept, kept_coefficient);
  }
  record_sum.Finish();
  (*sum)[dim_] = sb;
  return clipped;
}

void LogisticModel::HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                                         Vector* out) const {
  CheckArgs(w, batch);
  FEDSILO_CHECK(v.size() == num_parameters(), "direction vector has the wrong length");
  out->setZero(num_parameters());
  const int m = batch.size();
  if (m == 0) return;
  // H = (1/m) sum_i p_i (1 - p_i) xa_i xa_i^T with xa_i = [x_i, 1], so
  // H v = (1/m) sum_i s_i xa_i with s_i = p_i (1 - p_i) (xa_i . v).
  const Matrix& x = batch.data->x;
  auto hw = out->head(dim_);
  double hb = 0.0;
  BlockArray z, u;
  for (int start = 0; start < m; start += kBlock) {
    const int len = std::min(kBlock, m - start);
    BlockLogits(x, nullptr, batch.rows.data() + start, len, w, &z);
    BlockLogits(x, nullptr, batch.rows.data() + start, len, v, &u);
    for (int i = 0; i < len; ++i) {
      const double s = SigmoidVariance(z[i]) * u[i];
      hw.noalias() += s * x.row(batch.rows[start + i]).transpose();
      hb += s;
    }
  }
  (*out)[dim_] = hb;
  *out /= m;
}

void LogisticModel::PredictProba(const Vector& w, const Matrix& x, Matrix* out) const {
  FEDSILO_CHECK(w.size() == num_parameters(), "parameter vector has the wrong length");
  FEDSILO_CHECK(x.cols() == dim_, "feature matrix width differs from input_dim");
  const auto wd = w.head(dim_);
  const double b = w[dim_];
  out->resize(x.rows(), 2);
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    const double z = x.row(i).dot(wd) + b;
    (*out)(i, 0) = Sigmoid(-z);
    (*out)(i, 1) = Sigmoid(z);
  }
}

void LogisticModel::PredictBatchProba(const Vector& w, const Batch& batch, Matrix* out) const {
  CheckArgs(w, batch);
  const int m = batch.size();
  out->resize(m, 2);
  const SparseRows* nz = UsableNonzeros(*batch.data, w);
  BlockArray z, p, q;
  for (int start = 0; start < m; start += kBlock) {
    const int len = std::min(kBlock, m - start);
    BlockLogits(batch.data->x, nz, batch.rows.data() + start, len, w, &z);
    BlockSigmoids(z, &p, &q);
    out->col(0).segment(start, len) = q.matrix();
    out->col(1).segment(start, len) = p.matrix();
  }
}

void LogisticModel::PerExampleProbabilityVjp(const Vector& w, const Batch& batch,
                                             const Matrix& upstream, Matrix* out) const {
  CheckArgs(w, batch);
  const int m = batch.size();
  FEDSILO_CHECK(upstream.rows() == m && upstream.cols() == 2, "upstream has the wrong shape");
  out->resize(m, num_parameters());
  const Matrix& x = batch.data->x;
  const auto wd = w.head(dim_);
  const double b = w[dim_];
  for (int i = 0; i < m; ++i) {
    // F = [1 - p, p] with p = sigmoid(z): u . dF/dz = (u_1 - u_0) p (1 - p); dz/dw = [x, 1].
    const auto xi = x.row(batch.rows[i]);
    const double z = xi.dot(wd) + b;
    const double s = (upstream(i, 1) - upstream(i, 0)) * SigmoidVariance(z);
    out->row(i).head(dim_).noalias() = s * xi;
    (*out)(i, dim_) = s;
  }
}

void LogisticModel::ProbabilityVjpSum(const Vector& w, const Batch& batch, const Matrix& upstream,
                                      Vector* sum) const {
  CheckArgs(w, batch);
  const int m = batch.size();
  FEDSILO_CHECK(upstream.rows() == m && upstream.cols() == 2, "upstream has the wrong shape");
  sum->setZero(num_parameters());
  const SparseRows* nz = UsableNonzeros(*batch.data, w);
  RecordSum record_sum(batch.data->x, nz, sum->data());
  double sb = 0.0;
  BlockArray z, p, q;
  for (int start = 0; start < m; start += kBlock) {
    const int len = std::min(kBlock, m - start);
    const int* rows = batch.rows.data() + start;
    BlockLogits(batch.data->x, nz, rows, len, w, &z);
    BlockSigmoids(z, &p, &q);
    // J_i^T u_i = (u_i1 - u_i0) p_i (1 - p_i) [x_i, 1] (PerExampleProbabilityVjp).
    const auto u = upstream.middleRows(start, len).array();
    const BlockArray s = (u.col(1) - u.col(0)) * p * q;
    record_sum.Add(rows, len, s.data());
    sb += s.sum();
  }
  record_sum.Finish();
  (*sum)[dim_] = sb;
}

}  // namespace fedsilo
