// `fedsilo privacy ...` as a user runs it, checked against published accountant values.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using testing::RunFedsilo;

TEST(PrivacyCliTest, EpsilonMatchesOpacusGoldenValue) {
  // dp_test_vectors.md: Opacus RDPAccountant, q 0.04, z 1.5, 2250 steps, delta 1e-5 -> 7.32911117143
  // at order 3.9 (151 Opacus orders; the 156 default orders give the same optimum).
  auto result = RunFedsilo(
      "privacy epsilon --sampling poisson --q 0.04 --noise-multiplier 1.5 --steps 2250 "
      "--delta 1e-5 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = nlohmann::json::parse(result.output);
  EXPECT_NEAR(json["epsilon"].get<double>(), 7.32911117143, 1e-4 * 7.33);
  EXPECT_DOUBLE_EQ(json["order"].get<double>(), 3.9);
  EXPECT_EQ(json["neighbouring"], "add/remove-one");
  auto text = RunFedsilo(
      "privacy epsilon --sampling poisson --q 0.04 --noise-multiplier 1.5 --steps 2250 --delta 1e-5");
  EXPECT_NE(text.output.find("epsilon = 7.329"), std::string::npos) << text.output;
}

TEST(PrivacyCliTest, CalibrateMatchesOpacusGetNoiseMultiplier) {
  // Opacus get_noise_multiplier: target 8, delta 1e-5, q 0.04, 2250 steps -> 1.416 (eps tol 0.01).
  auto result = RunFedsilo("privacy calibrate --epsilon 8 --delta 1e-5 --q 0.04 --steps 2250 --json");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto json = nlohmann::json::parse(result.output);
  EXPECT_NEAR(json["noise_multiplier"].get<double>(), 1.416, 0.001);
  EXPECT_LE(json["epsilon"].get<double>(), 8.0);
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
           "privacy"}) {
    auto result = RunFedsilo(args);
    EXPECT_EQ(result.exit_code, 2) << args << "\n" << result.output;
    EXPECT_FALSE(result.output.empty()) << args;
  }
}

}  // namespace
}  // namespace fedsilo
