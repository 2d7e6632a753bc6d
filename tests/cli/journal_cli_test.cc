// `fedsilo journal FILE`: a journal written by the silo's own writer, read back as JSON through
// the binary; a missing or damaged file is a named error.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/runtime/silo_journal_file.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using testing::FreshTempDir;
using testing::RunFedsilo;

TEST(JournalCliTest, PrintsTheLedgerAndItsEpsilon) {
  const std::filesystem::path dir = FreshTempDir("journal_cli");
  SiloJournal journal;
  journal.run_id = "run-42";
  journal.last_round = 30;
  // Opacus RDPAccountant golden value (dp_test_vectors.md): q 0.04, z 1.5, 2250 add/remove steps.
  journal.ledger = {{Subsampling::kPoisson, 0.04, 1.5, 2250}};
  const std::string path = (dir / "silo0.journal").string();
  ASSERT_TRUE(WriteSiloJournal(path, journal).ok());

  auto plain = RunFedsilo("journal " + path);
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  auto json = nlohmann::json::parse(plain.output);
  EXPECT_EQ(json["run_id"], "run-42");
  EXPECT_EQ(json["last_round"], 30);
  EXPECT_EQ(json["noisy_queries"], 2250);
  EXPECT_FALSE(json.contains("epsilon"));

  auto with_delta = RunFedsilo("journal " + path + " --delta 1e-5");
  ASSERT_EQ(with_delta.exit_code, 0) << with_delta.output;
  EXPECT_NEAR(nlohmann::json::parse(with_delta.output)["epsilon"].get<double>(), 7.32911117143,
              1e-4 * 7.33);
}

TEST(JournalCliTest, NamesAMissingOrDamagedFile) {
  const std::filesystem::path dir = FreshTempDir("journal_cli_bad");
  auto missing = RunFedsilo("journal " + (dir / "none.journal").string());
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("none.journal"), std::string::npos) << missing.output;

  SiloJournal journal;
  journal.ledger = {{Subsampling::kPoissonReplaceOne, 0.04, 1.5, 10}};
  const std::string path = (dir / "silo0.journal").string();
  ASSERT_TRUE(WriteSiloJournal(path, journal).ok());
  auto bad_delta = RunFedsilo("journal " + path + " --delta 2");
  EXPECT_EQ(bad_delta.exit_code, 2) << bad_delta.output;
  EXPECT_NE(bad_delta.output.find("--delta"), std::string::npos) << bad_delta.output;
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);  // torn
  auto damaged = RunFedsilo("journal " + path);
  EXPECT_NE(damaged.exit_code, 0);
  EXPECT_NE(damaged.output.find("silo0.journal"), std::string::npos) << damaged.output;
}

}  // namespace
}  // namespace fedsilo
