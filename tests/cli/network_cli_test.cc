// `fedsilo coordinator` and `fedsilo silo` refuse unsafe transport settings before touching the
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

}  // namespace
}  // namespace fedsilo
