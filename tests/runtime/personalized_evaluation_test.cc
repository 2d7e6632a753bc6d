// Personalized evaluation and Per-FedAvg configuration: the adapted model against a hand-computed
// step, independence from the thread count, the global model left untouched (function and whole
// run), the metrics.csv / summary.json outputs, and the config errors of Per-FedAvg.
#include "common/runtime/personalized_evaluation.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/algorithms/algorithm_registry.h"
#include "common/model/logistic_model.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/evaluation.h"
#include "common/runtime/experiment.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Two-feature binary data whose label depends on the silo-skewed first feature.
Dataset Blobs(int n, uint64_t seed) {
  Dataset d;
  d.x.resize(n, 2);
  d.y.resize(static_cast<size_t>(n));
  Rng rng(seed);
  for (int i = 0; i < n; ++i) {
    d.x(i, 0) = 2.0 * rng.Uniform() - 1.0;
    d.x(i, 1) = 2.0 * rng.Uniform() - 1.0;
    d.y[static_cast<size_t>(i)] = d.x(i, 0) + 0.3 * d.x(i, 1) > 0.1 * (i % 3) ? 1 : 0;
  }
  d.num_classes = 2;
  d.feature_names = {"a", "b"};
  return d;
}

struct Fixture {
  TrainTest data;
  std::vector<SiloShard> shards;
  std::unique_ptr<LogisticModel> model = *LogisticModel::Create(2);
  Vector global = Vector(3);
  Fixture() {
    data.train = Blobs(120, 1);
    data.test = Blobs(60, 2);
    data.name = "blobs";
    PartitionConfig partition;
    partition.silos = 6;
    shards = *PartitionData(data, partition, 3);
    global << 0.4, -0.3, 0.1;
  }
};

TEST(PersonalizedEvaluationTest, FullBatchStepMatchesAHandComputedGradientStep) {
  Fixture f;
  PersonalizationOptions options;
  options.steps = 1;
  options.step_size = 0.7;
  options.batch_size = 1000;  // more than any silo holds: the whole silo
  const PersonalizedResult result =
      EvaluatePersonalized(*f.model, f.global, f.data, f.shards, options, 5, nullptr);
  ASSERT_EQ(result.silos_evaluated, 6);
  std::vector<double> expected;
  for (const SiloShard& shard : f.shards) {
    // Logistic gradient by hand: mean_i (sigmoid(w . [x, 1]) - y_i) [x_i, 1].
    Vector grad = Vector::Zero(3);
    for (int r : shard.train) {
      Vector x(3);
      x << f.data.train.x(r, 0), f.data.train.x(r, 1), 1.0;
      grad += (1.0 / (1.0 + std::exp(-f.global.dot(x))) - f.data.train.y[r]) * x;
    }
    const Vector adapted = f.global - 0.7 * grad / static_cast<double>(shard.train.size());
    expected.push_back(Evaluate(*f.model, adapted, f.data.test, shard.test, nullptr).accuracy);
  }
  for (size_t s = 0; s < expected.size(); ++s) EXPECT_DOUBLE_EQ(result.accuracy[s], expected[s]);
  EXPECT_DOUBLE_EQ(result.mean, std::accumulate(expected.begin(), expected.end(), 0.0) / 6.0);
  EXPECT_DOUBLE_EQ(result.min, *std::min_element(expected.begin(), expected.end()));
  EXPECT_DOUBLE_EQ(result.median, Percentile(expected, 0.5));
}

TEST(PersonalizedEvaluationTest, PercentileInterpolatesLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4, 10], 10) = 1.4, median 3; [4, 1] median 2.5.
  EXPECT_DOUBLE_EQ(Percentile({10, 3, 1, 4, 2}, 0.10), 1.4);
  EXPECT_DOUBLE_EQ(Percentile({10, 3, 1, 4, 2}, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(Percentile({4, 1}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({}, 0.5), 0.0);
}

TEST(PersonalizedEvaluationTest, MinibatchStepsAreIndependentOfThreadsAndLeaveTheGlobalModel) {
  Fixture f;
  PersonalizationOptions options;
  options.steps = 3;
  options.step_size = 0.5;
  options.batch_size = 4;
  options.seed = 9;
  const Vector before = f.global;
  ThreadPool pool(3);
  const PersonalizedResult one =
      EvaluatePersonalized(*f.model, f.global, f.data, f.shards, options, 2, nullptr);
  const PersonalizedResult three =
      EvaluatePersonalized(*f.model, f.global, f.data, f.shards, options, 2, &pool);
  EXPECT_EQ(one.accuracy, three.accuracy);
  EXPECT_EQ(f.global, before);
  // The adaptation really moved each silo's model, and differently for different rounds.
  const Vector adapted = PersonalizeModel(*f.model, f.global, f.data.train, f.shards[0].train,
                                          options, 2, 0);
  EXPECT_GT((adapted - f.global).norm(), 1e-3);
  EXPECT_NE(adapted, PersonalizeModel(*f.model, f.global, f.data.train, f.shards[0].train,
                                      options, 3, 0));
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A whole thread-mode run of Per-FedAvg HF: the personalized evaluation adds its columns and
// keys but leaves the trained model bit-for-bit what it is without it.
TEST(PersonalizedEvaluationTest, RunWithPersonalizationTrainsTheSameGlobalModel) {
  auto prepare = [](int personalize_steps) {
    PreparedExperiment experiment;
    experiment.config.algorithm.name = "per_fedavg";
    experiment.config.algorithm.variant = "hf";
    experiment.config.algorithm.rounds = 6;
    experiment.config.algorithm.local_steps = 3;
    experiment.config.algorithm.batch_size = 5;
    experiment.config.algorithm.alpha = 0.2;
    experiment.config.algorithm.silos_per_round = 3;
    experiment.config.algorithm.personalize_steps = personalize_steps;
    experiment.config.output.eval_every = 2;
    experiment.config.output.save_model = false;
    Fixture f;
    experiment.shared_data = std::make_shared<const TrainTest>(f.data);
    experiment.shards = f.shards;
    experiment.model = std::move(f.model);
    experiment.algorithm = *FindAlgorithm("per_fedavg");
    return experiment;
  };
  const fs::path dir = fs::temp_directory_path() / ("fedsilo_personalized_" + std::to_string(::getpid()));
  RunOptions options;
  options.quiet = true;
  options.threads = 2;
  const PreparedExperiment without = prepare(0), with = prepare(2);
  options.out_dir = (dir / "without").string();
  auto a = RunPreparedExperiment(without, options);
  options.out_dir = (dir / "with").string();
  auto b = RunPreparedExperiment(with, options);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->final_parameters, b->final_parameters);
  EXPECT_EQ(b->final_personalized.silos_evaluated, 6);

  const std::string header_without = ReadFile(dir / "without/metrics.csv");
  const std::string header_with = ReadFile(dir / "with/metrics.csv");
  EXPECT_EQ(header_without.rfind("round,train_loss,test_loss,test_accuracy,epsilon,epsilon_mean,"
                                 "replies,failures,seconds\n", 0), 0u) << header_without;
  EXPECT_EQ(header_with.rfind("round,train_loss,test_loss,test_accuracy,epsilon,epsilon_mean,"
                              "replies,failures,personalized_accuracy_mean,"
                              "personalized_accuracy_min,personalized_accuracy_p10,"
                              "personalized_accuracy_median,seconds\n", 0), 0u) << header_with;
  const auto summary_without = nlohmann::json::parse(ReadFile(dir / "without/summary.json"));
  const auto summary_with = nlohmann::json::parse(ReadFile(dir / "with/summary.json"));
  EXPECT_FALSE(summary_without["final"].contains("personalized_accuracy_mean"));
  EXPECT_DOUBLE_EQ(summary_with["final"]["personalized_accuracy_mean"].get<double>(),
                   b->final_personalized.mean);
  EXPECT_DOUBLE_EQ(summary_with["final"]["personalized_accuracy_p10"].get<double>(),
                   b->final_personalized.p10);
  EXPECT_LE(b->final_personalized.min, b->final_personalized.p10);
  EXPECT_LE(b->final_personalized.p10, b->final_personalized.median);
  fs::remove_all(dir);
}

// ------------------------------------------------------------------ configuration errors

absl::StatusOr<ExperimentConfig> Parse(const std::string& yaml) {
  return ParseExperimentConfig(yaml, "exp.yaml", {});
}

TEST(PerFedAvgConfigTest, KeysParseAndPrivateConstraintsNameTheKeyAndLine) {
  auto ok = Parse("algorithm:\n  name: isrl_dp_per_fedavg\n  variant: hf\n  alpha: 0.001\n"
                  "  beta: 0.01\n  delta: 0.0001\n  outer_batch_size: 32\n  personalize_steps: 3\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->algorithm.variant, "hf");
  EXPECT_EQ(ok->algorithm.personalize_steps, 3);
  EXPECT_EQ(ok->algorithm.delta, 0.0001);

  auto exact = Parse("algorithm:\n  name: isrl_dp_per_fedavg\n  variant: exact\n");
  ASSERT_FALSE(exact.ok());
  EXPECT_THAT(exact.status().message(), HasSubstr("exp.yaml:3: algorithm.variant: 'exact' cannot be private"));

  auto sizes = Parse("algorithm:\n  name: isrl_dp_per_fedavg\n  batch_size: 16\n  outer_batch_size: 8\n");
  ASSERT_FALSE(sizes.ok());
  EXPECT_THAT(sizes.status().message(),
              HasSubstr("exp.yaml:4: algorithm.outer_batch_size: a private run needs it equal to "
                        "algorithm.batch_size (16) or 0, got 8"));
  // Non-private Per-FedAvg accepts different batch sizes and the exact variant.
  EXPECT_TRUE(Parse("algorithm:\n  name: per_fedavg\n  variant: exact\n  hessian_batch_size: 64\n").ok());

  auto variant = Parse("algorithm:\n  variant: so\n");
  ASSERT_FALSE(variant.ok());
  EXPECT_THAT(variant.status().message(), HasSubstr("algorithm.variant: unknown value 'so'"));
  auto delta = Parse("algorithm:\n  delta: 0\n");
  ASSERT_FALSE(delta.ok());
  EXPECT_THAT(delta.status().message(), HasSubstr("algorithm.delta: must be > 0"));
  auto steps = Parse("algorithm:\n  personalize_steps: -1\n");
  ASSERT_FALSE(steps.ok());
  EXPECT_THAT(steps.status().message(), HasSubstr("algorithm.personalize_steps: must be >= 0"));
  EXPECT_TRUE(Parse("partition:\n  scheme: per_fedavg_split\n  per_class: 196\n").ok());
}

}  // namespace
}  // namespace fedsilo

namespace fedsilo {
namespace {

TEST(PerFedAvgConfigTest, ShippedPerFedAvgConfigsParse) {
  const fs::path dir = fs::path(FEDSILO_SOURCE_DIR) / "simulations/configs/per_fedavg";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(entry.path().string(), {});
    EXPECT_TRUE(config.ok()) << config.status();
    ++count;
  }
  EXPECT_GE(count, 18);
}

}  // namespace
}  // namespace fedsilo
