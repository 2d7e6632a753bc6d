// Independent checks of the linear models: closed forms computed by hand in the test, the
// logistic / 2-class softmax equivalence, extreme logits and the parameter layout.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/base/rng.h"
#include "common/data/sparse_rows.h"
#include "common/model/logistic_model.h"
#include "common/model/softmax_model.h"
#include "tests/model/model_test_util.h"

namespace fedsilo {
namespace {

using testing::MakeSyntheticDataset;
using testing::RandomRows;
using testing::RandomVector;

constexpr int kDim = 7;

// Softmax parameters for two classes whose class-0 row is zero and class-1 row is [w, b].
Vector TwoClassSoftmaxParams(const Vector& logistic_w) {
  Vector s = Vector::Zero(2 * (kDim + 1));
  s.tail(kDim + 1) = logistic_w;
  return s;
}

class LinearModelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = MakeSyntheticDataset(200, kDim, 2, 8);
    rows_ = RandomRows(37, data_.size(), 9);
    batch_ = Batch{&data_, rows_};
    logistic_ = std::move(LogisticModel::Create(kDim)).value();
    softmax_ = std::move(SoftmaxModel::Create(kDim, 2)).value();
    w_ = RandomVector(kDim + 1, 0.8, 10);
  }

  Dataset data_;
  std::vector<int> rows_;
  Batch batch_;
  std::unique_ptr<LogisticModel> logistic_;
  std::unique_ptr<SoftmaxModel> softmax_;
  Vector w_;
};

TEST_F(LinearModelsTest, LogisticEqualsTwoClassSoftmaxWithZeroClass0Row) {
  const Vector s = TwoClassSoftmaxParams(w_);
  EXPECT_NEAR(logistic_->Loss(w_, batch_), softmax_->Loss(s, batch_), 1e-14);

  Matrix pl, ps;
  logistic_->PredictProba(w_, data_.x, &pl);
  softmax_->PredictProba(s, data_.x, &ps);
  EXPECT_LE((pl - ps).cwiseAbs().maxCoeff(), 1e-15);

  // d/d(row 1) equals the logistic gradient, d/d(row 0) its negative (p0 - y0 = y - p).
  Vector gl, gs;
  logistic_->Gradient(w_, batch_, &gl);
  softmax_->Gradient(s, batch_, &gs);
  EXPECT_LE((gs.tail(kDim + 1) - gl).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LE((gs.head(kDim + 1) + gl).cwiseAbs().maxCoeff(), 1e-14);

  // H [0; v]: the class-1 block is the logistic H v, the class-0 block its negative.
  const Vector v = RandomVector(kDim + 1, 1.0, 12);
  Vector hl, hs;
  logistic_->HessianVectorProduct(w_, batch_, v, &hl);
  softmax_->HessianVectorProduct(s, batch_, TwoClassSoftmaxParams(v), &hs);
  EXPECT_LE((hs.tail(kDim + 1) - hl).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LE((hs.head(kDim + 1) + hl).cwiseAbs().maxCoeff(), 1e-14);

  Matrix el, es;
  logistic_->PerExampleGradients(w_, batch_, &el);
  softmax_->PerExampleGradients(s, batch_, &es);
  EXPECT_LE((es.rightCols(kDim + 1) - el).cwiseAbs().maxCoeff(), 1e-15);
}

TEST_F(LinearModelsTest, LogisticHessianIsXtDiagP1mPXOverN) {
  // By hand: Xa = [X 1] for the batch rows, p = sigmoid(Xa w), H = Xa^T diag(p (1 - p)) Xa / n.
  const int n = batch_.size();
  Matrix xa(n, kDim + 1);
  for (int i = 0; i < n; ++i) {
    xa.row(i).head(kDim) = data_.x.row(rows_[i]);
    xa(i, kDim) = 1.0;
  }
  const Vector z = xa * w_;
  const Vector p = z.unaryExpr([](double t) { return 1.0 / (1.0 + std::exp(-t)); });
  const Vector s = p.array() * (1.0 - p.array());
  const Matrix expected = xa.transpose() * s.asDiagonal() * xa / n;

  Matrix hessian(kDim + 1, kDim + 1);
  for (int j = 0; j <= kDim; ++j) {
    Vector hv;
    logistic_->HessianVectorProduct(w_, batch_, Vector::Unit(kDim + 1, j), &hv);
    hessian.col(j) = hv;
  }
  EXPECT_LE((hessian - expected).cwiseAbs().maxCoeff(), 1e-14);

  // And the gradient by hand: Xa^T (p - y) / n.
  Vector y(n);
  for (int i = 0; i < n; ++i) y[i] = data_.y[rows_[i]];
  Vector g;
  logistic_->Gradient(w_, batch_, &g);
  EXPECT_LE((g - xa.transpose() * (p - y) / n).cwiseAbs().maxCoeff(), 1e-14);
}

TEST_F(LinearModelsTest, SoftmaxParameterLayoutIsRowMajorWithBiasLast) {
  auto model = std::move(SoftmaxModel::Create(2, 3)).value();
  // W = [[1, 2, b0=0.5], [0, -1, b1=0], [3, 0, b2=-2]] flattened row-major.
  Vector w(9);
  w << 1, 2, 0.5, 0, -1, 0, 3, 0, -2;
  Matrix x(1, 2);
  x << 0.3, -0.7;
  Matrix proba;
  model->PredictProba(w, x, &proba);
  const double z0 = 1 * 0.3 + 2 * -0.7 + 0.5, z1 = 0 * 0.3 - 1 * -0.7, z2 = 3 * 0.3 - 2;
  const double norm = std::exp(z0) + std::exp(z1) + std::exp(z2);
  EXPECT_NEAR(proba(0, 0), std::exp(z0) / norm, 1e-15);
  EXPECT_NEAR(proba(0, 1), std::exp(z1) / norm, 1e-15);
  EXPECT_NEAR(proba(0, 2), std::exp(z2) / norm, 1e-15);
}

TEST(LogisticModelTest, ExtremeLogitsGiveExactLossesWithoutOverflow) {
  Dataset data;
  data.num_classes = 2;
  data.x.resize(4, 1);
  data.x << 1000, 1000, -1000, -1000;
  data.y = {0, 1, 0, 1};
  auto model = std::move(LogisticModel::Create(1)).value();
  Vector w(2);
  w << 1.0, 0.0;
  const std::vector<int> r0{0}, r1{1}, r2{2}, r3{3};
  EXPECT_DOUBLE_EQ(model->Loss(w, Batch{&data, r0}), 1000.0);  // confident and wrong
  EXPECT_EQ(model->Loss(w, Batch{&data, r1}), 0.0);            // log1p(e^-1000) underflows
  EXPECT_EQ(model->Loss(w, Batch{&data, r2}), 0.0);
  EXPECT_DOUBLE_EQ(model->Loss(w, Batch{&data, r3}), 1000.0);

  const std::vector<int> all{0, 1, 2, 3};
  Vector g, hv;
  model->Gradient(w, Batch{&data, all}, &g);
  // Records 0 and 3 have residual +1 and -1 at x = +-1000: gradient (1000 + 1000) / 4 = 500.
  EXPECT_DOUBLE_EQ(g[0], 500.0);
  EXPECT_DOUBLE_EQ(g[1], 0.0);
  model->HessianVectorProduct(w, Batch{&data, all}, Vector::Ones(2), &hv);
  EXPECT_TRUE(hv.allFinite());
  Matrix proba;
  model->PredictProba(w, data.x, &proba);
  EXPECT_EQ(proba(0, 1), 1.0);
  EXPECT_EQ(proba(0, 0), 0.0);  // e^-1000 underflows to 0, never NaN
  EXPECT_EQ(proba(2, 0), 1.0);
}

// Loss and the one-pass evaluation against the closed form written out here (dense logits,
// log(1 + e^{-+z}), class 1 iff z > 0), on mostly-zero rows with and without the data's index
// of nonzeros (which both then read).
TEST(LogisticModelTest, EvaluationMatchesTheClosedFormWithAndWithoutAnIndexOfNonzeros) {
  Dataset data = MakeSyntheticDataset(300, kDim, 2, 21);
  Rng rng(22);
  for (Eigen::Index i = 0; i < data.x.rows(); ++i) {
    for (Eigen::Index j = 0; j < data.x.cols(); ++j) {
      const double u = rng.Uniform();
      if (u < 0.25) data.x(i, j) = 1.0;  // one-hot-like
      else if (u < 0.75) data.x(i, j) = 0.0;
    }
  }
  const std::vector<int> rows = RandomRows(150, data.size(), 23);  // more than one block of 64
  const Vector w = RandomVector(kDim + 1, 0.8, 24);
  double expected_loss = 0.0;
  std::vector<int> expected_predicted;
  for (const int r : rows) {
    const double z = data.x.row(r).dot(w.head(kDim)) + w[kDim];
    ASSERT_GT(std::abs(z), 1e-9);  // no tie: the prediction is z's sign
    expected_loss += std::log1p(std::exp(data.y[static_cast<size_t>(r)] == 1 ? -z : z));
    expected_predicted.push_back(z > 0.0 ? 1 : 0);
  }
  auto model = std::move(LogisticModel::Create(kDim)).value();
  Dataset indexed = data;
  indexed.nonzeros = IndexNonzeros(indexed.x, /*max_density=*/0.6);
  ASSERT_NE(indexed.nonzeros, nullptr);
  for (const Dataset* d : {&data, &indexed}) {
    const Batch batch{d, rows};
    const char* what = d->nonzeros ? "indexed" : "dense";
    std::vector<int> predicted;
    EXPECT_NEAR(model->LossSumAndPredictions(w, batch, &predicted), expected_loss,
                1e-12 * expected_loss)
        << what;
    EXPECT_EQ(predicted, expected_predicted) << what;
    EXPECT_NEAR(model->Loss(w, batch), expected_loss / 150.0, 1e-12 * expected_loss) << what;
  }
}

TEST(LogisticModelTest, ZeroParametersGiveLog2) {
  const Dataset data = MakeSyntheticDataset(50, 4, 2, 1);
  const std::vector<int> rows = AllRows(data);
  auto model = std::move(LogisticModel::Create(4)).value();
  EXPECT_NEAR(model->Loss(Vector::Zero(5), Batch{&data, rows}), std::log(2.0), 1e-14);
}

TEST(SoftmaxModelTest, ZeroParametersGiveLogM) {
  const Dataset data = MakeSyntheticDataset(50, 4, 5, 1);
  const std::vector<int> rows = AllRows(data);
  auto model = std::move(SoftmaxModel::Create(4, 5)).value();
  EXPECT_NEAR(model->Loss(Vector::Zero(25), Batch{&data, rows}), std::log(5.0), 1e-14);
}

TEST(SoftmaxModelTest, HessianMatchesClosedFormKroneckerBlocks) {
  // H = (1/n) sum_i (diag(p_i) - p_i p_i^T) (x) xa_i xa_i^T, row-major class-major layout.
  const int d = 3, m = 3;
  const Dataset data = MakeSyntheticDataset(20, d, m, 4);
  const std::vector<int> rows = AllRows(data);
  auto model = std::move(SoftmaxModel::Create(d, m)).value();
  const Vector w = RandomVector(m * (d + 1), 0.7, 5);
  Matrix proba;
  model->PredictProba(w, data.x, &proba);
  const int p = m * (d + 1);
  Matrix expected = Matrix::Zero(p, p);
  for (int i = 0; i < data.size(); ++i) {
    Vector xa(d + 1);
    xa << data.x.row(i).transpose(), 1.0;
    const Vector pi = proba.row(i).transpose();
    const Matrix a = Matrix(pi.asDiagonal()) - pi * pi.transpose();
    const Matrix b = xa * xa.transpose();
    for (int c = 0; c < m; ++c)
      for (int k = 0; k < m; ++k) expected.block(c * (d + 1), k * (d + 1), d + 1, d + 1) += a(c, k) * b;
  }
  expected /= data.size();
  for (int j = 0; j < p; ++j) {
    Vector hv;
    model->HessianVectorProduct(w, Batch{&data, rows}, Vector::Unit(p, j), &hv);
    EXPECT_LE((hv - expected.col(j)).cwiseAbs().maxCoeff(), 1e-14) << "column " << j;
  }
}

TEST(LinearInitTest, InitScaleDrawsBoundedWeightsAndZeroBiases) {
  auto logistic = std::move(LogisticModel::Create(5, 0.1)).value();
  auto softmax = std::move(SoftmaxModel::Create(5, 3, 0.1)).value();
  Rng rng(3);
  const Vector wl = logistic->InitialParameters(rng);
  EXPECT_LE(wl.cwiseAbs().maxCoeff(), 0.1);
  EXPECT_GT(wl.head(5).cwiseAbs().minCoeff(), 0.0);
  EXPECT_EQ(wl[5], 0.0);
  const Vector ws = softmax->InitialParameters(rng);
  EXPECT_LE(ws.cwiseAbs().maxCoeff(), 0.1);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(ws[c * 6 + 5], 0.0);
}

}  // namespace
}  // namespace fedsilo
