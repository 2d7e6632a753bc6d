// `fedsilo coordinator`, `fedsilo silo` and `fedsilo shuffler` refuse unsafe transport settings before touching the
// network: plaintext (--insecure) only on loopback addresses, TLS files required otherwise. Each
// refusal is a one-line message and exit status 2.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using ::testing::HasSubstr;
using testing::RunFedsilo;

class NetworkCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::string csv = "x,y\n";
    for (int i = 0; i < 20; ++i) csv += std::to_string(i) + "," + (i % 2 ? "1" : "0") + "\n";
    testing::WriteFile(dir_ / "train.csv", csv);
    testing::WriteFile(dir_ / "exp.yaml",
                       "data:\n  dataset: csv\n  train: train.csv\n  label: y\n  positive: '1'\n"
                       "partition:\n  silos: 2\n");
  }
  std::string Coordinator(const std::string& args) {
    return "coordinator " + (dir_ / "exp.yaml").string() + " " + args;
  }
  std::filesystem::path dir_;
};

TEST_F(NetworkCliTest, CoordinatorRefusesPlaintextOnANonLoopbackAddress) {
  for (const std::string listen :
       {"0.0.0.0:0", "10.1.2.3:50051", "[::]:50051", "127.0.0.1.example.org:50051"}) {
    const auto result = RunFedsilo(Coordinator("--insecure --listen " + listen));
    EXPECT_EQ(result.exit_code, 2) << listen << ": " << result.output;
    EXPECT_THAT(result.output, HasSubstr("--insecure (plaintext) is refused on " + listen));
    EXPECT_THAT(result.output, HasSubstr("only on a loopback address"));
  }
  // On loopback, the same arguments are valid.
  const auto loopback = RunFedsilo(Coordinator("--insecure --listen 127.0.0.1:0 --dry-run"));
  EXPECT_EQ(loopback.exit_code, 0) << loopback.output;
}

TEST_F(NetworkCliTest, CoordinatorNeedsTlsFilesWithoutInsecure) {
  const auto none = RunFedsilo(Coordinator("--listen 0.0.0.0:0"));
  EXPECT_EQ(none.exit_code, 2) << none.output;
  EXPECT_THAT(none.output, HasSubstr("needs --tls-cert and --tls-key"));
  const auto both = RunFedsilo(Coordinator("--insecure --listen 127.0.0.1:0 --tls-cert x.pem"));
  EXPECT_EQ(both.exit_code, 2) << both.output;
  EXPECT_THAT(both.output, HasSubstr("--insecure cannot be combined with TLS files"));
  const auto missing = RunFedsilo(Coordinator("--listen 127.0.0.1:0 --tls-cert /nonexistent/cert.pem "
                                              "--tls-key /nonexistent/key.pem"));
  EXPECT_NE(missing.exit_code, 0) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("/nonexistent/cert.pem"));
}

TEST_F(NetworkCliTest, SiloRefusesPlaintextToANonLoopbackCoordinator) {
  for (const std::string coordinator :
       {"10.1.2.3:50051", "coordinator:50051", "127.0.0.1.example.org:50051"}) {
    const auto result =
        RunFedsilo("silo --coordinator " + coordinator + " --name silo-a --shard 0 --insecure");
    EXPECT_EQ(result.exit_code, 2) << coordinator << ": " << result.output;
    EXPECT_THAT(result.output, HasSubstr("--insecure (plaintext) is refused for " + coordinator));
  }
  const auto loopback =
      RunFedsilo("silo --coordinator 127.0.0.1:50051 --name silo-a --shard 0 --insecure --dry-run");
  EXPECT_EQ(loopback.exit_code, 0) << loopback.output;
  const auto no_ca = RunFedsilo("silo --coordinator 10.1.2.3:50051 --name silo-a --shard 0");
  EXPECT_EQ(no_ca.exit_code, 2) << no_ca.output;
  EXPECT_THAT(no_ca.output, HasSubstr("the silo needs --ca"));
}

// `fedsilo shuffler`: plaintext only when both its listening address and the coordinator's are
// loopback; with TLS it needs its server certificate, the coordinator's CA and its own client
// certificate; a silo's pinned key file must exist and hold a key.
TEST_F(NetworkCliTest, ShufflerAndPinnedKeyArgumentsAreChecked) {
  const auto loopback = RunFedsilo(
      "shuffler --listen 127.0.0.1:0 --coordinator 127.0.0.1:50051 --insecure --dry-run");
  EXPECT_EQ(loopback.exit_code, 0) << loopback.output;
  for (const std::string args : {"--listen 0.0.0.0:7071 --coordinator 127.0.0.1:50051",
                                 "--listen 127.0.0.1:0 --coordinator 10.1.2.3:50051"}) {
    const auto result = RunFedsilo("shuffler --insecure " + args);
    EXPECT_EQ(result.exit_code, 2) << args << ": " << result.output;
    EXPECT_THAT(result.output, HasSubstr("--insecure (plaintext) is refused for"));
  }
  const auto no_client_cert = RunFedsilo(
      "shuffler --listen 0.0.0.0:7071 --coordinator 10.1.2.3:50051 --tls-cert a.pem "
      "--tls-key a.key --ca ca.pem");
  EXPECT_EQ(no_client_cert.exit_code, 2) << no_client_cert.output;
  EXPECT_THAT(no_client_cert.output, HasSubstr("--cert/--key (its client certificate for the "
                                               "coordinator)"));

  const std::string silo = "silo --coordinator 127.0.0.1:50051 --name silo-a --shard 0 --insecure "
                           "--dry-run --coordinator-public-key ";
  const auto missing = RunFedsilo(silo + (dir_ / "none.pub").string());
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_THAT(missing.output, HasSubstr("no coordinator public key file"));
  testing::WriteFile(dir_ / "bad.pub", "hello\n");
  const auto bad = RunFedsilo(silo + (dir_ / "bad.pub").string());
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("must hold 64 hex digits"));
  testing::WriteFile(dir_ / "good.pub", std::string(64, '0') + "\n");
  EXPECT_EQ(RunFedsilo(silo + (dir_ / "good.pub").string()).exit_code, 0);

  // A sealing key for an algorithm that is not shuffle-model is a mistake, refused.
  const auto key = RunFedsilo(Coordinator("--insecure --listen 127.0.0.1:0 --dry-run --sealing-key " +
                                          (dir_ / "k").string()));
  EXPECT_EQ(key.exit_code, 2) << key.output;
  EXPECT_THAT(key.output, HasSubstr("--sealing-key is for shuffle-model algorithms"));
}

// A second coordinator run into the folder of a first would overwrite its results (the compose
// example run twice, issue 17): refused before listening, naming the run and both ways on; the
// first run's files are untouched.
TEST_F(NetworkCliTest, CoordinatorRefusesAnOutputFolderThatHoldsARun) {
  const std::filesystem::path out = dir_ / "out";
  testing::WriteFile(out / "run_id", "0123abcd\n");
  testing::WriteFile(out / "summary.json", "{}\n");
  const auto again = RunFedsilo(Coordinator("--insecure --listen 127.0.0.1:0 --out " + out.string()));
  EXPECT_EQ(again.exit_code, 2) << again.output;
  EXPECT_THAT(again.output, HasSubstr("the output folder " + out.string() + " already holds run "
                                      "0123abcd"));
  EXPECT_THAT(again.output, HasSubstr("pass --resume to continue that run, or give a new --out"));
  EXPECT_EQ(testing::ReadFile(out / "run_id"), "0123abcd\n");
  EXPECT_EQ(testing::ReadFile(out / "summary.json"), "{}\n");
}

}  // namespace
}  // namespace fedsilo
