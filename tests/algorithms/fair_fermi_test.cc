// FermiCoordinator against hand-computed descent/ascent/projection steps (FedAvg's averaging or
// another descent program underneath), and the registry entries of fair_fermi /
// isrl_dp_fair_fermi / sdp_sum_fair_fermi.
#include "common/algorithms/fair_fermi.h"

#include <gtest/gtest.h>

#include "common/algorithms/algorithm_registry.h"

namespace fedsilo {
namespace {

SiloUpdate Update(int silo, double weight, std::initializer_list<double> delta) {
  SiloUpdate update;
  update.silo_id = silo;
  update.weight = weight;
  update.delta = Vector(static_cast<Eigen::Index>(delta.size()));
  int i = 0;
  for (double d : delta) update.delta[i++] = d;
  return update;
}

TEST(FermiCoordinatorTest, DescendsOnThetaAscendsOnWAndProjects) {
  // Parameters [t0, t1 | w0, w1]; size-weighted mean delta = (1 * a + 3 * b) / 4.
  RoundResults results;
  results.updates = {Update(0, 1.0, {0.4, -0.8, 0.2, 0.4}), Update(1, 3.0, {0.0, 0.4, 0.2, 0.0})};
  // mean delta = [0.1, 0.1, 0.2, 0.1].
  FermiCoordinator coordinator(Weighting::kBySize, 1.0, /*dual_size=*/2, /*ratio=*/2.0,
                               /*w_radius=*/100.0);
  Vector global(4);
  global << 1.0, 2.0, 0.5, -0.5;
  ASSERT_TRUE(coordinator.Aggregate(1, results, &global).ok());
  // theta += mean delta; W -= 2 * mean delta (ascent: delta is -lr * gradient).
  EXPECT_NEAR(global[0], 1.1, 1e-15);
  EXPECT_NEAR(global[1], 2.1, 1e-15);
  EXPECT_NEAR(global[2], 0.5 - 0.4, 1e-15);
  EXPECT_NEAR(global[3], -0.5 - 0.2, 1e-15);
  // Projection onto the Frobenius ball: W = (3, -4) * (1 / 5) when the radius is 1.
  FermiCoordinator tight(Weighting::kUniform, 1.0, 2, 1.0, 1.0);
  RoundResults zero;
  zero.updates = {Update(0, 1.0, {0.0, 0.0, 0.0, 0.0})};
  global << 1.0, 2.0, 3.0, -4.0;
  ASSERT_TRUE(tight.Aggregate(2, zero, &global).ok());
  EXPECT_NEAR(global[2], 0.6, 1e-15);
  EXPECT_NEAR(global[3], -0.8, 1e-15);
  EXPECT_EQ(global[0], 1.0);
  // No reply is an error; a dual block larger than the vector is refused.
  EXPECT_FALSE(tight.Aggregate(3, RoundResults{}, &global).ok());
  FermiCoordinator wrong(Weighting::kUniform, 1.0, 9, 1.0, 1.0);
  EXPECT_FALSE(wrong.Aggregate(4, zero, &global).ok());
}

// A descent program that adds a fixed step to every coordinate (as a decoded secure sum would).
class FixedStep : public CoordinatorProgram {
 public:
  explicit FixedStep(Vector step) : step_(std::move(step)) {}
  absl::Status Aggregate(int, const RoundResults&, Vector* global) override {
    *global += step_;
    return absl::OkStatus();
  }

 private:
  Vector step_;
};

TEST(FermiCoordinatorTest, AnyDescentProgramUnderneathGetsTheAscentOnW) {
  Vector step(4);
  step << 0.1, -0.2, 0.3, -0.1;
  FermiCoordinator coordinator(std::make_unique<FixedStep>(step), /*dual_size=*/2, /*ratio=*/3.0,
                               /*w_radius=*/100.0);
  Vector global(4);
  global << 1.0, 2.0, 0.5, -0.5;
  ASSERT_TRUE(coordinator.Aggregate(1, RoundResults{}, &global).ok());
  EXPECT_NEAR(global[0], 1.1, 1e-15);
  EXPECT_NEAR(global[1], 1.8, 1e-15);
  EXPECT_NEAR(global[2], 0.5 - 3.0 * 0.3, 1e-15);  // W -= ratio * its descent step
  EXPECT_NEAR(global[3], -0.5 + 3.0 * 0.1, 1e-15);
}

TEST(FermiCoordinatorTest, RegistryEntries) {
  AlgorithmConfig config;
  for (const char* name : {"fair_fermi", "isrl_dp_fair_fermi", "sdp_sum_fair_fermi"}) {
    absl::StatusOr<AlgorithmSpec> spec = FindAlgorithm(name);
    ASSERT_TRUE(spec.ok()) << name;
    EXPECT_EQ(spec->queries_per_round(config), 1);
    EXPECT_TRUE(static_cast<bool>(spec->make_objective));
    EXPECT_EQ(spec->record_level_dp, std::string(name) != "fair_fermi");
    // Only the secure-sum variant needs a shuffler and sends one token a silo.
    const bool secure = std::string(name) == "sdp_sum_fair_fermi";
    EXPECT_EQ(spec->secure_sum, secure);
    EXPECT_EQ(spec->requires_shuffler, secure);
    if (secure) {
      EXPECT_EQ(spec->reports_per_silo(config), 1);
    }
    config.fairness.notion = "parity";
    EXPECT_FALSE(spec->validate(config).ok());
    config.fairness.notion = "equalized_odds";
    EXPECT_TRUE(spec->validate(config).ok());
  }
}

TEST(FermiCoordinatorTest, ClipBlocksAndSiloSetupFromTheConfig) {
  AlgorithmConfig config;
  config.fairness.lambda = 2.0;
  config.fairness.dual_size = 4;
  // w_clip 0: one joint clip.
  EXPECT_TRUE(FermiClipBlocks(config, 10, 1.5).empty());
  // theta (6 values) to privacy.clip, W (4 values) to lambda * w_clip.
  config.fairness.w_clip = 3.0;
  const std::vector<ClipBlock> blocks = FermiClipBlocks(config, 10, 1.5);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].size, 6);
  EXPECT_EQ(blocks[0].clip, 1.5);
  EXPECT_EQ(blocks[1].size, 4);
  EXPECT_EQ(blocks[1].clip, 6.0);
  // lambda 0: the W gradients are zero, one joint clip.
  config.fairness.lambda = 0.0;
  EXPECT_TRUE(FermiClipBlocks(config, 10, 1.5).empty());
  // A silo setup only for local marginals, with the configured budget share.
  EXPECT_EQ(FermiSiloSetupFor(config), nullptr);
  config.fairness.marginals = "local";
  config.fairness.marginals_epsilon_fraction = 0.25;
  const auto setup = FermiSiloSetupFor(config);
  ASSERT_NE(setup, nullptr);
  ASSERT_TRUE(setup->count_release().has_value());
  EXPECT_EQ(setup->count_release()->epsilon_fraction, 0.25);
  EXPECT_EQ(setup->count_release()->noise_multiplier, 0.0);
}

}  // namespace
}  // namespace fedsilo
