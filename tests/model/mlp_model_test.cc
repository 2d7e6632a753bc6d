// Independent checks of the MLP: a hand-written forward pass following the documented parameter
// layout, the exact HVP against finite differences at several points, the explicit Hessian's
// symmetry, and the initialisation bounds.
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/dp/clipping.h"
#include "common/model/mlp_model.h"
#include "tests/model/model_test_util.h"

namespace fedsilo {
namespace {

using Activation = MlpModel::Activation;
using testing::MakeSyntheticDataset;
using testing::RandomRows;
using testing::RandomVector;

double Act(Activation act, double z) {
  switch (act) {
    case Activation::kRelu: return z > 0 ? z : 0.0;
    case Activation::kElu: return z > 0 ? z : std::exp(z) - 1.0;
    case Activation::kTanh: return std::tanh(z);
    case Activation::kSigmoid: return 1.0 / (1.0 + std::exp(-z));
  }
  return 0.0;
}

std::unique_ptr<MlpModel> Make(int d, std::vector<int> hidden, Activation act, int classes,
                               double init_scale = 0.0) {
  auto made = MlpModel::Create(d, hidden, act, classes, init_scale);
  EXPECT_TRUE(made.ok()) << made.status();
  return std::move(made).value();
}

// Parameterised by activation name (prints readably in gtest output).
class MlpActivationTest : public ::testing::TestWithParam<std::string> {
 protected:
  Activation act() const { return MlpModel::ParseActivation(GetParam()).value(); }
};

// Forward pass written with plain loops from the layout in mlp_model.h.
TEST_P(MlpActivationTest, ManualForwardFollowsDocumentedLayout) {
  const Activation act = this->act();
  const std::vector<int> widths = {4, 5, 3, 3};
  auto model = Make(4, {5, 3}, act, 3);
  const Vector w = RandomVector(model->num_parameters(), 0.7, 1);
  const Dataset data = MakeSyntheticDataset(6, 4, 3, 2);
  Matrix proba;
  model->PredictProba(w, data.x, &proba);

  int offset = 0;
  for (int l = 1; l <= 3; ++l) {
    EXPECT_EQ(model->WeightOffset(l), offset);
    EXPECT_EQ(model->BiasOffset(l), offset + widths[l] * widths[l - 1]);
    offset += widths[l] * (widths[l - 1] + 1);
  }
  EXPECT_EQ(offset, model->num_parameters());

  for (int i = 0; i < data.size(); ++i) {
    std::vector<double> a(data.x.row(i).data(), data.x.row(i).data() + 4);
    int off = 0;
    for (int l = 1; l <= 3; ++l) {
      const int in = widths[l - 1], out = widths[l];
      std::vector<double> z(out);
      for (int j = 0; j < out; ++j) {
        z[j] = w[off + in * out + j];  // bias
        for (int k = 0; k < in; ++k) z[j] += w[off + j * in + k] * a[k];
      }
      off += out * (in + 1);
      if (l < 3) {
        for (double& t : z) t = Act(act, t);
      }
      a = z;
    }
    double norm = 0.0;
    for (double t : a) norm += std::exp(t);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(proba(i, c), std::exp(a[c]) / norm, 1e-14);
  }
}

// The R-operator HVP against central differences of the gradient at several random points of a
// deeper network.
TEST_P(MlpActivationTest, HvpMatchesFiniteDifferencesAtSeveralPoints) {
  const Activation act = this->act();
  auto model = Make(8, {9, 6, 5}, act, 4);
  const Dataset data = MakeSyntheticDataset(100, 8, 4, 3);
  const std::vector<int> rows = RandomRows(30, data.size(), 4);
  const Batch batch{&data, rows};
  constexpr double h = 1e-6;
  for (uint64_t point = 0; point < 5; ++point) {
    Rng rng(100 + point);
    Vector w = model->InitialParameters(rng);
    w += RandomVector(model->num_parameters(), 0.3, 200 + point);  // non-zero biases too
    const Vector v = RandomVector(model->num_parameters(), 1.0, 300 + point);
    Vector hv, gp, gm;
    model->HessianVectorProduct(w, batch, v, &hv);
    model->Gradient(w + h * v, batch, &gp);
    model->Gradient(w - h * v, batch, &gm);
    const Vector fd = (gp - gm) / (2 * h);
    for (int j = 0; j < hv.size(); ++j) {
      EXPECT_NEAR(hv[j], fd[j], 1e-7 + 1e-5 * std::abs(fd[j])) << "point " << point << " entry " << j;
    }
  }
}

TEST_P(MlpActivationTest, ExplicitHessianIsSymmetric) {
  auto model = Make(3, {4, 3}, act(), 3);
  const Dataset data = MakeSyntheticDataset(40, 3, 3, 5);
  const std::vector<int> rows = AllRows(data);
  const Vector w = RandomVector(model->num_parameters(), 0.8, 6);
  const int p = model->num_parameters();
  Matrix hessian(p, p);
  for (int j = 0; j < p; ++j) {
    Vector hv;
    model->HessianVectorProduct(w, Batch{&data, rows}, Vector::Unit(p, j), &hv);
    hessian.col(j) = hv;
  }
  EXPECT_LE((hessian - hessian.transpose()).cwiseAbs().maxCoeff(),
            1e-14 * (1.0 + hessian.cwiseAbs().maxCoeff()));
}

TEST_P(MlpActivationTest, InitialisationBounds) {
  const Activation act = this->act();
  auto model = Make(50, {30, 20}, act, 10);
  Rng rng(7);
  const Vector w = model->InitialParameters(rng);
  const std::vector<int> widths = {50, 30, 20, 10};
  const bool he = act == Activation::kRelu || act == Activation::kElu;
  for (int l = 1; l <= 3; ++l) {
    const int in = widths[l - 1], out = widths[l];
    const double bound = he ? std::sqrt(6.0 / in) : std::sqrt(6.0 / (in + out));
    const auto weights = w.segment(model->WeightOffset(l), in * out);
    EXPECT_LE(weights.cwiseAbs().maxCoeff(), bound);
    EXPECT_GT(weights.cwiseAbs().maxCoeff(), 0.8 * bound);  // uses the whole range
    EXPECT_EQ(w.segment(model->BiasOffset(l), out), Vector::Zero(out));
  }
  auto scaled = Make(50, {30, 20}, act, 10, /*init_scale=*/0.01);
  Rng rng2(7);
  EXPECT_LE(scaled->InitialParameters(rng2).cwiseAbs().maxCoeff(), 0.01);
}

// Ghost clipping against two independent computations: the per-example gradient rows clipped
// one by one (common/dp/clipping.h), over 300 records (two chunks) and clips from "all clipped"
// to "none", with one record whose gradient is not finite (left out, as clipping.h says); and,
// with no clipping, central finite differences of the summed loss.
TEST_P(MlpActivationTest, GhostClippedSumMatchesClippedPerExampleRows) {
  auto model = Make(7, {6, 4}, act(), 3);
  Dataset data = MakeSyntheticDataset(300, 7, 3, 21);
  data.x(17, 2) = std::nan("");  // a record whose gradient is not finite
  const Vector w = RandomVector(model->num_parameters(), 0.7, 22);
  std::vector<int> rows(300);
  for (int i = 0; i < 300; ++i) rows[i] = i;
  const Batch batch{&data, rows};
  Matrix per_example;
  model->PerExampleGradients(w, batch, &per_example);
  ASSERT_FALSE(per_example.row(17).allFinite());
  for (const double clip : {1e-3, 0.05, 0.5, 1e9}) {
    Vector expected, ghost;
    const int expected_clipped = ClipAndSumRows(per_example, clip, &expected);
    const int clipped = model->ClippedGradientSum(w, batch, clip, &ghost);
    EXPECT_EQ(clipped, expected_clipped) << clip;
    ASSERT_TRUE(ghost.allFinite()) << clip;
    EXPECT_LT((ghost - expected).norm(), 1e-12 * (1.0 + expected.norm())) << clip;
  }

  rows.erase(rows.begin() + 17);
  const Batch finite{&data, rows};
  Vector sum;
  EXPECT_EQ(model->ClippedGradientSum(w, finite, 1e300, &sum), 0);
  const double h = 1e-6;
  for (const int j : {0, 5, model->BiasOffset(1), model->WeightOffset(2) + 3,
                      model->num_parameters() - 1}) {
    Vector plus = w, minus = w;
    plus[j] += h;
    minus[j] -= h;
    const double fd = (model->Loss(plus, finite) - model->Loss(minus, finite)) / (2 * h) *
                      static_cast<double>(rows.size());
    EXPECT_NEAR(sum[j], fd, 1e-5 * (1.0 + std::abs(fd))) << "parameter " << j;
  }
}

// At extreme parameters (as a hostile coordinator may send) deltas can be tiny and activations
// huge; a norm computed from squared norms would underflow and let a record through unclipped.
// Whatever the scale, every record contributes at most `clip`, so the sum's norm is at most n clip,
// and where the per-example rows are finite the two computations agree.
TEST_P(MlpActivationTest, GhostClippingHoldsTheBoundAtExtremeParameters) {
  auto model = Make(5, {4, 3}, act(), 3);
  const Dataset data = MakeSyntheticDataset(40, 5, 3, 41);
  std::vector<int> rows(40);
  for (int i = 0; i < 40; ++i) rows[i] = i;
  const Batch batch{&data, rows};
  const double clip = 0.25;
  for (const double magnitude : {1e-200, 1e-50, 1e50, 1e100, 1e150, 1e200, 1e300}) {
    const Vector w = RandomVector(model->num_parameters(), 1.0, 42) * magnitude;
    Vector ghost;
    model->ClippedGradientSum(w, batch, clip, &ghost);
    ASSERT_TRUE(ghost.allFinite()) << magnitude;
    EXPECT_LE(ghost.norm(), 40 * clip * (1.0 + 1e-12)) << magnitude;
    Matrix per_example;
    model->PerExampleGradients(w, batch, &per_example);
    if (per_example.allFinite() && per_example.rowwise().norm().allFinite()) {
      Vector expected;
      ClipAndSumRows(per_example, clip, &expected);
      EXPECT_LT((ghost - expected).norm(), 1e-10 * (1.0 + expected.norm())) << magnitude;
    }
  }
}

// The one-pass evaluation against Model's default (Loss, then PredictProba's argmax).
TEST_P(MlpActivationTest, LossSumAndPredictionsMatchLossAndPredictProba) {
  auto model = Make(9, {8, 5}, act(), 4);
  const Dataset data = MakeSyntheticDataset(600, 9, 4, 31);
  const Vector w = RandomVector(model->num_parameters(), 0.8, 32);
  const std::vector<int> rows = RandomRows(500, 600, 33);
  const Batch batch{&data, rows};
  std::vector<int> fast, reference;
  const double fast_sum = model->LossSumAndPredictions(w, batch, &fast);
  const double reference_sum = model->Model::LossSumAndPredictions(w, batch, &reference);
  EXPECT_NEAR(fast_sum, reference_sum, 1e-12 * std::abs(reference_sum));
  EXPECT_EQ(fast, reference);
}

INSTANTIATE_TEST_SUITE_P(Activations, MlpActivationTest,
                         ::testing::Values("relu", "elu", "tanh", "sigmoid"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(MlpModelTest, ParseActivationRoundTrips) {
  for (const char* name : {"relu", "elu", "tanh", "sigmoid"}) {
    auto act = MlpModel::ParseActivation(name);
    ASSERT_TRUE(act.ok());
    EXPECT_EQ(MlpModel::ActivationName(*act), name);
  }
  EXPECT_EQ(MlpModel::ParseActivation("gelu").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MlpModelTest, ParameterCountOfTheMnistNetwork) {
  auto model = Make(784, {80, 60}, Activation::kElu, 10);
  EXPECT_EQ(model->num_parameters(), 80 * 785 + 60 * 81 + 10 * 61);
  EXPECT_EQ(model->num_layers(), 3);
}

}  // namespace
}  // namespace fedsilo
