// fair_fermi end to end in thread mode on a synthetic CSV whose label depends on the group:
// lambda = 0 is minibatch SGD exactly, a positive lambda lowers the demographic-parity
// violation, the fairness metrics reach metrics.csv and summary.json, and the private variant
// records one ledger query per silo per round.
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base/rng.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using testing::FreshTempDir;
using testing::ReadFile;
using testing::WriteFile;

// 2000 records: group g in {a, b}; x1 ~ N(g, 1), x2 ~ N(0, 1); label 1 w.p. sigmoid(2 x1 + x2 - 1).
fs::path WriteSyntheticCsv(const fs::path& dir) {
  Rng rng(5);
  std::ostringstream csv;
  csv << "x1,x2,grp,label\n";
  for (int i = 0; i < 2000; ++i) {
    const int g = rng.Uniform() < 0.4 ? 1 : 0;
    const double x1 = g + rng.Normal(), x2 = rng.Normal();
    const double p = 1.0 / (1.0 + std::exp(-(2.0 * x1 + x2 - 1.0)));
    csv << x1 << "," << x2 << "," << (g ? "b" : "a") << "," << (rng.Uniform() < p ? "yes" : "no")
        << "\n";
  }
  const fs::path path = dir / "synthetic.csv";
  WriteFile(path, csv.str());
  return path;
}

ExperimentConfig Config(const fs::path& csv, const std::string& algorithm, double lambda) {
  const std::string yaml = "seed: 3\n"
                           "data: {dataset: csv, train: " + csv.string() +
                           ", label: label, positive: \"yes\", categorical: [grp], sensitive: grp, "
                           "drop: [grp]}\n"
                           "partition: {scheme: iid, silos: 4}\n"
                           "model: {type: logistic}\n"
                           "algorithm: {name: " + algorithm +
                           ", rounds: 150, batch_size: 50, lr: 0.5, personalize_steps: 0}\n"
                           "fairness: {lambda: " + std::to_string(lambda) + "}\n"
                           + std::string(algorithm.rfind("isrl_dp_", 0) == 0
                                             ? "privacy: {epsilon: 3}\n"
                                             : "") +
                           "output: {eval_every: 50, save_model: false}\n";
  absl::StatusOr<ExperimentConfig> config = ParseExperimentConfig(yaml, "test.yaml", {});
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

RunReport RunIt(const ExperimentConfig& config, const fs::path& out) {
  RunOptions options;
  options.out_dir = out.string();
  options.threads = 2;
  options.quiet = true;
  absl::StatusOr<RunReport> report = RunExperiment(config, options);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : RunReport{};
}

std::string FirstLine(const fs::path& path) {
  std::istringstream in(ReadFile(path));
  std::string line;
  std::getline(in, line);
  return line;
}

TEST(FairFermiRunTest, LambdaZeroIsMinibatchSgdAndLambdaLowersTheViolation) {
  const fs::path dir = FreshTempDir("fair_fermi_run");
  const fs::path csv = WriteSyntheticCsv(dir);
  const RunReport sgd = RunIt(Config(csv, "minibatch_sgd", 0.0), dir / "sgd");
  const RunReport erm = RunIt(Config(csv, "fair_fermi", 0.0), dir / "erm");
  const RunReport fair = RunIt(Config(csv, "fair_fermi", 10.0), dir / "fair");
  const Eigen::Index p = sgd.final_parameters.size();
  ASSERT_EQ(erm.final_parameters.size(), p + 2 * 2);  // W: 2 groups x 2 classes
  EXPECT_EQ(erm.final_parameters.head(p), sgd.final_parameters);
  EXPECT_EQ(erm.final_parameters.tail(4).norm(), 0.0);
  // The penalty works: a clear drop of P(yhat = 1 | a) - P(yhat = 1 | b).
  ASSERT_TRUE(erm.reports_fairness);
  EXPECT_GT(erm.final_fairness.dp_violation, 0.2);
  EXPECT_LT(fair.final_fairness.dp_violation, 0.6 * erm.final_fairness.dp_violation);
  EXPECT_GT(fair.final_fairness.test_error, erm.final_fairness.test_error - 0.01);
  // Outputs: fairness columns before `seconds` for fair_fermi only; summary keys.
  EXPECT_EQ(FirstLine(dir / "sgd" / "metrics.csv"),
            "round,train_loss,test_loss,test_accuracy,epsilon,epsilon_mean,replies,failures,"
            "seconds");
  EXPECT_EQ(FirstLine(dir / "fair" / "metrics.csv"),
            "round,train_loss,test_loss,test_accuracy,epsilon,epsilon_mean,replies,failures,"
            "test_error,dp_violation,eo_violation,eopp_violation,seconds");
  const auto summary = nlohmann::json::parse(ReadFile(dir / "fair" / "summary.json"));
  EXPECT_DOUBLE_EQ(summary["final"]["dp_violation"].get<double>(),
                   fair.final_fairness.dp_violation);
  EXPECT_DOUBLE_EQ(summary["final"]["test_error"].get<double>(), fair.final_fairness.test_error);
  EXPECT_TRUE(summary["final"].contains("eo_violation"));
  EXPECT_DOUBLE_EQ(fair.final_fairness.test_error, 1.0 - fair.final_test.accuracy);
}

// With data.validation the fairness figures are reported on the validation records too: here
// against a count by hand of the output model's hard predictions on those records (the same
// held-out rows, from PrepareExperiment with the same seed).
TEST(FairFermiRunTest, ValidationRecordsGetTheirOwnErrorAndViolation) {
  const fs::path dir = FreshTempDir("fair_fermi_validation");
  const fs::path csv = WriteSyntheticCsv(dir);
  ExperimentConfig config = Config(csv, "fair_fermi", 2.0);
  config.data.validation = 0.25;
  const RunReport report = RunIt(config, dir / "run");
  ASSERT_TRUE(report.reports_fairness);
  ASSERT_GT(report.validation_records, 0);

  absl::StatusOr<PreparedExperiment> prepared = PrepareExperiment(config);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  const Dataset& train = prepared->data().train;
  Matrix proba;
  prepared->model->PredictProba(report.final_parameters, train.x, &proba);
  int errors = 0, records = 0, positive[2] = {0, 0}, in_group[2] = {0, 0};
  for (const SiloShard& shard : prepared->shards) {
    for (int row : shard.validation) {
      const int predicted = proba(row, 1) > proba(row, 0) ? 1 : 0;
      errors += predicted != train.y[row] ? 1 : 0;
      ++records;
      ++in_group[train.group[row]];
      positive[train.group[row]] += predicted;
    }
  }
  ASSERT_EQ(records, report.validation_records);
  ASSERT_GT(in_group[0], 0);
  ASSERT_GT(in_group[1], 0);
  const double gap = std::abs(double(positive[0]) / in_group[0] - double(positive[1]) / in_group[1]);
  const auto summary = nlohmann::json::parse(ReadFile(dir / "run" / "summary.json"));
  EXPECT_NEAR(summary["final"]["val_error"].get<double>(), double(errors) / records, 1e-12);
  EXPECT_NEAR(summary["final"]["val_dp_violation"].get<double>(), gap, 1e-12);
  EXPECT_NE(summary["final"]["val_dp_violation"].get<double>(),
            summary["final"]["dp_violation"].get<double>());  // not the test split's figure
  EXPECT_EQ(FirstLine(dir / "run" / "metrics.csv"),
            "round,train_loss,test_loss,test_accuracy,epsilon,epsilon_mean,replies,failures,"
            "val_loss,val_accuracy,test_error,dp_violation,eo_violation,eopp_violation,"
            "val_error,val_dp_violation,val_eo_violation,val_eopp_violation,seconds");
}

// By default a private run's group marginals are each silo's noisy counts (fairness.marginals
// auto -> local): one count release plus one query per round in every ledger.
TEST(FairFermiRunTest, PrivateVariantChargesItsCountAndOneQueryPerSiloPerRound) {
  const fs::path dir = FreshTempDir("fair_fermi_dp");
  const fs::path csv = WriteSyntheticCsv(dir);
  ExperimentConfig config = Config(csv, "isrl_dp_fair_fermi", 1.0);
  EXPECT_EQ(config.algorithm.fairness.marginals, "local");
  EXPECT_EQ(Config(csv, "fair_fermi", 1.0).algorithm.fairness.marginals, "pooled");
  config.algorithm.rounds = 40;
  const RunReport report = RunIt(config, dir / "dp");
  EXPECT_LE(report.epsilon, 3.0 + 1e-9);
  EXPECT_GT(report.epsilon, 1.0);
  std::istringstream silos(ReadFile(dir / "dp" / "silos.csv"));
  std::string line;
  std::getline(silos, line);
  int rows = 0;
  while (std::getline(silos, line)) {
    // noisy_queries is the 8th column.
    std::istringstream cells(line);
    std::string cell;
    for (int c = 0; c < 8; ++c) std::getline(cells, cell, ',');
    EXPECT_EQ(cell, "41") << line;  // 40 rounds + the count
    ++rows;
  }
  EXPECT_EQ(rows, 4);
}

// Silos count their own groups (fairness.marginals: local) with a Gaussian noisy count charged
// to their ledgers, and clip theta and W separately (fairness.w_clip): every silo's ledger holds
// the count and one query per round, and each spends (just) its whole epsilon.
TEST(FairFermiRunTest, PrivateLocalMarginalsAreChargedToEachSilo) {
  const fs::path dir = FreshTempDir("fair_fermi_local");
  const fs::path csv = WriteSyntheticCsv(dir);
  ExperimentConfig config = Config(csv, "isrl_dp_fair_fermi", 1.0);
  config.algorithm.rounds = 40;
  config.algorithm.fairness.marginals = "local";
  config.algorithm.fairness.w_clip = 2.0;
  const RunReport report = RunIt(config, dir / "dp");
  EXPECT_LE(report.epsilon, 3.0 + 1e-9);
  EXPECT_GT(report.epsilon, 2.97);
  std::istringstream silos(ReadFile(dir / "dp" / "silos.csv"));
  std::string line;
  std::getline(silos, line);
  int rows = 0;
  while (std::getline(silos, line)) {
    std::istringstream cells(line);
    std::string cell;
    for (int c = 0; c < 8; ++c) std::getline(cells, cell, ',');  // noisy_queries
    EXPECT_EQ(cell, "41") << line;  // the count release and 40 gradient queries
    ++rows;
  }
  EXPECT_EQ(rows, 4);
  const auto summary = nlohmann::json::parse(ReadFile(dir / "dp" / "summary.json"));
  EXPECT_NE(summary["fairness"]["group_marginals"].get<std::string>().find("noisy"),
            std::string::npos);
  // A count that alone would cost more than the budget: every silo refuses it, the run stops.
  config.algorithm.fairness.marginals_noise_multiplier = 0.5;
  RunOptions options;
  options.out_dir = (dir / "refused").string();
  options.quiet = true;
  absl::StatusOr<RunReport> refused = RunExperiment(config, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("refuses its count release"), std::string::npos)
      << refused.status();
  // The closed-form calibration covers neither the count nor block clipping.
  config.algorithm.fairness.marginals_noise_multiplier = 0.0;
  config.privacy.calibration = "paper";
  EXPECT_FALSE(RunExperiment(config, options).ok());
}

// sdp_sum_fair_fermi in thread mode (a shuffler in between): the coordinator learns the blocks
// the silos equalized (theta: 2 weights and the bias at privacy.clip; W: 2 x 2 at
// lambda * w_clip), each silo spends (just) its epsilon on its count release and its rounds, and
// with lambda > 0 the violation falls well below lambda = 0's, as without privacy.
TEST(FairFermiRunTest, SecureSumVariantRestoresTheBlocksAndLowersTheViolation) {
  const fs::path dir = FreshTempDir("fair_fermi_sdp_sum");
  const fs::path csv = WriteSyntheticCsv(dir);
  const auto secure = [&](double lambda) {
    ExperimentConfig config = Config(csv, "sdp_sum_fair_fermi", lambda);
    config.privacy.epsilon = 3.0;
    config.privacy.delta = 1e-5;
    config.privacy.min_silo_records = 400;  // every silo's size: its own rate is the public one
    config.network.min_replies = 4;
    config.algorithm.fairness.w_clip = 2.0;
    return config;
  };
  const ExperimentConfig config = secure(10.0);
  EXPECT_EQ(config.algorithm.fairness.marginals, "local");
  absl::StatusOr<PreparedExperiment> prepared = PrepareExperiment(config);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  const std::vector<ClipBlock>& blocks = prepared->config.algorithm.secure_sum_clip_blocks;
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].size, 3);
  EXPECT_EQ(blocks[0].clip, 1.0);
  EXPECT_EQ(blocks[1].size, 4);
  EXPECT_EQ(blocks[1].clip, 20.0);
  const RunReport fair = RunIt(config, dir / "fair");
  const RunReport plain = RunIt(secure(0.0), dir / "plain");
  EXPECT_LE(fair.epsilon, 3.0 + 1e-9);
  EXPECT_GT(fair.epsilon, 2.9);
  const auto violation = [&](const char* run) {
    const auto summary = nlohmann::json::parse(ReadFile(dir / run / "summary.json"));
    return summary["final"]["dp_violation"].get<double>();
  };
  EXPECT_GT(violation("plain"), 0.2);  // the label depends on the group
  EXPECT_LT(violation("fair"), 0.6 * violation("plain"));
}

TEST(FairFermiRunTest, ConfigErrors) {
  const fs::path dir = FreshTempDir("fair_fermi_errors");
  const fs::path csv = WriteSyntheticCsv(dir);
  ExperimentConfig config = Config(csv, "fair_fermi", 1.0);
  config.algorithm.fairness.marginals = "public";
  config.algorithm.fairness.group_marginals = {0.5, 0.3, 0.2};
  EXPECT_FALSE(PrepareExperiment(config).ok());
  config.algorithm.fairness.group_marginals = {0.6, 0.4};
  EXPECT_TRUE(PrepareExperiment(config).ok());
  // Public marginals must be asked for, and given.
  config.algorithm.fairness.marginals = "pooled";
  EXPECT_FALSE(PrepareExperiment(config).ok());
  config.algorithm.fairness.marginals = "public";
  config.algorithm.fairness.group_marginals.clear();
  EXPECT_FALSE(PrepareExperiment(config).ok());
  config.algorithm.fairness.marginals = "local";
  EXPECT_TRUE(PrepareExperiment(config).ok());
  config.algorithm.fairness.marginals_epsilon_fraction = 1.0;
  EXPECT_FALSE(PrepareExperiment(config).ok());
  config.algorithm.fairness.marginals_epsilon_fraction = 0.1;
  config.data.sensitive = "";
  EXPECT_FALSE(PrepareExperiment(config).ok());
  // A private run never uses the pooled exact frequencies: refused, naming the alternatives.
  ExperimentConfig private_run = Config(csv, "isrl_dp_fair_fermi", 1.0);
  private_run.algorithm.fairness.marginals = "pooled";
  const absl::StatusOr<PreparedExperiment> refused = PrepareExperiment(private_run);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("a private run takes local"), std::string::npos)
      << refused.status();
  const absl::StatusOr<ExperimentConfig> parsed = ParseExperimentConfig(
      "algorithm: {name: isrl_dp_fair_fermi}\nfairness: {marginals: pooled}\n", "p.yaml", {});
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("fairness.marginals: pooled frequencies"),
            std::string::npos)
      << parsed.status();
}

}  // namespace
}  // namespace fedsilo
