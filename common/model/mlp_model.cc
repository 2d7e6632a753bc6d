#include "common/model/mlp_model.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

#include "common/base/check.h"

namespace fedsilo {
namespace {

// Batches are processed in chunks of at most this many rows (bounded scratch memory; results do
// not depend on the thread or on the batch size beyond this fixed split).
constexpr int kChunk = 256;

using ConstMap = Eigen::Map<const Matrix>;
using MutMap = Eigen::Map<Matrix>;
using ConstVecMap = Eigen::Map<const Vector>;
using MutRowMap = Eigen::Map<Eigen::RowVectorXd>;

void SoftmaxRowsInPlace(Matrix* z) {
  for (Eigen::Index i = 0; i < z->rows(); ++i) {
    auto row = z->row(i);
    const double mx = row.maxCoeff();
    row = (row.array() - mx).exp();
    row /= row.sum();
  }
}

// The L2 norm of each row, exact to rounding at every magnitude: the sum of squares where it is
// safely inside the range of doubles, Eigen's scaled stableNorm where it under- or overflows.
void SafeRowNorms(const Matrix& m, Vector* out) {
  out->resize(m.rows());
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    const double sq = m.row(i).squaredNorm();
    (*out)[i] = sq >= 1e-290 && sq <= 1e290 ? std::sqrt(sq) : m.row(i).stableNorm();
  }
}

namespace ei = Eigen::internal;
using Packet = ei::packet_traits<double>::type;
constexpr int kPacket = ei::packet_traits<double>::size;

// One sweep of AccumulateScaledRows over P packets of out (P <= 8, all in registers). An FMA
// waits ~4 cycles on its accumulator, so narrow sweeps (P <= 4) run two independent sums, over
// the even and the odd terms, and add them at the end.
template <int P>
void AccumulatePackets(const double* base, int64_t stride, const int32_t* index,
                       const double* scale, int64_t count, const double* init, double* out) {
  constexpr int kStreams = P <= 4 ? 2 : 1;
  Packet acc[kStreams][P];
  for (int p = 0; p < P; ++p) {
    acc[0][p] = init != nullptr ? ei::ploadu<Packet>(init + p * kPacket) : ei::pset1<Packet>(0.0);
    if constexpr (kStreams == 2) acc[1][p] = ei::pset1<Packet>(0.0);
  }
  int64_t e = 0;
  for (; e + kStreams <= count; e += kStreams) {
    for (int t = 0; t < kStreams; ++t) {
      const Packet c = ei::pset1<Packet>(scale[e + t]);
      const double* r = base + index[e + t] * stride;
      for (int p = 0; p < P; ++p) {
        acc[t][p] = ei::pmadd(c, ei::ploadu<Packet>(r + p * kPacket), acc[t][p]);
      }
    }
  }
  for (; e < count; ++e) {
    const Packet c = ei::pset1<Packet>(scale[e]);
    const double* r = base + index[e] * stride;
    for (int p = 0; p < P; ++p) {
      acc[0][p] = ei::pmadd(c, ei::ploadu<Packet>(r + p * kPacket), acc[0][p]);
    }
  }
  for (int p = 0; p < P; ++p) {
    if constexpr (kStreams == 2) acc[0][p] = ei::padd(acc[0][p], acc[1][p]);
    ei::pstoreu(out + p * kPacket, acc[0][p]);
  }
}

// out[0, width) = init[0, width) (zeros when init is null) + sum_e scale[e] * row index[e] of
// `base` (a row-major matrix with `stride` columns), for e < count: the sparse first layer's
// product, row by row (base = W_1^T) and column by column (base = delta_1). Up to 8 packets of
// out stay in registers while every term is added, so memory sees only loads.
void AccumulateScaledRows(const double* base, int64_t stride, const int32_t* index,
                          const double* scale, int64_t count, const double* init, double* out,
                          int width) {
  int j = 0;
  const auto sweep = [&](auto packets) {
    constexpr int P = decltype(packets)::value;
    AccumulatePackets<P>(base + j, stride, index, scale, count,
                         init != nullptr ? init + j : nullptr, out + j);
    j += P * kPacket;
  };
  while (width - j >= 8 * kPacket) sweep(std::integral_constant<int, 8>());
  switch ((width - j) / kPacket) {
    case 7: sweep(std::integral_constant<int, 7>()); break;
    case 6: sweep(std::integral_constant<int, 6>()); break;
    case 5: sweep(std::integral_constant<int, 5>()); break;
    case 4: sweep(std::integral_constant<int, 4>()); break;
    case 3: sweep(std::integral_constant<int, 3>()); break;
    case 2: sweep(std::integral_constant<int, 2>()); break;
    case 1: sweep(std::integral_constant<int, 1>()); break;
    default: break;
  }
  for (; j < width; ++j) {
    double a = init != nullptr ? init[j] : 0.0;
    for (int64_t e = 0; e < count; ++e) a += scale[e] * base[index[e] * stride + j];
    out[j] = a;
  }
}

}  // namespace

// Scratch for one chunk of rows. Index k = l - 1 for layer l = 1..L.
struct MlpModel::Workspace {
  Matrix x;                   // a_0: the chunk's features (rows x n_0)
  std::vector<Matrix> z;      // z[k] = z_l (rows x n_l); z[L-1] are the output logits
  std::vector<Matrix> a;      // a[k] = a_l for hidden layers k < L - 1
  std::vector<Matrix> d1;     // f'(z_l) for hidden layers
  std::vector<Matrix> d2;     // f''(z_l) for hidden layers (HVP only)
  std::vector<Matrix> delta;  // delta[k] = d loss_i / d z_l
  // The first layer on sparse rows: W_1^T (n_0 x n_1), and the chunk's nonzeros by column
  // (column c's records and values at [column_start[c], column_start[c + 1])).
  Matrix wt;
  std::vector<int64_t> column_start, column_next;
  std::vector<int32_t> column_record;
  std::vector<double> column_value;
  Matrix column_sums;  // a group of columns' sums, one row each
  Matrix p;                   // output probabilities (rows x n_L)
  Matrix g;                   // backprop temporary: delta_l W_l
  // R-operator (directional derivatives along v), HVP only.
  std::vector<Matrix> rz, ra, rdelta;
  Matrix rg;

  void EnsureLayers(size_t num_layers) {
    if (z.size() == num_layers) return;
    for (auto* v : {&z, &a, &d1, &d2, &delta, &rz, &ra, &rdelta}) v->resize(num_layers);
  }
};

MlpModel::Workspace& MlpModel::ThreadWorkspace() {
  thread_local Workspace ws;
  return ws;
}

absl::StatusOr<MlpModel::Activation> MlpModel::ParseActivation(std::string_view name) {
  if (name == "relu") return Activation::kRelu;
  if (name == "elu") return Activation::kElu;
  if (name == "tanh") return Activation::kTanh;
  if (name == "sigmoid") return Activation::kSigmoid;
  return absl::InvalidArgumentError(absl::StrCat(
      "mlp model: unknown activation '", std::string(name), "' (expected relu, elu, tanh or sigmoid)"));
}

std::string_view MlpModel::ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kRelu: return "relu";
    case Activation::kElu: return "elu";
    case Activation::kTanh: return "tanh";
    case Activation::kSigmoid: return "sigmoid";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<MlpModel>> MlpModel::Create(int input_dim,
                                                           const std::vector<int>& hidden,
                                                           Activation activation,
                                                           int num_classes, double init_scale) {
  if (input_dim <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp model: input dimension must be positive, got ", input_dim));
  }
  if (hidden.empty()) {
    return absl::InvalidArgumentError(
        "mlp model: needs at least one hidden layer (set model.hidden, e.g. [80, 60]); "
        "use softmax or logistic for a linear model");
  }
  for (size_t i = 0; i < hidden.size(); ++i) {
    if (hidden[i] <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "mlp model: hidden layer ", i, " has width ", hidden[i], "; widths must be positive"));
    }
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp model: needs at least 2 output classes, got ", num_classes));
  }
  if (!(init_scale >= 0.0) || !std::isfinite(init_scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp model: init_scale must be finite and >= 0, got ", init_scale));
  }
  std::vector<int> widths;
  widths.push_back(input_dim);
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(num_classes);
  long long total = 0;
  for (size_t l = 1; l < widths.size(); ++l) {
    total += static_cast<long long>(widths[l]) * (widths[l - 1] + 1LL);
  }
  if (total > (1LL << 31) - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("mlp model: ", total, " parameters is more than supported (2^31 - 1)"));
  }
  return std::unique_ptr<MlpModel>(new MlpModel(std::move(widths), activation, init_scale));
}

MlpModel::MlpModel(std::vector<int> widths, Activation activation, double init_scale)
    : widths_(std::move(widths)), activation_(activation), init_scale_(init_scale) {
  int offset = 0;
  for (size_t l = 1; l < widths_.size(); ++l) {
    Layer layer;
    layer.in = widths_[l - 1];
    layer.out = widths_[l];
    layer.w_offset = offset;
    layer.b_offset = offset + layer.in * layer.out;
    offset = layer.b_offset + layer.out;
    layers_.push_back(layer);
  }
  num_parameters_ = offset;
}

Vector MlpModel::InitialParameters(Rng& rng) const {
  Vector w = Vector::Zero(num_parameters_);
  const bool he = activation_ == Activation::kRelu || activation_ == Activation::kElu;
  for (const Layer& layer : layers_) {
    double bound = init_scale_;
    if (bound <= 0.0) {
      bound = he ? std::sqrt(6.0 / layer.in) : std::sqrt(6.0 / (layer.in + layer.out));
    }
    const int count = layer.in * layer.out;
    for (int j = 0; j < count; ++j) w[layer.w_offset + j] = bound * (2.0 * rng.Uniform() - 1.0);
  }
  return w;
}

void MlpModel::CheckArgs(const Vector& w, const Batch& batch) const {
  CheckBatchArguments(*this, input_dim(), w, batch);
}

namespace {

void Gather(const Batch& batch, int start, int len, Matrix* xb) {
  const Matrix& x = batch.data->x;
  xb->resize(len, x.cols());
  for (int i = 0; i < len; ++i) xb->row(i) = x.row(batch.rows[start + i]);
}

}  // namespace

void MlpModel::SparseFirstProduct(const Vector& w, const SparseRows& nz, const int* rows, int len,
                                  Workspace* ws) const {
  ws->EnsureLayers(layers_.size());
  const Layer& layer = layers_[0];
  const ConstMap W(w.data() + layer.w_offset, layer.out, layer.in);
  const ConstVecMap b(w.data() + layer.b_offset, layer.out);
  // W_1^T (n_0 x n_1: the weights from one input contiguous), tile by tile so that both sides
  // are read and written a cache line at a time.
  constexpr int kTile = 8;
  Matrix& wt = ws->wt;
  wt.resize(layer.in, layer.out);
  int r = 0;
  for (; r + kTile <= layer.out; r += kTile) {
    int c = 0;
    for (; c + kTile <= layer.in; c += kTile) {
      wt.block<kTile, kTile>(c, r) = W.block<kTile, kTile>(r, c).transpose();
    }
    wt.block(c, r, layer.in - c, kTile) = W.block(r, c, kTile, layer.in - c).transpose();
  }
  wt.rightCols(layer.out - r) = W.bottomRows(layer.out - r).transpose();
  Matrix& z = ws->z[0];
  z.resize(len, layer.out);
  for (int i = 0; i < len; ++i) {
    const int64_t begin = nz.row_start[rows[i]];
    AccumulateScaledRows(wt.data(), layer.out, nz.col.data() + begin, nz.value.data() + begin,
                         nz.row_start[rows[i] + 1] - begin, b.data(), z.row(i).data(), layer.out);
  }
}

void MlpModel::AddSparseFirstLayerSum(const SparseRows& nz, const int* rows, int len,
                                      const Vector& scale, Workspace* ws, MutMap* gW) const {
  const Layer& layer = layers_[0];
  // Column c of W_1's sum is sum_i x_ic delta_1,i over the records with x_ic != 0: the
  // chunk's nonzeros regrouped by column (a counting sort), then one accumulation each.
  std::vector<int64_t>& start_of = ws->column_start;
  start_of.assign(static_cast<size_t>(layer.in) + 1, 0);
  for (int i = 0; i < len; ++i) {
    if (scale[i] == 0.0) continue;  // a dropped record (its features may be NaN)
    for (int64_t e = nz.row_start[rows[i]]; e < nz.row_start[rows[i] + 1]; ++e) {
      ++start_of[static_cast<size_t>(nz.col[e]) + 1];
    }
  }
  for (int c = 0; c < layer.in; ++c) start_of[c + 1] += start_of[c];
  ws->column_record.resize(static_cast<size_t>(start_of[layer.in]));
  ws->column_value.resize(static_cast<size_t>(start_of[layer.in]));
  std::vector<int64_t>& next = ws->column_next;
  next.assign(start_of.begin(), start_of.end() - 1);
  for (int i = 0; i < len; ++i) {
    if (scale[i] == 0.0) continue;
    for (int64_t e = nz.row_start[rows[i]]; e < nz.row_start[rows[i] + 1]; ++e) {
      const int64_t slot = next[static_cast<size_t>(nz.col[e])]++;
      ws->column_record[static_cast<size_t>(slot)] = i;
      ws->column_value[static_cast<size_t>(slot)] = nz.value[e];
    }
  }
  // Eight columns at a time, so that W_1's sum (row-major) is updated in runs of eight.
  constexpr int kGroup = 8;
  Matrix& group = ws->column_sums;
  group.resize(kGroup, layer.out);
  for (int c0 = 0; c0 < layer.in; c0 += kGroup) {
    const int width = std::min(kGroup, layer.in - c0);
    if (start_of[c0] == start_of[c0 + width]) continue;  // no nonzero in these columns
    for (int c = c0; c < c0 + width; ++c) {
      const int64_t begin = start_of[c];
      AccumulateScaledRows(ws->delta[0].data(), layer.out, ws->column_record.data() + begin,
                           ws->column_value.data() + begin, start_of[c + 1] - begin,
                           nullptr, group.row(c - c0).data(), layer.out);
    }
    if (width == kGroup) {
      gW->middleCols<kGroup>(c0) += group.transpose();
    } else {
      gW->middleCols(c0, width) += group.topRows(width).transpose();
    }
  }
}

void MlpModel::Forward(const Vector& w, bool second_derivatives, Workspace* ws,
                       bool first_product_done) const {
  const size_t L = layers_.size();
  ws->EnsureLayers(L);
  const Eigen::Index rows = first_product_done ? ws->z[0].rows() : ws->x.rows();
  for (size_t k = 0; k < L; ++k) {
    const Layer& layer = layers_[k];
    const ConstMap W(w.data() + layer.w_offset, layer.out, layer.in);
    const ConstVecMap b(w.data() + layer.b_offset, layer.out);
    Matrix& z = ws->z[k];
    if (k > 0 || !first_product_done) {
      const Matrix& in = k == 0 ? ws->x : ws->a[k - 1];
      z.resize(rows, layer.out);
      z.noalias() = in * W.transpose();
      z.rowwise() += b.transpose();
    }
    if (k + 1 == L) break;

    Matrix& a = ws->a[k];
    Matrix& d1 = ws->d1[k];
    Matrix& d2 = ws->d2[k];
    a.resize(rows, layer.out);
    d1.resize(rows, layer.out);
    if (second_derivatives) d2.resize(rows, layer.out);
    const auto za = z.array();
    switch (activation_) {
      case Activation::kRelu:
        a.array() = za.max(0.0);
        d1.array() = (za > 0.0).cast<double>();
        if (second_derivatives) d2.setZero();
        break;
      case Activation::kElu:
        // a = z (z > 0), e^z - 1 (z <= 0); f' = 1 or e^z; f'' = 0 or e^z. With e = e^min(z, 0):
        // f' = e exactly and a = max(z, 0) + (e - 1). Written without select(), which Eigen 3.4
        // does not vectorize, and with exp rather than expm1 (not vectorized): a tenth of a
        // private step's time. e^z - 1 loses only relative accuracy near z = 0 (absolute ~1e-16).
        d1.array() = za.min(0.0).exp();
        a.array() = za.max(0.0) + (d1.array() - 1.0);
        if (second_derivatives) d2.array() = d1.array() * (za <= 0.0).cast<double>();
        break;
      case Activation::kTanh:
        a.array() = za.tanh();
        d1.array() = 1.0 - a.array().square();
        if (second_derivatives) d2.array() = -2.0 * a.array() * d1.array();
        break;
      case Activation::kSigmoid:
        a.array() = (1.0 + (-za).exp()).inverse();
        d1.array() = a.array() * (1.0 - a.array());
        if (second_derivatives) d2.array() = d1.array() * (1.0 - 2.0 * a.array());
        break;
    }
  }
}

void MlpModel::Backward(const Vector& w, const Batch& batch, int start, Workspace* ws) const {
  const size_t L = layers_.size();
  ws->p = ws->z[L - 1];
  SoftmaxRowsInPlace(&ws->p);
  Matrix& top = ws->delta[L - 1];
  top = ws->p;
  for (Eigen::Index i = 0; i < top.rows(); ++i) top(i, batch.data->y[batch.rows[start + i]]) -= 1.0;
  BackPropagate(w, ws);
}

void MlpModel::BackPropagate(const Vector& w, Workspace* ws) const {
  const size_t L = layers_.size();
  for (size_t k = L - 1; k > 0; --k) {
    const Layer& layer = layers_[k];
    const ConstMap W(w.data() + layer.w_offset, layer.out, layer.in);
    ws->g.noalias() = ws->delta[k] * W;
    ws->delta[k - 1] = ws->g.cwiseProduct(ws->d1[k - 1]);
  }
}

double MlpModel::Loss(const Vector& w, const Batch& batch) const {
  if (batch.size() == 0) return 0.0;
  thread_local std::vector<int> predicted;
  return LossSumAndPredictions(w, batch, &predicted) / batch.size();
}

void MlpModel::Gradient(const Vector& w, const Batch& batch, Vector* grad) const {
  CheckArgs(w, batch);
  grad->setZero(num_parameters_);
  const int n = batch.size();
  if (n == 0) return;
  Workspace& ws = ThreadWorkspace();
  const size_t L = layers_.size();
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    Forward(w, /*second_derivatives=*/false, &ws);
    Backward(w, batch, start, &ws);
    for (size_t k = 0; k < L; ++k) {
      const Layer& layer = layers_[k];
      MutMap gW(grad->data() + layer.w_offset, layer.out, layer.in);
      const Matrix& in = k == 0 ? ws.x : ws.a[k - 1];
      gW.noalias() += ws.delta[k].transpose() * in;
      grad->segment(layer.b_offset, layer.out) += ws.delta[k].colwise().sum().transpose();
    }
  }
  *grad /= n;
}

void MlpModel::PerExampleGradients(const Vector& w, const Batch& batch, Matrix* out) const {
  CheckArgs(w, batch);
  const int n = batch.size();
  out->resize(n, num_parameters_);
  Workspace& ws = ThreadWorkspace();
  const size_t L = layers_.size();
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    Forward(w, /*second_derivatives=*/false, &ws);
    Backward(w, batch, start, &ws);
    for (int i = 0; i < len; ++i) {
      double* row = out->row(start + i).data();
      for (size_t k = 0; k < L; ++k) {
        const Layer& layer = layers_[k];
        const Matrix& in = k == 0 ? ws.x : ws.a[k - 1];
        // Gradient of W_l for record i: the outer product delta_l,i a_{l-1,i}^T.
        MutMap gW(row + layer.w_offset, layer.out, layer.in);
        gW.noalias() = ws.delta[k].row(i).transpose() * in.row(i);
        MutRowMap(row + layer.b_offset, layer.out) = ws.delta[k].row(i);
      }
    }
  }
}

int MlpModel::ClippedGradientSum(const Vector& w, const Batch& batch, double clip,
                                 Vector* sum) const {
  return GhostClippedSum(w, batch, nullptr, clip, sum);
}

int MlpModel::ClippedGradientPlusVjpSum(const Vector& w, const Batch& batch,
                                        const Matrix& upstream, const Matrix& /*probabilities*/,
                                        double clip, Vector* sum) const {
  FEDSILO_CHECK(upstream.rows() == batch.size() && upstream.cols() == widths_.back(),
                "upstream has the wrong shape");
  return GhostClippedSum(w, batch, &upstream, clip, sum);
}

int MlpModel::GhostClippedSum(const Vector& w, const Batch& batch, const Matrix* upstream,
                              double clip, Vector* sum) const {
  CheckArgs(w, batch);
  FEDSILO_CHECK(clip > 0.0, "clip must be positive");
  sum->setZero(num_parameters_);
  const int n = batch.size();
  Workspace& ws = ThreadWorkspace();
  const size_t L = layers_.size();
  thread_local Vector norm, delta_norm, in_norm, scale;
  int clipped = 0;
  const Layer& first = layers_[0];  // W_1 and b_1 multiply the features
  const SparseRows* nz = UsableNonzeros(
      *batch.data, w.segment(first.w_offset, first.b_offset + first.out - first.w_offset));
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    const int* rows = batch.rows.data() + start;
    if (nz != nullptr) {
      SparseFirstProduct(w, *nz, rows, len, &ws);
    } else {
      Gather(batch, start, len, &ws.x);
    }
    Forward(w, /*second_derivatives=*/false, &ws, /*first_product_done=*/nz != nullptr);
    if (upstream == nullptr) {
      Backward(w, batch, start, &ws);
    } else {
      // Output delta of loss_i + u_i . F_i: p - e_y (the loss) + p .* (u - p . u) (the VJP).
      ws.p = ws.z[L - 1];
      SoftmaxRowsInPlace(&ws.p);
      Matrix& top = ws.delta[L - 1];
      top = ws.p;
      for (int i = 0; i < len; ++i) {
        const auto u = upstream->row(start + i);
        const double pu = ws.p.row(i).dot(u);
        top.row(i).array() += ws.p.row(i).array() * (u.array() - pu);
        top(i, batch.data->y[batch.rows[start + i]]) -= 1.0;
      }
      BackPropagate(w, &ws);
    }
    // ||g_i|| = sqrt(sum_l ||delta_l,i||^2 ||[a_{l-1,i}, 1]||^2), by products of norms rather than
    // of squared norms: at extreme parameters a squared norm can underflow to 0 (a tiny delta)
    // while the gradient, times a huge activation, is not small, and a norm computed too small
    // would let a record through unclipped.
    norm.setZero(len);
    for (size_t k = 0; k < L; ++k) {
      SafeRowNorms(ws.delta[k], &delta_norm);
      if (k == 0 && nz != nullptr) {
        in_norm.resize(len);
        for (int i = 0; i < len; ++i) {
          const double sq = nz->squared_norm[rows[i]];
          in_norm[i] = sq >= 1e-290 && sq <= 1e290 ? std::sqrt(sq)
                                                   : batch.data->x.row(rows[i]).stableNorm();
        }
      } else {
        SafeRowNorms(k == 0 ? ws.x : ws.a[k - 1], &in_norm);
      }
      for (int i = 0; i < len; ++i) {
        norm[i] = std::hypot(norm[i], delta_norm[i] * std::hypot(in_norm[i], 1.0));
      }
    }
    scale.resize(len);
    for (int i = 0; i < len; ++i) {
      if (!std::isfinite(norm[i])) {
        // Such a record contributes nothing (common/dp/clipping.h); 0 * inf is NaN, so its rows
        // are zeroed rather than weighted by 0.
        scale[i] = 0.0;
        if (nz == nullptr) ws.x.row(i).setZero();  // the sparse product below skips the record
        for (size_t k = 0; k < L; ++k) {
          ws.delta[k].row(i).setZero();
          if (k + 1 < L) ws.a[k].row(i).setZero();
        }
      } else {
        scale[i] = norm[i] > clip ? clip / norm[i] : 1.0;
      }
      if (scale[i] != 1.0) ++clipped;
    }
    for (size_t k = 0; k < L; ++k) {
      const Layer& layer = layers_[k];
      ws.delta[k] = scale.asDiagonal() * ws.delta[k];
      MutMap gW(sum->data() + layer.w_offset, layer.out, layer.in);
      if (k == 0 && nz != nullptr) {
        AddSparseFirstLayerSum(*nz, rows, len, scale, &ws, &gW);
      } else {
        gW.noalias() += ws.delta[k].transpose() * (k == 0 ? ws.x : ws.a[k - 1]);
      }
      sum->segment(layer.b_offset, layer.out) += ws.delta[k].colwise().sum().transpose();
    }
  }
  return clipped;
}

void MlpModel::HessianVectorProduct(const Vector& w, const Batch& batch, const Vector& v,
                                    Vector* out) const {
  CheckArgs(w, batch);
  FEDSILO_CHECK(v.size() == num_parameters_, "direction vector has the wrong length");
  out->setZero(num_parameters_);
  const int n = batch.size();
  if (n == 0) return;
  // Pearlmutter (1994): R{.} = d/dr (.)(w + r v) at r = 0, pushed forward through the network and
  // then through the backward pass; R{gradient} is exactly H v.
  Workspace& ws = ThreadWorkspace();
  const size_t L = layers_.size();
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    Forward(w, /*second_derivatives=*/true, &ws);

    // R-forward: R{z_l} = R{a_{l-1}} W_l^T + a_{l-1} V_l^T + 1 vb_l^T, R{a_l} = f'(z_l) R{z_l}.
    for (size_t k = 0; k < L; ++k) {
      const Layer& layer = layers_[k];
      const ConstMap W(w.data() + layer.w_offset, layer.out, layer.in);
      const ConstMap V(v.data() + layer.w_offset, layer.out, layer.in);
      const ConstVecMap vb(v.data() + layer.b_offset, layer.out);
      const Matrix& in = k == 0 ? ws.x : ws.a[k - 1];
      Matrix& rz = ws.rz[k];
      rz.resize(len, layer.out);
      rz.noalias() = in * V.transpose();
      if (k > 0) rz.noalias() += ws.ra[k - 1] * W.transpose();
      rz.rowwise() += vb.transpose();
      if (k + 1 < L) ws.ra[k] = ws.d1[k].cwiseProduct(rz);
    }

    // Backward pass and its R-image. Output: R{delta_L} = R{p} = p .* (R{z_L} - p . R{z_L}).
    Backward(w, batch, start, &ws);
    Matrix& rtop = ws.rdelta[L - 1];
    rtop.resize(len, layers_.back().out);
    for (int i = 0; i < len; ++i) {
      const double prz = ws.p.row(i).dot(ws.rz[L - 1].row(i));
      rtop.row(i) = ws.p.row(i).array() * (ws.rz[L - 1].row(i).array() - prz);
    }
    // R{delta_{l-1}} = (R{delta_l} W_l + delta_l V_l) .* f'(z_{l-1})
    //                + (delta_l W_l) .* f''(z_{l-1}) .* R{z_{l-1}}.
    for (size_t k = L - 1; k > 0; --k) {
      const Layer& layer = layers_[k];
      const ConstMap W(w.data() + layer.w_offset, layer.out, layer.in);
      const ConstMap V(v.data() + layer.w_offset, layer.out, layer.in);
      ws.g.noalias() = ws.delta[k] * W;
      ws.rg.noalias() = ws.rdelta[k] * W;
      ws.rg.noalias() += ws.delta[k] * V;
      ws.rdelta[k - 1].resize(len, layer.in);
      ws.rdelta[k - 1].array() = ws.rg.array() * ws.d1[k - 1].array() +
                                 ws.g.array() * ws.d2[k - 1].array() * ws.rz[k - 1].array();
    }

    // R{grad W_l} = R{delta_l}^T a_{l-1} + delta_l^T R{a_{l-1}}, R{grad b_l} = 1^T R{delta_l}.
    for (size_t k = 0; k < L; ++k) {
      const Layer& layer = layers_[k];
      MutMap hW(out->data() + layer.w_offset, layer.out, layer.in);
      const Matrix& in = k == 0 ? ws.x : ws.a[k - 1];
      hW.noalias() += ws.rdelta[k].transpose() * in;
      if (k > 0) hW.noalias() += ws.delta[k].transpose() * ws.ra[k - 1];
      out->segment(layer.b_offset, layer.out) += ws.rdelta[k].colwise().sum().transpose();
    }
  }
  *out /= n;
}

void MlpModel::PredictProba(const Vector& w, const Matrix& x, Matrix* out) const {
  FEDSILO_CHECK(w.size() == num_parameters_, "parameter vector has the wrong length");
  FEDSILO_CHECK(x.cols() == input_dim(), "feature matrix width differs from input_dim");
  const Eigen::Index n = x.rows();
  out->resize(n, num_classes());
  Workspace& ws = ThreadWorkspace();
  for (Eigen::Index start = 0; start < n; start += kChunk) {
    const Eigen::Index len = std::min<Eigen::Index>(kChunk, n - start);
    ws.x = x.middleRows(start, len);
    Forward(w, /*second_derivatives=*/false, &ws);
    Matrix& z = ws.z.back();
    SoftmaxRowsInPlace(&z);
    out->middleRows(start, len) = z;
  }
}

double MlpModel::LossSumAndPredictions(const Vector& w, const Batch& batch,
                                       std::vector<int>* predicted) const {
  CheckArgs(w, batch);
  const int n = batch.size();
  predicted->resize(static_cast<size_t>(n));
  Workspace& ws = ThreadWorkspace();
  double total = 0.0;
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    Forward(w, /*second_derivatives=*/false, &ws);
    const Matrix& z = ws.z.back();
    for (int i = 0; i < len; ++i) {  // cross-entropy through a stable log-sum-exp
      const auto row = z.row(i);
      const double mx = row.maxCoeff();
      const double lse = mx + std::log((row.array() - mx).exp().sum());
      total += lse - row[batch.data->y[batch.rows[start + i]]];
    }
    ws.p = z;  // the prediction as PredictProba ranks it
    SoftmaxRowsInPlace(&ws.p);
    for (int i = 0; i < len; ++i) {
      Eigen::Index best;
      ws.p.row(i).maxCoeff(&best);
      (*predicted)[static_cast<size_t>(start + i)] = static_cast<int>(best);
    }
  }
  return total;
}

void MlpModel::PerExampleProbabilityVjp(const Vector& w, const Batch& batch,
                                        const Matrix& upstream, Matrix* out) const {
  CheckArgs(w, batch);
  const int n = batch.size();
  const size_t L = layers_.size();
  FEDSILO_CHECK(upstream.rows() == n && upstream.cols() == widths_.back(),
                "upstream has the wrong shape");
  out->resize(n, num_parameters_);
  Workspace& ws = ThreadWorkspace();
  for (int start = 0; start < n; start += kChunk) {
    const int len = std::min(kChunk, n - start);
    Gather(batch, start, len, &ws.x);
    Forward(w, /*second_derivatives=*/false, &ws);
    ws.p = ws.z[L - 1];
    SoftmaxRowsInPlace(&ws.p);
    // Top delta: u^T dF/dz = p .* (u - p . u) in place of the loss's p - e_y.
    Matrix& top = ws.delta[L - 1];
    top.resize(len, widths_.back());
    for (int i = 0; i < len; ++i) {
      const auto u = upstream.row(start + i);
      const double pu = ws.p.row(i).dot(u);
      top.row(i) = ws.p.row(i).array() * (u.array() - pu);
    }
    BackPropagate(w, &ws);
    for (int i = 0; i < len; ++i) {
      double* row = out->row(start + i).data();
      for (size_t k = 0; k < L; ++k) {
        const Layer& layer = layers_[k];
        const Matrix& in = k == 0 ? ws.x : ws.a[k - 1];
        MutMap gW(row + layer.w_offset, layer.out, layer.in);
        gW.noalias() = ws.delta[k].row(i).transpose() * in.row(i);
        MutRowMap(row + layer.b_offset, layer.out) = ws.delta[k].row(i);
      }
    }
  }
}

}  // namespace fedsilo
