// NetworkTransport behind mutual TLS, in process: a real gRPC server on 127.0.0.1 with the
// coordinator's TLS settings (server certificate, client CA, names bound to certificates) and
// hand-written silos on real TLS channels. Certificates are made with openssl when the suite starts.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "server/network_transport.h"
#include "tests/server/test_silo.h"
#include "tests/testing/certs.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

using ::testing::HasSubstr;
using testing::KeyPair;
using testing::TestCoordinator;
using testing::TestSilo;

constexpr int kParameters = 3;

std::string Pem(const std::string& path) { return testing::ReadFile(path); }

class NetworkTransportTlsTest : public ::testing::Test {
 protected:
  // One set of certificates per test process (ctest runs each test in its own process, in
  // parallel), removed at the end.
  static std::filesystem::path CertsDir() {
    return std::filesystem::temp_directory_path() /
           ("fedsilo_test_network_transport_tls_certs_" + std::to_string(getpid()));
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
  void SetUp() override { ASSERT_TRUE(certs_->ok()) << certs_->error; }
  void TearDown() override {
    silos_.clear();
    coordinator_.reset();
  }

  // The coordinator as `fedsilo coordinator --tls-cert --tls-key --client-ca` sets it up.
  void Start(std::vector<std::string> roster = {"silo-a", "silo-b", "silo-c"},
             const std::string& bindings_file = "") {
    grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_key_cert_pairs.push_back({Pem(certs_->server.key), Pem(certs_->server.cert)});
    ssl.pem_root_certs = Pem(certs_->ca);
    NetworkTransportOptions options;
    options.num_silos = 3;
    options.roster = std::move(roster);
    options.num_parameters = kParameters;
    options.round_timeout_seconds = 10;
    options.names_from_certificates = true;
    options.bindings_file = bindings_file;
    coordinator_ = std::make_unique<TestCoordinator>(options, grpc::SslServerCredentials(ssl));
    ASSERT_TRUE(coordinator_->started());
  }
  // A TLS channel trusting `ca`, presenting `client` (when it has a certificate).
  std::shared_ptr<grpc::Channel> Channel(const std::string& ca, const KeyPair& client,
                                         const std::string& host = "127.0.0.1") {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = Pem(ca);
    if (!client.cert.empty()) {
      ssl.pem_cert_chain = Pem(client.cert);
      ssl.pem_private_key = Pem(client.key);
    }
    return grpc::CreateChannel(host + ":" + std::to_string(coordinator_->port()),
                               grpc::SslCredentials(ssl));
  }
  TestSilo& NewSilo(const std::string& ca, const KeyPair& client,
                    const std::string& host = "127.0.0.1") {
    silos_.push_back(std::make_unique<TestSilo>(Channel(ca, client, host)));
    return *silos_.back();
  }
  NetworkTransport& transport() { return coordinator_->transport(); }
  // silo-c's certificate asks for shard 0, which silo-a's holds: refused, naming the holder.
  void ExpectSiloCCannotTakeSiloAsShard() {
    TestSilo& c = NewSilo(certs_->ca, certs_->silo_c);
    ASSERT_TRUE(c.Hello("silo-c", 0));
    const grpc::Status taken = c.Finish();
    EXPECT_EQ(taken.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(taken.error_message(),
                HasSubstr("silo 0 joined this run as 'silo-a'; 'silo-c' cannot take its place"));
  }

  // Silos 0..n-1 answer a round with delta (id, id, id), weight 1.
  RoundResults Round(int round, const std::vector<TestSilo*>& silos) {
    auto global = std::make_shared<const Vector>(Vector::Zero(kParameters));
    std::vector<SiloTask> tasks;
    for (size_t id = 0; id < silos.size(); ++id) {
      tasks.push_back(SiloTask{round, static_cast<int>(id), global});
    }
    auto results = std::async(std::launch::async, [&] { return transport().Train(tasks); });
    for (size_t id = 0; id < silos.size(); ++id) {
      EXPECT_TRUE(silos[id]->ReadTask().has_value());
      const double v = static_cast<double>(id);
      EXPECT_TRUE(silos[id]->SendUpdate(static_cast<uint32_t>(round), {v, v, v}, 1.0));
    }
    return results.get();
  }
  static void ExpectAllAnswered(const RoundResults& results, int count) {
    EXPECT_TRUE(results.failures.empty());
    ASSERT_EQ(results.updates.size(), static_cast<size_t>(count));
    for (int id = 0; id < count; ++id) {
      EXPECT_EQ(results.updates[static_cast<size_t>(id)].silo_id, id);
      EXPECT_EQ(results.updates[static_cast<size_t>(id)].delta, Vector::Constant(kParameters, id));
    }
  }
  // A silo whose TLS handshake must fail: its stream ends UNAVAILABLE and nobody joins.
  void ExpectCannotConnect(TestSilo& silo) {
    silo.Hello("silo-a");  // may or may not be accepted by the local write buffer
    EXPECT_FALSE(silo.Read().has_value());
    const grpc::Status status = silo.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    EXPECT_FALSE(transport().WaitForSilos(1, 0.2).ok());
  }

  static testing::TestCertificates* certs_;
  std::unique_ptr<TestCoordinator> coordinator_;
  std::vector<std::unique_ptr<TestSilo>> silos_;
};

testing::TestCertificates* NetworkTransportTlsTest::certs_ = nullptr;

TEST_F(NetworkTransportTlsTest, MutualTlsSilosJoinUnderTheirCertificatesNamesAndServe) {
  Start();
  testing::ScopedLogCapture capture;
  // By IP (SAN IP:127.0.0.1) and by name (SAN DNS:localhost).
  TestSilo& a = NewSilo(certs_->ca, certs_->silo_a);
  TestSilo& b = NewSilo(certs_->ca, certs_->silo_b, "localhost");
  TestSilo& c = NewSilo(certs_->ca, certs_->silo_c);
  ASSERT_EQ(a.Join("silo-a", kParameters).value_or(v1::Welcome()).silo_id(), 0u);
  ASSERT_EQ(b.Join("silo-b", kParameters).value_or(v1::Welcome()).silo_id(), 1u);
  ASSERT_EQ(c.Join("silo-c", kParameters).value_or(v1::Welcome()).silo_id(), 2u);
  ASSERT_TRUE(transport().WaitForSilos(3, 5).ok());
  ExpectAllAnswered(Round(1, {&a, &b, &c}), 3);
  EXPECT_TRUE(capture.log().Contains("silo 1 (silo-b) ('silo-b') joined")) << capture.log().All();
}

TEST_F(NetworkTransportTlsTest, ForgedNameIsPermissionDeniedNamingBothNames) {
  Start();
  testing::ScopedLogCapture capture;
  TestSilo& forger = NewSilo(certs_->ca, certs_->silo_a);
  ASSERT_TRUE(forger.Hello("silo-b"));
  const grpc::Status status = forger.Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("claims to be silo 'silo-b' but its certificate is for 'silo-a'"));
  EXPECT_TRUE(capture.log().WaitFor("claims to be silo 'silo-b' but its certificate is for 'silo-a'"));
  // The real silos (silo-b included) join and serve.
  TestSilo& a = NewSilo(certs_->ca, certs_->silo_a);
  TestSilo& b = NewSilo(certs_->ca, certs_->silo_b);
  TestSilo& c = NewSilo(certs_->ca, certs_->silo_c);
  ASSERT_TRUE(a.Join("silo-a", kParameters).has_value());
  ASSERT_TRUE(b.Join("silo-b", kParameters).has_value());
  ASSERT_TRUE(c.Join("silo-c", kParameters).has_value());
  ASSERT_TRUE(transport().WaitForSilos(3, 5).ok());
  // A forger that comes when the real silo is connected is refused for its name too.
  TestSilo& late_forger = NewSilo(certs_->ca, certs_->silo_c);
  ASSERT_TRUE(late_forger.Hello("silo-a"));
  EXPECT_EQ(late_forger.Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ExpectAllAnswered(Round(1, {&a, &b, &c}), 3);
}

TEST_F(NetworkTransportTlsTest, WithoutARosterOneCertificateHoldsOneShard) {
  Start(/*roster=*/{});  // silos choose their shard (--shard I)
  testing::ScopedLogCapture capture;
  TestSilo& a = NewSilo(certs_->ca, certs_->silo_a);
  ASSERT_EQ(a.Join("silo-a", kParameters, /*shard=*/0).value_or(v1::Welcome()).silo_id(), 0u);
  ASSERT_TRUE(transport().WaitForSilos(1, 5).ok());
  // silo-a's certificate cannot also take shards 1 and 2 (it would speak for three silos).
  for (const int shard : {1, 2}) {
    TestSilo& sybil = NewSilo(certs_->ca, certs_->silo_a);
    ASSERT_TRUE(sybil.Hello("silo-a", shard));
    const grpc::Status status = sybil.Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << shard;
    EXPECT_THAT(status.error_message(),
                HasSubstr("silo 'silo-a' joined this run as silo 0; its certificate cannot also "
                          "speak for silo " + std::to_string(shard)));
  }
  TestSilo& b = NewSilo(certs_->ca, certs_->silo_b);
  ASSERT_EQ(b.Join("silo-b", kParameters, /*shard=*/1).value_or(v1::Welcome()).silo_id(), 1u);
  // While silo-a is away, another certificate cannot take its shard; silo-a gets it back.
  a.Cancel();
  ASSERT_TRUE(capture.log().WaitFor("silo 0 left"));
  ExpectSiloCCannotTakeSiloAsShard();
  TestSilo& back = NewSilo(certs_->ca, certs_->silo_a);
  ASSERT_EQ(back.Join("silo-a", kParameters, 0).value_or(v1::Welcome()).silo_id(), 0u);
  TestSilo& c2 = NewSilo(certs_->ca, certs_->silo_c);
  ASSERT_EQ(c2.Join("silo-c", kParameters, 2).value_or(v1::Welcome()).silo_id(), 2u);
  ASSERT_TRUE(transport().WaitForSilos(3, 5).ok());
  ExpectAllAnswered(Round(1, {&back, &b, &c2}), 3);
}

// The binding outlives the coordinator: a coordinator restarted on the same bindings file (as
// `--resume` does) still refuses another certificate for a shard, and gives it back to its owner.
TEST_F(NetworkTransportTlsTest, WithoutARosterTheBindingSurvivesACoordinatorRestart) {
  const std::filesystem::path dir = testing::FreshTempDir("tls_bindings");
  const std::string file = (dir / "silo_certificates").string();
  Start(/*roster=*/{}, file);
  TestSilo& a = NewSilo(certs_->ca, certs_->silo_a);
  ASSERT_EQ(a.Join("silo-a", kParameters, 0).value_or(v1::Welcome()).silo_id(), 0u);
  ASSERT_TRUE(transport().WaitForSilos(1, 5).ok());
  EXPECT_EQ(testing::ReadFile(file), "silo-a\n\n\n");
  silos_.clear();  // the coordinator goes away, and comes back on the same file
  coordinator_.reset();
  Start(/*roster=*/{}, file);
  ExpectSiloCCannotTakeSiloAsShard();
  TestSilo& back = NewSilo(certs_->ca, certs_->silo_a);
  EXPECT_EQ(back.Join("silo-a", kParameters, 0).value_or(v1::Welcome()).silo_id(), 0u);
  // A file that does not fit the run is refused, naming it.
  testing::WriteFile(file, "silo-a\n");
  NetworkTransportOptions options;
  options.num_silos = 3;
  options.names_from_certificates = true;
  options.bindings_file = file;
  const auto refused = NetworkTransport::Create(options);
  EXPECT_TRUE(absl::IsDataLoss(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr(file));
}

TEST_F(NetworkTransportTlsTest, ClientCertificateFromAnotherCaCannotConnect) {
  Start();
  ExpectCannotConnect(NewSilo(certs_->ca, certs_->other_silo_a));
}

TEST_F(NetworkTransportTlsTest, SiloWithoutAClientCertificateCannotConnect) {
  Start();
  ExpectCannotConnect(NewSilo(certs_->ca, KeyPair{}));
}

TEST_F(NetworkTransportTlsTest, SiloThatDoesNotTrustTheCoordinatorsCertificateCannotConnect) {
  Start();
  ExpectCannotConnect(NewSilo(certs_->other_ca, certs_->silo_a));
}

}  // namespace
}  // namespace fedsilo
