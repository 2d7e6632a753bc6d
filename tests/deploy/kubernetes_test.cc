// deploy/kubernetes checked without a cluster:
//  - every manifest (and the Secrets make_secrets.sh prints) is valid against the Kubernetes API
//    schema of the pinned npm package kubernetes-models (Kubernetes v1.33.0; installed by
//    scripts/fetch_kubernetes_schema.sh, which scripts/setup.sh runs), undeclared fields included,
//    and manifests with a wrong field are rejected by the same check; a missing package fails;
//  - the topology against independent facts: one silo per shard of the coordinator's config,
//    silos dialing the coordinator Service's name and port, a server certificate from
//    make_certs.sh --server-name valid for that name, each silo's ledger on its own claim;
//  - every container command run for real with --dry-run, for each silo ordinal, with Kubernetes'
//    $(VAR) expansion and container paths mapped to local folders (a Secret volume to the files
//    make_secrets.sh put in it, a claim or emptyDir to a fresh folder, the working directory to the
//    source tree, which the image copies there), as tests/deploy/compose_test.cc does for compose;
//  - `kustomize build` (kustomize, or kubectl kustomize) when one is installed, else skipped.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "common/runtime/config_parser.h"
#include "tests/deploy/deploy_testing.h"
#include "tests/deploy/kubernetes_manifests.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using namespace deploy_testing;
using ::testing::HasSubstr;

const fs::path kSource = FEDSILO_SOURCE_DIR;
const fs::path kManifests = kSource / "deploy/kubernetes";
const fs::path kSchemaSource = kSource / "tests/deploy/kubernetes_schema";
// Where scripts/fetch_kubernetes_schema.sh installs the schema (FEDSILO_K8S_SCHEMA_MODULES
// overrides it, e.g. for a shared copy).
fs::path SchemaModules() {
  const char* env = std::getenv("FEDSILO_K8S_SCHEMA_MODULES");
  return env != nullptr && *env != '\0' ? fs::path(env)
                                        : kSource / "data/kubernetes-schema/node_modules";
}

// The pod label the StatefulSet controller sets to a pod's ordinal (Kubernetes >= 1.28).
const char kPodIndexField[] = "metadata.labels['apps.kubernetes.io/pod-index']";
// The image's working directory (Dockerfile), where it holds the configs as the source tree does.
const char kImageWorkdir[] = "/opt/fedsilo";

struct SchemaRun {
  int exit_code = -1;
  std::string output;
  std::vector<std::string> ok, invalid;  // lines
};

// validate.js on `files`; fails the test with the install command when the package is missing.
SchemaRun ValidateAgainstSchema(const std::vector<fs::path>& files) {
  SchemaRun run;
  if (RunCommand({"node", "--version"}, kSource).exit_code != 0) {
    ADD_FAILURE() << "node is not installed: scripts/setup.sh installs it (npm's dependency)";
    return run;
  }
  if (!fs::exists(SchemaModules() / "kubernetes-models/package.json")) {
    ADD_FAILURE() << "the Kubernetes schema package is not installed in " << SchemaModules()
                  << ": run `bash scripts/fetch_kubernetes_schema.sh` (scripts/setup.sh does)";
    return run;
  }
  std::vector<std::string> argv = {"node", (kSchemaSource / "validate.js").string(),
                                   SchemaModules().string()};
  for (const fs::path& f : files) argv.push_back(f.string());
  const Result r = RunCommand(argv, kSource);
  run.exit_code = r.exit_code;
  run.output = r.output;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("OK ", 0) == 0) run.ok.push_back(line);
    if (line.rfind("INVALID ", 0) == 0) run.invalid.push_back(line);
  }
  return run;
}

size_t DocumentCount(const std::vector<fs::path>& files) {
  return LoadKubernetesObjects(files).size();
}

std::vector<fs::path> YamlFilesUnder(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The manifests kustomization.yaml lists, in its order.
std::vector<fs::path> KustomizeResources() {
  std::vector<fs::path> out;
  const YAML::Node k = YAML::LoadFile((kManifests / "kustomization.yaml").string());
  for (const std::string& r : Strings(k["resources"])) out.push_back(kManifests / r);
  return out;
}

class KubernetesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = testing::FreshTempDir(std::string("k8s_") +
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    objects_ = LoadKubernetesObjects(KustomizeResources());
    job_ = FindObject(objects_, "Job", "fedsilo-coordinator");
    silos_ = FindObject(objects_, "StatefulSet");
    ASSERT_NE(job_, nullptr);
    ASSERT_NE(silos_, nullptr);
    coordinator_ = Container(job_->node, "coordinator");
    silo_ = Container(silos_->node, "silo");
    ASSERT_TRUE(coordinator_.IsDefined());
    ASSERT_TRUE(silo_.IsDefined());
    ASSERT_GE(Args(coordinator_).size(), 2u);
    ASSERT_EQ(Args(coordinator_)[0], "coordinator");
    ASSERT_EQ(Args(silo_)[0], "silo");
    config_path_ = Args(coordinator_)[1];
    absl::StatusOr<ExperimentConfig> config =
        LoadExperimentConfig((kSource / config_path_).string(), {});
    ASSERT_TRUE(config.ok()) << config.status();
    config_silos_ = config->partition.silos;
    min_silos_ = config->network.min_silos;
  }

  static YAML::Node PodSpec(const YAML::Node& workload) { return workload["spec"]["template"]["spec"]; }

  static YAML::Node Container(const YAML::Node& workload, const std::string& name) {
    for (const auto& c : PodSpec(workload)["containers"]) {
      if (c["name"].as<std::string>("") == name) return c;
    }
    ADD_FAILURE() << "no container " << name;
    return YAML::Node();
  }

  static std::vector<std::string> Args(const YAML::Node& container) {
    EXPECT_FALSE(container["command"]) << "fedsilo containers use the image's entrypoint";
    return Strings(container["args"]);
  }

  // The values Kubernetes gives the container's env vars in a pod (fieldRefs resolved for
  // `ordinal` and `pod_name`), after its own $(VAR) expansion.
  static std::map<std::string, std::string> PodEnv(const YAML::Node& container, int ordinal,
                                                   const std::string& pod_name) {
    std::map<std::string, std::string> env;
    for (const auto& e : container["env"]) {
      const std::string name = e["name"].as<std::string>();
      if (e["value"]) {
        env[name] = ExpandKubernetesVars(e["value"].as<std::string>(), env);
      } else if (const YAML::Node field = e["valueFrom"]["fieldRef"]["fieldPath"]) {
        const std::string path = field.as<std::string>();
        if (path == kPodIndexField) {
          env[name] = std::to_string(ordinal);
        } else if (path == "metadata.name") {
          env[name] = pod_name;
        } else {
          ADD_FAILURE() << "env " << name << ": fieldRef " << path << " is not modelled here";
        }
      } else {
        ADD_FAILURE() << "env " << name << " has neither value nor fieldRef";
      }
    }
    return env;
  }

  static std::vector<std::string> ExpandedArgs(const YAML::Node& container,
                                               const std::map<std::string, std::string>& env) {
    std::vector<std::string> out;
    for (const std::string& a : Args(container)) out.push_back(ExpandKubernetesVars(a, env));
    return out;
  }

  fs::path tmp_;
  std::vector<KubernetesObject> objects_;
  const KubernetesObject* job_ = nullptr;
  const KubernetesObject* silos_ = nullptr;
  YAML::Node coordinator_, silo_;
  std::string config_path_;
  int config_silos_ = 0;
  int min_silos_ = 0;
};

// ------------------------------------------------------------------------ the API schema

TEST_F(KubernetesTest, EveryManifestIsValidAgainstThePinnedKubernetesSchema) {
  const std::vector<fs::path> files = YamlFilesUnder(kManifests);
  std::vector<fs::path> manifests;
  for (const fs::path& f : files) {
    if (f.filename() != "kustomization.yaml") manifests.push_back(f);  // kustomize's, not the API's
  }
  ASSERT_FALSE(manifests.empty());
  const SchemaRun run = ValidateAgainstSchema(manifests);
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_TRUE(run.invalid.empty()) << run.output;
  EXPECT_EQ(run.ok.size(), DocumentCount(manifests)) << "every document checked:\n" << run.output;
  // The package that checked them is the version the lock pins.
  const YAML::Node pinned = YAML::LoadFile((kSchemaSource / "package.json").string());
  const std::string version = pinned["dependencies"]["kubernetes-models"].as<std::string>();
  EXPECT_THAT(run.output, HasSubstr("schema kubernetes-models@" + version + "\n"));
  const YAML::Node installed =
      YAML::LoadFile((SchemaModules() / "kubernetes-models/package.json").string());
  EXPECT_EQ(installed["version"].as<std::string>(""), version)
      << "run `bash scripts/fetch_kubernetes_schema.sh` to install the pinned version";
}

// The check rejects what the API server rejects: each manifest below is a real one with one
// mistake, and each must come back INVALID naming the field.
TEST_F(KubernetesTest, SchemaCheckRejectsAWrongField) {
  struct Mutation {
    std::string what;
    std::string expect;  // in the INVALID line
    std::function<void(YAML::Node&)> apply;
  };
  const std::vector<Mutation> mutations = {
      {"unknown field in a pod spec", "unknown field \"restartPolicyy\"",
       [](YAML::Node& n) { n["spec"]["template"]["spec"]["restartPolicyy"] = "Never"; }},
      {"misspelt securityContext field", "unknown field \"runAsNonroot\"",
       [](YAML::Node& n) {
         n["spec"]["template"]["spec"]["securityContext"]["runAsNonroot"] = true;
       }},
      {"string where an integer belongs", "backoffLimit must be integer",
       [](YAML::Node& n) { n["spec"]["backoffLimit"] = "none"; }},
      {"value outside an enum", "restartPolicy must be equal to one of the allowed values",
       [](YAML::Node& n) { n["spec"]["template"]["spec"]["restartPolicy"] = "Sometimes"; }},
      {"missing required field", "must have required property containers",
       [](YAML::Node& n) { n["spec"]["template"]["spec"].remove("containers"); }},
      {"container port as a name", "containerPort must be integer",
       [](YAML::Node& n) {
         n["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "grpc";
       }},
      {"kind the API does not have", "no schema for apiVersion",
       [](YAML::Node& n) { n["kind"] = "Jobb"; }},
  };
  std::vector<fs::path> files;
  for (size_t i = 0; i < mutations.size(); ++i) {
    YAML::Node copy = YAML::Clone(job_->node);
    mutations[i].apply(copy);
    YAML::Emitter out;
    out << copy;
    files.push_back(tmp_ / ("bad" + std::to_string(i) + ".yaml"));
    testing::WriteFile(files.back(), std::string(out.c_str()) + "\n");
  }
  const SchemaRun run = ValidateAgainstSchema(files);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_TRUE(run.ok.empty()) << run.output;
  ASSERT_EQ(run.invalid.size(), mutations.size()) << run.output;
  for (size_t i = 0; i < mutations.size(); ++i) {
    EXPECT_THAT(run.invalid[i], HasSubstr(files[i].filename().string())) << mutations[i].what;
    EXPECT_THAT(run.invalid[i], HasSubstr(mutations[i].expect)) << mutations[i].what;
  }
  // The unchanged manifest, emitted the same way, passes: the rejections are the mistakes'.
  YAML::Emitter same;
  same << YAML::Clone(job_->node);
  testing::WriteFile(tmp_ / "same.yaml", std::string(same.c_str()) + "\n");
  const SchemaRun good = ValidateAgainstSchema({tmp_ / "same.yaml"});
  EXPECT_EQ(good.exit_code, 0) << good.output;
}

TEST_F(KubernetesTest, KustomizationListsEveryManifestOfItsFolder) {
  std::set<fs::path> listed;
  for (const fs::path& r : KustomizeResources()) {
    EXPECT_TRUE(fs::exists(r)) << r;
    EXPECT_TRUE(listed.insert(r).second) << r << " listed twice";
  }
  for (const auto& entry : fs::directory_iterator(kManifests)) {
    if (entry.path().extension() != ".yaml" || entry.path().filename() == "kustomization.yaml") continue;
    EXPECT_EQ(listed.count(entry.path()), 1u) << entry.path() << " is not in kustomization.yaml";
  }
  // Every object lands in the namespace the kustomization sets, which the Secrets also use.
  const YAML::Node k = YAML::LoadFile((kManifests / "kustomization.yaml").string());
  const std::string ns = k["namespace"].as<std::string>("");
  EXPECT_FALSE(ns.empty());
  const KubernetesObject* namespace_object = FindObject(objects_, "Namespace");
  ASSERT_NE(namespace_object, nullptr);
  EXPECT_EQ(namespace_object->name, ns);
}

// `kustomize build` of the folder: the same objects, each in the namespace, valid as above.
TEST_F(KubernetesTest, KustomizeBuildGivesTheManifestsInTheNamespace) {
  std::vector<std::string> argv;
  if (RunCommand({"kustomize", "version"}, kSource).exit_code == 0) {
    argv = {"kustomize", "build", kManifests.string()};
  } else if (RunCommand({"kubectl", "version", "--client"}, kSource).exit_code == 0) {
    argv = {"kubectl", "kustomize", kManifests.string()};
  } else {
    GTEST_SKIP() << "neither kustomize nor kubectl is installed (Debian 12 has no current "
                    "kustomize package): kustomize build not checked; the other tests check the "
                    "manifests without it";
  }
  const Result built = RunCommand(argv, kSource);
  ASSERT_EQ(built.exit_code, 0) << built.output;
  const fs::path out = tmp_ / "built.yaml";
  testing::WriteFile(out, built.output);
  const std::vector<KubernetesObject> objects = LoadKubernetesObjects({out});
  std::multiset<std::string> got, want;
  const std::string ns =
      YAML::LoadFile((kManifests / "kustomization.yaml").string())["namespace"].as<std::string>();
  for (const KubernetesObject& o : objects) {
    got.insert(o.kind + "/" + o.name);
    if (o.kind != "Namespace") {
      EXPECT_EQ(o.node["metadata"]["namespace"].as<std::string>(""), ns) << o.kind << "/" << o.name;
    }
  }
  for (const KubernetesObject& o : objects_) want.insert(o.kind + "/" + o.name);
  EXPECT_EQ(got, want);
  const SchemaRun run = ValidateAgainstSchema({out});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.ok.size(), objects.size()) << run.output;
}

// ------------------------------------------------------------------------ topology

TEST_F(KubernetesTest, OneSiloPerShardOfTheConfigNamedByItsOrdinal) {
  const YAML::Node spec = silos_->node["spec"];
  EXPECT_EQ(spec["replicas"].as<int>(-1), config_silos_)
      << "one silo pod per shard of " << config_path_ << " (partition.silos)";
  EXPECT_GE(spec["replicas"].as<int>(-1), min_silos_) << "the coordinator waits for min_silos";
  // All at once: with OrderedReady the last silos would start only after the first are ready.
  EXPECT_EQ(spec["podManagementPolicy"].as<std::string>(""), "Parallel");
  EXPECT_EQ(OptionValue(Args(silo_), "--config"), config_path_)
      << "the silos and the coordinator run the same config";
  std::set<std::string> shards, names;
  for (int i = 0; i < config_silos_; ++i) {
    const std::vector<std::string> args =
        ExpandedArgs(silo_, PodEnv(silo_, i, silos_->name + "-" + std::to_string(i)));
    EXPECT_EQ(OptionValue(args, "--shard"), std::to_string(i));
    EXPECT_EQ(OptionValue(args, "--name"), "silo" + std::to_string(i));
    shards.insert(OptionValue(args, "--shard"));
    names.insert(OptionValue(args, "--name"));
    EXPECT_TRUE(OptionValue(args, "--data").empty());
    EXPECT_FALSE(HasFlag(args, "--insecure"));
    EXPECT_FALSE(HasFlag(args, "--reproducible-noise")) << "a silo's noise is its own";
  }
  EXPECT_EQ(shards.size(), static_cast<size_t>(config_silos_));
  EXPECT_EQ(names.size(), static_cast<size_t>(config_silos_));
}

TEST_F(KubernetesTest, SilosDialTheCoordinatorServiceThatSelectsTheCoordinatorPod) {
  const std::string dial = OptionValue(Args(silo_), "--coordinator");
  const auto [host, port] = SplitHostPort(dial);
  const KubernetesObject* service = FindObject(objects_, "Service", host);
  ASSERT_NE(service, nullptr) << "the silos dial " << dial << ", which is no Service";
  // The Service selects the coordinator's pods and no silo.
  const YAML::Node selector = service->node["spec"]["selector"];
  ASSERT_TRUE(selector && selector.size() > 0);
  for (const auto& [workload, selected] : {std::pair{job_, true}, std::pair{silos_, false}}) {
    const YAML::Node labels = workload->node["spec"]["template"]["metadata"]["labels"];
    bool all = true;
    for (const auto& s : selector) {
      all = all && labels[s.first.Scalar()].as<std::string>("") == s.second.as<std::string>();
    }
    EXPECT_EQ(all, selected) << workload->kind << " " << workload->name;
  }
  // The port the silos dial reaches the port the coordinator listens on.
  const auto [listen_host, listen_port] = SplitHostPort(OptionValue(Args(coordinator_), "--listen"));
  EXPECT_EQ(listen_host, "0.0.0.0") << "the coordinator must listen on the pod's network";
  bool found = false;
  for (const auto& p : service->node["spec"]["ports"]) {
    if (p["port"].as<std::string>() != port) continue;
    found = true;
    std::string target = p["targetPort"].as<std::string>(port);
    for (const auto& cp : coordinator_["ports"]) {
      if (cp["name"].as<std::string>("") == target) target = cp["containerPort"].as<std::string>();
    }
    EXPECT_EQ(target, listen_port);
  }
  EXPECT_TRUE(found) << "the Service has no port " << port;
  // Only a listening coordinator is an endpoint.
  EXPECT_EQ(coordinator_["readinessProbe"]["tcpSocket"]["port"].as<std::string>(""),
            coordinator_["ports"][0]["name"].as<std::string>("?"));
}

// make_certs.sh with --server-name SERVICE (as docs/deploy.md says) issues a server certificate
// valid for the name the silos dial; make_secrets.sh refuses one without it.
TEST_F(KubernetesTest, ServerCertificateFromTheDocumentedCommandIsValidForTheServiceName) {
  const std::string host = SplitHostPort(OptionValue(Args(silo_), "--coordinator")).first;
  std::vector<std::string> silo_names;
  for (int i = 0; i < config_silos_; ++i) silo_names.push_back("silo" + std::to_string(i));
  std::string documented = "bash scripts/make_certs.sh --server-name " + host + " certs";
  for (const std::string& n : silo_names) documented += " " + n;
  EXPECT_THAT(testing::ReadFile(kSource / "docs/deploy.md"), HasSubstr(documented));

  std::vector<std::string> make = {"bash", "scripts/make_certs.sh", "--server-name", host,
                                   (tmp_ / "certs").string()};
  make.insert(make.end(), silo_names.begin(), silo_names.end());
  const Result made = RunCommand(make, kSource);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_THAT(CertificateField(tmp_ / "certs/server.crt", {"-ext", "subjectAltName"}),
              HasSubstr("DNS:" + host));
  for (const std::string& n : silo_names) {
    EXPECT_THAT(CertificateField(tmp_ / "certs" / (n + ".crt"), {"-subject", "-nameopt", "RFC2253"}),
                HasSubstr("CN=" + n));
  }
  // Without --server-name the certificate is not valid for the Service: make_secrets.sh says so.
  std::vector<std::string> plain = {"bash", "scripts/make_certs.sh", (tmp_ / "plain").string()};
  plain.insert(plain.end(), silo_names.begin(), silo_names.end());
  ASSERT_EQ(RunCommand(plain, kSource).exit_code, 0);
  std::vector<std::string> secrets = {"bash", "deploy/kubernetes/make_secrets.sh",
                                      (tmp_ / "plain").string()};
  secrets.insert(secrets.end(), silo_names.begin(), silo_names.end());
  const Result refused = RunCommand(secrets, kSource);
  EXPECT_EQ(refused.exit_code, 2) << refused.output;
  EXPECT_THAT(refused.output, HasSubstr("--server-name " + host));
}

// Each silo's --state-dir is on a volume of its own: a volumeClaimTemplate (one claim per
// ordinal, kept when the pod is replaced or the StatefulSet deleted), written by no one else.
TEST_F(KubernetesTest, EachSiloKeepsItsLedgerOnItsOwnClaim) {
  const std::string state = OptionValue(Args(silo_), "--state-dir");
  ASSERT_FALSE(state.empty()) << "a record-level private silo needs --state-dir";
  std::string volume;
  size_t best = 0;
  for (const auto& m : silo_["volumeMounts"]) {
    const std::string path = m["mountPath"].as<std::string>();
    if ((state == path || state.rfind(path + "/", 0) == 0) && path.size() > best) {
      best = path.size();
      volume = m["name"].as<std::string>();
      EXPECT_FALSE(m["readOnly"].as<bool>(false)) << "the ledger is written";
      EXPECT_FALSE(m["subPathExpr"] || m["subPath"]) << "the whole claim is the silo's";
    }
  }
  ASSERT_FALSE(volume.empty()) << state << " is on the read-only root filesystem";
  bool templated = false;
  for (const auto& t : silos_->node["spec"]["volumeClaimTemplates"]) {
    if (t["metadata"]["name"].as<std::string>("") != volume) continue;
    templated = true;
    EXPECT_EQ(Strings(t["spec"]["accessModes"]), std::vector<std::string>{"ReadWriteOnce"});
  }
  EXPECT_TRUE(templated) << "volume " << volume << " is not a volumeClaimTemplate: shared or lost";
  for (const auto& v : PodSpec(silos_->node)["volumes"]) {
    EXPECT_NE(v["name"].as<std::string>(), volume) << "a pod volume would shadow the claim";
  }
  const YAML::Node retention = silos_->node["spec"]["persistentVolumeClaimRetentionPolicy"];
  EXPECT_EQ(retention["whenDeleted"].as<std::string>(""), "Retain");
  EXPECT_EQ(retention["whenScaled"].as<std::string>(""), "Retain");
  // The coordinator's results are on a claim too, not in the pod.
  const std::string out = OptionValue(Args(coordinator_), "--out");
  bool on_claim = false;
  for (const auto& m : coordinator_["volumeMounts"]) {
    const std::string path = m["mountPath"].as<std::string>();
    if (out.rfind(path + "/", 0) != 0) continue;
    for (const auto& v : PodSpec(job_->node)["volumes"]) {
      if (v["name"].as<std::string>() == m["name"].as<std::string>()) {
        on_claim = static_cast<bool>(v["persistentVolumeClaim"]);
        if (on_claim) {
          EXPECT_NE(FindObject(objects_, "PersistentVolumeClaim",
                               v["persistentVolumeClaim"]["claimName"].as<std::string>()),
                    nullptr);
        }
      }
    }
  }
  EXPECT_TRUE(on_claim) << out << " is not on a persistent volume claim";
}

TEST_F(KubernetesTest, PodsRunAsNonRootWithReadOnlyRootAndRequests) {
  for (const KubernetesObject* w : {job_, silos_}) {
    const YAML::Node pod = PodSpec(w->node);
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>(false)) << w->name;
    EXPECT_GT(pod["securityContext"]["runAsUser"].as<int>(0), 0) << w->name;
    EXPECT_TRUE(pod["securityContext"]["fsGroup"]) << w->name << ": its volumes must be writable";
    EXPECT_FALSE(pod["automountServiceAccountToken"].as<bool>(true)) << w->name;
    for (const auto& c : pod["containers"]) {
      EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>(false)) << w->name;
      EXPECT_FALSE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>(true)) << w->name;
      EXPECT_TRUE(c["resources"]["requests"]["cpu"] && c["resources"]["requests"]["memory"]);
      EXPECT_EQ(c["workingDir"].as<std::string>(""), kImageWorkdir) << w->name;
    }
  }
}

// ------------------------------------------------------------------------ --dry-run

// One pod run locally: its volumes as folders, Secrets holding what make_secrets.sh put in them.
class LocalPod {
 public:
  LocalPod(const fs::path& root, const YAML::Node& workload, const YAML::Node& container,
           std::map<std::string, std::string> env,
           const std::map<std::string, fs::path>& secrets, int ordinal)
      : root_(root), workload_(workload), container_(container), env_(std::move(env)),
        secrets_(secrets), ordinal_(ordinal) {}

  // A container path -> a local one (relative paths: the working directory, the source tree).
  fs::path Local(const std::string& path) const {
    if (path.empty() || path[0] != '/') return kSource / path;
    YAML::Node mount;
    bool mounted = false;
    size_t best = 0;
    for (const auto& m : container_["volumeMounts"]) {
      const std::string at = m["mountPath"].as<std::string>();
      if ((path == at || path.rfind(at + "/", 0) == 0) && at.size() >= best) {
        best = at.size();
        mount.reset(m);  // rebinds (operator= would write into the manifest's node)
        mounted = true;
      }
    }
    if (!mounted) {
      ADD_FAILURE() << path << " is in no volume (the root filesystem is read-only)";
      return root_ / "unmapped" / path.substr(1);
    }
    const std::string name = mount["name"].as<std::string>();
    fs::path base = VolumeRoot(name);
    if (mount["subPath"]) base /= mount["subPath"].as<std::string>();
    if (mount["subPathExpr"]) {
      base /= ExpandKubernetesVars(mount["subPathExpr"].as<std::string>(), env_);
    }
    const std::string rest = path.substr(best);
    return rest.empty() ? base : base / rest.substr(1);
  }

  std::vector<std::string> LocalArgs(const std::vector<std::string>& args) const {
    std::vector<std::string> out;
    for (const std::string& a : args) out.push_back(!a.empty() && a[0] == '/' ? Local(a).string() : a);
    return out;
  }

  std::map<std::string, std::string> LocalEnv() const {
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : env_) out[k] = !v.empty() && v[0] == '/' ? Local(v).string() : v;
    return out;
  }

 private:
  fs::path VolumeRoot(const std::string& name) const {
    for (const auto& v : workload_["spec"]["template"]["spec"]["volumes"]) {
      if (v["name"].as<std::string>() != name) continue;
      if (v["secret"]) {
        const std::string secret = v["secret"]["secretName"].as<std::string>();
        const auto it = secrets_.find(secret);
        if (it == secrets_.end()) {
          ADD_FAILURE() << "Secret " << secret << " is not made by make_secrets.sh";
          return root_ / "missing-secret" / secret;
        }
        return it->second;
      }
      if (v["persistentVolumeClaim"]) {
        return root_ / "claims" / v["persistentVolumeClaim"]["claimName"].as<std::string>();
      }
      if (v["emptyDir"]) return root_ / "pods" / std::to_string(ordinal_) / name;
      ADD_FAILURE() << "volume " << name << " of a kind this test does not map";
      return root_ / "unknown" / name;
    }
    for (const auto& t : workload_["spec"]["volumeClaimTemplates"]) {  // claim NAME-STS-ORDINAL
      if (t["metadata"]["name"].as<std::string>() == name) {
        return root_ / "claims" /
               (name + "-" + workload_["metadata"]["name"].as<std::string>() + "-" +
                std::to_string(ordinal_));
      }
    }
    ADD_FAILURE() << "no volume " << name;
    return root_ / "unknown" / name;
  }

  fs::path root_;
  YAML::Node workload_, container_;
  std::map<std::string, std::string> env_;
  std::map<std::string, fs::path> secrets_;
  int ordinal_;
};

TEST_F(KubernetesTest, EveryContainerCommandPassesDryRunWithTheSecretsMakeSecretsPrints) {
  // The documented certificates and Secrets, for the silos of the config.
  const std::string host = SplitHostPort(OptionValue(Args(silo_), "--coordinator")).first;
  std::vector<std::string> names;
  for (int i = 0; i < config_silos_; ++i) names.push_back("silo" + std::to_string(i));
  std::vector<std::string> make = {"bash", "scripts/make_certs.sh", "--server-name", host,
                                   (tmp_ / "certs").string()};
  make.insert(make.end(), names.begin(), names.end());
  ASSERT_EQ(RunCommand(make, kSource).exit_code, 0);
  std::vector<std::string> print = {"bash", "deploy/kubernetes/make_secrets.sh",
                                    (tmp_ / "certs").string()};
  print.insert(print.end(), names.begin(), names.end());
  const Result printed = RunCommand(print, kSource);
  ASSERT_EQ(printed.exit_code, 0) << printed.output;
  const fs::path secrets_file = tmp_ / "secrets.yaml";
  testing::WriteFile(secrets_file, printed.output);
  // They are valid Secrets in the kustomization's namespace, without the CA key.
  const SchemaRun schema = ValidateAgainstSchema({secrets_file});
  EXPECT_EQ(schema.exit_code, 0) << schema.output;
  const std::string ns =
      YAML::LoadFile((kManifests / "kustomization.yaml").string())["namespace"].as<std::string>();
  std::map<std::string, fs::path> secrets;
  for (const KubernetesObject& s : LoadKubernetesObjects({secrets_file})) {
    ASSERT_EQ(s.kind, "Secret");
    EXPECT_EQ(s.node["metadata"]["namespace"].as<std::string>(""), ns);
    const fs::path dir = tmp_ / "secrets" / s.name;
    for (const auto& entry : s.node["data"]) {
      const std::string key = entry.first.Scalar();
      EXPECT_NE(key, "ca.key") << "the CA key must stay off the cluster";
      std::string bytes;
      ASSERT_TRUE(absl::Base64Unescape(entry.second.as<std::string>(), &bytes)) << key;
      EXPECT_EQ(bytes, testing::ReadFile(tmp_ / "certs" / key)) << s.name << " " << key;
      testing::WriteFile(dir / key, bytes);
    }
    secrets[s.name] = dir;
  }

  struct Run {
    std::string what;
    LocalPod pod;
    std::vector<std::string> args;
  };
  std::vector<Run> runs;
  {
    const auto env = PodEnv(coordinator_, 0, job_->name + "-abcde");
    runs.push_back({"coordinator", LocalPod(tmp_, job_->node, coordinator_, env, secrets, 0),
                    ExpandedArgs(coordinator_, env)});
  }
  for (int i = 0; i < config_silos_; ++i) {
    const auto env = PodEnv(silo_, i, silos_->name + "-" + std::to_string(i));
    runs.push_back({"silo ordinal " + std::to_string(i),
                    LocalPod(tmp_, silos_->node, silo_, env, secrets, i), ExpandedArgs(silo_, env)});
  }
  std::set<fs::path> ledgers;
  for (const Run& run : runs) {
    for (const std::string& a : run.args) {
      EXPECT_EQ(a.find("$("), std::string::npos) << run.what << ": " << a << " is not expanded";
    }
    // A silo reads only its own key pair and the CA; the coordinator its server pair.
    if (run.what != "coordinator") {
      const std::string name = OptionValue(run.args, "--name");
      EXPECT_EQ(run.pod.Local(OptionValue(run.args, "--cert")), secrets["fedsilo-silo-tls"] / (name + ".crt"));
      EXPECT_EQ(run.pod.Local(OptionValue(run.args, "--key")), secrets["fedsilo-silo-tls"] / (name + ".key"));
      EXPECT_TRUE(ledgers.insert(run.pod.Local(OptionValue(run.args, "--state-dir"))).second)
          << run.what << " shares its ledger folder";
    }
    std::vector<std::string> argv = {FEDSILO_BINARY_PATH};
    for (const std::string& a : run.pod.LocalArgs(run.args)) argv.push_back(a);
    argv.push_back("--dry-run");
    const Result result = RunCommand(argv, kSource, run.pod.LocalEnv());
    EXPECT_EQ(result.exit_code, 0) << run.what << ": " << ::testing::PrintToString(argv) << "\n"
                                   << result.output;
  }
}

}  // namespace
}  // namespace fedsilo
