// Test certificates made at test time with the openssl command-line tool (never committed):
//   - a CA ("fedsilo test CA"), a server certificate for localhost / 127.0.0.1 (subjectAltName)
//     signed by it, and client certificates with CN silo-a, silo-b, silo-c signed by it;
//   - a shuffler certificate (CN shuffler, SAN localhost / 127.0.0.1) for both server and client
//     use: it serves the silos and dials the coordinator;
//   - another CA ("intruder CA") and a client certificate with CN silo-a signed by that one.
// Keys are ECDSA P-256 (fast to make). Header-only; used by the server and security tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fedsilo::testing {

struct KeyPair {
  std::string cert;  // PEM file paths
  std::string key;
};

struct TestCertificates {
  std::string ca;               // PEM of the CA that signed the server and silo certificates
  KeyPair server;               // CN localhost, SAN DNS:localhost, IP:127.0.0.1
  KeyPair silo_a, silo_b, silo_c;
  KeyPair shuffler;             // CN shuffler, SAN DNS:localhost, IP:127.0.0.1; server + client
  std::string other_ca;         // an unrelated CA
  KeyPair other_silo_a;         // CN silo-a, signed by other_ca
  std::string error;            // non-empty when openssl failed (the command and its output)
  bool ok() const { return error.empty(); }
};

namespace certs_internal {

inline bool Run(const std::string& command, const std::filesystem::path& log, std::string* error) {
  const std::string full = command + " >>'" + log.string() + "' 2>&1";
  if (std::system(full.c_str()) == 0) return true;
  std::ifstream in(log);
  std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  *error = "openssl failed: " + command + "\n" + output;
  return false;
}

// A CA: self-signed, basicConstraints CA:TRUE.
inline bool MakeCa(const std::filesystem::path& dir, const std::string& stem,
                   const std::string& common_name, std::string* error) {
  const auto ext = dir / (stem + ".cnf");
  std::ofstream(ext) << "[req]\ndistinguished_name = dn\nx509_extensions = v3_ca\nprompt = no\n"
                        "[dn]\nCN = " << common_name << "\n"
                        "[v3_ca]\nbasicConstraints = critical, CA:TRUE\n"
                        "keyUsage = critical, keyCertSign, cRLSign\n"
                        "subjectKeyIdentifier = hash\n";
  return Run("openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
             " -days 2 -config '" + ext.string() + "' -keyout '" + (dir / (stem + ".key")).string() +
                 "' -out '" + (dir / (stem + ".pem")).string() + "'",
             dir / "openssl.log", error);
}

// A leaf certificate with `common_name`, signed by the CA `ca_stem`; `extensions` go into its
// v3 section (usage, subjectAltName).
inline bool MakeLeaf(const std::filesystem::path& dir, const std::string& stem,
                     const std::string& common_name, const std::string& ca_stem,
                     const std::string& extensions, std::string* error) {
  const auto cnf = dir / (stem + ".cnf");
  std::ofstream(cnf) << "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = " << common_name
                     << "\n[v3]\nbasicConstraints = critical, CA:FALSE\n"
                        "keyUsage = critical, digitalSignature, keyEncipherment\n"
                     << extensions;
  const std::string key = (dir / (stem + ".key")).string();
  const std::string csr = (dir / (stem + ".csr")).string();
  return Run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -config '" +
                 cnf.string() + "' -keyout '" + key + "' -out '" + csr + "'",
             dir / "openssl.log", error) &&
         Run("openssl x509 -req -days 2 -in '" + csr + "' -CA '" +
                 (dir / (ca_stem + ".pem")).string() + "' -CAkey '" +
                 (dir / (ca_stem + ".key")).string() + "' -CAcreateserial -extfile '" +
                 cnf.string() + "' -extensions v3 -out '" + (dir / (stem + ".pem")).string() + "'",
             dir / "openssl.log", error);
}

}  // namespace certs_internal

// Makes every certificate under `dir` (created if needed); check ok() / error.
inline TestCertificates MakeTestCertificates(const std::filesystem::path& dir) {
  namespace internal = certs_internal;
  std::filesystem::create_directories(dir);
  TestCertificates out;
  const auto pem = [&](const std::string& stem) { return (dir / (stem + ".pem")).string(); };
  const auto pair = [&](const std::string& stem) {
    return KeyPair{pem(stem), (dir / (stem + ".key")).string()};
  };
  const std::string client = "extendedKeyUsage = clientAuth\n";
  const bool made =
      internal::MakeCa(dir, "ca", "fedsilo test CA", &out.error) &&
      internal::MakeLeaf(dir, "server", "localhost", "ca",
                         "extendedKeyUsage = serverAuth\n"
                         "subjectAltName = DNS:localhost, IP:127.0.0.1\n",
                         &out.error) &&
      internal::MakeLeaf(dir, "silo-a", "silo-a", "ca", client, &out.error) &&
      internal::MakeLeaf(dir, "silo-b", "silo-b", "ca", client, &out.error) &&
      internal::MakeLeaf(dir, "silo-c", "silo-c", "ca", client, &out.error) &&
      internal::MakeLeaf(dir, "shuffler", "shuffler", "ca",
                         "extendedKeyUsage = serverAuth, clientAuth\n"
                         "subjectAltName = DNS:localhost, IP:127.0.0.1\n",
                         &out.error) &&
      internal::MakeCa(dir, "other-ca", "intruder CA", &out.error) &&
      internal::MakeLeaf(dir, "other-silo-a", "silo-a", "other-ca", client, &out.error);
  if (!made) return out;
  out.ca = pem("ca");
  out.server = pair("server");
  out.silo_a = pair("silo-a");
  out.silo_b = pair("silo-b");
  out.silo_c = pair("silo-c");
  out.shuffler = pair("shuffler");
  out.other_ca = pem("other-ca");
  out.other_silo_a = pair("other-silo-a");
  return out;
}

}  // namespace fedsilo::testing
