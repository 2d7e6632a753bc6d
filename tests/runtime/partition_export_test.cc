// Partition export: every silo's files, read back through its own silo.yaml with the CSV loader,
// give exactly (bit for bit) the records thread mode hands that silo, computed independently here
// with PrepareExperiment; and the silo configs keep every non-data key of the experiment.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/rng.h"
#include "common/data/loader_registry.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"
#include "common/runtime/partition_export.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::FreshTempDir;
using testing::ReadFile;
using testing::WriteFile;

// n records: two numeric columns on different scales, a categorical colour, a sensitive `site`
// with three values and a five-class label that depends on x1.
void WriteSyntheticCsv(const fs::path& path, int n, uint64_t seed) {
  Rng rng(seed);
  std::ostringstream csv;
  csv.precision(17);
  csv << "x1,income,colour,site,y\n";
  const char* colours[] = {"red", "green", "blue"};
  const char* sites[] = {"north", "south", "east"};
  for (int i = 0; i < n; ++i) {
    const double x1 = rng.Normal();
    const double income = 30000.0 + 9000.0 * rng.Normal();
    const int label = std::min(4, std::max(0, static_cast<int>(std::floor(x1 * 1.5 + 2.5))));
    csv << x1 << "," << income << "," << colours[rng.UniformInt(3)] << ","
        << sites[rng.UniformInt(3)] << ",c" << label << "\n";
  }
  WriteFile(path, csv.str());
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof(double)) == 0; }

// Silo `s`'s split read back from its files equals rows `rows` of the pooled split.
void ExpectSameRecords(const Dataset& pooled, const std::vector<int>& rows, const Dataset& read,
                       const std::string& what) {
  ASSERT_EQ(read.size(), static_cast<int>(rows.size())) << what;
  ASSERT_EQ(read.dim(), pooled.dim()) << what;
  EXPECT_EQ(read.num_classes, pooled.num_classes) << what;
  EXPECT_EQ(read.num_groups, pooled.num_groups) << what;
  EXPECT_EQ(read.has_groups(), pooled.has_groups() && !rows.empty()) << what;
  int mismatches = 0;
  for (size_t k = 0; k < rows.size(); ++k) {
    const int r = rows[k];
    for (int j = 0; j < pooled.dim(); ++j) {
      if (!SameBits(read.x(static_cast<Eigen::Index>(k), j), pooled.x(r, j)) && ++mismatches < 5) {
        ADD_FAILURE() << what << " row " << k << " feature " << j << ": read "
                      << read.x(static_cast<Eigen::Index>(k), j) << ", expected " << pooled.x(r, j);
      }
    }
    EXPECT_EQ(read.y[k], pooled.y[static_cast<size_t>(r)]) << what << " row " << k;
    if (pooled.has_groups()) {
      EXPECT_EQ(read.group[k], pooled.group[static_cast<size_t>(r)]) << what << " row " << k;
    }
  }
  EXPECT_EQ(mismatches, 0) << what;
}

// Exports `config`, then checks every silo against an independent PrepareExperiment.
void ExpectRoundTrip(const ExperimentConfig& config, const fs::path& out) {
  absl::StatusOr<PartitionExportReport> report = ExportPartition(config, out.string());
  ASSERT_TRUE(report.ok()) << report.status();
  absl::StatusOr<PreparedExperiment> expected = PrepareExperiment(config);
  ASSERT_TRUE(expected.ok()) << expected.status();
  const TrainTest& pooled = expected->data();
  ASSERT_EQ(report->silos, static_cast<int>(expected->shards.size()));
  EXPECT_EQ(ReadFile(out / "summary.txt"), PartitionSummary(pooled, expected->shards));
  long long train_rows = 0;
  for (size_t s = 0; s < expected->shards.size(); ++s) {
    const SiloShard& shard = expected->shards[s];
    train_rows += static_cast<long long>(shard.train.size());
    const fs::path dir = out / ("silo_" + std::to_string(s));
    absl::StatusOr<ExperimentConfig> silo = LoadExperimentConfig((dir / "silo.yaml").string(), {});
    ASSERT_TRUE(silo.ok()) << silo.status();
    EXPECT_EQ(silo->data.csv.train, (dir / "train.csv").lexically_normal().string());
    EXPECT_EQ(silo->data.csv.test, (dir / "test.csv").lexically_normal().string());
    absl::StatusOr<TrainTest> read = LoadData(silo->data);
    ASSERT_TRUE(read.ok()) << read.status();
    const std::string what = "silo " + std::to_string(s);
    ExpectSameRecords(pooled.train, shard.train, read->train, what + " train");
    ExpectSameRecords(pooled.test, shard.test, read->test, what + " test");
    // Every key but the data section and the roster (silo0 .. silo<N-1>, the config having none)
    // is the experiment's; coordinator.yaml is the experiment with that roster.
    std::vector<std::string> roster;
    for (size_t i = 0; i < expected->shards.size(); ++i) roster.push_back("silo" + std::to_string(i));
    EXPECT_EQ(silo->network.silos, roster) << what;
    ExperimentConfig same = *silo;
    same.data = expected->config.data;
    same.source_path = expected->config.source_path;
    same.network.silos.clear();
    EXPECT_EQ(ExperimentConfigToYaml(same), ExperimentConfigToYaml(expected->config)) << what;
    absl::StatusOr<ExperimentConfig> coordinator =
        LoadExperimentConfig((out / "coordinator.yaml").string(), {});
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    EXPECT_EQ(coordinator->network.silos, roster);
    coordinator->network.silos.clear();
    coordinator->source_path = expected->config.source_path;
    coordinator->data.dir = expected->config.data.dir;  // resolved when the run prepares
    EXPECT_EQ(ExperimentConfigToYaml(*coordinator), ExperimentConfigToYaml(expected->config));
  }
  EXPECT_EQ(report->train_rows, train_rows);
}

class PartitionExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTempDir(std::string("partition_export_") +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  absl::StatusOr<ExperimentConfig> Config(const std::string& yaml,
                                          const std::vector<std::string>& overrides = {}) {
    WriteFile(dir_ / "exp.yaml", yaml);
    return LoadExperimentConfig((dir_ / "exp.yaml").string(), overrides);
  }
  fs::path dir_;
};

TEST_F(PartitionExportTest, CsvWithGroupsAndLabelSkewReadsBackExactly) {
  WriteSyntheticCsv(dir_ / "data.csv", 600, 11);
  // label_per_silo: each silo holds one class, so each file alone lacks four of the five.
  absl::StatusOr<ExperimentConfig> config = Config(
      "seed: 9\n"
      "data: {dataset: csv, train: data.csv, label: y, categorical: [colour, site],\n"
      "       sensitive: site}\n"
      "partition: {scheme: label_per_silo, silos: 5}\n"
      "model: {type: softmax}\n"
      "algorithm: {name: fedavg, rounds: 3, lr: 0.3}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectRoundTrip(*config, dir_ / "out");
  // The header: features by name in table order (one-hot "colour=blue"; the sensitive column
  // stays a feature, as in the experiment), then the label and group ids.
  const std::string train = ReadFile(dir_ / "out/silo_0/train.csv");
  EXPECT_EQ(train.substr(0, train.find('\n')),
            "x1,income,colour=blue,colour=green,colour=red,site=east,site=north,site=south,"
            "label,group");
}

TEST_F(PartitionExportTest, IidWithEmptyTestShardsAndPca) {
  WriteSyntheticCsv(dir_ / "data.csv", 300, 12);
  WriteSyntheticCsv(dir_ / "small_test.csv", 3, 13);  // 3 test records for 6 silos
  absl::StatusOr<ExperimentConfig> config = Config(
      "data: {dataset: csv, train: data.csv, test: small_test.csv, label: y,\n"
      "       categorical: [colour, site], pca: 4}\n"
      "partition: {scheme: iid, silos: 6}\n"
      "model: {type: softmax}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectRoundTrip(*config, dir_ / "out");
  int header_only = 0;  // 3 test records for 6 silos: three test files hold a header alone
  for (int s = 0; s < 6; ++s) {
    header_only += ReadFile(dir_ / ("out/silo_" + std::to_string(s) + "/test.csv")) ==
                   "pc1,pc2,pc3,pc4,label\n";
  }
  EXPECT_EQ(header_only, 3);
}

TEST_F(PartitionExportTest, UnusableFeatureNamesBecomeX0X1) {
  // A feature named `label` (the label column is `y`) would be mistaken for the label.
  std::string csv = "label,b,y\n";
  for (int i = 0; i < 40; ++i) {
    csv += std::to_string(i * 0.25) + "," + std::to_string(i % 3) + "," + (i % 2 ? "p" : "q") + "\n";
  }
  WriteFile(dir_ / "d.csv", csv);
  absl::StatusOr<ExperimentConfig> config =
      Config("data: {dataset: csv, train: d.csv, label: y, positive: p}\npartition: {silos: 2}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectRoundTrip(*config, dir_ / "out");
  const std::string train = ReadFile(dir_ / "out/silo_1/train.csv");
  EXPECT_EQ(train.substr(0, train.find('\n')), "x0,x1,label");
}

TEST_F(PartitionExportTest, MnistParityDirichletReadsBackExactly) {
  absl::StatusOr<ExperimentConfig> config = Config(
      "data: {dataset: mnist, label_map: parity, max_train: 1500}\n"
      "partition: {scheme: dirichlet, alpha: 0.3, silos: 4}\n"
      "model: {type: logistic}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectRoundTrip(*config, dir_ / "out");
}

TEST_F(PartitionExportTest, RefusesANonEmptyDirectoryAndBadConfigs) {
  WriteSyntheticCsv(dir_ / "data.csv", 50, 14);
  absl::StatusOr<ExperimentConfig> config =
      Config("data: {dataset: csv, train: data.csv, label: y, categorical: [colour, site]}\n");
  ASSERT_TRUE(config.ok()) << config.status();
  WriteFile(dir_ / "used/old.txt", "x");
  absl::StatusOr<PartitionExportReport> report = ExportPartition(*config, (dir_ / "used").string());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(report.status().message(), HasSubstr("not empty"));
  report = ExportPartition(*config, (dir_ / "data.csv").string());
  EXPECT_THAT(report.status().message(), HasSubstr("not a directory"));

  config->partition.silos = 1000;  // more silos than records
  report = ExportPartition(*config, (dir_ / "fresh").string());
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir_ / "fresh/summary.txt"));
}

}  // namespace
}  // namespace fedsilo
