// HoldOutValidation (data.validation): sizes, disjointness, determinism; and through the binary,
// the records held out are not trained on and the run reports them.
#include "common/data/validation_split.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

std::vector<SiloShard> Shards(const std::vector<int>& sizes) {
  std::vector<SiloShard> shards(sizes.size());
  int next = 0;
  for (size_t s = 0; s < sizes.size(); ++s) {
    for (int i = 0; i < sizes[s]; ++i) shards[s].train.push_back(next++);
  }
  return shards;
}

TEST(ValidationSplitTest, HoldsOutTheFloorOfTheFractionAndKeepsOneRecordToTrainOn) {
  const std::vector<int> sizes = {100, 7, 3, 1, 0};
  std::vector<SiloShard> shards = Shards(sizes);
  const std::vector<SiloShard> before = shards;
  HoldOutValidation(&shards, 0.3, 11);
  const std::vector<size_t> held = {30, 2, 0, 0, 0};  // floor(0.3 n)
  for (size_t s = 0; s < shards.size(); ++s) {
    EXPECT_EQ(shards[s].validation.size(), held[s]) << s;
    EXPECT_EQ(shards[s].train.size(), sizes[s] - held[s]) << s;
    EXPECT_TRUE(std::is_sorted(shards[s].train.begin(), shards[s].train.end()));
    EXPECT_TRUE(std::is_sorted(shards[s].validation.begin(), shards[s].validation.end()));
    std::vector<int> both = shards[s].train;
    both.insert(both.end(), shards[s].validation.begin(), shards[s].validation.end());
    std::sort(both.begin(), both.end());
    EXPECT_EQ(both, before[s].train) << s;  // a split: disjoint, nothing lost
  }
  // A fraction that would take everything leaves one record to train on.
  std::vector<SiloShard> small = Shards({4});
  HoldOutValidation(&small, 0.99, 1);
  EXPECT_EQ(small[0].train.size(), 1u);
  EXPECT_EQ(small[0].validation.size(), 3u);
}

TEST(ValidationSplitTest, SeededPerSiloAndZeroLeavesShardsAlone) {
  std::vector<SiloShard> a = Shards({50, 50}), b = a, c = a, zero = a;
  HoldOutValidation(&a, 0.2, 5);
  HoldOutValidation(&b, 0.2, 5);
  HoldOutValidation(&c, 0.2, 6);
  EXPECT_EQ(a[0].validation, b[0].validation);
  EXPECT_EQ(a[1].validation, b[1].validation);
  EXPECT_NE(a[0].validation, c[0].validation);
  // Two silos of the same size draw from their own streams, not the same positions.
  std::vector<int> offset;
  for (int row : a[1].validation) offset.push_back(row - 50);
  EXPECT_NE(offset, a[0].validation);
  HoldOutValidation(&zero, 0.0, 5);
  EXPECT_TRUE(zero[0].validation.empty());
  EXPECT_EQ(zero[0].train.size(), 50u);
}

// Through the binary on UCI-shaped CSV data: with data.validation 0.25 each silo trains on the
// rest (silos.csv's train_records), metrics.csv and summary.json carry the validation metrics.
TEST(ValidationSplitTest, ARunTrainsWithoutTheHeldOutRecordsAndReportsThem) {
  const std::filesystem::path dir = testing::FreshTempDir("validation_split_run");
  std::string csv = "a,b,y\n";
  for (int i = 0; i < 90; ++i) {
    csv += std::to_string(i % 9) + "," + std::to_string((i * 7) % 5) + "," +
           std::to_string((i % 9) > 4 ? 1 : 0) + "\n";
  }
  testing::WriteFile(dir / "train.csv", csv);
  testing::WriteFile(dir / "exp.yaml",
                     "seed: 4\n"
                     "data: {dataset: csv, train: train.csv, label: y, test_fraction: 0.2, "
                     "validation: 0.25}\n"
                     "partition: {silos: 3}\n"
                     "algorithm: {name: fedavg, rounds: 3, batch_size: 4}\n"
                     "output: {eval_every: 1}\n");
  auto result = testing::RunFedsilo("run " + (dir / "exp.yaml").string() + " --quiet --out " +
                                    (dir / "out").string());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const auto summary = nlohmann::json::parse(testing::ReadFile(dir / "out" / "summary.json"));
  // 72 training records over 3 IID silos of 24: floor(0.25 * 24) = 6 held out by each.
  EXPECT_EQ(summary["final"]["validation_records"], 18);
  EXPECT_GE(summary["final"]["val_accuracy"].get<double>(), 0.0);
  EXPECT_LE(summary["final"]["val_accuracy"].get<double>(), 1.0);
  int trained = 0;
  for (const auto& row : testing::ReadCsvRows(dir / "out" / "silos.csv")) {
    if (row[0] != "silo") trained += std::stoi(row[1]);
  }
  EXPECT_EQ(trained, 72 - 18);
  const std::string metrics = testing::ReadFile(dir / "out" / "metrics.csv");
  EXPECT_EQ(metrics.substr(0, metrics.find(",personalized")),
            "round,train_loss,test_loss,test_accuracy,epsilon,epsilon_mean,replies,failures,"
            "val_loss,val_accuracy");
}

}  // namespace
}  // namespace fedsilo
