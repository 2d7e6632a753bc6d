// docker-compose.yml, the Dockerfile and simulations/launch_local.sh, checked without a Docker
// engine: the compose topology (one coordinator, one silo per shard, names, addresses, TLS files
// the certs service writes), every service command run for real with --dry-run (container paths
// mapped to local folders: a named volume or a writable bind mount to a fresh temporary folder,
// a read-only bind mount to its host folder, the working directory to the source tree, which the
// image copies there), and the launcher printing the same processes with the same arguments
// (and, for a shuffle-model config, a shuffler between them: every printed command passes
// --dry-run). All of it twice: for the default services (no profile) and for the opt-in profile
// `shuffle` (its own certs, coordinator with --sealing-key, a shuffler, silos dialing the
// shuffler with the coordinator's public key pinned), each checked as a topology of its own.
#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/runtime/config_parser.h"
#include "tests/deploy/deploy_testing.h"
#include "tests/testing/process.h"
#include "yaml-cpp/yaml.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using namespace deploy_testing;
using ::testing::HasSubstr;

const fs::path kSource = FEDSILO_SOURCE_DIR;

const std::vector<std::string> kCertOptions = {"--tls-cert", "--tls-key", "--client-ca",
                                               "--ca",       "--cert",    "--key"};

// The opt-in profile that runs the shuffle model (`docker compose --profile shuffle up`).
const char kShuffleProfile[] = "shuffle";

bool IsCoordinator(const Service& s) { return !s.command.empty() && s.command[0] == "coordinator"; }
bool IsShuffler(const Service& s) { return !s.command.empty() && s.command[0] == "shuffler"; }
bool IsSilo(const Service& s) { return !s.command.empty() && s.command[0] == "silo"; }
bool IsCerts(const Service& s) {
  return s.entrypoint.size() >= 2 && fs::path(s.entrypoint[1]).filename() == "make_certs.sh";
}

// The services of one profile ("" = the services without a profile, which Compose always starts).
struct Topology {
  std::string profile;
  const Service* coordinator = nullptr;
  const Service* certs = nullptr;
  const Service* shuffler = nullptr;  // shuffle-model topologies only
  std::vector<const Service*> silos;
  std::vector<const Service*> services;  // all of the above
};

bool InProfile(const Service& s, const std::string& profile) {
  if (profile.empty()) return s.profiles.empty();
  return std::find(s.profiles.begin(), s.profiles.end(), profile) != s.profiles.end();
}

Topology Split(const ComposeFile& compose, const std::string& profile) {
  Topology t;
  t.profile = profile;
  for (const auto& [name, service] : compose.services) {
    if (!InProfile(service, profile)) continue;
    t.services.push_back(&service);
    if (IsCoordinator(service)) {
      EXPECT_EQ(t.coordinator, nullptr) << "two coordinators: " << name;
      t.coordinator = &service;
    } else if (IsShuffler(service)) {
      EXPECT_EQ(t.shuffler, nullptr) << "two shufflers: " << name;
      t.shuffler = &service;
    } else if (IsSilo(service)) {
      t.silos.push_back(&service);
    } else if (IsCerts(service)) {
      EXPECT_EQ(t.certs, nullptr) << "two certs services: " << name;
      t.certs = &service;
    } else {
      ADD_FAILURE() << "service '" << name
                    << "' is neither the coordinator, the shuffler, a silo nor certs";
    }
  }
  return t;
}

// The process name launch_local.sh --print-commands gives the process of `service`.
std::string LauncherName(const Service& service) {
  if (IsCoordinator(service)) return "coordinator";
  if (IsShuffler(service)) return "shuffler";
  if (IsCerts(service)) return "certs";
  return OptionValue(service.command, "--name");
}

// The files make_certs.sh writes for `command` = OUTDIR NAME... (options first).
std::set<std::string> CertsOutputs(const std::vector<std::string>& command, std::string* out_dir,
                                   std::vector<std::string>* names) {
  size_t i = 0;
  bool shuffler = false;
  while (i < command.size() && command[i].rfind("--", 0) == 0) {
    shuffler = shuffler || command[i] == "--shuffler";
    i += command[i] == "--force" || command[i] == "--shuffler" ? 1 : 2;
  }
  std::set<std::string> files = {"ca.crt", "ca.key", "server.crt", "server.key"};
  if (shuffler) files.insert({"shuffler.crt", "shuffler.key"});
  if (i >= command.size()) return files;
  *out_dir = command[i];
  for (++i; i < command.size(); ++i) {
    names->push_back(command[i]);
    files.insert(command[i] + ".crt");
    files.insert(command[i] + ".key");
  }
  return files;
}

// The volume of `service` that holds container path `path`, or nullptr.
const Volume* VolumeHolding(const Service& service, const std::string& path) {
  const Volume* best = nullptr;
  for (const Volume& v : service.volumes) {
    const std::string prefix = v.target.back() == '/' ? v.target : v.target + "/";
    if ((path == v.target || path.rfind(prefix, 0) == 0) &&
        (best == nullptr || v.target.size() > best->target.size())) {
      best = &v;
    }
  }
  return best;
}

class ComposeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    compose_ = LoadCompose(kSource / "docker-compose.yml");
    topology_ = Split(compose_, "");
    ASSERT_NE(topology_.coordinator, nullptr) << "no coordinator service";
    ASSERT_NE(topology_.certs, nullptr) << "no certs service";
    ASSERT_FALSE(topology_.silos.empty()) << "no silo service";
    ASSERT_EQ(topology_.shuffler, nullptr) << "the default services run without a shuffler";
    shuffle_ = Split(compose_, kShuffleProfile);
    ASSERT_NE(shuffle_.coordinator, nullptr) << "no coordinator in profile " << kShuffleProfile;
    ASSERT_NE(shuffle_.certs, nullptr) << "no certs service in profile " << kShuffleProfile;
    ASSERT_NE(shuffle_.shuffler, nullptr) << "no shuffler in profile " << kShuffleProfile;
    ASSERT_FALSE(shuffle_.silos.empty()) << "no silo in profile " << kShuffleProfile;
    tmp_ = testing::FreshTempDir(std::string("deploy_") +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  // A container path in `service` -> a local path (see the file comment). Relative paths are
  // relative to the working directory, i.e. the source tree.
  fs::path Local(const Service& service, const std::string& container_path) {
    if (container_path.empty() || container_path[0] != '/') return kSource / container_path;
    const Volume* v = VolumeHolding(service, container_path);
    if (v == nullptr) {
      ADD_FAILURE() << service.name << ": " << container_path << " is in no mounted volume";
      return tmp_ / "unmapped" / container_path.substr(1);
    }
    fs::path root;
    if (v->named) {
      root = tmp_ / "volumes" / v->source;
    } else if (v->read_only && fs::exists(compose_.dir / v->source)) {
      root = fs::weakly_canonical(compose_.dir / v->source);
    } else {  // Docker creates a missing bind source; writable ones go to a temporary folder
      std::string flat = fs::path(v->source).lexically_normal().string();
      for (char& c : flat) c = (c == '/' || c == '.') ? '_' : c;
      root = tmp_ / "binds" / flat;
    }
    const std::string rest = container_path.substr(v->target.size());
    return rest.empty() ? root : root / rest.substr(rest[0] == '/' ? 1 : 0);
  }

  // The service's command with every container path mapped.
  std::vector<std::string> LocalCommand(const Service& service) {
    std::vector<std::string> out;
    for (const std::string& arg : service.command) {
      out.push_back(!arg.empty() && arg[0] == '/' ? Local(service, arg).string() : arg);
    }
    return out;
  }

  std::map<std::string, std::string> LocalEnvironment(const Service& service) {
    std::map<std::string, std::string> env;
    for (const auto& [key, value] : service.environment) {
      env[key] = !value.empty() && value[0] == '/' ? Local(service, value).string() : value;
    }
    return env;
  }

  // One coordinator, one silo per shard of its config, each silo dialing the coordinator (or,
  // with a shuffler, the shuffler, which dials the coordinator), dependencies in that order.
  void CheckTopology(const Topology& t) {
    SCOPED_TRACE("profile '" + t.profile + "'");
    const Service& coordinator = *t.coordinator;
    ASSERT_GE(coordinator.command.size(), 2u);
    const std::string config_path = coordinator.command[1];
    absl::StatusOr<ExperimentConfig> config =
        LoadExperimentConfig((kSource / config_path).string(), {});
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(static_cast<int>(t.silos.size()), config->partition.silos)
        << "one silo service per shard of " << config_path;

    const auto [listen_host, listen_port] =
        SplitHostPort(OptionValue(coordinator.command, "--listen"));
    EXPECT_THAT(listen_host, ::testing::AnyOf("0.0.0.0", "::", coordinator.name))
        << "in a container the coordinator must listen on the network, not on loopback";
    EXPECT_FALSE(listen_port.empty());
    ASSERT_FALSE(coordinator.healthcheck.empty()) << "the silos wait for a healthy coordinator";
    EXPECT_THAT(coordinator.healthcheck.back(), HasSubstr("/" + listen_port))
        << "the healthcheck probes the listen port";
    EXPECT_EQ(coordinator.depends_on.count(t.certs->name), 1u);
    if (coordinator.depends_on.count(t.certs->name) > 0) {
      EXPECT_EQ(coordinator.depends_on.at(t.certs->name), "service_completed_successfully");
    }

    // Whom the silos dial.
    std::string silo_host = coordinator.name, silo_port = listen_port;
    if (t.shuffler != nullptr) {
      const Service& shuffler = *t.shuffler;
      const auto [host, port] = SplitHostPort(OptionValue(shuffler.command, "--listen"));
      EXPECT_THAT(host, ::testing::AnyOf("0.0.0.0", "::", shuffler.name))
          << "in a container the shuffler must listen on the network, not on loopback";
      const auto [dials, dials_port] =
          SplitHostPort(OptionValue(shuffler.command, "--coordinator"));
      EXPECT_EQ(dials, coordinator.name) << "the shuffler dials another host";
      EXPECT_EQ(dials_port, listen_port) << "the shuffler dials another port";
      ASSERT_FALSE(shuffler.healthcheck.empty()) << "the silos wait for a healthy shuffler";
      EXPECT_THAT(shuffler.healthcheck.back(), HasSubstr("/" + port))
          << "the shuffler's healthcheck probes its listen port";
      ASSERT_EQ(shuffler.depends_on.count(coordinator.name), 1u);
      EXPECT_EQ(shuffler.depends_on.at(coordinator.name), "service_healthy")
          << "the shuffler dials the coordinator once it listens";
      ASSERT_EQ(shuffler.depends_on.count(t.certs->name), 1u);
      EXPECT_EQ(shuffler.depends_on.at(t.certs->name), "service_completed_successfully");
      silo_host = shuffler.name;
      silo_port = port;
    }

    std::set<int> shards;
    std::set<std::string> names, state_dirs;
    for (const Service* silo : t.silos) {
      const std::vector<std::string>& c = silo->command;
      const std::string name = OptionValue(c, "--name");
      EXPECT_FALSE(name.empty()) << silo->name;
      EXPECT_TRUE(names.insert(name).second) << "silo name " << name << " used twice";
      const std::string shard = OptionValue(c, "--shard");
      ASSERT_FALSE(shard.empty()) << silo->name << " has no --shard";
      EXPECT_TRUE(shards.insert(std::stoi(shard)).second) << "shard " << shard << " served twice";
      EXPECT_TRUE(OptionValue(c, "--data").empty()) << silo->name;
      const auto [host, port] = SplitHostPort(OptionValue(c, "--coordinator"));
      EXPECT_EQ(host, silo_host) << silo->name << " dials another host";
      EXPECT_EQ(port, silo_port) << silo->name << " dials another port";
      EXPECT_EQ(OptionValue(c, "--config"), config_path) << silo->name;
      const std::string state = OptionValue(c, "--state-dir");
      EXPECT_FALSE(state.empty()) << silo->name << " has no --state-dir (its ledger would be lost)";
      EXPECT_TRUE(state_dirs.insert(state).second) << "state directory " << state << " shared";
      EXPECT_EQ(silo->depends_on.count(coordinator.name), 1u) << silo->name;
      EXPECT_EQ(silo->depends_on.count(t.certs->name), 1u) << silo->name;
      if (silo->depends_on.count(t.certs->name) > 0) {
        EXPECT_EQ(silo->depends_on.at(t.certs->name), "service_completed_successfully");
      }
      if (t.shuffler != nullptr) {
        ASSERT_EQ(silo->depends_on.count(t.shuffler->name), 1u) << silo->name;
        EXPECT_EQ(silo->depends_on.at(t.shuffler->name), "service_healthy") << silo->name;
      } else if (silo->depends_on.count(coordinator.name) > 0) {
        // Compose v1 counts an exited dependency as unhealthy and prints only that; waiting for
        // "started" lets a failed coordinator's own message reach up's output (issue 17).
        EXPECT_EQ(silo->depends_on.at(coordinator.name), "service_started") << silo->name;
      }
    }
    std::set<int> expected_shards;
    for (int i = 0; i < config->partition.silos; ++i) expected_shards.insert(i);
    EXPECT_EQ(shards, expected_shards);
  }

  void CheckTls(const Topology& t) {
    SCOPED_TRACE("profile '" + t.profile + "'");
    std::string certs_dir;
    std::vector<std::string> cert_names;
    const std::set<std::string> outputs = CertsOutputs(t.certs->command, &certs_dir, &cert_names);
    ASSERT_FALSE(certs_dir.empty()) << "the certs service names no output directory";
    const Volume* certs_volume = VolumeHolding(*t.certs, certs_dir);
    ASSERT_NE(certs_volume, nullptr) << certs_dir << " is not a volume of the certs service";
    EXPECT_TRUE(certs_volume->named);
    EXPECT_FALSE(certs_volume->read_only);
    EXPECT_THAT(compose_.named_volumes, ::testing::Contains(certs_volume->source));

    std::set<std::string> silo_names;
    for (const Service* silo : t.silos) silo_names.insert(OptionValue(silo->command, "--name"));
    EXPECT_EQ(std::set<std::string>(cert_names.begin(), cert_names.end()), silo_names)
        << "one client certificate per silo name";

    auto expect_cert = [&](const Service& service, const std::string& option,
                           const std::string& file) {
      const std::string path = OptionValue(service.command, option);
      ASSERT_FALSE(path.empty()) << service.name << " has no " << option;
      EXPECT_EQ(fs::path(path).filename().string(), file) << service.name << " " << option;
      EXPECT_EQ(outputs.count(fs::path(path).filename().string()), 1u)
          << service.name << " " << option << " " << path << " is not written by the certs service";
      const Volume* v = VolumeHolding(service, path);
      ASSERT_NE(v, nullptr) << service.name << ": " << path << " is in no volume";
      EXPECT_EQ(v->source, certs_volume->source) << service.name << ": " << path;
      // Where the file sits in the volume, and where the certs service writes it there.
      const fs::path written =
          (fs::path(certs_dir).lexically_relative(certs_volume->target) / file).lexically_normal();
      EXPECT_EQ(fs::path(path).lexically_relative(v->target), written)
          << service.name << ": " << path << " is not where the certs service writes " << file;
      EXPECT_TRUE(v->read_only) << service.name << " should mount the certificates read-only";
    };
    const Service& coordinator = *t.coordinator;
    EXPECT_FALSE(HasFlag(coordinator.command, "--insecure"));
    expect_cert(coordinator, "--tls-cert", "server.crt");
    expect_cert(coordinator, "--tls-key", "server.key");
    expect_cert(coordinator, "--client-ca", "ca.crt");
    if (t.shuffler != nullptr) {  // TLS server for the silos, TLS client of the coordinator
      const Service& shuffler = *t.shuffler;
      EXPECT_FALSE(HasFlag(shuffler.command, "--insecure"));
      expect_cert(shuffler, "--tls-cert", "shuffler.crt");
      expect_cert(shuffler, "--tls-key", "shuffler.key");
      expect_cert(shuffler, "--client-ca", "ca.crt");
      expect_cert(shuffler, "--ca", "ca.crt");
      expect_cert(shuffler, "--cert", "shuffler.crt");
      expect_cert(shuffler, "--key", "shuffler.key");
    }
    for (const Service* silo : t.silos) {
      const std::string name = OptionValue(silo->command, "--name");
      EXPECT_FALSE(HasFlag(silo->command, "--insecure")) << silo->name;
      expect_cert(*silo, "--ca", "ca.crt");
      expect_cert(*silo, "--cert", name + ".crt");
      expect_cert(*silo, "--key", name + ".key");
    }
  }

  // Runs the certs service for real (into the mapped volume).
  void MakeCerts(const Topology& t) {
    std::vector<std::string> argv = t.certs->entrypoint;
    for (const std::string& a : LocalCommand(*t.certs)) argv.push_back(a);
    const Result made = RunCommand(argv, kSource);
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }

  // The certs service, run for real, writes every file the others name, and the server
  // certificates are valid for the host names their peers dial.
  void CheckCertsWrite(const Topology& t) {
    SCOPED_TRACE("profile '" + t.profile + "'");
    ASSERT_NO_FATAL_FAILURE(MakeCerts(t));
    for (const Service* service : t.services) {
      if (service == t.certs) continue;
      for (const std::string& option : kCertOptions) {
        const std::string path = OptionValue(service->command, option);
        if (!path.empty()) {
          EXPECT_TRUE(fs::exists(Local(*service, path))) << service->name << " " << path;
        }
      }
    }
    const fs::path server =
        Local(*t.coordinator, OptionValue(t.coordinator->command, "--tls-cert"));
    EXPECT_THAT(CertificateField(server, {"-ext", "subjectAltName"}),
                HasSubstr("DNS:" + t.coordinator->name))
        << "the server certificate is not valid for the name its peers dial";
    if (t.shuffler != nullptr) {
      const fs::path shuffler =
          Local(*t.shuffler, OptionValue(t.shuffler->command, "--tls-cert"));
      EXPECT_THAT(CertificateField(shuffler, {"-ext", "subjectAltName"}),
                  HasSubstr("DNS:" + t.shuffler->name))
          << "the shuffler's certificate is not valid for the name the silos dial";
      // The coordinator takes the link only from this common name (--shuffler-name, default).
      std::string expected_cn = OptionValue(t.coordinator->command, "--shuffler-name");
      if (expected_cn.empty()) expected_cn = "shuffler";
      EXPECT_THAT(CertificateField(shuffler, {"-subject", "-nameopt", "RFC2253"}),
                  HasSubstr("CN=" + expected_cn));
    }
  }

  // Every service command is a valid fedsilo invocation: the real binary accepts it with
  // --dry-run (arguments, TLS files and config checked, no connection). A shuffle-model
  // coordinator writes its public key when it starts; a stand-in takes its place for the silos.
  void CheckDryRun(const Topology& t) {
    SCOPED_TRACE("profile '" + t.profile + "'");
    ASSERT_NO_FATAL_FAILURE(MakeCerts(t));
    const std::string key = OptionValue(t.coordinator->command, "--sealing-key");
    fs::path local_key;
    if (!key.empty()) {
      local_key = Local(*t.coordinator, key);
      fs::create_directories(local_key.parent_path());
      testing::WriteFile(local_key.string() + ".pub", std::string(64, 'a') + "\n");
    }
    for (const Service* service : t.services) {
      if (service == t.certs) continue;
      std::vector<std::string> argv = {FEDSILO_BINARY_PATH};
      for (const std::string& a : LocalCommand(*service)) argv.push_back(a);
      argv.push_back("--dry-run");
      const Result result = RunCommand(argv, kSource, LocalEnvironment(*service));
      EXPECT_EQ(result.exit_code, 0) << service->name << ": " << ::testing::PrintToString(argv)
                                     << "\n" << result.output;
    }
    if (!key.empty()) {
      EXPECT_FALSE(fs::exists(local_key)) << "--dry-run creates no key";
    }
  }

  ComposeFile compose_;
  Topology topology_;  // the default services
  Topology shuffle_;   // profile `shuffle`
  fs::path tmp_;
};

TEST_F(ComposeTest, OneCoordinatorAndOneSiloPerShardOfTheConfig) {
  CheckTopology(topology_);
  for (const auto& [name, service] : compose_.services) {
    EXPECT_EQ(service.image, topology_.coordinator->image)
        << name << ": every service runs the same image";
    EXPECT_EQ(service.build, ".") << name;
    EXPECT_EQ(service.working_dir, topology_.coordinator->working_dir) << name;
  }
}

// Profile `shuffle`: every service of the default run stays without a profile, every other one
// is in `shuffle`; its config is shuffle-model and the chain is certs -> coordinator (listening,
// public key written) -> shuffler -> silos, the silos pinning the key the coordinator writes.
TEST_F(ComposeTest, ShuffleProfileRunsCoordinatorShufflerAndSilosOfAShuffleModelConfig) {
  EXPECT_EQ(topology_.services.size() + shuffle_.services.size(), compose_.services.size())
      << "every service is either a default one or in profile " << kShuffleProfile;
  for (const Service* service : shuffle_.services) {
    EXPECT_EQ(service->profiles, std::vector<std::string>{kShuffleProfile}) << service->name;
  }
  CheckTopology(shuffle_);

  const Service& coordinator = *shuffle_.coordinator;
  const std::string config_path = coordinator.command.at(1);
  absl::StatusOr<ExperimentConfig> config =
      LoadExperimentConfig((kSource / config_path).string(), {});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->algorithm.name, "sdp_minibatch_sgd");
  EXPECT_EQ(config->privacy.sampling, "without_replacement");
  EXPECT_GT(config->privacy.delta, 0.0) << "the shuffle model needs an explicit privacy.delta";
  EXPECT_EQ(config->network.min_replies, config->partition.silos);
  EXPECT_NE(config_path, topology_.coordinator->command.at(1));

  // The sealing key: on a writable volume of the coordinator, its .pub pinned by every silo
  // from the same place; the coordinator is healthy only once the .pub exists.
  const std::string key = OptionValue(coordinator.command, "--sealing-key");
  ASSERT_FALSE(key.empty()) << "a shuffle-model coordinator needs --sealing-key";
  const Volume* key_volume = VolumeHolding(coordinator, key);
  ASSERT_NE(key_volume, nullptr) << key << " is in no volume";
  EXPECT_FALSE(key_volume->read_only) << "the coordinator creates " << key;
  ASSERT_FALSE(coordinator.healthcheck.empty());
  EXPECT_THAT(coordinator.healthcheck.back(), HasSubstr(key + ".pub"))
      << "the silos, which read the .pub at start, must wait until it exists";
  EXPECT_TRUE(OptionValue(coordinator.command, "--client-ca").size() > 0)
      << "the coordinator takes the shuffler link only from the shuffler's certificate";
  // The launcher's run directory layout: out/, state/, coordinator.key side by side.
  const fs::path run = fs::path(OptionValue(coordinator.command, "--out")).parent_path();
  EXPECT_EQ(fs::path(key).parent_path(), run);
  for (const Service* silo : shuffle_.silos) {
    const std::string pinned = OptionValue(silo->command, "--coordinator-public-key");
    EXPECT_EQ(pinned, key + ".pub") << silo->name;
    EXPECT_EQ(Local(*silo, pinned), Local(coordinator, key + ".pub"))
        << silo->name << " reads another volume than the one the coordinator writes";
    EXPECT_EQ(fs::path(OptionValue(silo->command, "--state-dir")).parent_path().parent_path(), run)
        << silo->name;
  }
  // Its own certificates: a shuffler certificate, and the coordinator's service name in the
  // server certificate (checked with openssl in CertsServiceWritesWhatTheServicesUse).
  EXPECT_TRUE(HasFlag(shuffle_.certs->command, "--shuffler"));
  EXPECT_EQ(topology_.certs->command, (std::vector<std::string>{"/certs", "silo0", "silo1",
                                                                "silo2", "silo3"}))
      << "the default certs service is unchanged";
}

TEST_F(ComposeTest, EveryConnectionUsesTlsWithFilesTheCertsServiceWrites) {
  CheckTls(topology_);
  CheckTls(shuffle_);
}

// The Dockerfile's stages: from "FROM ... AS name" to the next FROM.
std::map<std::string, std::string> DockerfileStages(const std::string& dockerfile) {
  std::map<std::string, std::string> stages;
  std::istringstream lines(dockerfile);
  std::string line, current;
  while (std::getline(lines, line)) {
    if (line.rfind("FROM ", 0) == 0) {
      const size_t as = line.find(" AS ");
      current = as == std::string::npos ? "" : line.substr(as + 4);
    }
    if (!current.empty()) stages[current] += line + "\n";
  }
  return stages;
}

TEST_F(ComposeTest, DockerfileImageMatchesTheServices) {
  const std::string dockerfile = testing::ReadFile(kSource / "Dockerfile");
  auto stages = DockerfileStages(dockerfile);
  ASSERT_EQ(stages.size(), 2u) << "a build stage and a runtime stage";
  const std::string& build = stages["build"];
  const std::string& runtime = stages["runtime"];
  // The same Debian release in both, and the runtime stage last (it is the image).
  EXPECT_THAT(build, ::testing::StartsWith("FROM debian:bookworm AS build\n"));
  EXPECT_THAT(runtime, ::testing::StartsWith("FROM debian:bookworm AS runtime\n"));
  EXPECT_GT(dockerfile.find("AS runtime"), dockerfile.find("AS build"));
  // Build packages only through the set-up script and its list, so the image cannot drift from
  // it; only the binary the image runs is compiled (no tests, no benchmarks).
  EXPECT_THAT(build, HasSubstr("bash scripts/setup.sh --packages-only"));
  EXPECT_THAT(build, ::testing::Not(HasSubstr("apt-get install")));
  EXPECT_THAT(build, HasSubstr("--target fedsilo "));
  EXPECT_THAT(testing::ReadFile(kSource / "scripts/setup.sh"), HasSubstr("scripts/apt-packages.txt"));
  // The runtime stage installs the packages the build stage found the binary to link, plus
  // openssl for make_certs.sh, and no compiler or set-up script.
  EXPECT_THAT(runtime, HasSubstr("COPY --from=build /src/runtime-packages.txt"));
  EXPECT_THAT(runtime, HasSubstr("apt-get install -y -q --no-install-recommends openssl < "
                                 "/tmp/runtime-packages.txt"));
  for (const char* absent : {"setup.sh", "cmake", "build-essential", "g++"}) {
    EXPECT_THAT(runtime, ::testing::Not(HasSubstr(absent))) << absent;
  }
  EXPECT_THAT(runtime, HasSubstr("WORKDIR " + topology_.coordinator->working_dir + "\n"));
  EXPECT_THAT(runtime, HasSubstr("ENTRYPOINT [\"fedsilo\"]\n"));
  EXPECT_THAT(runtime, HasSubstr("COPY --from=build /src/build/fedsilo /usr/local/bin/fedsilo\n"));
  // A non-root user.
  const size_t user = runtime.find("\nUSER ");
  ASSERT_NE(user, std::string::npos) << "the image names its user";
  const std::string who = runtime.substr(user + 6, runtime.find('\n', user + 1) - user - 6);
  EXPECT_NE(who.substr(0, who.find(':')), "0");
  EXPECT_NE(who.substr(0, who.find(':')), "root");
  // Every file a service names relative to the working directory is in a folder or file the
  // runtime stage copies from the source tree.
  std::vector<std::string> copied;
  std::istringstream lines(runtime);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("COPY ", 0) == 0 && line.find("--from") == std::string::npos) {
      copied.push_back(line.substr(5, line.find(' ', 5) - 5));
    }
  }
  for (const auto& [name, service] : compose_.services) {
    std::vector<std::string> args = service.entrypoint;
    args.insert(args.end(), service.command.begin(), service.command.end());
    for (const std::string& arg : args) {
      if (arg.empty() || arg[0] == '/' || arg[0] == '-' || !fs::is_regular_file(kSource / arg)) {
        continue;
      }
      const bool in_image = std::any_of(copied.begin(), copied.end(), [&](const std::string& c) {
        return arg == c || arg.rfind(c + "/", 0) == 0;
      });
      EXPECT_TRUE(in_image) << name << " uses " << arg << ", which the image does not copy";
    }
  }
  // The services that run fedsilo use the image's entrypoint; only the certs services replace it.
  for (const auto& [name, service] : compose_.services) {
    if (IsCerts(service)) {
      EXPECT_EQ(service.entrypoint, (std::vector<std::string>{"bash", "scripts/make_certs.sh"}))
          << name;
    } else {
      EXPECT_TRUE(service.entrypoint.empty()) << name;
    }
  }
}

// Debian 12's docker-compose 1.29 validates the file against its compose_spec.json, which knows
// fewer keys than Compose v2 (a top-level `name:` was refused: issue 17). The lists below are that
// schema's (compose/config/compose_spec.json of docker-compose 1.29.2: top-level "properties" and
// "patternProperties", and definitions.service.properties); v2 accepts all of them. The project
// name lives in .env, which both read.
TEST_F(ComposeTest, EveryKeyIsOneComposeV1AndV2BothKnow) {
  const std::set<std::string> top = {"version", "services", "networks", "volumes", "secrets",
                                     "configs"};
  const std::set<std::string> service_keys = {
      "build", "command", "depends_on", "entrypoint", "environment", "extra_hosts", "healthcheck",
      "image", "init", "network_mode", "profiles", "restart", "user", "volumes", "working_dir"};
  const YAML::Node root = YAML::LoadFile((kSource / "docker-compose.yml").string());
  for (const auto& entry : root) {
    const std::string key = entry.first.as<std::string>();
    EXPECT_TRUE(top.count(key) || key.rfind("x-", 0) == 0) << "top-level key '" << key << "'";
  }
  for (const auto& [name, service] : compose_.services) {
    for (const auto& entry : root["services"][name]) {
      const std::string key = entry.first.as<std::string>();
      if (key == "<<") continue;
      EXPECT_TRUE(service_keys.count(key)) << name << ": key '" << key << "'";
    }
  }
  const std::string env = testing::ReadFile(kSource / ".env");
  EXPECT_THAT(env, HasSubstr("\nCOMPOSE_PROJECT_NAME=fedsilo\n"));
  // Every variable the file interpolates has its default in .env, the same as in the file.
  const std::string text = testing::ReadFile(kSource / "docker-compose.yml");
  const std::regex variable(R"(\$\{([A-Z_]+):-([^}]*)\})");
  int found = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), variable);
       it != std::sregex_iterator(); ++it, ++found) {
    EXPECT_THAT(env, HasSubstr("\n" + (*it)[1].str() + "=" + (*it)[2].str() + "\n"));
  }
  EXPECT_GT(found, 0);
  // The containers run as the user .env names (not root), so ./runs stays that user's.
  for (const auto& [name, service] : compose_.services) {
    EXPECT_EQ(root["services"][name]["user"].as<std::string>(""), "")
        << name << ": the user comes from the x-fedsilo anchor";
  }
  EXPECT_EQ(root["x-fedsilo"]["user"].as<std::string>(), "${FEDSILO_UID:-1000}:${FEDSILO_GID:-1000}");
  EXPECT_TRUE(fs::is_regular_file(kSource / "runs/.gitignore"))
      << "./runs is in the checkout, so Docker does not create it as root";
}

TEST_F(ComposeTest, CertsServiceWritesWhatTheServicesUse) {
  CheckCertsWrite(topology_);
  CheckCertsWrite(shuffle_);
}

TEST_F(ComposeTest, EveryServiceCommandPassesDryRun) { CheckDryRun(topology_); }

TEST_F(ComposeTest, EveryShuffleProfileCommandPassesDryRun) { CheckDryRun(shuffle_); }

// ------------------------------------------------------------------------ launch_local.sh

const char kPort[] = "50123";
const char kShufflerPort[] = "50124";

class LauncherTest : public ComposeTest {
 protected:
  // The launcher asks the binary under test whether the config is shuffle-model.
  std::map<std::string, std::vector<std::string>> Printed(const std::vector<std::string>& extra,
                                                          std::string config = "", int silos = 0) {
    if (config.empty()) config = topology_.coordinator->command.at(1);
    if (silos == 0) silos = static_cast<int>(topology_.silos.size());
    std::vector<std::string> argv = {"bash", "simulations/launch_local.sh", "--print-commands",
                                     "--binary", FEDSILO_BINARY_PATH, "--run-dir",
                                     (tmp_ / "run").string(), "--port", kPort};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(std::to_string(silos));
    argv.push_back(config);
    const Result result = RunCommand(argv, kSource);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return ParsePrintedCommands(result.output);
  }

  // The launcher, given the topology's config and silo count, prints the same processes with
  // the same arguments up to addresses and directories.
  void CheckAgainstLauncher(const Topology& t);
};

std::string CanonicalPath(const std::string& path) {
  return fs::weakly_canonical(kSource / path).string();
}

// A command with what legitimately differs between Docker and local processes abstracted:
// addresses (checked separately), run directories, and certificate directories (file names kept).
std::vector<std::string> Normalized(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    out.push_back(a);
    if (i + 1 >= args.size()) continue;
    const std::string& value = args[i + 1];
    if (a == "--listen" || a == "--coordinator") {
      out.push_back("<address>");
    } else if (a == "--out" || a == "--state-dir" || a == "--sealing-key" ||
               a == "--coordinator-public-key") {
      out.push_back("<dir>/" + fs::path(value).filename().string());
    } else if (std::find(kCertOptions.begin(), kCertOptions.end(), a) != kCertOptions.end()) {
      out.push_back("<certs>/" + fs::path(value).filename().string());
    } else if (a == "--config") {
      out.push_back(CanonicalPath(value));
    } else {
      continue;
    }
    ++i;
  }
  if (out.size() >= 2 && out[0] == "coordinator") out[1] = CanonicalPath(out[1]);
  return out;
}

void LauncherTest::CheckAgainstLauncher(const Topology& t) {
  SCOPED_TRACE("profile '" + t.profile + "'");
  const fs::path certs = tmp_ / "certs";
  const std::string config = t.coordinator->command.at(1);
  const int silos = static_cast<int>(t.silos.size());
  auto printed = Printed({"--certs", certs.string(), "--shuffler-port", kShufflerPort}, config,
                         silos);
  std::set<std::string> expected_names;
  for (const Service* service : t.services) expected_names.insert(LauncherName(*service));
  std::set<std::string> names;
  for (const auto& [name, argv] : printed) names.insert(name);
  ASSERT_EQ(names, expected_names) << "the launcher starts the same processes";

  // The certs step: the same script for the same silo names (and the shuffler's certificate).
  std::string compose_dir, launcher_dir;
  std::vector<std::string> compose_names, launcher_names;
  CertsOutputs(t.certs->command, &compose_dir, &compose_names);
  const std::vector<std::string>& certs_line = printed["certs"];
  ASSERT_GE(certs_line.size(), 2u);
  EXPECT_EQ(CanonicalPath(certs_line[1]), CanonicalPath(t.certs->entrypoint[1]));
  const std::vector<std::string> launcher_certs(certs_line.begin() + 2, certs_line.end());
  CertsOutputs(launcher_certs, &launcher_dir, &launcher_names);
  EXPECT_EQ(launcher_dir, certs.string());
  EXPECT_EQ(launcher_names, compose_names);
  EXPECT_EQ(HasFlag(launcher_certs, "--shuffler"), HasFlag(t.certs->command, "--shuffler"));

  // Every fedsilo process: the same arguments up to addresses and directories.
  for (const Service* service : t.services) {
    if (service == t.certs) continue;
    const std::vector<std::string>& line = printed[LauncherName(*service)];
    ASSERT_FALSE(line.empty()) << service->name;
    const std::vector<std::string> args(line.begin() + 1, line.end());
    EXPECT_EQ(Normalized(args), Normalized(service->command)) << service->name;
    for (const std::string& option : kCertOptions) {
      const std::string path = OptionValue(args, option);
      if (!path.empty()) {
        EXPECT_EQ(fs::path(path).parent_path(), certs) << service->name << " " << option;
      }
    }
  }
  // Local addresses: the coordinator on loopback, the shuffler (if any) dialing it, every silo
  // dialing the shuffler or the coordinator; the run directory's layout.
  const std::vector<std::string>& coordinator = printed["coordinator"];
  const std::string coordinator_address = std::string("127.0.0.1:") + kPort;
  const std::string shuffler_address = std::string("127.0.0.1:") + kShufflerPort;
  EXPECT_EQ(OptionValue(coordinator, "--listen"), coordinator_address);
  EXPECT_EQ(OptionValue(coordinator, "--out"), (tmp_ / "run/out").string());
  const std::string key = (tmp_ / "run/coordinator.key").string();
  if (t.shuffler != nullptr) {
    EXPECT_EQ(OptionValue(coordinator, "--sealing-key"), key);
    const std::vector<std::string>& shuffler = printed["shuffler"];
    EXPECT_EQ(OptionValue(shuffler, "--listen"), shuffler_address);
    EXPECT_EQ(OptionValue(shuffler, "--coordinator"), coordinator_address);
  }
  for (const Service* silo : t.silos) {
    const std::string name = LauncherName(*silo);
    const std::vector<std::string>& line = printed[name];
    EXPECT_EQ(OptionValue(line, "--coordinator"),
              t.shuffler != nullptr ? shuffler_address : coordinator_address) << name;
    EXPECT_EQ(OptionValue(line, "--state-dir"), (tmp_ / "run/state" / name).string());
    if (t.shuffler != nullptr) {
      EXPECT_EQ(OptionValue(line, "--coordinator-public-key"), key + ".pub") << name;
    }
  }
}

TEST_F(LauncherTest, PrintsTheComposeTopology) {
  // The default services are named like the launcher's processes.
  for (const Service* service : topology_.services) {
    EXPECT_EQ(service->name, LauncherName(*service));
  }
  CheckAgainstLauncher(topology_);
}

// Profile `shuffle`: launch_local.sh, given the profile's config, starts the same chain
// (certs with --shuffler, coordinator with --sealing-key, shuffler, silos pinning the key).
TEST_F(LauncherTest, PrintsTheShuffleProfileTopology) { CheckAgainstLauncher(shuffle_); }

TEST_F(LauncherTest, InsecureModeIsPlaintextOnLoopbackForEveryProcess) {
  auto printed = Printed({"--insecure"});
  EXPECT_EQ(printed.count("certs"), 0u) << "no certificates in --insecure mode";
  ASSERT_EQ(printed.size(), topology_.silos.size() + 1);
  for (const auto& [name, argv] : printed) {
    EXPECT_TRUE(HasFlag(argv, "--insecure")) << name;
    for (const std::string& option : kCertOptions) EXPECT_FALSE(HasFlag(argv, option)) << name;
  }
}

TEST_F(LauncherTest, PrintedCommandsPassDryRun) {
  const fs::path certs = tmp_ / "certs";
  for (const bool insecure : {false, true}) {
    auto printed = insecure ? Printed({"--insecure"}) : Printed({"--certs", certs.string()});
    if (!insecure) {
      const Result made = RunCommand(printed["certs"], kSource);
      ASSERT_EQ(made.exit_code, 0) << made.output;
    }
    for (const auto& [name, argv] : printed) {
      if (name == "certs") continue;
      std::vector<std::string> command = argv;
      command[0] = FEDSILO_BINARY_PATH;  // the binary under test, not build/fedsilo
      command.push_back("--dry-run");
      const Result result = RunCommand(command, kSource);
      EXPECT_EQ(result.exit_code, 0) << name << (insecure ? " (--insecure)" : "") << ": "
                                     << ::testing::PrintToString(command) << "\n" << result.output;
    }
  }
}

// A shuffle-model config (sdp_minibatch_sgd): the launcher adds a shuffler between the
// coordinator and the silos, the coordinator gets --sealing-key, the silos dial the shuffler and
// pin the key's public half, the certs step issues the shuffler's certificate; every printed
// command passes the real binary's --dry-run (with a stand-in public key file, which the
// coordinator would write when it starts), with TLS and with --insecure.
TEST_F(LauncherTest, ShuffleModelConfigPutsAShufflerBetweenAndEveryCommandPassesDryRun) {
  const std::string config = "simulations/configs/sdp/adult_few_silos.yaml";
  absl::StatusOr<ExperimentConfig> parsed = LoadExperimentConfig((kSource / config).string(), {});
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->algorithm.name, "sdp_minibatch_sgd");
  const int silos = parsed->partition.silos;
  const fs::path certs = tmp_ / "certs";
  const std::string key = (tmp_ / "run/coordinator.key").string();
  for (const bool insecure : {false, true}) {
    SCOPED_TRACE(insecure ? "--insecure" : "TLS");
    auto printed = insecure ? Printed({"--insecure", "--shuffler-port", "50124"}, config, silos)
                            : Printed({"--certs", certs.string(), "--shuffler-port", "50124"},
                                      config, silos);
    ASSERT_EQ(printed.size(), static_cast<size_t>(silos) + (insecure ? 2 : 3));
    const std::vector<std::string>& coordinator = printed["coordinator"];
    const std::vector<std::string>& shuffler = printed["shuffler"];
    ASSERT_FALSE(shuffler.empty());
    EXPECT_EQ(OptionValue(coordinator, "--sealing-key"), key);
    EXPECT_EQ(shuffler.at(1), "shuffler");
    EXPECT_EQ(OptionValue(shuffler, "--listen"), "127.0.0.1:50124");
    EXPECT_EQ(OptionValue(shuffler, "--coordinator"), OptionValue(coordinator, "--listen"));
    if (insecure) {
      EXPECT_TRUE(HasFlag(shuffler, "--insecure"));
    } else {
      const std::vector<std::string>& certs_line = printed["certs"];
      EXPECT_TRUE(HasFlag(certs_line, "--shuffler")) << "make_certs.sh issues shuffler.crt";
      EXPECT_EQ(OptionValue(shuffler, "--cert"), (certs / "shuffler.crt").string());
      EXPECT_EQ(OptionValue(shuffler, "--tls-cert"), (certs / "shuffler.crt").string());
      EXPECT_EQ(OptionValue(shuffler, "--client-ca"), (certs / "ca.crt").string());
      const Result made = RunCommand(certs_line, kSource);
      ASSERT_EQ(made.exit_code, 0) << made.output;
      EXPECT_TRUE(fs::exists(certs / "shuffler.key"));
    }
    for (int i = 0; i < silos; ++i) {
      const std::vector<std::string>& silo = printed["silo" + std::to_string(i)];
      EXPECT_EQ(OptionValue(silo, "--coordinator"), "127.0.0.1:50124") << i << ": dials the shuffler";
      EXPECT_EQ(OptionValue(silo, "--coordinator-public-key"), key + ".pub") << i;
      EXPECT_EQ(OptionValue(silo, "--shard"), std::to_string(i));
    }
    fs::create_directories(tmp_ / "run");
    testing::WriteFile(key + ".pub", std::string(64, 'a') + "\n");
    for (const auto& [name, argv] : printed) {
      if (name == "certs") continue;
      std::vector<std::string> command = argv;
      command.push_back("--dry-run");
      const Result result = RunCommand(command, kSource);
      EXPECT_EQ(result.exit_code, 0) << name << ": " << ::testing::PrintToString(command) << "\n"
                                     << result.output;
    }
    EXPECT_FALSE(fs::exists(key)) << "printing the commands creates no key";
  }
}

}  // namespace
}  // namespace fedsilo
