#include "common/algorithms/fedavg.h"

#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "common/algorithms/algorithm_registry.h"
#include "common/algorithms/gradient_oracle.h"
#include "tests/algorithms/test_models.h"

namespace fedsilo {
namespace {

using testing::LineDataset;
using testing::QuadraticModel;

std::vector<int> Range(int begin, int end) {
  std::vector<int> rows(static_cast<size_t>(end - begin));
  std::iota(rows.begin(), rows.end(), begin);
  return rows;
}

TEST(LocalSgdTest, FullBatchStepsMatchClosedFormGradientDescentWithAndWithoutFedProx) {
  // Quadratic f(w) = mean 0.5 ||w - x_i||^2, plus FedProx's mu/2 ||w - w_g||^2: each step
  // contracts towards w* = (m + mu w_g) / (1 + mu) by (1 - lr (1 + mu)), m the mean record, so
  // from w_0 = w_g, w_k = w* + (1 - lr (1 + mu))^k (w_g - w*); mu = 0 is FedAvg's
  // w_k = m + (1 - lr)^k (w_0 - m).
  const Dataset data = LineDataset(10, 3);
  const QuadraticModel model(3);
  const std::vector<int> rows = Range(0, 10);
  OracleSettings settings;
  settings.batch_size = 10;  // full batch
  const double lr = 0.3;
  const int steps = 4;
  Vector w0(3);
  w0 << 1.0, -2.0, 0.5;
  const Vector mean = data.x.colwise().mean().transpose();
  std::vector<Vector> iterates;
  for (const double mu : {0.0, 0.5}) {
    Rng rng(1);
    PlainGradientOracle oracle(OracleData{&model, &data, rows}, settings, &rng);
    SiloContext context{0, &model, &oracle, 10.0};
    SiloTask task{1, 0, std::make_shared<const Vector>(w0)};
    auto update = LocalSgdSiloProgram(steps, lr, mu).Train(task, context);
    ASSERT_TRUE(update.ok()) << update.status();
    const Vector centre = (mean + mu * w0) / (1 + mu);
    const Vector expected_w = centre + std::pow(1 - lr * (1 + mu), steps) * (w0 - centre);
    EXPECT_LT((update->delta - (expected_w - w0)).norm(), 1e-12) << mu;
    EXPECT_EQ(update->weight, 10.0);
    iterates.push_back(expected_w);
  }
  EXPECT_GT((iterates[1] - iterates[0]).norm(), 0.1);  // the proximal term does something
}

// An oracle that answers g_k = w - c_k + n_k, with n_k fixed offsets standing for a private
// oracle's noise: the proximal term is added to the answer, whatever noise it carries.
class NoisyAnswerOracle : public GradientOracle {
 public:
  NoisyAnswerOracle(Vector centre, std::vector<Vector> noise)
      : centre_(std::move(centre)), noise_(std::move(noise)) {}
  absl::Status Next(const Vector& w, Vector* grad) override {
    *grad = w - centre_ + noise_[calls_++];
    return absl::OkStatus();
  }
  absl::Status Next(const Vector& w, int, Vector* grad) override { return Next(w, grad); }
  absl::Status NextGradientDifference(const Vector&, const Vector&, double, int,
                                      Vector*) override {
    return absl::UnimplementedError("not a local SGD query");
  }
  absl::Status NextHessianVectorProduct(const Vector&, const Vector&, int, Vector*) override {
    return absl::UnimplementedError("not a local SGD query");
  }
  double expected_batch_size() const override { return 1.0; }
  size_t calls() const { return calls_; }

 private:
  Vector centre_;
  std::vector<Vector> noise_;
  size_t calls_ = 0;
};

TEST(LocalSgdTest, FedProxPostProcessesThePrivateAnswers) {
  const QuadraticModel model(2);
  Vector w0(2), c(2), n0(2), n1(2);
  w0 << 1.0, -1.0;
  c << 3.0, 2.0;
  n0 << 0.7, -0.2;
  n1 << -0.4, 0.9;
  const double lr = 0.2, mu = 2.0;
  NoisyAnswerOracle oracle(c, {n0, n1});
  SiloContext context{0, &model, &oracle, 1.0};
  auto update = LocalSgdSiloProgram(2, lr, mu).Train(
      SiloTask{1, 0, std::make_shared<const Vector>(w0)}, context);
  ASSERT_TRUE(update.ok()) << update.status();
  // Step 1 at w0 (the proximal term is 0 there); step 2 adds mu (w1 - w0).
  const Vector w1 = w0 - lr * (w0 - c + n0);
  const Vector w2 = w1 - lr * ((w1 - c + n1) + mu * (w1 - w0));
  EXPECT_LT((update->delta - (w2 - w0)).norm(), 1e-15);
  EXPECT_EQ(oracle.calls(), 2u);  // one query a step, as without the term
  // The private algorithm takes it and budgets the same queries; one-step ones refuse it.
  AlgorithmConfig config;
  config.local_steps = 5;
  config.prox_mu = mu;
  for (const char* name : {"fedavg", "isrl_dp_fedavg"}) {
    auto spec = FindAlgorithm(name);
    ASSERT_TRUE(spec.ok());
    EXPECT_TRUE(ValidateAlgorithmConfig(*spec, config).ok()) << name;
    EXPECT_EQ(spec->queries_per_round(config), 5) << name;
  }
  for (const char* name : {"minibatch_sgd", "isrl_dp_minibatch_sgd", "per_fedavg",
                           "isrl_dp_fair_fermi", "sdp_minibatch_sgd"}) {
    auto spec = FindAlgorithm(name);
    ASSERT_TRUE(spec.ok());
    absl::Status status = ValidateAlgorithmConfig(*spec, config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(status.message().find("algorithm.prox_mu"), absl::string_view::npos) << name;
  }
}

TEST(FedAvgCoordinatorTest, WeightedAverageBySizeAndUniform) {
  RoundResults results;
  Vector a(2), b(2);
  a << 1.0, 0.0;
  b << 0.0, 3.0;
  results.updates.push_back(SiloUpdate{1, 0, a, 1.0, {}, {}});
  results.updates.push_back(SiloUpdate{1, 1, b, 3.0, {}, {}});
  Vector global = Vector::Zero(2);
  FedAvgCoordinator by_size(Weighting::kBySize, 2.0);
  ASSERT_TRUE(by_size.Aggregate(1, results, &global).ok());
  EXPECT_DOUBLE_EQ(global[0], 2.0 * 0.25);
  EXPECT_DOUBLE_EQ(global[1], 2.0 * 0.75 * 3.0);
  global.setZero();
  FedAvgCoordinator uniform(Weighting::kUniform, 1.0);
  ASSERT_TRUE(uniform.Aggregate(1, results, &global).ok());
  EXPECT_DOUBLE_EQ(global[0], 0.5);
  EXPECT_DOUBLE_EQ(global[1], 1.5);
}

TEST(FedAvgCoordinatorTest, NoReplyIsAnErrorNamingTheFailures) {
  RoundResults results;
  results.failures.push_back(SiloFailure{4, absl::ResourceExhaustedError("budget spent")});
  Vector global = Vector::Zero(2);
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  const absl::Status status = coordinator.Aggregate(7, results, &global);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("round 7"), std::string::npos);
  EXPECT_NE(status.message().find("silo 4: budget spent"), std::string::npos);
}

TEST(FedAvgCoordinatorTest, WrongDimensionIsRejected) {
  RoundResults results;
  results.updates.push_back(SiloUpdate{1, 0, Vector::Ones(3), 1.0, {}, {}});
  Vector global = Vector::Zero(2);
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  EXPECT_TRUE(absl::IsInvalidArgument(coordinator.Aggregate(1, results, &global)));
}

TEST(LocalSgdTest, NonFiniteUpdateIsReportedNotSent) {
  const Dataset data = LineDataset(4, 2);
  const QuadraticModel model(2);
  const std::vector<int> rows = Range(0, 4);
  OracleSettings settings;
  settings.batch_size = 4;
  Rng rng(1);
  PlainGradientOracle oracle(OracleData{&model, &data, rows}, settings, &rng);
  LocalSgdSiloProgram program(200, 3.0);  // lr 3 on a unit-curvature quadratic diverges
  SiloContext context{2, &model, &oracle, 4.0};
  Vector w0 = Vector::Constant(2, 1e300);
  auto update = program.Train(SiloTask{5, 2, std::make_shared<const Vector>(w0)}, context);
  ASSERT_FALSE(update.ok());
  EXPECT_NE(update.status().message().find("silo 2 round 5"), std::string::npos);
}

TEST(AlgorithmRegistryTest, BuiltInsAndUnknownName) {
  const auto names = RegisteredAlgorithmNames();
  for (const char* name : {"fedavg", "minibatch_sgd", "isrl_dp_fedavg", "isrl_dp_minibatch_sgd"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  AlgorithmConfig config;
  config.local_steps = 5;
  EXPECT_EQ(FindAlgorithm("fedavg")->queries_per_round(config), 5);
  EXPECT_EQ(FindAlgorithm("isrl_dp_minibatch_sgd")->queries_per_round(config), 1);
  EXPECT_TRUE(FindAlgorithm("isrl_dp_fedavg")->record_level_dp);
  EXPECT_FALSE(FindAlgorithm("fedavg")->record_level_dp);
  const auto unknown = FindAlgorithm("fedavgg");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("fedavgg"), std::string::npos);
}

}  // namespace
}  // namespace fedsilo
