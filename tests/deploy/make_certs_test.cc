// scripts/make_certs.sh, checked with openssl itself: every certificate verifies against the CA,
// the server certificate is valid for the compose service name and loopback, each silo's
// certificate carries CN = its name and serves client authentication only, keys are private,
// existing files are kept unless --force, and bad names are refused with status 2.
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/deploy/deploy_testing.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using namespace deploy_testing;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kSource = FEDSILO_SOURCE_DIR;

class MakeCertsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir(std::string("certs_") +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    out_ = dir_ / "certs";
  }
  Result Make(std::vector<std::string> args) {
    args.insert(args.begin(), {"bash", (kSource / "scripts/make_certs.sh").string()});
    return RunCommand(args, dir_);
  }
  Result OpenSsl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    return RunCommand(args, dir_);
  }
  std::string Pem(const std::string& file) { return (out_ / file).string(); }
  fs::path dir_, out_;
};

TEST_F(MakeCertsTest, CertificatesVerifyWithTheRightNamesAndPurposes) {
  const Result made = Make({out_.string(), "silo0", "hospital-b"});
  ASSERT_EQ(made.exit_code, 0) << made.output;

  const Result verify = OpenSsl({"verify", "-CAfile", Pem("ca.crt"), Pem("server.crt"),
                                 Pem("silo0.crt"), Pem("hospital-b.crt")});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_THAT(verify.output, HasSubstr("server.crt: OK"));
  EXPECT_THAT(verify.output, HasSubstr("hospital-b.crt: OK"));

  // Purposes: the server certificate serves TLS servers, a silo's only TLS clients, so a silo
  // cannot pose as the coordinator.
  EXPECT_EQ(OpenSsl({"verify", "-purpose", "sslserver", "-CAfile", Pem("ca.crt"), Pem("server.crt")})
                .exit_code, 0);
  EXPECT_EQ(OpenSsl({"verify", "-purpose", "sslclient", "-CAfile", Pem("ca.crt"), Pem("silo0.crt")})
                .exit_code, 0);
  EXPECT_NE(OpenSsl({"verify", "-purpose", "sslserver", "-CAfile", Pem("ca.crt"), Pem("silo0.crt")})
                .exit_code, 0);
  EXPECT_NE(OpenSsl({"verify", "-purpose", "sslclient", "-CAfile", Pem("ca.crt"), Pem("server.crt")})
                .exit_code, 0);

  const Result silo = OpenSsl({"x509", "-in", Pem("hospital-b.crt"), "-noout", "-subject",
                               "-nameopt", "RFC2253"});
  EXPECT_THAT(silo.output, HasSubstr("CN=hospital-b,"));
  const Result san = OpenSsl({"x509", "-in", Pem("server.crt"), "-noout", "-ext", "subjectAltName"});
  EXPECT_THAT(san.output, HasSubstr("DNS:coordinator"));
  EXPECT_THAT(san.output, HasSubstr("DNS:localhost"));
  EXPECT_THAT(san.output, HasSubstr("IP Address:127.0.0.1"));
  const Result ca = OpenSsl({"x509", "-in", Pem("ca.crt"), "-noout", "-ext", "basicConstraints"});
  EXPECT_THAT(ca.output, HasSubstr("CA:TRUE"));

  // The key matches its certificate, and keys are readable by their owner only.
  const Result cert_key = OpenSsl({"x509", "-in", Pem("silo0.crt"), "-noout", "-pubkey"});
  const Result key_key = OpenSsl({"pkey", "-in", Pem("silo0.key"), "-pubout"});
  EXPECT_EQ(cert_key.output, key_key.output);
  for (const char* key : {"ca.key", "server.key", "silo0.key", "hospital-b.key"}) {
    struct stat st {};
    ASSERT_EQ(stat(Pem(key).c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
  }
}

// --shuffler: a certificate with CN shuffler that both serves TLS (to the silos) and is a TLS
// client (of the coordinator); "shuffler" cannot be a silo name.
TEST_F(MakeCertsTest, ShufflerCertificateServesAndDials) {
  const Result made = Make({"--shuffler", out_.string(), "silo0"});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  for (const char* purpose : {"sslserver", "sslclient"}) {
    EXPECT_EQ(OpenSsl({"verify", "-purpose", purpose, "-CAfile", Pem("ca.crt"), Pem("shuffler.crt")})
                  .exit_code, 0) << purpose;
  }
  const Result subject = OpenSsl({"x509", "-in", Pem("shuffler.crt"), "-noout", "-subject",
                                  "-nameopt", "RFC2253"});
  EXPECT_THAT(subject.output, HasSubstr("CN=shuffler,"));
  const Result san = OpenSsl({"x509", "-in", Pem("shuffler.crt"), "-noout", "-ext", "subjectAltName"});
  EXPECT_THAT(san.output, HasSubstr("DNS:shuffler"));
  EXPECT_THAT(san.output, HasSubstr("IP Address:127.0.0.1"));
  struct stat st {};
  ASSERT_EQ(stat(Pem("shuffler.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(dir_ / "plain" / "shuffler.crt"));
  ASSERT_EQ(Make({(dir_ / "plain").string(), "silo0"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_ / "plain" / "shuffler.crt"));  // only with --shuffler
  EXPECT_EQ(Make({out_.string(), "shuffler"}).exit_code, 2);
}

TEST_F(MakeCertsTest, ExtraServerNamesKeepExistingFilesForceRegenerates) {
  ASSERT_EQ(Make({"--server-name", "fl.example.org", "--server-name", "10.1.2.3", out_.string(),
                  "a"}).exit_code, 0);
  const Result san = OpenSsl({"x509", "-in", Pem("server.crt"), "-noout", "-ext", "subjectAltName"});
  EXPECT_THAT(san.output, HasSubstr("DNS:fl.example.org"));
  EXPECT_THAT(san.output, HasSubstr("IP Address:10.1.2.3"));

  // Adding a silo later keeps the CA and the other certificates.
  const std::string ca = testing::ReadFile(out_ / "ca.crt");
  const std::string a = testing::ReadFile(out_ / "a.crt");
  const Result more = Make({out_.string(), "a", "b"});
  ASSERT_EQ(more.exit_code, 0) << more.output;
  EXPECT_THAT(more.output, Not(HasSubstr("ca.crt")));
  EXPECT_EQ(testing::ReadFile(out_ / "ca.crt"), ca);
  EXPECT_EQ(testing::ReadFile(out_ / "a.crt"), a);
  EXPECT_EQ(OpenSsl({"verify", "-CAfile", Pem("ca.crt"), Pem("b.crt")}).exit_code, 0);

  const Result forced = Make({"--force", out_.string(), "a"});
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_NE(testing::ReadFile(out_ / "ca.crt"), ca);
  EXPECT_EQ(OpenSsl({"verify", "-CAfile", Pem("ca.crt"), Pem("a.crt"), Pem("server.crt")}).exit_code, 0);
}

TEST_F(MakeCertsTest, BadNamesAndArgumentsExitWith2) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{out_.string(), "bad name"}, "bad silo name 'bad name'"},
      {{out_.string(), "-x"}, "bad silo name '-x'"},
      {{out_.string(), "a/b"}, "bad silo name 'a/b'"},
      {{out_.string(), "server"}, "'server' cannot be a silo name"},
      {{out_.string(), "a", "a"}, "silo name 'a' given twice"},
      {{"--days", "0", out_.string()}, "--days needs a positive integer"},
      {{"--colour", out_.string()}, "unknown option '--colour'"},
      {{}, "usage:"},
  };
  for (const auto& [args, message] : cases) {
    const Result result = Make(args);
    EXPECT_EQ(result.exit_code, 2) << ::testing::PrintToString(args) << "\n" << result.output;
    EXPECT_THAT(result.output, HasSubstr(message)) << ::testing::PrintToString(args);
  }
  EXPECT_FALSE(fs::exists(out_ / "ca.crt")) << "nothing is written for bad arguments";
}

}  // namespace
}  // namespace fedsilo
