// Networked mode behind mutual TLS with the real processes: `fedsilo coordinator` and
// `fedsilo silo` on 127.0.0.1, certificates made with openssl at test time (tests/testing/certs.h).
// A small CSV experiment (60 records, 2 silos named silo-a and silo-b) keeps each run short.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/certs.h"
#include "tests/testing/child_process.h"
#include "tests/testing/loopback.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using ::testing::HasSubstr;
using testing::ChildProcess;
using testing::KeyPair;
using testing::ReadFile;
using testing::WaitForLine;
using std::chrono::seconds;

std::string SmallCsv() {
  std::string csv = "x1,x2,color,y\n";
  for (int i = 0; i < 60; ++i) {
    csv += std::to_string(i % 7) + "," + std::to_string((i * 3) % 11) + "," +
           (i % 2 ? "red" : "blue") + "," + (i % 3 ? "yes" : "no") + "\n";
  }
  return csv;
}

constexpr char kConfig[] =
    "seed: 3\n"
    "data:\n"
    "  dataset: csv\n"
    "  train: train.csv\n"
    "  label: y\n"
    "  positive: 'yes'\n"
    "  categorical: [color]\n"
    "partition:\n"
    "  silos: 2\n"
    "algorithm:\n"
    "  name: fedavg\n"
    "  rounds: 3\n"
    "  batch_size: 4\n"
    "network:\n"
    "  silos: [silo-a, silo-b]\n"
    "  join_timeout_seconds: 30\n"
    "  round_timeout_seconds: 20\n";

class TlsProcessTest : public ::testing::Test {
 protected:
  // One set of certificates per test process (ctest runs each test in its own process, in
  // parallel), removed at the end.
  static std::filesystem::path CertsDir() {
    return std::filesystem::temp_directory_path() /
           ("fedsilo_test_tls_process_certs_" + std::to_string(getpid()));
  }
  static void SetUpTestSuite() {
    std::filesystem::remove_all(CertsDir());
    certs_ = new testing::TestCertificates(testing::MakeTestCertificates(CertsDir()));
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
    std::filesystem::remove_all(CertsDir());
  }
  void SetUp() override {
    ASSERT_TRUE(certs_->ok()) << certs_->error;
    dir_ = testing::FreshTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    testing::WriteFile(dir_ / "train.csv", SmallCsv());
    testing::WriteFile(dir_ / "exp.yaml", kConfig);
  }
  std::string config() const { return (dir_ / "exp.yaml").string(); }

  // Starts the coordinator with mutual TLS; returns its address once it listens ("" if not).
  std::string StartCoordinator() {
    coordinator_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"coordinator", config(), "--listen", "127.0.0.1:0",
                                 "--port-file", (dir_ / "port").string(), "--out",
                                 (dir_ / "out").string(), "--quiet", "--threads", "1",
                                 "--tls-cert", certs_->server.cert, "--tls-key",
                                 certs_->server.key, "--client-ca", certs_->ca},
        dir_ / "coordinator.log");
    const std::string port = WaitForLine(dir_ / "port", 30);
    return port.empty() ? "" : "127.0.0.1:" + port;
  }
  // `fedsilo silo` trusting `ca` and presenting `client` (when it has a certificate).
  // Each process has its own state directory (named after its log), as each is its own machine:
  // one state directory takes one process per silo name (its journal lock).
  std::unique_ptr<ChildProcess> StartSilo(const std::string& address, const std::string& name,
                                          int shard, const std::string& ca, const KeyPair& client,
                                          const std::string& log, double connect_timeout = 30) {
    std::vector<std::string> args = {"silo", "--coordinator", address, "--name", name, "--shard",
                                     std::to_string(shard), "--ca", ca, "--connect-timeout",
                                     std::to_string(connect_timeout), "--reproducible-noise",
                                     "--state-dir", (dir_ / ("state_" + log)).string()};
    if (!client.cert.empty()) args.insert(args.end(), {"--cert", client.cert, "--key", client.key});
    return std::make_unique<ChildProcess>(args, dir_ / log);
  }
  // Starts the two honest silos and checks that they and the coordinator finish the run.
  void ExpectHonestRunCompletes(const std::string& address) {
    auto a = StartSilo(address, "silo-a", 0, certs_->ca, certs_->silo_a, "silo-a.log");
    auto b = StartSilo(address, "silo-b", 1, certs_->ca, certs_->silo_b, "silo-b.log");
    EXPECT_EQ(coordinator_->Wait(seconds(60)), 0) << coordinator_->log();
    EXPECT_EQ(a->Wait(seconds(10)), 0) << a->log();
    EXPECT_EQ(b->Wait(seconds(10)), 0) << b->log();
    EXPECT_THAT(a->log(), HasSubstr("the coordinator ended the run"));
    EXPECT_TRUE(std::filesystem::exists(dir_ / "out" / "model.bin"));
  }

  static testing::TestCertificates* certs_;
  std::filesystem::path dir_;
  std::unique_ptr<ChildProcess> coordinator_;
};

testing::TestCertificates* TlsProcessTest::certs_ = nullptr;

TEST_F(TlsProcessTest, MutualTlsRunCompletesAndEqualsThreadMode) {
  const std::string address = StartCoordinator();
  ASSERT_FALSE(address.empty()) << coordinator_->log();
  ExpectHonestRunCompletes(address);
  EXPECT_THAT(coordinator_->log(), HasSubstr("(TLS)"));
  // The same experiment in thread mode gives the same final parameters, byte for byte.
  const auto thread_mode = testing::RunFedsilo("run " + config() + " --quiet --threads 1 --out " +
                                               (dir_ / "thread").string());
  ASSERT_EQ(thread_mode.exit_code, 0) << thread_mode.output;
  const std::string model = ReadFile(dir_ / "out" / "model.bin");
  EXPECT_GT(model.size(), 16u);
  EXPECT_EQ(model, ReadFile(dir_ / "thread" / "model.bin"));
}

// Four silos that must not get in, all at once while the coordinator waits for its silos: a forged
// name, a certificate from another CA, no certificate, and a silo that does not trust the
// coordinator's certificate. Then the honest silos join and the run completes.
TEST_F(TlsProcessTest, BadSilosAreTurnedAwayAndTheOthersFinish) {
  const std::string address = StartCoordinator();
  ASSERT_FALSE(address.empty()) << coordinator_->log();
  const auto start = std::chrono::steady_clock::now();
  auto forger = StartSilo(address, "silo-b", 1, certs_->ca, certs_->silo_a, "forger.log", 3);
  auto intruder = StartSilo(address, "silo-a", 0, certs_->ca, certs_->other_silo_a,
                            "intruder.log", 3);
  auto anonymous = StartSilo(address, "silo-a", 0, certs_->ca, KeyPair{}, "anonymous.log", 3);
  auto distrustful = StartSilo(address, "silo-a", 0, certs_->other_ca, certs_->silo_a,
                               "distrustful.log", 3);

  // The forger is refused at once, by name, and does not retry.
  EXPECT_EQ(forger->Wait(seconds(10)), 1) << forger->log();
  EXPECT_THAT(forger->log(), HasSubstr("the coordinator refused this silo: a peer claims to be "
                                          "silo 'silo-b' but its certificate is for 'silo-a'"));
  // The others fail their TLS handshake and give up after --connect-timeout 3, naming the
  // coordinator and the handshake.
  for (ChildProcess* silo : {intruder.get(), anonymous.get(), distrustful.get()}) {
    EXPECT_EQ(silo->Wait(seconds(15)), 1) << silo->log();
    EXPECT_THAT(silo->log(), HasSubstr("could not reach the coordinator at " + address));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(elapsed, 3.0);
  EXPECT_LT(elapsed, 10.0);
  EXPECT_THAT(distrustful->log(), HasSubstr("handshake failed"));
  EXPECT_THAT(distrustful->log(), HasSubstr("certificate verify failed"));
  for (ChildProcess* silo : {intruder.get(), anonymous.get()}) {
    EXPECT_THAT(silo->log(), HasSubstr("the coordinator refused this silo's certificate"));
  }

  ExpectHonestRunCompletes(address);
  const std::string log = coordinator_->log();
  EXPECT_THAT(log, HasSubstr("a peer claims to be silo 'silo-b' but its certificate is for 'silo-a'"));
  EXPECT_THAT(log, HasSubstr("certificate verify failed"));        // the intruder
  EXPECT_THAT(log, HasSubstr("peer did not return a certificate"));  // the anonymous silo
}

}  // namespace
}  // namespace fedsilo
