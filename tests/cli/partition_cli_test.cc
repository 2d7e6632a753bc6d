// `fedsilo partition` as a user meets it: the files it writes, and exit status 2 with a one-line
// message for bad input (config, arguments, a used output directory). The exactness of the files
// is checked against the in-memory partition in tests/runtime/partition_export_test.cc.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using testing::FreshTempDir;
using testing::ReadFile;
using testing::RunFedsilo;
using testing::WriteFile;

class PartitionCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshTempDir(std::string("partition_cli_") +
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::string csv = "a,b,y\n";
    for (int i = 0; i < 30; ++i) {
      csv += std::to_string(i) + "," + std::to_string(i % 4) + "," + (i % 3 ? "yes" : "no") + "\n";
    }
    WriteFile(dir_ / "train.csv", csv);
    WriteFile(dir_ / "exp.yaml",
              "seed: 2\n"
              "data:\n"
              "  dataset: csv\n"
              "  train: train.csv\n"
              "  label: y\n"
              "  positive: 'yes'\n"
              "partition:\n"
              "  silos: 3\n");
  }
  std::string Exp() const { return (dir_ / "exp.yaml").string(); }
  fs::path dir_;
};

TEST_F(PartitionCliTest, WritesEverySilosFilesAndTheSummary) {
  const fs::path out = dir_ / "parts";
  auto result = RunFedsilo("partition " + Exp() + " --out " + out.string() +
                           " --set partition.silos=2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("2 silos"), std::string::npos) << result.output;
  EXPECT_TRUE(fs::exists(out / "summary.txt"));
  EXPECT_NE(ReadFile(out / "summary.txt").find("2 silos"), std::string::npos);
  for (const char* silo : {"silo_0", "silo_1"}) {
    for (const char* file : {"train.csv", "test.csv", "silo.yaml"}) {
      EXPECT_TRUE(fs::exists(out / silo / file)) << silo << "/" << file;
    }
    const std::string train = ReadFile(out / silo / "train.csv");
    EXPECT_EQ(train.substr(0, train.find('\n')), "a,b,label") << silo;
  }
  EXPECT_FALSE(fs::exists(out / "silo_2"));
  // The silo config is itself a valid experiment file; its --set'ed partition is kept.
  const std::string yaml = ReadFile(out / "silo_0/silo.yaml");
  EXPECT_NE(yaml.find("  silos: 2\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  standardize: false\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  train: train.csv\n"), std::string::npos) << yaml;
  // Silos with their own files join by name: the coordinator's config names them, silo0, silo1,
  // and so does each silo.yaml; the command's last lines say how to start them.
  const std::string coordinator = ReadFile(out / "coordinator.yaml");
  EXPECT_NE(coordinator.find("  silos: [silo0, silo1]\n"), std::string::npos) << coordinator;
  EXPECT_NE(coordinator.find("  train: " + (dir_ / "train.csv").string()), std::string::npos)
      << coordinator;  // the experiment's own data: the coordinator never reads the silos' files
  EXPECT_NE(yaml.find("  silos: [silo0, silo1]\n"), std::string::npos) << yaml;
  EXPECT_NE(result.output.find("silo i joins as --name silo0 .. silo1"), std::string::npos)
      << result.output;
}

TEST_F(PartitionCliTest, BadInputExitsWithStatus2AndAClearMessage) {
  WriteFile(dir_ / "bad.yaml", "data:\n  dataset: csv\n  train: train.csv\n  lable: y\n");
  auto bad_key = RunFedsilo("partition " + (dir_ / "bad.yaml").string() + " --out " +
                            (dir_ / "o1").string());
  EXPECT_EQ(bad_key.exit_code, 2);
  EXPECT_NE(bad_key.output.find("bad.yaml:4: data.lable: unknown key (did you mean 'label'?)"),
            std::string::npos)
      << bad_key.output;
  EXPECT_FALSE(fs::exists(dir_ / "o1"));

  auto bad_set = RunFedsilo("partition " + Exp() + " --out " + (dir_ / "o2").string() +
                            " --set partition.silos=0");
  EXPECT_EQ(bad_set.exit_code, 2);
  EXPECT_NE(bad_set.output.find("--set partition.silos: must be in [1, 100000], got 0"),
            std::string::npos)
      << bad_set.output;

  auto too_many = RunFedsilo("partition " + Exp() + " --out " + (dir_ / "o3").string() +
                             " --set partition.silos=100");
  EXPECT_EQ(too_many.exit_code, 2);
  EXPECT_NE(too_many.output.find("silos"), std::string::npos) << too_many.output;

  auto no_out = RunFedsilo("partition " + Exp());
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_NE(no_out.output.find("--out"), std::string::npos) << no_out.output;

  auto missing = RunFedsilo("partition " + (dir_ / "nope.yaml").string() + " --out " +
                            (dir_ / "o4").string());
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("experiment file not found"), std::string::npos) << missing.output;

  WriteFile(dir_ / "used/keep.txt", "mine");
  auto used = RunFedsilo("partition " + Exp() + " --out " + (dir_ / "used").string());
  EXPECT_EQ(used.exit_code, 2);
  EXPECT_NE(used.output.find("not empty"), std::string::npos) << used.output;
  EXPECT_EQ(ReadFile(dir_ / "used/keep.txt"), "mine");
}

}  // namespace
}  // namespace fedsilo
