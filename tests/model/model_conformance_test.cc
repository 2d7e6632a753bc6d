// Conformance suite run against every built-in model (logistic, softmax, mlp with each
// activation): derivatives against finite differences, consistency between the Model methods,
// numerical stability, determinism and thread-safety.
#include <cmath>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/model/model.h"
#include "common/model/model_registry.h"
#include "tests/model/model_test_util.h"

namespace fedsilo {
namespace {

using testing::MakeSyntheticDataset;
using testing::RandomRows;
using testing::RandomVector;

struct ModelCase {
  std::string label;
  ModelConfig config;
  int dim;
  int classes;
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.label; }

ModelConfig Config(std::string type, std::vector<int> hidden = {}, std::string activation = "relu") {
  ModelConfig config;
  config.type = std::move(type);
  config.hidden = std::move(hidden);
  config.activation = std::move(activation);
  return config;
}

std::vector<ModelCase> AllCases() {
  return {
      {"logistic", Config("logistic"), 6, 2},
      {"softmax", Config("softmax"), 6, 4},
      {"softmax_binary", Config("softmax"), 3, 2},
      {"mlp_relu", Config("mlp", {7, 5}, "relu"), 6, 3},
      {"mlp_elu", Config("mlp", {7, 5}, "elu"), 6, 3},
      {"mlp_tanh", Config("mlp", {7, 5}, "tanh"), 6, 3},
      {"mlp_sigmoid", Config("mlp", {7, 5}, "sigmoid"), 6, 3},
      {"mlp_elu_binary_one_layer", Config("mlp", {4}, "elu"), 5, 2},
      {"mlp_tanh_deep", Config("mlp", {5, 4, 3}, "tanh"), 4, 3},
  };
}

constexpr double kStep = 1e-6;

class ModelConformanceTest : public ::testing::TestWithParam<ModelCase> {
 protected:
  void SetUp() override {
    const ModelCase& c = GetParam();
    auto made = MakeModel(c.config, c.dim, c.classes);
    ASSERT_TRUE(made.ok()) << made.status();
    model_ = std::move(made).value();
    data_ = MakeSyntheticDataset(600, c.dim, c.classes, /*seed=*/17);
    rows_ = RandomRows(23, data_.size(), /*seed=*/3);
    batch_ = Batch{&data_, rows_};
    // Away from zero so every model is in a generic (non-symmetric) regime.
    w_ = RandomVector(model_->num_parameters(), 0.6, /*seed=*/11);
  }

  std::unique_ptr<Model> model_;
  Dataset data_;
  std::vector<int> rows_;
  Batch batch_;
  Vector w_;
};

TEST_P(ModelConformanceTest, ShapesAndNames) {
  const ModelCase& c = GetParam();
  EXPECT_EQ(model_->name(), c.config.type);
  EXPECT_EQ(model_->num_classes(), c.classes);
  Rng rng(5);
  EXPECT_EQ(model_->InitialParameters(rng).size(), model_->num_parameters());
}

TEST_P(ModelConformanceTest, GradientMatchesCentralFiniteDifferences) {
  Vector grad;
  model_->Gradient(w_, batch_, &grad);
  ASSERT_EQ(grad.size(), model_->num_parameters());
  Vector w = w_;
  for (int j = 0; j < w.size(); ++j) {
    const double saved = w[j];
    w[j] = saved + kStep;
    const double plus = model_->Loss(w, batch_);
    w[j] = saved - kStep;
    const double minus = model_->Loss(w, batch_);
    w[j] = saved;
    const double fd = (plus - minus) / (2 * kStep);
    EXPECT_NEAR(grad[j], fd, 1e-7 + 1e-5 * std::abs(fd)) << "parameter " << j;
  }
}

TEST_P(ModelConformanceTest, HessianVectorProductMatchesFiniteDifferencesOfGradient) {
  for (uint64_t seed : {21u, 22u, 23u}) {
    const Vector v = RandomVector(model_->num_parameters(), 1.0, seed);
    Vector hv, gplus, gminus;
    model_->HessianVectorProduct(w_, batch_, v, &hv);
    ASSERT_EQ(hv.size(), model_->num_parameters());
    model_->Gradient(w_ + kStep * v, batch_, &gplus);
    model_->Gradient(w_ - kStep * v, batch_, &gminus);
    const Vector fd = (gplus - gminus) / (2 * kStep);
    for (int j = 0; j < hv.size(); ++j) {
      EXPECT_NEAR(hv[j], fd[j], 1e-7 + 1e-5 * std::abs(fd[j])) << "seed " << seed << " entry " << j;
    }
  }
}

TEST_P(ModelConformanceTest, HessianIsSymmetric) {
  const Vector u = RandomVector(model_->num_parameters(), 1.0, 31);
  const Vector v = RandomVector(model_->num_parameters(), 1.0, 32);
  Vector hu, hv;
  model_->HessianVectorProduct(w_, batch_, u, &hu);
  model_->HessianVectorProduct(w_, batch_, v, &hv);
  const double a = u.dot(hv);
  const double b = v.dot(hu);
  EXPECT_NEAR(a, b, 1e-12 * (1.0 + std::abs(a)));
}

TEST_P(ModelConformanceTest, HessianVectorProductIsLinearInV) {
  const Vector u = RandomVector(model_->num_parameters(), 1.0, 41);
  const Vector v = RandomVector(model_->num_parameters(), 1.0, 42);
  Vector hu, hv, hsum;
  model_->HessianVectorProduct(w_, batch_, u, &hu);
  model_->HessianVectorProduct(w_, batch_, v, &hv);
  model_->HessianVectorProduct(w_, batch_, 2.0 * u - 3.0 * v, &hsum);
  EXPECT_LE((hsum - (2.0 * hu - 3.0 * hv)).norm(), 1e-12 * (1.0 + hsum.norm()));
}

TEST_P(ModelConformanceTest, PerExampleGradientsAverageToGradient) {
  Matrix per;
  Vector grad;
  model_->PerExampleGradients(w_, batch_, &per);
  model_->Gradient(w_, batch_, &grad);
  ASSERT_EQ(per.rows(), batch_.size());
  ASSERT_EQ(per.cols(), model_->num_parameters());
  const Vector mean = per.colwise().mean().transpose();
  EXPECT_LE((mean - grad).cwiseAbs().maxCoeff(), 1e-13 * (1.0 + grad.cwiseAbs().maxCoeff()));
}

TEST_P(ModelConformanceTest, PerExampleGradientRowIsThatRecordsGradient) {
  Matrix per;
  model_->PerExampleGradients(w_, batch_, &per);
  for (int i = 0; i < batch_.size(); ++i) {
    const int row = rows_[i];
    Vector single;
    model_->Gradient(w_, Batch{&data_, std::span<const int>(&row, 1)}, &single);
    EXPECT_LE((per.row(i).transpose() - single).cwiseAbs().maxCoeff(), 1e-13) << "record " << i;
  }
}

TEST_P(ModelConformanceTest, PredictProbaIsADistributionMatchingTheLoss) {
  Matrix x(batch_.size(), data_.dim());
  for (int i = 0; i < batch_.size(); ++i) x.row(i) = data_.x.row(rows_[i]);
  Matrix proba;
  model_->PredictProba(w_, x, &proba);
  ASSERT_EQ(proba.rows(), x.rows());
  ASSERT_EQ(proba.cols(), model_->num_classes());
  double nll = 0.0;
  for (int i = 0; i < proba.rows(); ++i) {
    EXPECT_NEAR(proba.row(i).sum(), 1.0, 1e-12);
    EXPECT_GE(proba.row(i).minCoeff(), 0.0);
    nll -= std::log(proba(i, data_.y[rows_[i]]));
  }
  nll /= proba.rows();
  EXPECT_NEAR(model_->Loss(w_, batch_), nll, 1e-12 * (1.0 + nll));
}

// Batches larger than the internal chunk size (256 rows) give the same answers as their parts.
TEST_P(ModelConformanceTest, LargeBatchesAgreeWithTheirHalves) {
  const std::vector<int> all = RandomRows(600, data_.size(), 77);
  const std::span<const int> rows(all);
  const Batch full{&data_, rows};
  const Batch first{&data_, rows.first(300)};
  const Batch second{&data_, rows.last(300)};
  const Vector v = RandomVector(model_->num_parameters(), 1.0, 78);

  EXPECT_NEAR(model_->Loss(w_, full),
              0.5 * (model_->Loss(w_, first) + model_->Loss(w_, second)), 1e-12);
  Vector g, g1, g2;
  model_->Gradient(w_, full, &g);
  model_->Gradient(w_, first, &g1);
  model_->Gradient(w_, second, &g2);
  EXPECT_LE((g - 0.5 * (g1 + g2)).cwiseAbs().maxCoeff(), 1e-12);
  Vector h, h1, h2;
  model_->HessianVectorProduct(w_, full, v, &h);
  model_->HessianVectorProduct(w_, first, v, &h1);
  model_->HessianVectorProduct(w_, second, v, &h2);
  EXPECT_LE((h - 0.5 * (h1 + h2)).cwiseAbs().maxCoeff(), 1e-11 * (1.0 + h.cwiseAbs().maxCoeff()));
  Matrix per;
  model_->PerExampleGradients(w_, full, &per);
  ASSERT_EQ(per.rows(), 600);
  EXPECT_LE((per.colwise().mean().transpose() - g).cwiseAbs().maxCoeff(), 1e-12);
  Matrix per2;
  model_->PerExampleGradients(w_, second, &per2);
  EXPECT_LE((per.bottomRows(300) - per2).cwiseAbs().maxCoeff(), 1e-13);

  Matrix proba;
  model_->PredictProba(w_, data_.x, &proba);  // 600 rows: several chunks
  ASSERT_EQ(proba.rows(), data_.size());
  double nll = 0.0;
  for (int i = 0; i < data_.size(); ++i) nll -= std::log(proba(i, data_.y[i]));
  const std::vector<int> every = AllRows(data_);
  EXPECT_NEAR(model_->Loss(w_, Batch{&data_, every}), nll / data_.size(), 1e-12);
}

TEST_P(ModelConformanceTest, EmptyBatchGivesZeros) {
  const Batch empty{&data_, {}};
  EXPECT_EQ(model_->Loss(w_, empty), 0.0);
  Vector g = Vector::Ones(3);
  model_->Gradient(w_, empty, &g);
  EXPECT_EQ(g, Vector::Zero(model_->num_parameters()));
  Matrix per;
  model_->PerExampleGradients(w_, empty, &per);
  EXPECT_EQ(per.rows(), 0);
  EXPECT_EQ(per.cols(), model_->num_parameters());
  Vector hv;
  model_->HessianVectorProduct(w_, empty, w_, &hv);
  EXPECT_EQ(hv, Vector::Zero(model_->num_parameters()));
}

TEST_P(ModelConformanceTest, OutputsAreResizedAndOverwritten) {
  Vector g(1);
  g[0] = 42.0;
  Matrix per = Matrix::Constant(2, 2, 7.0);
  Vector expected;
  model_->Gradient(w_, batch_, &g);
  model_->Gradient(w_, batch_, &expected);
  EXPECT_EQ(g, expected);
  model_->PerExampleGradients(w_, batch_, &per);
  EXPECT_EQ(per.rows(), batch_.size());
  Matrix again = Matrix::Constant(per.rows(), per.cols(), 1e300);
  model_->PerExampleGradients(w_, batch_, &again);
  EXPECT_EQ(per, again);
}

TEST_P(ModelConformanceTest, StableForHugeLogits) {
  const Vector big = 1e3 * w_;
  const double loss = model_->Loss(big, batch_);
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GE(loss, 0.0);
  Vector g, hv;
  Matrix per, proba;
  model_->Gradient(big, batch_, &g);
  model_->PerExampleGradients(big, batch_, &per);
  model_->HessianVectorProduct(big, batch_, w_, &hv);
  model_->PredictProba(big, data_.x, &proba);
  EXPECT_TRUE(g.allFinite());
  EXPECT_TRUE(per.allFinite());
  EXPECT_TRUE(hv.allFinite());
  EXPECT_TRUE(proba.allFinite());
  for (int i = 0; i < proba.rows(); ++i) EXPECT_NEAR(proba.row(i).sum(), 1.0, 1e-12);
}

TEST_P(ModelConformanceTest, InitialParametersAreDeterministic) {
  Rng a(99), b(99), c(100);
  const Vector wa = model_->InitialParameters(a);
  const Vector wb = model_->InitialParameters(b);
  const Vector wc = model_->InitialParameters(c);
  EXPECT_EQ(wa, wb);
  EXPECT_TRUE(wa.allFinite());
  if (GetParam().config.type == "mlp") {
    EXPECT_NE(wa, wc);  // random init
  } else {
    EXPECT_EQ(wa, Vector::Zero(model_->num_parameters()));  // linear models start at zero
  }
}

TEST_P(ModelConformanceTest, ConcurrentCallsMatchSequentialOnes) {
  constexpr int kThreads = 4;
  std::vector<std::vector<int>> rows(kThreads);
  std::vector<Vector> expected(kThreads), got(kThreads);
  std::vector<Matrix> expected_per(kThreads), got_per(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    rows[t] = RandomRows(40 + 100 * t, data_.size(), 500 + t);  // some exceed one chunk
    model_->Gradient(w_, Batch{&data_, rows[t]}, &expected[t]);
    model_->PerExampleGradients(w_, Batch{&data_, rows[t]}, &expected_per[t]);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) {
        model_->Gradient(w_, Batch{&data_, rows[t]}, &got[t]);
        model_->PerExampleGradients(w_, Batch{&data_, rows[t]}, &got_per[t]);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(got[t], expected[t]) << "thread " << t;
    EXPECT_EQ(got_per[t], expected_per[t]) << "thread " << t;
  }
}

// Wrong shapes are broken caller invariants: they abort with a message, never read out of bounds.
TEST_P(ModelConformanceTest, BrokenInvariantsAbortWithAMessage) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  const Vector too_long = Vector::Zero(model_->num_parameters() + 1);
  EXPECT_DEATH(model_->Loss(too_long, batch_), "wrong length");
  Matrix per;
  EXPECT_DEATH(model_->PerExampleGradients(too_long, batch_, &per), "wrong length");
  const std::vector<int> bad_row{data_.size()};
  EXPECT_DEATH(model_->Loss(w_, Batch{&data_, bad_row}), "out of range");
  Dataset narrow = MakeSyntheticDataset(5, GetParam().dim + 1, GetParam().classes, 1);
  const std::vector<int> first{0};
  EXPECT_DEATH(model_->Loss(w_, Batch{&narrow, first}), "width");
  Dataset bad_label = MakeSyntheticDataset(5, GetParam().dim, GetParam().classes, 1);
  bad_label.y[0] = GetParam().classes;
  EXPECT_DEATH(model_->Loss(w_, Batch{&bad_label, first}), "label");
}

INSTANTIATE_TEST_SUITE_P(AllModels, ModelConformanceTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<ModelCase>& info) {
                           return info.param.label;
                         });

}  // namespace
}  // namespace fedsilo
