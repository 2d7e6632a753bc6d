// Server optimizers (Reddi et al. 2021, Algorithm 2): steps computed by hand for a two-coordinate
// model, the reduction of each to plain FedAvg where its formula says so, Yogi's sign rule, the
// state round trip a checkpoint relies on, and the algorithms that take or refuse it.
#include "common/algorithms/server_optimizer.h"

#include <cmath>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "common/algorithms/algorithm_registry.h"
#include "common/algorithms/fedavg.h"

namespace fedsilo {
namespace {

Vector Vec(double a, double b) {
  Vector v(2);
  v << a, b;
  return v;
}

ServerOptimizerOptions Options(const char* name, double lr) {
  ServerOptimizerOptions options;
  options.name = name;
  options.lr = lr;
  options.beta1 = 0.9;
  options.beta2 = 0.99;
  options.tau = 1e-3;
  return options;
}

// Updates d1 = (0.1, -0.2), d2 = (0.3, 0.05), lr 0.5, beta1 0.9, beta2 0.99, tau 1e-3, w0 = 0.
// The expected values are worked out in the comments from the paper's formulas.
TEST(ServerOptimizerTest, MomentumByHand) {
  ServerOptimizer momentum(Options("momentum", 0.5));
  Vector w = Vector::Zero(2);
  momentum.Step(Vec(0.1, -0.2), &w);  // m = (0.1, -0.2); w = 0.5 m = (0.05, -0.1)
  EXPECT_NEAR(w[0], 0.05, 1e-15);
  EXPECT_NEAR(w[1], -0.1, 1e-15);
  momentum.Step(Vec(0.3, 0.05), &w);  // m = (0.39, -0.13); w += (0.195, -0.065)
  EXPECT_NEAR(w[0], 0.245, 1e-15);
  EXPECT_NEAR(w[1], -0.165, 1e-15);
}

TEST(ServerOptimizerTest, AdamByHand) {
  ServerOptimizer adam(Options("adam", 0.5));
  Vector w = Vector::Zero(2);
  adam.Step(Vec(0.1, -0.2), &w);
  // m = 0.1 d = (0.01, -0.02); v = 0.99e-6 + 0.01 d^2 = (0.00010099, 0.00040099);
  // w = 0.5 m / (sqrt(v) + 1e-3) = (0.005 / 0.0110494..., -0.01 / 0.0210247...)
  EXPECT_NEAR(w[0], 0.005 / (std::sqrt(0.00010099) + 1e-3), 1e-15);
  EXPECT_NEAR(w[0], 0.4525142, 1e-7);
  EXPECT_NEAR(w[1], -0.4756303, 1e-7);
  const Vector w1 = w;
  adam.Step(Vec(0.3, 0.05), &w);
  // m = 0.9 (0.01, -0.02) + 0.1 (0.3, 0.05) = (0.039, -0.013);
  // v = 0.99 (0.00010099, 0.00040099) + 0.01 (0.09, 0.0025) = (0.0009999801, 0.0004219801)
  EXPECT_NEAR(w[0] - w1[0], 0.5 * 0.039 / (std::sqrt(0.0009999801) + 1e-3), 1e-13);
  EXPECT_NEAR(w[1] - w1[1], 0.5 * -0.013 / (std::sqrt(0.0004219801) + 1e-3), 1e-13);
}

TEST(ServerOptimizerTest, YogiMovesVTowardsTheSquareBySignNotByAverage) {
  ServerOptimizer yogi(Options("yogi", 0.5));
  Vector w = Vector::Zero(2);
  yogi.Step(Vec(0.1, -0.2), &w);
  // v0 = 1e-6 < d^2: v = 1e-6 + 0.01 d^2 = (0.000101, 0.000401) (Adam: 0.99e-6 + 0.01 d^2)
  EXPECT_NEAR(w[0], 0.005 / (std::sqrt(0.000101) + 1e-3), 1e-15);
  EXPECT_NEAR(w[1], -0.01 / (std::sqrt(0.000401) + 1e-3), 1e-15);
  const Vector w1 = w;
  yogi.Step(Vec(0.001, 0.05), &w);
  // First coordinate: v = 0.000101 > d^2 = 1e-6, so v = 0.000101 - 0.01e-6 = 0.00010099;
  // second: v = 0.000401 < 0.0025, so v = 0.000401 + 0.000025 = 0.000426.
  // m = (0.0091, -0.013).
  EXPECT_NEAR(w[0] - w1[0], 0.5 * 0.0091 / (std::sqrt(0.00010099) + 1e-3), 1e-13);
  EXPECT_NEAR(w[1] - w1[1], 0.5 * -0.013 / (std::sqrt(0.000426) + 1e-3), 1e-13);
}

TEST(ServerOptimizerTest, SgdAndZeroMomentumAreFedAvg) {
  const std::vector<Vector> updates = {Vec(0.1, -0.2), Vec(0.3, 0.05), Vec(-1.0, 2.0)};
  ServerOptimizer sgd(Options("sgd", 0.7));
  ServerOptimizerOptions no_momentum = Options("momentum", 0.7);
  no_momentum.beta1 = 0.0;
  ServerOptimizer momentum(no_momentum);
  Vector a = Vec(1.0, 1.0), b = a, expected = a;
  for (const Vector& d : updates) {
    sgd.Step(d, &a);
    momentum.Step(d, &b);
    expected += 0.7 * d;
  }
  EXPECT_EQ(a, expected);
  EXPECT_EQ(b, expected);
  EXPECT_EQ(sgd.State().size(), 0);
}

TEST(ServerOptimizerTest, RestoredStateContinuesExactly) {
  for (const char* name : {"momentum", "adam", "yogi"}) {
    ServerOptimizer first(Options(name, 0.5));
    Vector w = Vec(0.2, -0.4);
    first.Step(Vec(0.1, -0.2), &w);
    Vector resumed_w = w;
    ServerOptimizer resumed(Options(name, 0.5));
    ASSERT_TRUE(resumed.Restore(first.State(), 2).ok()) << name;
    first.Step(Vec(0.3, 0.05), &w);
    resumed.Step(Vec(0.3, 0.05), &resumed_w);
    EXPECT_EQ(w, resumed_w) << name;
    // A fresh optimizer (no restore) takes another step: the state is what carries the run.
    ServerOptimizer fresh(Options(name, 0.5));
    Vector fresh_w = Vec(0.2, -0.4);
    fresh.Step(Vec(0.1, -0.2), &fresh_w);
    fresh = ServerOptimizer(Options(name, 0.5));
    fresh.Step(Vec(0.3, 0.05), &fresh_w);
    EXPECT_NE(w, fresh_w) << name;
    // State of another model's size is refused, naming both sizes.
    absl::Status wrong = ServerOptimizer(Options(name, 0.5)).Restore(first.State(), 3);
    EXPECT_EQ(wrong.code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(ServerOptimizerTest, TheFedAvgCoordinatorStepsAlongTheWeightedAverage) {
  RoundResults results;
  results.updates.push_back(SiloUpdate{1, 0, Vec(0.4, 0.0), 1.0, {}, {}});
  results.updates.push_back(SiloUpdate{1, 1, Vec(0.0, -0.8), 3.0, {}, {}});
  FedAvgCoordinator coordinator(Weighting::kBySize, Options("adam", 0.5));
  Vector global = Vector::Zero(2);
  ASSERT_TRUE(coordinator.Aggregate(1, results, &global).ok());
  // d = (0.25 * 0.4, 0.75 * -0.8) = (0.1, -0.6); Adam's first step as above.
  EXPECT_NEAR(global[0], 0.5 * 0.01 / (std::sqrt(0.99e-6 + 0.01 * 0.01) + 1e-3), 1e-15);
  EXPECT_NEAR(global[1], 0.5 * -0.06 / (std::sqrt(0.99e-6 + 0.01 * 0.36) + 1e-3), 1e-15);
  EXPECT_EQ(coordinator.State().size(), 4);
}

TEST(ServerOptimizerTest, AlgorithmsTakeOrRefuseIt) {
  AlgorithmConfig config;
  config.server_optimizer = "yogi";
  for (const char* name : {"fedavg", "isrl_dp_fedavg", "minibatch_sgd", "isrl_dp_minibatch_sgd",
                           "per_fedavg", "sdp_minibatch_sgd"}) {
    auto spec = FindAlgorithm(name);
    ASSERT_TRUE(spec.ok());
    config.name = name;
    EXPECT_TRUE(ValidateAlgorithmConfig(*spec, config).ok()) << name;
    EXPECT_EQ(spec->make_coordinator(config)->State().size(), 0) << name;  // before a step
  }
  for (const char* name : {"fair_fermi", "isrl_dp_fair_fermi"}) {
    auto spec = FindAlgorithm(name);
    ASSERT_TRUE(spec.ok());
    config.name = name;
    absl::Status status = ValidateAlgorithmConfig(*spec, config);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_NE(status.message().find("algorithm.server_optimizer"), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace fedsilo
