// Tests for the experiment-file parser: defaults, every section, the exact error messages
// (file, line, key path, hint), --set overrides, relative paths, and the YAML round trip.
#include "common/runtime/config_parser.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Every key of the config, compared one by one (the structs have no operator==). source_path is
// not a key and is left out.
void ExpectSameConfig(const ExperimentConfig& a, const ExperimentConfig& b) {
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.data.dataset, b.data.dataset);
  EXPECT_EQ(a.data.dir, b.data.dir);
  EXPECT_EQ(a.data.csv.train, b.data.csv.train);
  EXPECT_EQ(a.data.csv.test, b.data.csv.test);
  EXPECT_EQ(a.data.csv.test_fraction, b.data.csv.test_fraction);
  EXPECT_EQ(a.data.csv.label, b.data.csv.label);
  EXPECT_EQ(a.data.csv.positive, b.data.csv.positive);
  EXPECT_EQ(a.data.csv.categorical, b.data.csv.categorical);
  EXPECT_EQ(a.data.csv.drop, b.data.csv.drop);
  EXPECT_EQ(a.data.csv.header, b.data.csv.header);
  EXPECT_EQ(a.data.csv.delimiter, b.data.csv.delimiter);
  EXPECT_EQ(a.data.csv.standardize, b.data.csv.standardize);
  EXPECT_EQ(a.data.csv.classes, b.data.csv.classes);
  EXPECT_EQ(a.data.csv.groups, b.data.csv.groups);
  EXPECT_EQ(a.data.sensitive, b.data.sensitive);
  EXPECT_EQ(a.data.label_map, b.data.label_map);
  EXPECT_EQ(a.data.pca, b.data.pca);
  EXPECT_EQ(a.data.missing, b.data.missing);
  EXPECT_EQ(a.data.max_train, b.data.max_train);
  EXPECT_EQ(a.data.validation, b.data.validation);
  EXPECT_EQ(a.data.seed, b.data.seed);
  EXPECT_EQ(a.partition.scheme, b.partition.scheme);
  EXPECT_EQ(a.partition.silos, b.partition.silos);
  EXPECT_EQ(a.partition.alpha, b.partition.alpha);
  EXPECT_EQ(a.partition.labels_per_silo, b.partition.labels_per_silo);
  EXPECT_EQ(a.partition.attribute, b.partition.attribute);
  EXPECT_EQ(a.partition.h, b.partition.h);
  EXPECT_EQ(a.partition.p, b.partition.p);
  EXPECT_EQ(a.model.type, b.model.type);
  EXPECT_EQ(a.model.hidden, b.model.hidden);
  EXPECT_EQ(a.model.activation, b.model.activation);
  EXPECT_EQ(a.model.init_scale, b.model.init_scale);
  EXPECT_EQ(a.algorithm.name, b.algorithm.name);
  EXPECT_EQ(a.algorithm.rounds, b.algorithm.rounds);
  EXPECT_EQ(a.algorithm.silos_per_round, b.algorithm.silos_per_round);
  EXPECT_EQ(a.algorithm.local_steps, b.algorithm.local_steps);
  EXPECT_EQ(a.algorithm.batch_size, b.algorithm.batch_size);
  EXPECT_EQ(a.algorithm.lr, b.algorithm.lr);
  EXPECT_EQ(a.algorithm.server_lr, b.algorithm.server_lr);
  EXPECT_EQ(a.algorithm.weighting, b.algorithm.weighting);
  EXPECT_EQ(a.algorithm.server_optimizer, b.algorithm.server_optimizer);
  EXPECT_EQ(a.algorithm.server_beta1, b.algorithm.server_beta1);
  EXPECT_EQ(a.algorithm.server_beta2, b.algorithm.server_beta2);
  EXPECT_EQ(a.algorithm.server_tau, b.algorithm.server_tau);
  EXPECT_EQ(a.algorithm.prox_mu, b.algorithm.prox_mu);
  EXPECT_EQ(a.privacy.epsilon, b.privacy.epsilon);
  EXPECT_EQ(a.privacy.delta, b.privacy.delta);
  EXPECT_EQ(a.privacy.clip, b.privacy.clip);
  EXPECT_EQ(a.privacy.sampling, b.privacy.sampling);
  EXPECT_EQ(a.privacy.calibration, b.privacy.calibration);
  EXPECT_EQ(a.privacy.secure_noise, b.privacy.secure_noise);
  EXPECT_EQ(a.output.dir, b.output.dir);
  EXPECT_EQ(a.output.eval_every, b.output.eval_every);
  EXPECT_EQ(a.output.save_model, b.output.save_model);
}

absl::StatusOr<ExperimentConfig> Parse(const std::string& yaml,
                                       const std::vector<std::string>& overrides = {}) {
  return ParseExperimentConfig(yaml, "exp.yaml", overrides);
}

// The error message of a parse that must fail with InvalidArgument.
std::string ErrorOf(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  absl::StatusOr<ExperimentConfig> config = Parse(yaml, overrides);
  EXPECT_FALSE(config.ok()) << "parsed without error:\n" << yaml;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << config.status();
  return std::string(config.status().message());
}

// Every key set to a value different from its default.
constexpr char kEveryKey[] = R"(seed: 42
data:
  dataset: csv
  dir: /srv/data
  train: /srv/data/train.csv
  test: /srv/data/test.csv
  test_fraction: 0.25
  label: income
  positive: ">50K"
  categorical: [workclass, education]
  drop: [fnlwgt]
  header: false
  delimiter: ";"
  standardize: false
  classes: ["<=50K", ">50K"]
  sensitive: sex
  groups: [Female, Male]
  label_map: parity
  pca: 50
  missing: impute
  max_train: 1000
  validation: 0.1
partition:
  scheme: dirichlet
  silos: 8
  alpha: 0.3
  labels_per_silo: 3
  attribute: age
  h: 0.75
  p: 0.8
model:
  type: mlp
  hidden: [80, 60]
  activation: tanh
  init_scale: 0.01
algorithm:
  name: isrl_dp_fedavg
  rounds: 250
  silos_per_round: 4
  local_steps: 5
  batch_size: 64
  lr: 0.05
  server_lr: 0.5
  weighting: uniform
  server_optimizer: yogi
  server_beta1: 0.8
  server_beta2: 0.995
  server_tau: 0.01
  prox_mu: 0.1
privacy:
  epsilon: 0.75
  delta: 1e-5
  clip: 2.5
  sampling: poisson
  calibration: paper
  secure_noise: true
output:
  dir: runs/adult
  eval_every: 5
  save_model: false
)";

// The config kEveryKey describes, written out field by field.
ExperimentConfig EveryKeyConfig() {
  ExperimentConfig c;
  c.seed = 42;
  c.data.dataset = "csv";
  c.data.dir = "/srv/data";
  c.data.csv.train = "/srv/data/train.csv";
  c.data.csv.test = "/srv/data/test.csv";
  c.data.csv.test_fraction = 0.25;
  c.data.csv.label = "income";
  c.data.csv.positive = ">50K";
  c.data.csv.categorical = {"workclass", "education"};
  c.data.csv.drop = {"fnlwgt"};
  c.data.csv.header = false;
  c.data.csv.delimiter = ";";
  c.data.csv.standardize = false;
  c.data.csv.classes = {"<=50K", ">50K"};
  c.data.csv.groups = {"Female", "Male"};
  c.data.sensitive = "sex";
  c.data.label_map = "parity";
  c.data.pca = 50;
  c.data.missing = MissingPolicy::kImpute;
  c.data.max_train = 1000;
  c.data.validation = 0.1;
  c.data.seed = 42;
  c.partition.scheme = "dirichlet";
  c.partition.silos = 8;
  c.partition.alpha = 0.3;
  c.partition.labels_per_silo = 3;
  c.partition.attribute = "age";
  c.partition.h = 0.75;
  c.partition.p = 0.8;
  c.model.type = "mlp";
  c.model.hidden = {80, 60};
  c.model.activation = "tanh";
  c.model.init_scale = 0.01;
  c.algorithm.name = "isrl_dp_fedavg";
  c.algorithm.rounds = 250;
  c.algorithm.silos_per_round = 4;
  c.algorithm.local_steps = 5;
  c.algorithm.batch_size = 64;
  c.algorithm.lr = 0.05;
  c.algorithm.server_lr = 0.5;
  c.algorithm.server_optimizer = "yogi";
  c.algorithm.server_beta1 = 0.8;
  c.algorithm.server_beta2 = 0.995;
  c.algorithm.server_tau = 0.01;
  c.algorithm.prox_mu = 0.1;
  c.algorithm.weighting = "uniform";
  c.privacy.epsilon = 0.75;
  c.privacy.delta = 1e-5;
  c.privacy.clip = 2.5;
  c.privacy.sampling = "poisson";
  c.privacy.calibration = "paper";
  c.privacy.secure_noise = true;
  c.output.dir = "runs/adult";
  c.output.eval_every = 5;
  c.output.save_model = false;
  return c;
}

// A fresh directory under the system temp dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("fedsilo_config_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

  // Writes `text` to `relative` (creating folders) and returns its full path.
  std::string Write(const std::string& relative, const std::string& text) const {
    const fs::path file = path_ / relative;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  fs::path path_;
};

// ----------------------------------------------------------------------------- defaults, sections

TEST(ConfigParserTest, EmptyDocumentGivesDefaults) {
  for (const char* yaml : {"", "# only a comment\n", "privacy:\n"}) {
    absl::StatusOr<ExperimentConfig> config = Parse(yaml);
    ASSERT_TRUE(config.ok()) << config.status();
    ExperimentConfig expected;
    expected.data.seed = expected.seed;  // the held-out split follows the experiment seed
    ExpectSameConfig(*config, expected);
    EXPECT_EQ(config->source_path, "exp.yaml");
  }
}

TEST(ConfigParserTest, ParsesEverySection) {
  absl::StatusOr<ExperimentConfig> config = Parse(kEveryKey);
  ASSERT_TRUE(config.ok()) << config.status();
  ExpectSameConfig(*config, EveryKeyConfig());
}

TEST(ConfigParserTest, KeepsDefaultsOfKeysNotGiven) {
  absl::StatusOr<ExperimentConfig> config =
      Parse("algorithm:\n  name: isrl_dp_fedavg\nprivacy:\n  epsilon: 3\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->privacy.epsilon, 3.0);
  EXPECT_EQ(config->privacy.clip, PrivacyConfig().clip);
  EXPECT_EQ(config->algorithm.rounds, AlgorithmConfig().rounds);
}

TEST(ConfigParserTest, AcceptsWholeNumbersWrittenAsFloatsAndEmptyLists) {
  absl::StatusOr<ExperimentConfig> config = Parse(
      "algorithm:\n  rounds: 1e3\n  batch_size: 16.0\nmodel:\n  hidden:\n"
      "seed: 18446744073709551615\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->algorithm.rounds, 1000);
  EXPECT_EQ(config->algorithm.batch_size, 16);
  EXPECT_TRUE(config->model.hidden.empty());
  EXPECT_EQ(config->seed, 18446744073709551615ULL);
}

// ---------------------------------------------------------------------------- unknown keys

TEST(ConfigParserTest, UnknownKeyNamesFileLineKeyAndHint) {
  EXPECT_EQ(ErrorOf("algorithm:\n  rounds: 5\n  lrr: 0.1\n"),
            "exp.yaml:3: algorithm.lrr: unknown key (did you mean 'lr'?)");
}

TEST(ConfigParserTest, MisspelledSection) {
  EXPECT_EQ(ErrorOf("seed: 3\nprivcy:\n  epsilon: 1\n"),
            "exp.yaml:2: privcy: unknown key (did you mean 'privacy'?)");
}

TEST(ConfigParserTest, KeyInTheWrongSectionPointsToItsSection) {
  EXPECT_EQ(ErrorOf("algorithm:\n  epsilon: 2\n"),
            "exp.yaml:2: algorithm.epsilon: unknown key (did you mean 'privacy.epsilon'?)");
}

TEST(ConfigParserTest, UnknownKeyWithoutCloseMatchListsTheKnownKeys) {
  const std::string error = ErrorOf("output:\n  colour: blue\n");
  EXPECT_THAT(error, StartsWith("exp.yaml:2: output.colour: unknown key (known keys: "));
  EXPECT_THAT(error, HasSubstr("dir, eval_every, save_model"));
}

TEST(ConfigParserTest, DuplicateKey) {
  EXPECT_EQ(ErrorOf("privacy:\n  epsilon: 1\n  epsilon: 2\n"),
            "exp.yaml:3: privacy.epsilon: duplicate key");
}

// ---------------------------------------------------------------------------- wrong types

TEST(ConfigParserTest, WrongTypes) {
  const struct {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"algorithm:\n  lr: fast\n", "exp.yaml:2: algorithm.lr: expected a number, got 'fast'"},
      {"algorithm:\n  rounds: 2.5\n",
       "exp.yaml:2: algorithm.rounds: expected an integer, got '2.5'"},
      {"algorithm:\n  rounds: \"10\"\n",
       "exp.yaml:2: algorithm.rounds: expected an integer, got '10' (quoted, so a string)"},
      {"privacy:\n  clip: {a: 1}\n", "exp.yaml:2: privacy.clip: expected a number, got a map"},
      {"privacy:\n  clip:\n", "exp.yaml:2: privacy.clip: expected a number, got nothing (null)"},
      {"privacy:\n  secure_noise: 1\n",
       "exp.yaml:2: privacy.secure_noise: expected true or false, got '1'"},
      {"data:\n  dataset: [csv]\n", "exp.yaml:2: data.dataset: expected a string, got a list"},
      {"model:\n  hidden: 80\n",
       "exp.yaml:2: model.hidden: expected a list, got '80' (write a list: [a, b])"},
      {"model:\n  hidden: [80,\n    x]\n",
       "exp.yaml:3: model.hidden[1]: expected an integer, got 'x'"},
      {"seed: 1\nprivacy: 3\n", "exp.yaml:2: privacy: expected a map of keys, got '3'"},
      {"- data\n- model\n", "exp.yaml:1: expected a map of sections at the top level, got a list"},
      {"algorithm:\n  rounds: 99999999999\n",
       "exp.yaml:2: algorithm.rounds: out of range (at most 2147483647), got 99999999999"},
  };
  for (const auto& c : cases) EXPECT_EQ(ErrorOf(c.yaml), c.error) << c.yaml;
}

// ---------------------------------------------------------------------------- values and ranges

TEST(ConfigParserTest, OutOfRangeValues) {
  const struct {
    const char* yaml;
    const char* error;
  } cases[] = {
      {"seed: -1\n", "exp.yaml:1: seed: must be >= 0, got -1"},
      {"privacy:\n  epsilon: 0\n", "exp.yaml:2: privacy.epsilon: must be > 0, got 0"},
      {"privacy:\n  epsilon: -0.5\n", "exp.yaml:2: privacy.epsilon: must be > 0, got -0.5"},
      {"privacy:\n  delta: 1\n", "exp.yaml:2: privacy.delta: must be in [0, 1), got 1"},
      {"privacy:\n  clip: 0\n", "exp.yaml:2: privacy.clip: must be > 0, got 0"},
      {"algorithm:\n  rounds: 0\n", "exp.yaml:2: algorithm.rounds: must be >= 1, got 0"},
      {"algorithm:\n  local_steps: 0\n", "exp.yaml:2: algorithm.local_steps: must be >= 1, got 0"},
      {"algorithm:\n  batch_size: -3\n", "exp.yaml:2: algorithm.batch_size: must be >= 1, got -3"},
      {"algorithm:\n  lr: 0\n", "exp.yaml:2: algorithm.lr: must be > 0, got 0"},
      {"algorithm:\n  server_lr: -1\n", "exp.yaml:2: algorithm.server_lr: must be > 0, got -1"},
      {"algorithm:\n  silos_per_round: -1\n",
       "exp.yaml:2: algorithm.silos_per_round: must be >= 0, got -1"},
      {"partition:\n  silos: 0\n", "exp.yaml:2: partition.silos: must be in [1, 100000], got 0"},
      {"partition:\n  silos: 100001\n",
       "exp.yaml:2: partition.silos: must be in [1, 100000], got 100001"},
      {"output:\n  eval_every: 0\n", "exp.yaml:2: output.eval_every: must be >= 1, got 0"},
      {"data:\n  test_fraction: 1\n", "exp.yaml:2: data.test_fraction: must be in [0, 1), got 1"},
      {"data:\n  test_fraction: -0.1\n",
       "exp.yaml:2: data.test_fraction: must be in [0, 1), got -0.1"},
      {"data:\n  pca: -1\n", "exp.yaml:2: data.pca: must be >= 0, got -1"},
      {"data:\n  max_train: -5\n", "exp.yaml:2: data.max_train: must be >= 0, got -5"},
      {"data:\n  validation: 1\n", "exp.yaml:2: data.validation: must be in [0, 1), got 1"},
      {"model:\n  hidden: [80, 0]\n", "exp.yaml:2: model.hidden[1]: must be >= 1, got 0"},
      {"data:\n  delimiter: ab\n",
       "exp.yaml:2: data.delimiter: must be one character (quote it: \";\"), tab, space or "
       "whitespace, got 'ab'"},
  };
  for (const auto& c : cases) EXPECT_EQ(ErrorOf(c.yaml), c.error) << c.yaml;
}

TEST(ConfigParserTest, AverageLastAtMostRounds) {
  EXPECT_EQ(ErrorOf("algorithm:\n  rounds: 10\n  average_last: 11\n"),
            "exp.yaml:3: algorithm.average_last: must be in [0, algorithm.rounds] = [0, 10], got 11");
  EXPECT_EQ(ErrorOf("algorithm:\n  average_last: -1\n"),
            "exp.yaml:2: algorithm.average_last: must be >= 0, got -1");
  EXPECT_TRUE(Parse("algorithm:\n  rounds: 10\n  average_last: 10\n").ok());
}

TEST(ConfigParserTest, SilosPerRoundAtMostSilos) {
  EXPECT_EQ(ErrorOf("partition:\n  silos: 4\nalgorithm:\n  silos_per_round: 5\n"),
            "exp.yaml:4: algorithm.silos_per_round: must be in [0, partition.silos] = [0, 4], "
            "got 5");
  EXPECT_TRUE(Parse("partition:\n  silos: 4\nalgorithm:\n  silos_per_round: 4\n").ok());
}

// A privacy section beside a non-private algorithm would be ignored: refused, naming the private
// variant. The resolved config of a non-private run has no privacy section, so it parses back.
TEST(ConfigParserTest, PrivacySectionNeedsAPrivateAlgorithm) {
  EXPECT_EQ(ErrorOf("algorithm:\n  name: fair_fermi\nprivacy:\n  epsilon: 2\n"),
            "exp.yaml: privacy: algorithm 'fair_fermi' is not private, so this section would be "
            "silently ignored and the run would not be private; use 'isrl_dp_fair_fermi', or "
            "remove the privacy section");
  const absl::StatusOr<ExperimentConfig> overridden =
      Parse("algorithm:\n  name: fedavg\n", {"privacy.epsilon=2"});
  ASSERT_FALSE(overridden.ok());
  EXPECT_NE(overridden.status().message().find("use 'isrl_dp_fedavg'"), std::string::npos)
      << overridden.status();
  EXPECT_TRUE(Parse("algorithm:\n  name: isrl_dp_fair_fermi\nprivacy:\n  epsilon: 2\n").ok());
  const absl::StatusOr<ExperimentConfig> plain = Parse("algorithm:\n  name: fedavg\n");
  ASSERT_TRUE(plain.ok());
  const std::string yaml = ExperimentConfigToYaml(*plain);
  EXPECT_EQ(yaml.find("privacy:"), std::string::npos) << yaml;
  EXPECT_TRUE(ParseExperimentConfig(yaml, "resolved.yaml", {}).ok());
  // The trusted-server baseline takes the section (its server's noise is calibrated from it) and
  // keeps it in the resolved config it writes.
  const absl::StatusOr<ExperimentConfig> central = Parse(
      "algorithm:\n  name: central_dp_minibatch_sgd\nprivacy:\n  epsilon: 2\n  delta: 1.0e-5\n");
  ASSERT_TRUE(central.ok()) << central.status();
  const std::string central_yaml = ExperimentConfigToYaml(*central);
  EXPECT_NE(central_yaml.find("epsilon: 2"), std::string::npos) << central_yaml;
  const absl::StatusOr<ExperimentConfig> again =
      ParseExperimentConfig(central_yaml, "resolved.yaml", {});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->privacy.epsilon, 2.0);
}

// A quorum larger than the silos asked per round can never be met; a timeout that does not fit a
// clock duration would overflow.
TEST(ConfigParserTest, QuorumAndTimeoutsMustBeReachable) {
  EXPECT_EQ(ErrorOf("partition:\n  silos: 4\nnetwork:\n  min_replies: 5\n"),
            "exp.yaml:4: network.min_replies: must be at most the silos asked per round (4, "
            "partition.silos), got 5: no round could reach quorum");
  EXPECT_EQ(ErrorOf("partition:\n  silos: 10\nalgorithm:\n  silos_per_round: 3\nnetwork:\n"
                    "  min_replies: 4\n"),
            "exp.yaml:6: network.min_replies: must be at most the silos asked per round (3, "
            "algorithm.silos_per_round), got 4: no round could reach quorum");
  EXPECT_TRUE(Parse("partition:\n  silos: 10\nalgorithm:\n  silos_per_round: 3\nnetwork:\n"
                    "  min_replies: 3\n").ok());
  for (const char* key : {"join_timeout_seconds", "round_timeout_seconds"}) {
    const std::string error = ErrorOf(std::string("network:\n  ") + key + ": 1e300\n");
    EXPECT_NE(error.find(std::string("network.") + key), std::string::npos) << error;
    EXPECT_TRUE(Parse(std::string("network:\n  ") + key + ": 86400\n").ok()) << key;
  }
}

TEST(ConfigParserTest, UnknownChoiceListsAllowedValuesAndHint) {
  const std::string kPrivate = "algorithm: {name: isrl_dp_fedavg}\n";
  EXPECT_EQ(ErrorOf(kPrivate + "privacy:\n  sampling: posson\n"),
            "exp.yaml:3: privacy.sampling: unknown value 'posson' (allowed: poisson | "
            "without_replacement | with_replacement; did you mean 'poisson'?)");
  EXPECT_EQ(ErrorOf(kPrivate + "privacy:\n  calibration: closed_form\n"),
            "exp.yaml:3: privacy.calibration: unknown value 'closed_form' (allowed: rdp | paper)");
  // With-replacement sampling has no accountant: only the paper's (uncertified) calibration.
  EXPECT_EQ(ErrorOf(kPrivate + "privacy:\n  sampling: with_replacement\n"),
            "exp.yaml:3: privacy.sampling: with_replacement has no privacy accountant; use poisson "
            "or without_replacement, or calibration: paper (whose epsilon is then an uncertified "
            "target)");
  EXPECT_TRUE(Parse(kPrivate + "privacy:\n  sampling: with_replacement\n  calibration: paper\n").ok());
  EXPECT_EQ(ErrorOf("data:\n  missing: skip\n"),
            "exp.yaml:2: data.missing: unknown value 'skip' (allowed: drop | impute)");
  EXPECT_EQ(ErrorOf("algorithm:\n  weighting: sized\n"),
            "exp.yaml:2: algorithm.weighting: unknown value 'sized' (allowed: size | uniform; "
            "did you mean 'size'?)");
}

TEST(ConfigParserTest, ServerOptimizerAndProximalTermOnlyWhereTheAlgorithmTakesThem) {
  EXPECT_TRUE(Parse("algorithm:\n  name: isrl_dp_fedavg\n  server_optimizer: adam\n"
                    "  prox_mu: 0.01\n").ok());
  EXPECT_THAT(ErrorOf("algorithm:\n  name: fair_fermi\n  server_optimizer: adam\n"),
              StartsWith("exp.yaml:3: algorithm.server_optimizer: fair_fermi's coordinator takes "
                         "only sgd"));
  EXPECT_THAT(ErrorOf("algorithm:\n  name: minibatch_sgd\n  prox_mu: 0.5\n"),
              StartsWith("exp.yaml:3: algorithm.prox_mu: minibatch_sgd has no local proximal "
                         "term"));
  EXPECT_THAT(ErrorOf("algorithm:\n  server_optimizer: adagrad\n"),
              StartsWith("exp.yaml:2: algorithm.server_optimizer: unknown value 'adagrad' "
                         "(allowed: sgd | momentum | adam | yogi"));
  EXPECT_THAT(ErrorOf("algorithm:\n  server_beta2: 1\n"),
              StartsWith("exp.yaml:2: algorithm.server_beta2: "));
}

TEST(ConfigParserTest, NamesAreCheckedAgainstTheRegistries) {
  std::string error = ErrorOf("algorithm:\n  name: fedavgg\n");
  EXPECT_THAT(error, StartsWith("exp.yaml:2: algorithm.name: unknown value 'fedavgg' (allowed: "));
  EXPECT_THAT(error, HasSubstr("isrl_dp_fedavg"));
  EXPECT_THAT(error, HasSubstr("did you mean 'fedavg'?"));
  error = ErrorOf("model:\n  type: perceptron\n");
  EXPECT_THAT(error, StartsWith("exp.yaml:2: model.type: unknown value 'perceptron' (allowed: "));
  EXPECT_THAT(error, HasSubstr("mlp"));
  error = ErrorOf("data:\n  dataset: adlt\n");
  EXPECT_THAT(error, StartsWith("exp.yaml:2: data.dataset: unknown value 'adlt' (allowed: "));
  EXPECT_THAT(error, HasSubstr("did you mean 'adult'?"));
}

TEST(ConfigParserTest, CsvDatasetNeedsTrainAndLabel) {
  EXPECT_EQ(ErrorOf("data:\n  dataset: csv\n  label: y\n"),
            "exp.yaml:2: data.dataset: 'csv' requires data.train (the training CSV file)");
  EXPECT_EQ(ErrorOf("data:\n  dataset: csv\n  train: /a.csv\n"),
            "exp.yaml:2: data.dataset: 'csv' requires data.label (the label column)");
  EXPECT_TRUE(Parse("data:\n  dataset: csv\n  train: /a.csv\n  label: y\n").ok());
}

// ---------------------------------------------------------------------------- files

TEST(ConfigParserTest, MalformedYamlNamesFileAndLine) {
  const std::string error = ErrorOf("algorithm:\n  rounds: 3\n  - 1\n");
  EXPECT_THAT(error, StartsWith("exp.yaml:3: invalid YAML: "));
  EXPECT_THAT(error, HasSubstr("end of map not found"));

  TempDir dir;
  const std::string path = dir.Write("bad.yaml", "seed: 1\nmodel:\n  hidden: [80, 60\n");
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), StartsWith(path + ":4: invalid YAML: "));
}

TEST(ConfigParserTest, MissingFileIsNotFoundNamingThePath) {
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig("/no/such/exp.yaml", {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("/no/such/exp.yaml"));
}

TEST(ConfigParserTest, DirectoryIsNotAnExperimentFile) {
  TempDir dir;
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(dir.path().string(), {});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("is a directory"));
}

TEST(ConfigParserTest, FileErrorsNameTheFile) {
  TempDir dir;
  const std::string path = dir.Write("exp.yaml", "privacy:\n  epsilon: 0\n");
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(path, {});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), path + ":2: privacy.epsilon: must be > 0, got 0");
}

TEST(ConfigParserTest, RelativePathsResolveAgainstTheConfigDirectory) {
  TempDir dir;
  const std::string path = dir.Write(
      "configs/exp.yaml",
      "data:\n  dataset: csv\n  train: train.csv\n  test: ../shared/test.csv\n  dir: data\n"
      "  label: y\n");
  absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(path, {});
  ASSERT_TRUE(config.ok()) << config.status();
  const fs::path base = fs::absolute(dir.path());
  EXPECT_EQ(config->data.csv.train, (base / "configs/train.csv").string());
  EXPECT_EQ(config->data.csv.test, (base / "shared/test.csv").string());
  EXPECT_EQ(config->data.dir, (base / "configs/data").string());
  EXPECT_EQ(config->source_path, path);

  // Overridden paths resolve the same way; absolute paths stay as they are.
  config = LoadExperimentConfig(path, {"data.train=other.csv", "data.test=/abs/test.csv"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->data.csv.train, (base / "configs/other.csv").string());
  EXPECT_EQ(config->data.csv.test, "/abs/test.csv");
}

TEST(ConfigParserTest, RelativePathsInAStringResolveAgainstTheWorkingDirectory) {
  absl::StatusOr<ExperimentConfig> config =
      Parse("data:\n  dataset: csv\n  train: d/train.csv\n  label: y\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->data.csv.train, (fs::current_path() / "d/train.csv").string());
  EXPECT_EQ(config->data.dir, "");  // empty: ResolveDataDir decides at load time
}

// ---------------------------------------------------------------------------- overrides

TEST(ConfigParserTest, OverridesSetScalarsAndLists) {
  absl::StatusOr<ExperimentConfig> config =
      Parse("privacy:\n  epsilon: 1\nmodel:\n  type: mlp\n",
            {"privacy.epsilon=2", "seed=7", "model.hidden=[80,60]",
             "algorithm.name=isrl_dp_minibatch_sgd",
             "output.save_model=false", "data.delimiter=,", "data.categorical=[a, b]"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->privacy.epsilon, 2.0);
  EXPECT_EQ(config->seed, 7u);
  EXPECT_EQ(config->data.seed, 7u);
  EXPECT_EQ(config->model.hidden, (std::vector<int>{80, 60}));
  EXPECT_EQ(config->model.type, "mlp");
  EXPECT_EQ(config->algorithm.name, "isrl_dp_minibatch_sgd");  // a section the file did not have
  EXPECT_FALSE(config->output.save_model);
  EXPECT_EQ(config->data.csv.delimiter, ",");
  EXPECT_EQ(config->data.csv.categorical, (std::vector<std::string>{"a", "b"}));
}

TEST(ConfigParserTest, LaterOverridesWin) {
  absl::StatusOr<ExperimentConfig> config = Parse("", {"algorithm.lr=0.5", "algorithm.lr = 0.25"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->algorithm.lr, 0.25);
}

// privacy=none removes the section, so a private config gives its non-private baseline: without
// it the parser refuses a privacy section beside a non-private algorithm. Overrides of the
// section before it go too; after it they set keys again.
TEST(ConfigParserTest, ASectionSetToNoneIsRemoved) {
  const std::string text =
      "algorithm: {name: isrl_dp_minibatch_sgd}\nprivacy: {epsilon: 2, clip: 3}\n";
  EXPECT_NE(ErrorOf(text, {"algorithm.name=minibatch_sgd"}).find("is not private"),
            std::string::npos);
  absl::StatusOr<ExperimentConfig> plain =
      Parse(text, {"privacy.epsilon=5", "algorithm.name=minibatch_sgd", "privacy = none"});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->algorithm.name, "minibatch_sgd");
  const PrivacyConfig defaults;
  EXPECT_EQ(plain->privacy.epsilon, defaults.epsilon);
  EXPECT_EQ(plain->privacy.clip, defaults.clip);
  absl::StatusOr<ExperimentConfig> again = Parse(text, {"privacy=none", "privacy.clip=0.5"});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->privacy.clip, 0.5);
  EXPECT_EQ(again->privacy.epsilon, defaults.epsilon);
}

TEST(ConfigParserTest, OverrideErrors) {
  const struct {
    std::vector<std::string> overrides;
    const char* error;
  } cases[] = {
      {{"algorithm.lrr=0.1"}, "--set algorithm.lrr: unknown key (did you mean 'lr'?)"},
      {{"algorithm.lr"}, "--set algorithm.lr: expected key.path=value (e.g. privacy.epsilon=2)"},
      {{"privcy.epsilon=2"}, "--set privcy.epsilon: unknown section (did you mean 'privacy'?)"},
      {{"data.csv.train=x.csv"}, "--set data.csv.train: unknown key (did you mean 'data.train'?)"},
      {{"privacy=3"},
       "--set privacy: set one key of the section at a time (e.g. privacy.epsilon=...), or "
       "privacy=none to remove the section"},
      {{"privacy.epsilon=0"}, "--set privacy.epsilon: must be > 0, got 0"},
      {{"algorithm.rounds=many"}, "--set algorithm.rounds: expected an integer, got 'many'"},
      {{"model.hidden=[80, 0]"}, "--set model.hidden[1]: must be >= 1, got 0"},
      {{"partition.silos=2", "algorithm.silos_per_round=3"},
       "--set algorithm.silos_per_round: must be in [0, partition.silos] = [0, 2], got 3"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ErrorOf("algorithm: {name: isrl_dp_fedavg}\nprivacy:\n  clip: 1\n", c.overrides),
              c.error)
        << c.overrides[0];
  }
}

TEST(ConfigParserTest, FileValueMadeInvalidByAnOverrideKeepsItsLine) {
  EXPECT_EQ(ErrorOf("algorithm:\n  silos_per_round: 5\n", {"partition.silos=3"}),
            "exp.yaml:2: algorithm.silos_per_round: must be in [0, partition.silos] = [0, 3], "
            "got 5");
}

TEST(ConfigParserTest, OverrideIntoAMalformedSectionIsReported) {
  EXPECT_EQ(ErrorOf("privacy: [1]\n", {"privacy.epsilon=2"}),
            "exp.yaml:1: privacy: expected a map of keys, got a list");
}

// ---------------------------------------------------------------------------- round trip

TEST(ConfigParserTest, RoundTripOfDefaults) {
  ExperimentConfig defaults;
  const std::string yaml = ExperimentConfigToYaml(defaults);
  absl::StatusOr<ExperimentConfig> parsed = Parse(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml;
  defaults.data.seed = defaults.seed;
  ExpectSameConfig(*parsed, defaults);
}

TEST(ConfigParserTest, RoundTripOfEveryKey) {
  const ExperimentConfig original = EveryKeyConfig();
  const std::string yaml = ExperimentConfigToYaml(original);
  absl::StatusOr<ExperimentConfig> parsed = Parse(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml;
  ExpectSameConfig(*parsed, original);
  parsed->source_path.clear();  // else the output gains a "# source:" line
  EXPECT_EQ(ExperimentConfigToYaml(*parsed), yaml);
}

TEST(ConfigParserTest, RoundTripOfAwkwardValues) {
  ExperimentConfig original = EveryKeyConfig();
  original.seed = 18446744073709551615ULL;
  original.data.seed = original.seed;
  original.data.csv.delimiter = "\t";
  original.data.csv.label = "0";
  original.data.csv.positive = "yes";
  original.data.csv.categorical = {"null", "~", "a: b", "#x", ""};
  original.data.sensitive = "true";
  original.data.label_map = "";
  original.algorithm.lr = 0.1;
  original.privacy.delta = 1.0 / 3.0;
  original.privacy.epsilon = 1e-300;
  const std::string yaml = ExperimentConfigToYaml(original);
  absl::StatusOr<ExperimentConfig> parsed = Parse(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml;
  ExpectSameConfig(*parsed, original);
}

TEST(ConfigParserTest, YamlListsEverySectionAndDocumentsItsSource) {
  ExperimentConfig config;
  config.source_path = "configs/exp.yaml";
  config.algorithm.name = "isrl_dp_fedavg";  // a private run has a privacy section
  const std::string yaml = ExperimentConfigToYaml(config);
  EXPECT_THAT(yaml, HasSubstr("# source: configs/exp.yaml\n"));
  for (const char* key : {"seed: 1", "data:", "partition:", "model:", "algorithm:", "privacy:",
                          "output:", "  hidden: []", "  lr: 0.1", "  epsilon: 1.0",
                          "  missing: drop", "  label_map: \"\"", "  secure_noise: false"}) {
    EXPECT_THAT(yaml, HasSubstr(std::string("\n") + key)) << yaml;
  }
}

// ---------------------------------------------------------------------------- docs and examples

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// docs/config.md documents every key the parser knows, in a table row "| `key` |".
TEST(ConfigDocsTest, EveryKeyIsDocumented) {
  const std::string docs = ReadFile(fs::path(FEDSILO_SOURCE_DIR) / "docs/config.md");
  ASSERT_FALSE(docs.empty());
  ExperimentConfig private_run;
  private_run.algorithm.name = "isrl_dp_fedavg";  // a private run lists every key
  std::istringstream yaml(ExperimentConfigToYaml(private_run));
  int keys = 0;
  for (std::string line; std::getline(yaml, line);) {
    if (line.empty() || line[0] == '#' || line.back() == ':') continue;  // comments, sections
    const std::string key =
        line.substr(line.find_first_not_of(' '), line.find(':') - line.find_first_not_of(' '));
    EXPECT_THAT(docs, HasSubstr("| `" + key + "` |")) << key;
    ++keys;
  }
  EXPECT_EQ(keys, 85);  // seed + 23 data + 8 partition + 4 model + 21 algorithm + 9 fairness
                        // + 8 privacy + 3 output + 8 network
}

// The annotated example in docs/config.md is a valid experiment file that sets every key.
TEST(ConfigDocsTest, AnnotatedExampleParses) {
  const std::string docs = ReadFile(fs::path(FEDSILO_SOURCE_DIR) / "docs/config.md");
  const size_t heading = docs.find("## A complete annotated example");
  ASSERT_NE(heading, std::string::npos);
  const size_t begin = docs.find("```yaml\n", heading);
  ASSERT_NE(begin, std::string::npos);
  const size_t end = docs.find("```", begin + 8);
  ASSERT_NE(end, std::string::npos);
  const std::string example = docs.substr(begin + 8, end - begin - 8);
  absl::StatusOr<ExperimentConfig> config = Parse(example);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->algorithm.name, "isrl_dp_fedavg");
  EXPECT_EQ(config->data.csv.train, (fs::current_path() / "data/adult.csv").string());
}

TEST(ConfigDocsTest, ShippedConfigsParse) {
  for (const char* folder : {"simulations/configs", "simulations/reproduce"}) {
    int count = 0;
    for (const auto& entry : fs::directory_iterator(fs::path(FEDSILO_SOURCE_DIR) / folder)) {
      if (entry.path().extension() != ".yaml") continue;
      absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(entry.path().string(), {});
      EXPECT_TRUE(config.ok()) << config.status();
      ++count;
    }
    EXPECT_GE(count, 2) << folder;  // the folder was found and read
  }
}

// Issue 18 named timeouts of 1e10 s that acted as zero (a deadline past what a clock duration
// holds wraps around). Every network timeout is bounded by 1e7 s (about 115 days): 1e10 is an
// error naming the key, as a file value and as a --set override; 1e7 itself is kept exactly.
TEST(ConfigParserTest, NetworkTimeoutsAbove1e7SecondsAreRefusedNotWrapped) {
  for (const std::string key :
       {"join_timeout_seconds", "round_timeout_seconds", "hello_timeout_seconds"}) {
    auto in_file = ParseExperimentConfig("network:\n  " + key + ": 1e10\n", "net.yaml", {});
    ASSERT_FALSE(in_file.ok()) << key;
    EXPECT_EQ(in_file.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(in_file.status().message(), HasSubstr("net.yaml:2: network." + key));
    auto by_set = ParseExperimentConfig("", "net.yaml", {"network." + key + "=1e10"});
    ASSERT_FALSE(by_set.ok()) << key;
    EXPECT_THAT(by_set.status().message(), HasSubstr("network." + key));
    auto bound = ParseExperimentConfig("", "net.yaml", {"network." + key + "=1e7"});
    ASSERT_TRUE(bound.ok()) << bound.status();
  }
  auto bound = ParseExperimentConfig("", "net.yaml", {"network.round_timeout_seconds=1e7"});
  ASSERT_TRUE(bound.ok());
  EXPECT_EQ(bound->network.round_timeout_seconds, 1e7);
}

}  // namespace
}  // namespace fedsilo
