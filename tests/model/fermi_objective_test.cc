// Independent checks of the FERMI objective: gradients of both blocks against central finite
// differences of Loss, the probability VJPs of the base models against finite differences of
// PredictProba, per-example rows against the gradient, psi's maximizer against the closed form
// W* = P_s^{-1/2} P_{yhat,s}^T P_yhat^{-1} with the maximum equal to the ERMI computed directly
// from the joint, and lambda = 0 against the base model.
#include "common/model/fermi_objective.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/model/logistic_model.h"
#include "common/model/mlp_model.h"
#include "common/model/softmax_model.h"
#include "tests/model/model_test_util.h"

namespace fedsilo {
namespace {

using testing::MakeSyntheticDataset;
using testing::RandomVector;

Dataset WithGroups(Dataset data, int groups, uint64_t seed) {
  Rng rng(seed);
  data.num_groups = groups;
  data.group.resize(data.y.size());
  for (size_t i = 0; i < data.y.size(); ++i) {
    // Tie groups loosely to the first feature so the joint is not a product.
    const int g = data.x(static_cast<Eigen::Index>(i), 0) > 0.3 ? 1 : 0;
    data.group[i] = rng.Uniform() < 0.6 ? g % groups
                                        : static_cast<int>(rng.UniformInt(static_cast<uint64_t>(groups)));
  }
  return data;
}

std::unique_ptr<Model> MakeBase(const std::string& type, int d, int classes) {
  if (type == "logistic") return *LogisticModel::Create(d);
  if (type == "softmax") return *SoftmaxModel::Create(d, classes);
  return *MlpModel::Create(d, {5}, MlpModel::Activation::kTanh, classes);
}

struct Case {
  std::string model;
  int classes;
  FairnessNotion notion;
};

class FermiGradientTest : public ::testing::TestWithParam<Case> {};

TEST_P(FermiGradientTest, GradientsMatchFiniteDifferences) {
  const Case c = GetParam();
  const int d = 4, groups = 3;
  const Dataset data = WithGroups(MakeSyntheticDataset(40, d, c.classes, 7), groups, 8);
  const std::vector<int> rows = AllRows(data);
  const Batch batch{&data, rows};
  FermiOptions options;
  options.notion = c.notion;
  options.lambda = 0.7;
  options.num_groups = groups;
  options.group_marginals = *EmpiricalGroupMarginals(data, rows, c.notion);
  auto model = *FermiObjective::Create(MakeBase(c.model, d, c.classes), options);
  const Vector w = RandomVector(model->num_parameters(), 0.5, 11);

  Vector grad;
  model->Gradient(w, batch, &grad);
  const double h = 1e-6;
  for (int j = 0; j < model->num_parameters(); ++j) {
    Vector plus = w, minus = w;
    plus[j] += h;
    minus[j] -= h;
    const double fd = (model->Loss(plus, batch) - model->Loss(minus, batch)) / (2 * h);
    EXPECT_NEAR(grad[j], fd, 1e-6 * std::max(1.0, std::abs(fd)))
        << (j < model->dual_offset() ? "theta " : "W ") << j;
  }
  // Per-example rows: their mean is the gradient; each row is record i's own gradient.
  Matrix per;
  model->PerExampleGradients(w, batch, &per);
  EXPECT_LT((per.colwise().mean().transpose() - grad).norm(), 1e-10);
  const std::vector<int> one = {rows[5]};
  Vector g5;
  model->Gradient(w, Batch{&data, one}, &g5);
  EXPECT_LT((per.row(5).transpose() - g5).norm(), 1e-10);
  // The default clipped sum clips the full row over both blocks.
  Vector clipped;
  model->ClippedGradientSum(w, batch, 0.05, &clipped);
  Vector expected = Vector::Zero(model->num_parameters());
  for (int i = 0; i < per.rows(); ++i) {
    expected += per.row(i).transpose() * std::min(1.0, 0.05 / per.row(i).norm());
  }
  EXPECT_LT((clipped - expected).norm(), 1e-10);
  // Private FERMI's block clipping of [theta | W] (ghost norms for the MLP base) against the
  // per-example rows above clipped block by block here.
  const int p = model->dual_offset(), q = model->dual_size();
  for (const auto& [theta_clip, w_clip] : {std::pair{0.02, 0.01}, std::pair{0.3, 0.2},
                                          std::pair{1e6, 1e6}}) {
    const std::vector<ClipBlock> blocks = {{p, theta_clip}, {q, w_clip}};
    Vector by_blocks;
    const int clipped_parts = model->ClippedBlocksGradientSum(w, batch, blocks, &by_blocks);
    Vector manual = Vector::Zero(model->num_parameters());
    int manual_parts = 0;
    for (int i = 0; i < per.rows(); ++i) {
      const double nt = per.row(i).head(p).norm(), nw = per.row(i).tail(q).norm();
      manual.head(p) += per.row(i).head(p).transpose() * std::min(1.0, theta_clip / nt);
      manual.tail(q) += per.row(i).tail(q).transpose() * std::min(1.0, w_clip / nw);
      manual_parts += (nt > theta_clip) + (nw > w_clip);
    }
    EXPECT_EQ(clipped_parts, manual_parts) << theta_clip;
    EXPECT_LT((by_blocks - manual).norm(), 1e-11 * (1.0 + manual.norm())) << theta_clip;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, FermiGradientTest,
    ::testing::Values(Case{"logistic", 2, FairnessNotion::kDemographicParity},
                      Case{"logistic", 2, FairnessNotion::kEqualizedOdds},
                      Case{"logistic", 2, FairnessNotion::kEqualOpportunity},
                      Case{"softmax", 3, FairnessNotion::kDemographicParity},
                      Case{"softmax", 3, FairnessNotion::kEqualizedOdds},
                      Case{"mlp", 3, FairnessNotion::kDemographicParity},
                      Case{"mlp", 2, FairnessNotion::kEqualOpportunity}));

// Probability VJPs of each base model against finite differences of PredictProba.
TEST(ProbabilityVjpTest, MatchesFiniteDifferences) {
  const int d = 3;
  for (const auto& [type, classes] :
       std::vector<std::pair<std::string, int>>{{"logistic", 2}, {"softmax", 4}, {"mlp", 3}}) {
    const Dataset data = MakeSyntheticDataset(6, d, classes, 3);
    const std::vector<int> rows = AllRows(data);
    auto base = MakeBase(type, d, classes);
    ASSERT_TRUE(base->has_probability_vjp());
    const Vector w = RandomVector(base->num_parameters(), 0.7, 5);
    Matrix upstream(6, classes);
    for (int i = 0; i < 6; ++i) upstream.row(i) = RandomVector(classes, 1.0, 100 + i).transpose();
    Matrix vjp;
    base->PerExampleProbabilityVjp(w, Batch{&data, rows}, upstream, &vjp);
    const double h = 1e-6;
    for (int j = 0; j < base->num_parameters(); ++j) {
      Vector plus = w, minus = w;
      plus[j] += h;
      minus[j] -= h;
      Matrix fp, fm;
      base->PredictProba(plus, data.x, &fp);
      base->PredictProba(minus, data.x, &fm);
      for (int i = 0; i < 6; ++i) {
        const double fd = (fp.row(i) - fm.row(i)).dot(upstream.row(i)) / (2 * h);
        EXPECT_NEAR(vjp(i, j), fd, 1e-7) << type << " record " << i << " param " << j;
      }
    }
  }
}

// Maximizing the mean psi over W gives the closed form and the ERMI.
TEST(FermiObjectiveTest, PsiMaximizerIsClosedFormAndMaximumIsErmi) {
  const int d = 3, classes = 3, groups = 2;
  const Dataset data = WithGroups(MakeSyntheticDataset(50, d, classes, 21), groups, 22);
  const std::vector<int> rows = AllRows(data);
  const Batch batch{&data, rows};
  FermiOptions options;
  options.lambda = 1.0;
  options.num_groups = groups;
  options.group_marginals = *EmpiricalGroupMarginals(data, rows, FairnessNotion::kDemographicParity);
  auto model = *FermiObjective::Create(MakeBase("softmax", d, classes), options);
  Vector w = RandomVector(model->num_parameters(), 0.8, 23);
  const Vector theta = w.head(model->dual_offset());
  Matrix f;
  model->base().PredictProba(theta, data.x, &f);
  // Joint P(yhat = c, s = j) (m x k), marginals, computed directly.
  Matrix joint = Matrix::Zero(classes, groups);
  for (int i = 0; i < data.size(); ++i) joint.col(data.group[i]) += f.row(i).transpose();
  joint /= data.size();
  const Vector p_yhat = joint.rowwise().sum();
  const Vector p_s = joint.colwise().sum().transpose();
  double ermi = -1.0;
  for (int c = 0; c < classes; ++c) {
    for (int j = 0; j < groups; ++j) ermi += joint(c, j) * joint(c, j) / (p_yhat[c] * p_s[j]);
  }
  // W* = P_s^{-1/2} P_{yhat,s}^T P_yhat^{-1}  (k x m).
  const Matrix w_star = p_s.cwiseSqrt().cwiseInverse().asDiagonal() * joint.transpose() *
                        p_yhat.cwiseInverse().asDiagonal();
  Eigen::Map<Matrix>(w.data() + model->dual_offset(), groups, classes) = w_star;
  EXPECT_NEAR(model->PerExamplePsi(w, batch).mean(), ermi, 1e-12);
  EXPECT_GT(ermi, 0.0);
  // Stationary in W, and any perturbation lowers psi (it is concave in W).
  Vector grad;
  model->Gradient(w, batch, &grad);
  EXPECT_LT(grad.tail(model->dual_size()).norm(), 1e-12);
  for (int t = 0; t < 5; ++t) {
    Vector moved = w;
    moved.tail(model->dual_size()) += RandomVector(model->dual_size(), 0.1, 40 + t);
    EXPECT_LT(model->PerExamplePsi(moved, batch).mean(), ermi);
  }
  // Its gradient ascent from 0 converges to the same value.
  Vector ascent = w;
  ascent.tail(model->dual_size()).setZero();
  for (int step = 0; step < 2000; ++step) {
    model->Gradient(ascent, batch, &grad);
    ascent.tail(model->dual_size()) += 0.5 * grad.tail(model->dual_size());
  }
  EXPECT_NEAR(model->PerExamplePsi(ascent, batch).mean(), ermi, 1e-9);
}

TEST(FermiObjectiveTest, LambdaZeroIsTheBaseModel) {
  const int d = 4;
  const Dataset data = WithGroups(MakeSyntheticDataset(30, d, 2, 31), 2, 32);
  const std::vector<int> rows = AllRows(data);
  const Batch batch{&data, rows};
  FermiOptions options;
  options.lambda = 0.0;
  options.num_groups = 2;
  options.group_marginals = *EmpiricalGroupMarginals(data, rows, FairnessNotion::kDemographicParity);
  auto model = *FermiObjective::Create(MakeBase("logistic", d, 2), options);
  auto base = MakeBase("logistic", d, 2);
  const Vector w = RandomVector(model->num_parameters(), 0.5, 33);
  const Vector theta = w.head(model->dual_offset());
  EXPECT_DOUBLE_EQ(model->Loss(w, batch), base->Loss(theta, batch));
  Vector g, gb;
  model->Gradient(w, batch, &g);
  base->Gradient(theta, batch, &gb);
  EXPECT_EQ(g.head(model->dual_offset()), gb);
  EXPECT_EQ(g.tail(model->dual_size()).norm(), 0.0);
  // The clipped sum: each record's full per-example row, clipped here by hand.
  Matrix per;
  model->PerExampleGradients(w, batch, &per);
  for (const double clip : {0.05, 1e6}) {
    Vector clipped;
    int expected_clipped = 0;
    Vector expected = Vector::Zero(model->num_parameters());
    for (int i = 0; i < per.rows(); ++i) {
      const double norm = per.row(i).norm();
      expected += per.row(i).transpose() * std::min(1.0, clip / norm);
      expected_clipped += norm > clip;
    }
    EXPECT_EQ(model->ClippedGradientSum(w, batch, clip, &clipped), expected_clipped) << clip;
    EXPECT_LT((clipped - expected).norm(), 1e-12 * (1.0 + expected.norm())) << clip;
  }
}

TEST(FermiObjectiveTest, RejectsBadOptions) {
  FermiOptions options;
  options.num_groups = 2;
  options.group_marginals = Matrix::Constant(1, 2, 0.5);
  options.lambda = -1.0;
  EXPECT_FALSE(FermiObjective::Create(MakeBase("logistic", 2, 2), options).ok());
  options.lambda = 1.0;
  options.group_marginals = Matrix::Constant(1, 3, 1.0 / 3);
  EXPECT_FALSE(FermiObjective::Create(MakeBase("logistic", 2, 2), options).ok());
  options.group_marginals = Matrix::Constant(1, 2, 0.4);
  EXPECT_FALSE(FermiObjective::Create(MakeBase("logistic", 2, 2), options).ok());
  options.group_marginals = Matrix::Constant(1, 2, 0.5);
  EXPECT_TRUE(FermiObjective::Create(MakeBase("logistic", 2, 2), options).ok());
  EXPECT_FALSE(ParseFairnessNotion("parity").ok());
}

// Marginals per notion, against counts done by hand. Records (y, s): (0,0) (0,1) (1,0) (1,0)
// (1,1) (0,0) (1,1): P(s) = (4/7, 3/7); P(s | y = 0) = (2/3, 1/3); P(s | y = 1) = (2/4, 2/4).
TEST(FermiObjectiveTest, EmpiricalMarginalsPerNotion) {
  Dataset data;
  data.num_classes = 2;
  data.num_groups = 2;
  data.x = Matrix::Zero(7, 1);
  data.y = {0, 0, 1, 1, 1, 0, 1};
  data.group = {0, 1, 0, 0, 1, 0, 1};
  const std::vector<int> rows = AllRows(data);
  const Matrix dp = *EmpiricalGroupMarginals(data, rows, FairnessNotion::kDemographicParity);
  ASSERT_EQ(dp.rows(), 1);
  EXPECT_NEAR(dp(0, 0), 4.0 / 7, 1e-15);
  EXPECT_NEAR(dp(0, 1), 3.0 / 7, 1e-15);
  const Matrix eo = *EmpiricalGroupMarginals(data, rows, FairnessNotion::kEqualizedOdds);
  ASSERT_EQ(eo.rows(), 2);
  EXPECT_NEAR(eo(0, 0), 2.0 / 3, 1e-15);
  EXPECT_NEAR(eo(0, 1), 1.0 / 3, 1e-15);
  EXPECT_NEAR(eo(1, 0), 0.5, 1e-15);
  const Matrix eopp = *EmpiricalGroupMarginals(data, rows, FairnessNotion::kEqualOpportunity);
  ASSERT_EQ(eopp.rows(), 1);
  EXPECT_NEAR(eopp(0, 1), 0.5, 1e-15);
  // Equal opportunity: records with y = 0 contribute psi = 0.
  FermiOptions options;
  options.notion = FairnessNotion::kEqualOpportunity;
  options.lambda = 1.0;
  options.num_groups = 2;
  options.group_marginals = eopp;
  auto model = *FermiObjective::Create(*LogisticModel::Create(1), options);
  const Vector psi =
      model->PerExamplePsi(RandomVector(model->num_parameters(), 1.0, 3), Batch{&data, rows});
  for (int i = 0; i < 7; ++i) {
    if (data.y[i] == 0) {
      EXPECT_EQ(psi[i], 0.0) << i;
    } else {
      EXPECT_NE(psi[i], 0.0) << i;
    }
  }
  data.group.clear();
  EXPECT_FALSE(EmpiricalGroupMarginals(data, rows, FairnessNotion::kDemographicParity).ok());
}

// Count cells and marginals from (noisy) counts, against values worked out by hand.
TEST(FermiObjectiveTest, CountCellsAndMarginalsFromCounts) {
  // 3 groups. Demographic parity: the group; equalized odds: label * 3 + group; equal
  // opportunity: the group for y = 1, no cell for y = 0.
  EXPECT_EQ(FermiCountCell(FairnessNotion::kDemographicParity, 1, 2, 3), 2);
  EXPECT_EQ(FermiCountCell(FairnessNotion::kEqualizedOdds, 1, 2, 3), 5);
  EXPECT_EQ(FermiCountCell(FairnessNotion::kEqualizedOdds, 0, 1, 3), 1);
  EXPECT_EQ(FermiCountCell(FairnessNotion::kEqualOpportunity, 1, 2, 3), 2);
  EXPECT_EQ(FermiCountCell(FairnessNotion::kEqualOpportunity, 0, 2, 3), -1);
  // Two blocks of 3: (30, -4.5, 10) -> raised to (30, 1, 10) / 41; (0, 0, 0) -> uniform.
  Vector counts(6);
  counts << 30, -4.5, 10, 0, 0, 0;
  const Matrix p = MarginalsFromCounts(counts, 2, 3, 1.0);
  EXPECT_NEAR(p(0, 0), 30.0 / 41, 1e-15);
  EXPECT_NEAR(p(0, 1), 1.0 / 41, 1e-15);
  EXPECT_NEAR(p(0, 2), 10.0 / 41, 1e-15);
  EXPECT_NEAR(p(1, 0), 1.0 / 3, 1e-15);
  // Exact counts (min_count 0): an empty group keeps a tiny positive mass only.
  const Matrix exact = MarginalsFromCounts(counts, 2, 3, 0.0);
  EXPECT_NEAR(exact(0, 0), 0.75, 1e-11);
  EXPECT_GT(exact(0, 1), 0.0);
  EXPECT_LT(exact(0, 1), 1e-11);
  EXPECT_NEAR(exact(1, 2), 1.0 / 3, 1e-15);
}

// WithMarginals: the same base model and options but other marginals; psi changes accordingly.
TEST(FermiObjectiveTest, WithMarginalsSharesTheBaseAndChangesOnlyTheMarginals) {
  const int d = 3;
  const Dataset data = WithGroups(MakeSyntheticDataset(30, d, 2, 41), 2, 42);
  const std::vector<int> rows = AllRows(data);
  const Batch batch{&data, rows};
  FermiOptions options;
  options.lambda = 0.8;
  options.num_groups = 2;
  options.group_marginals = Matrix::Constant(1, 2, 0.5);
  auto shared = *FermiObjective::Create(MakeBase("logistic", d, 2), options);
  Matrix own_p(1, 2);
  own_p << 0.2, 0.8;
  auto own = *shared->WithMarginals(own_p);
  EXPECT_EQ(&own->base(), &shared->base());
  EXPECT_EQ(own->num_parameters(), shared->num_parameters());
  EXPECT_EQ(own->options().group_marginals, own_p);
  EXPECT_EQ(own->options().lambda, 0.8);
  // Against an objective built from scratch with those marginals.
  options.group_marginals = own_p;
  auto fresh = *FermiObjective::Create(MakeBase("logistic", d, 2), options);
  const Vector w = RandomVector(own->num_parameters(), 0.7, 43);
  EXPECT_DOUBLE_EQ(own->Loss(w, batch), fresh->Loss(w, batch));
  EXPECT_NE(own->Loss(w, batch), shared->Loss(w, batch));
  Matrix bad(1, 2);
  bad << 0.5, 0.6;
  EXPECT_FALSE(shared->WithMarginals(bad).ok());
}

}  // namespace
}  // namespace fedsilo
