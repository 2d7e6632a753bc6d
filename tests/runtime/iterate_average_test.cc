// IterateAverage (the output model of algorithm.average_last) against the arithmetic mean of the
// models it was given; and a run's model.bin against the mean of the final models of shorter runs.
#include "common/runtime/iterate_average.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;

Vector AfterRound(int round) { return Vector::LinSpaced(3, 1.0, 3.0) * round + Vector::Ones(3); }

TEST(IterateAverageTest, AveragesExactlyTheLastRoundsAndOutputsTheIterateBefore) {
  IterateAverage average = IterateAverage::ForLastRounds(/*rounds=*/10, /*last=*/4);
  for (int round = 1; round <= 10; ++round) {
    average.AfterRound(round, AfterRound(round));
    if (round < 7) {
      EXPECT_EQ(average.count(), 0) << round;
      EXPECT_EQ(average.Output(AfterRound(round)), AfterRound(round)) << round;
    }
  }
  EXPECT_EQ(average.count(), 4);
  // Rounds 7..10: their mean is the model of round 8.5.
  const Vector expected = Vector::LinSpaced(3, 1.0, 3.0) * 8.5 + Vector::Ones(3);
  EXPECT_LT((average.Output(AfterRound(10)) - expected).norm(), 1e-14);
}

TEST(IterateAverageTest, ZeroAveragesNothing) {
  IterateAverage average = IterateAverage::ForLastRounds(5, 0);
  for (int round = 1; round <= 5; ++round) average.AfterRound(round, AfterRound(round));
  EXPECT_EQ(average.count(), 0);
  EXPECT_EQ(average.Output(AfterRound(5)), AfterRound(5));
}

TEST(IterateAverageTest, ARestoredAverageContinuesBitForBit) {
  IterateAverage whole = IterateAverage::ForLastRounds(12, 8);
  IterateAverage first = IterateAverage::ForLastRounds(12, 8);
  for (int round = 1; round <= 12; ++round) whole.AfterRound(round, AfterRound(round) / 7.0);
  for (int round = 1; round <= 7; ++round) first.AfterRound(round, AfterRound(round) / 7.0);
  IterateAverage resumed = IterateAverage::ForLastRounds(12, 8);
  resumed.Restore(first.mean(), first.count());
  for (int round = 8; round <= 12; ++round) resumed.AfterRound(round, AfterRound(round) / 7.0);
  EXPECT_EQ(resumed.count(), whole.count());
  EXPECT_EQ(resumed.mean(), whole.mean());  // bit for bit
}

// A non-private FedAvg run's model after round r does not depend on how many rounds follow, so
// the output of rounds = 6 with average_last = 3 is the mean of the models of 4-, 5- and 6-round
// runs.
ExperimentConfig AdultConfig(int rounds, int average_last) {
  const std::string yaml = "seed: 4\n"
                           "data: {dataset: adult, dir: " + testing::SharedDataDir() + "}\n"
                           "partition: {scheme: iid, silos: 5}\n"
                           "model: {type: logistic}\n"
                           "algorithm: {name: fedavg, rounds: " + std::to_string(rounds) +
                           ", average_last: " + std::to_string(average_last) +
                           ", local_steps: 2, batch_size: 32, lr: 0.5, personalize_steps: 0}\n"
                           "output: {eval_every: 100}\n";
  absl::StatusOr<ExperimentConfig> config = ParseExperimentConfig(yaml, "test.yaml", {});
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

Vector FinalModel(const ExperimentConfig& config, const fs::path& dir) {
  RunOptions options;
  options.out_dir = dir.string();
  options.quiet = true;
  absl::StatusOr<RunReport> report = RunExperiment(config, options);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? report->final_parameters : Vector();
}

TEST(IterateAverageRunTest, TheRunsOutputIsTheMeanOfTheLastRoundsModels) {
  if (!fs::exists(testing::SharedDataDir() + "/adult/adult.data")) GTEST_SKIP() << "no ../shared/data";
  const fs::path dir = testing::FreshTempDir("iterate_average_run");
  const Vector averaged = FinalModel(AdultConfig(6, 3), dir / "averaged");
  const Vector expected = (FinalModel(AdultConfig(4, 0), dir / "r4") +
                           FinalModel(AdultConfig(5, 0), dir / "r5") +
                           FinalModel(AdultConfig(6, 0), dir / "r6")) / 3.0;
  ASSERT_EQ(averaged.size(), expected.size());
  EXPECT_LT((averaged - expected).norm(), 1e-12 * expected.norm());
  EXPECT_GT((averaged - FinalModel(AdultConfig(6, 0), dir / "r6b")).norm(), 1e-6);  // not the last
  // model.bin holds the output, and model.json says what it is.
  EXPECT_NE(testing::ReadFile(dir / "averaged" / "model.json").find("last 3 rounds"),
            std::string::npos);
}

}  // namespace
}  // namespace fedsilo
