// `fedsilo privacy ...` as a user runs it, checked against published accountant values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using testing::RunFedsilo;

// The add/remove-one curve (the textbook one, sound only when the dataset size stays secret) is
// --sampling poisson_add_remove; plain poisson is what a silo releases: replace-one.
TEST(PrivacyCliTest, EpsilonMatchesOpacusGoldenValue) {
  // dp_test_vectors.md: Opacus RDPAccountant, q 0.04, z 1.5, 2250 steps, delta 1e-5 -> 7.32911117143
  // at order 3.9 (151 Opacus orders; the 156 default orders give the same optimum).
  auto result = RunFedsilo(
      "privacy epsilon --sampling poisson_add_remove --q 0.04 --noise-multiplier 1.5 --steps 2250 "
      "--delta 1e-5 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = nlohmann::json::parse(result.output);
  EXPECT_NEAR(json["epsilon"].get<double>(), 7.32911117143, 1e-4 * 7.33);
  EXPECT_DOUBLE_EQ(json["order"].get<double>(), 3.9);
  EXPECT_EQ(json["neighbouring"], "add/remove-one");
  auto text = RunFedsilo(
      "privacy epsilon --sampling poisson_add_remove --q 0.04 --noise-multiplier 1.5 --steps 2250 "
      "--delta 1e-5");
  EXPECT_NE(text.output.find("epsilon = 7.329"), std::string::npos) << text.output;
}

// The default, --sampling poisson: replace-one with the size public. 18.0673867537642 at order
// 2.5 is computed independently with mpmath (the script in tests/dp/poisson_replace_one_test.cc).
TEST(PrivacyCliTest, PoissonIsReplaceOneByDefault) {
  for (const char* sampling : {"", "--sampling poisson "}) {
    auto result = RunFedsilo(std::string("privacy epsilon ") + sampling +
                             "--q 0.04 --noise-multiplier 1.5 --steps 2250 --delta 1e-5 --json");
    ASSERT_EQ(result.exit_code, 0) << result.output;
    const auto json = nlohmann::json::parse(result.output);
    EXPECT_NEAR(json["epsilon"].get<double>(), 18.0673867537642, 1e-8);
    EXPECT_DOUBLE_EQ(json["order"].get<double>(), 2.5);
    EXPECT_EQ(json["sampling"], "poisson");
    EXPECT_EQ(json["neighbouring"], "replace-one");
  }
  // At q = 1 every record is in every batch: the Gaussian of sensitivity 2C, i.e. without
  // subsampling at z / 2.
  auto full = RunFedsilo("privacy epsilon --q 1 --noise-multiplier 4 --steps 10 --json");
  auto half =
      RunFedsilo("privacy epsilon --sampling none --q 1 --noise-multiplier 2 --steps 10 --json");
  ASSERT_EQ(full.exit_code, 0) << full.output;
  ASSERT_EQ(half.exit_code, 0) << half.output;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(full.output)["epsilon"].get<double>(),
                   nlohmann::json::parse(half.output)["epsilon"].get<double>());
}

TEST(PrivacyCliTest, CalibrateMatchesOpacusGetNoiseMultiplier) {
  // Opacus get_noise_multiplier: target 8, delta 1e-5, q 0.04, 2250 steps -> 1.416 (eps tol 0.01).
  auto result = RunFedsilo(
      "privacy calibrate --sampling poisson_add_remove --epsilon 8 --delta 1e-5 --q 0.04 "
      "--steps 2250 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = nlohmann::json::parse(result.output);
  EXPECT_NEAR(json["noise_multiplier"].get<double>(), 1.416, 0.001);
  EXPECT_LE(json["epsilon"].get<double>(), 8.0);
}

// `privacy shuffle`: the reported per-round values compose, by the formulas written out here
// (BBG18 subsampling, Dwork-Roth Theorem 3.20 with delta' = delta / 2), to the reported epsilon,
// which stays within the target; delta splits as R * delta / (2R) + delta / 2.
TEST(PrivacyCliTest, ShuffleCalibrationComposesByHand) {
  auto result = RunFedsilo(
      "privacy shuffle --reports 6400 --rounds 200 --epsilon 1 --delta 1e-5 --q 0.2 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = nlohmann::json::parse(result.output);
  const double shuffled = json["shuffle_round_epsilon"].get<double>();
  const double round = json["round_epsilon"].get<double>();
  EXPECT_NEAR(round, std::log(1.0 + 0.2 * (std::exp(shuffled) - 1.0)), 1e-12);
  EXPECT_NEAR(json["shuffle_round_delta"].get<double>(), 1e-5 / 400 / 0.2, 1e-20);
  const double advanced =
      std::sqrt(2.0 * 200 * std::log(2.0 / 1e-5)) * round + 200 * round * std::expm1(round);
  EXPECT_NEAR(json["epsilon"].get<double>(), std::min(advanced, 200 * round), 1e-9);
  EXPECT_LE(json["epsilon"].get<double>(), 1.0);
  EXPECT_GT(json["epsilon"].get<double>(), 0.99);  // calibrated, not merely safe
  EXPECT_NEAR(json["delta"].get<double>(), 1e-5, 1e-18);
  EXPECT_GT(json["eps0"].get<double>(), shuffled);  // shuffling amplified the local eps0
  EXPECT_EQ(json["accountant"], "shuffle: FMT21 numerical + subsampling (BBG18) + advanced composition");
  auto text = RunFedsilo("privacy shuffle --reports 320 --rounds 10 --epsilon 2");
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("shuffle: FMT21 numerical + advanced composition"), std::string::npos)
      << text.output;
}

TEST(PrivacyCliTest, BadArgumentsExitWithStatusTwo) {
  for (const char* args : {
           "privacy epsilon --q 1.5 --noise-multiplier 1 --steps 10",
           "privacy epsilon --q 0.1 --noise-multiplier 0 --steps 10",
           "privacy epsilon --q 0.1 --noise-multiplier 1 --steps 0",
           "privacy epsilon --q 0.1 --noise-multiplier 1 --steps 10 --delta 2",
           "privacy epsilon --q 0.1 --noise-multiplier 1 --steps 10 --sampling sometimes",
           "privacy calibrate --q 0.1 --steps 10",
           "privacy calibrate --epsilon -1 --q 0.1 --steps 10",
           "privacy shuffle --reports 1 --rounds 10 --epsilon 1",
           "privacy shuffle --reports 100 --rounds 10 --epsilon 1 --q 0",
           "privacy shuffle --reports 100 --rounds 10 --epsilon 1 --delta 1",
           "privacy"}) {
    auto result = RunFedsilo(args);
    EXPECT_EQ(result.exit_code, 2) << args << "\n" << result.output;
    EXPECT_FALSE(result.output.empty()) << args;
  }
}

}  // namespace
}  // namespace fedsilo
