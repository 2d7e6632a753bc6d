// Networked mode with real processes on 127.0.0.1 (labelled `slow`): one `fedsilo coordinator`
// and several `fedsilo silo` processes, compared against thread mode, and put through the faults a
// deployment sees: a silo killed mid-round and restarted, a silo stalled past the deadline, and
// the coordinator killed and resumed.
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <functional>
#include <filesystem>
#include <memory>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"

#include "tests/testing/child_process.h"
#include "tests/testing/loopback.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::FreePort;
using testing::FreshTempDir;
using testing::ReadFile;

// MNIST comes from ../shared/data, or from the copy scripts/setup.sh installs (data/mnist), so
// these tests run on a fresh clone too; without either they fail, saying so (never a silent skip).
bool HaveMnist() {
  return fs::exists(testing::SharedDataDir() + "/mnist/train-images-idx3-ubyte.gz") ||
         fs::exists(std::string(FEDSILO_SOURCE_DIR) + "/data/mnist/train-images-idx3-ubyte");
}

constexpr int kSilos = 4;
constexpr int kLocalSteps = 2;

// A private run on MNIST even/odd (its first 3,000 training records): 4 silos, logistic
// regression, ISRL-DP FedAvg.
// `algorithm_extra`: more keys of the algorithm section (", key: value...").
std::string WriteConfig(const fs::path& dir, int rounds, int silos_per_round, int min_replies,
                        double round_timeout, const std::string& algorithm_extra = "") {
  std::ostringstream yaml;
  yaml << "seed: 7\n"
       << "data: {dataset: mnist, label_map: parity, max_train: 3000}\n"
       << "partition: {scheme: dirichlet, alpha: 1.0, silos: " << kSilos << "}\n"
       << "model: {type: logistic}\n"
       << "algorithm: {name: isrl_dp_fedavg, rounds: " << rounds << ", silos_per_round: "
       << silos_per_round << ", local_steps: " << kLocalSteps << ", batch_size: 64, lr: 0.5"
       << algorithm_extra << "}\n"
       << "privacy: {epsilon: 2}\n"
       << "output: {eval_every: 1}\n"
       << "network: {round_timeout_seconds: " << round_timeout << ", join_timeout_seconds: 60, "
       << "min_replies: " << min_replies << "}\n";
  const fs::path path = dir / "experiment.yaml";
  testing::WriteFile(path, yaml.str());
  return path.string();
}

// metrics.csv without its timing column (the last one).
std::string MetricsWithoutTiming(const fs::path& out) {
  std::stringstream in(ReadFile(out / "metrics.csv")), kept;
  std::string line;
  while (std::getline(in, line)) kept << line.substr(0, line.rfind(',')) << "\n";
  return kept.str();
}

// The first `count` columns of every line of metrics.csv.
std::string MetricsColumns(const fs::path& out, size_t count) {
  std::string kept;
  for (const std::vector<std::string>& cells : testing::ReadCsvRows(out / "metrics.csv")) {
    for (size_t c = 0; c < count && c < cells.size(); ++c) kept += cells[c] + (c + 1 < count ? "," : "\n");
  }
  return kept;
}

// The last evaluated round in a metrics.csv (0 when none yet).
int LastRound(const fs::path& out) {
  std::stringstream in(ReadFile(out / "metrics.csv"));
  std::string line;
  int last = 0;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty()) last = std::atoi(line.c_str());
  }
  return last;
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Column `name` of metrics.csv, one value per row.
std::vector<double> MetricsColumn(const fs::path& out, const std::string& name) {
  std::stringstream in(ReadFile(out / "metrics.csv"));
  std::string line, cell;
  std::getline(in, line);
  std::stringstream header(line);
  int column = -1;
  for (int i = 0; std::getline(header, cell, ','); ++i) {
    if (cell == name) column = i;
  }
  std::vector<double> values;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    for (int i = 0; std::getline(row, cell, ','); ++i) {
      if (i == column) values.push_back(std::stod(cell));
    }
  }
  return values;
}

// noisy_queries per silo from silos.csv.
std::vector<long long> NoisyQueries(const fs::path& out) {
  std::stringstream in(ReadFile(out / "silos.csv"));
  std::string line, cell;
  std::getline(in, line);
  std::vector<long long> queries;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    for (int i = 0; std::getline(row, cell, ','); ++i) {
      if (i == 7) queries.push_back(std::stoll(cell));
    }
  }
  return queries;
}

// One coordinator and kSilos silo processes on 127.0.0.1, plaintext (loopback).
class LocalFederation {
 public:
  LocalFederation(fs::path dir, std::string config, int port)
      : dir_(std::move(dir)), config_(std::move(config)), port_(port) {}

  void StartCoordinator(std::vector<std::string> extra = {}, bool resume = false) {
    std::vector<std::string> args = {"coordinator", config_, "--listen",
                                     "127.0.0.1:" + std::to_string(port_), "--insecure",
                                     "--out", out().string(), "--threads", "1"};
    if (resume) args.push_back("--resume");
    args.insert(args.end(), extra.begin(), extra.end());
    coordinator_ = std::make_unique<ChildProcess>(
        args, dir_ / (resume ? "coordinator_resumed.log" : "coordinator.log"));
  }

  void StartSilo(int i) {
    const std::string log = "silo" + std::to_string(i) + "_" + std::to_string(starts_[i]++) + ".log";
    silos_[i] = std::make_unique<ChildProcess>(
        std::vector<std::string>{"silo", "--coordinator", "127.0.0.1:" + std::to_string(port_),
                                 "--name", "silo-" + std::to_string(i), "--shard",
                                 std::to_string(i), "--insecure", "--state-dir",
                                 (dir_ / "state").string(), "--reproducible-noise"},
        dir_ / log);
  }

  // A silo with its own arguments (after the common --coordinator, --insecure, --state-dir and
  // --reproducible-noise: these runs are compared with thread mode).
  void StartSiloWith(int i, std::vector<std::string> args) {
    args.insert(args.begin(), {"silo", "--coordinator", "127.0.0.1:" + std::to_string(port_),
                               "--insecure", "--state-dir", (dir_ / "state").string(),
                               "--reproducible-noise"});
    silos_[i] = std::make_unique<ChildProcess>(args, dir_ / ("silo" + std::to_string(i) + ".log"));
  }

  void StartAll() {
    StartCoordinator();
    for (int i = 0; i < kSilos; ++i) StartSilo(i);
  }

  // Waits for every process to exit; the coordinator's exit code.
  int Finish() {
    const std::optional<int> code = coordinator_->Wait(120s);
    for (auto& silo : silos_) {
      if (silo != nullptr) {
        EXPECT_EQ(silo->Wait(30s), 0) << silo->log();
      }
    }
    return code.value_or(-1);
  }

  ChildProcess& coordinator() { return *coordinator_; }
  ChildProcess& silo(int i) { return *silos_[i]; }
  fs::path out() const { return dir_ / "out"; }

 private:
  fs::path dir_;
  std::string config_;
  int port_;
  std::unique_ptr<ChildProcess> coordinator_;
  std::unique_ptr<ChildProcess> silos_[kSilos];
  int starts_[kSilos] = {};
};

std::string ThreadModeRun(const fs::path& dir, const std::string& config) {
  const auto result = testing::RunFedsilo("run " + config + " --quiet --threads 2 --out " +
                                          (dir / "thread").string());
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return (dir / "thread").string();
}

TEST(NetworkedTest, ProcessesReproduceThreadModeBitForBit) {
  ASSERT_TRUE(HaveMnist()) << "MNIST is missing: run bash scripts/setup.sh";
  const fs::path dir = FreshTempDir("networked_identical");
  // 3 of 4 silos sampled per round: the sampler, the silos' private streams and the ordered
  // aggregation must all agree across modes.
  const std::string config = WriteConfig(dir, 8, 3, 1, 30);
  const fs::path thread = ThreadModeRun(dir, config);
  LocalFederation federation(dir, config, FreePort());
  federation.StartAll();
  ASSERT_EQ(federation.Finish(), 0) << federation.coordinator().log();
  EXPECT_EQ(ReadFile(federation.out() / "model.bin"), ReadFile(thread / "model.bin"));
  EXPECT_EQ(MetricsWithoutTiming(federation.out()), MetricsWithoutTiming(thread));
  EXPECT_EQ(ReadFile(federation.out() / "silos.csv"), ReadFile(thread / "silos.csv"));
  // silos.csv records each silo's effective privacy settings, as the silo reported them: its
  // budget (privacy.epsilon 2), clip (default 1) and sampling rate batch / n_i.
  std::string header;
  const auto rows = testing::ReadCsvRows(federation.out() / "silos.csv", &header);
  EXPECT_NE(header.find(",target_epsilon,clip,sampling_rate"), std::string::npos) << header;
  ASSERT_EQ(rows.size(), static_cast<size_t>(kSilos));
  for (const std::vector<std::string>& cells : rows) {
    ASSERT_EQ(cells.size(), 15u);
    EXPECT_EQ(std::stod(cells[12]), 2.0);
    EXPECT_EQ(std::stod(cells[13]), 1.0);
    EXPECT_NEAR(std::stod(cells[14]), 64.0 / std::stod(cells[1]), 1e-9);
  }
  const auto summary = nlohmann::json::parse(ReadFile(federation.out() / "summary.json"));
  EXPECT_EQ(summary["rounds_completed"], 8);
  EXPECT_GT(summary["privacy"]["epsilon"].get<double>(), 0.0);
  EXPECT_LE(summary["privacy"]["epsilon"].get<double>(), 2.0);
}

// A second run on the silos' state of a first (the README's commands run twice): it is a new run
// (its own run id), so the silos' round journals start afresh, but their privacy ledgers carry
// over and the first run spent the whole budget. Each silo says so when it joins, refuses every
// round, and the coordinator stops at once and exits 3 naming the reason, instead of finishing
// with an untrained model and exit 0.
TEST(NetworkedTest, ASecondRunOnSpentBudgetsSaysSoAndExitsNonZero) {
  ASSERT_TRUE(HaveMnist()) << "MNIST is missing: run bash scripts/setup.sh";
  const fs::path first_dir = FreshTempDir("networked_second_run_a");
  const fs::path second_dir = FreshTempDir("networked_second_run_b");
  const std::string config = WriteConfig(first_dir, 3, 0, 1, 30);
  std::string first_id;
  {
    LocalFederation first(first_dir, config, FreePort());
    first.StartAll();
    ASSERT_EQ(first.Finish(), 0) << first.coordinator().log();
    first_id = nlohmann::json::parse(ReadFile(first.out() / "summary.json"))["run_id"];
    EXPECT_EQ(first_id.size(), 32u);
    EXPECT_EQ(ReadFile(first.out() / "run_id"), first_id + "\n");
  }
  fs::copy(first_dir / "state", second_dir / "state", fs::copy_options::recursive);
  LocalFederation second(second_dir, config, FreePort());
  second.StartAll();
  EXPECT_EQ(second.Finish(), 3) << second.coordinator().log();
  const std::string log = second.coordinator().log();
  EXPECT_NE(log.find("the run did not complete: stopped in round 1: only 0 silos can still serve"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("joined with 6 noisy queries already in its ledger"), std::string::npos)
      << log;  // 3 rounds x 2 local steps
  const auto summary = nlohmann::json::parse(ReadFile(second.out() / "summary.json"));
  EXPECT_NE(summary["run_id"], first_id);
  EXPECT_EQ(summary["rounds_completed"], 0);
  EXPECT_NE(summary["stop_reason"].get<std::string>().find("privacy budget would be exceeded"),
            std::string::npos)
      << summary["stop_reason"];
  const std::string silo_log = second.silo(0).log();
  EXPECT_NE(silo_log.find("is a new run (its journal was run '" + first_id + "')"),
            std::string::npos)
      << silo_log;
  EXPECT_NE(silo_log.find("joins with its privacy budget spent"), std::string::npos) << silo_log;
}

// Silos holding their own files (written by `fedsilo partition`), joining by name from a roster:
// the coordinator never sees their paths or rows, and since the files hold exactly the records of
// thread mode's shards, the run still matches thread mode bit for bit.
TEST(NetworkedTest, SilosWithTheirOwnCsvFilesReproduceThreadMode) {
  ASSERT_TRUE(HaveMnist()) << "MNIST is missing: run bash scripts/setup.sh";
  const fs::path dir = FreshTempDir("networked_own_data");
  const std::string config = WriteConfig(dir, 6, 0, 1, 30);
  const fs::path thread = ThreadModeRun(dir, config);
  const auto partition =
      testing::RunFedsilo("partition " + config + " --out " + (dir / "files").string());
  ASSERT_EQ(partition.exit_code, 0) << partition.output;
  // The README's flow: the coordinator runs the partition's coordinator.yaml (the experiment with
  // the roster silo0 .. silo3), each silo joins under its roster name with its own folder.
  const std::string names[kSilos] = {"silo0", "silo1", "silo2", "silo3"};
  LocalFederation federation(dir, (dir / "files" / "coordinator.yaml").string(), FreePort());
  federation.StartCoordinator();
  for (int i = 0; i < kSilos; ++i) {
    const fs::path own = dir / "files" / ("silo_" + std::to_string(i));
    federation.StartSiloWith(i, {"--name", names[i], "--data", (own / "train.csv").string(),
                                 "--config", (own / "silo.yaml").string()});
  }
  ASSERT_EQ(federation.Finish(), 0) << federation.coordinator().log();
  EXPECT_EQ(ReadFile(federation.out() / "model.bin"), ReadFile(thread / "model.bin"));
  // Round, losses, accuracy, epsilon, replies: as thread mode. The per-silo (personalized)
  // columns are NaN: the coordinator does not hold these silos' records, so it reports nothing
  // per silo (thread mode, which holds them, does).
  EXPECT_EQ(MetricsColumns(federation.out(), 8), MetricsColumns(thread, 8));
  for (const std::vector<std::string>& cells : testing::ReadCsvRows(federation.out() / "metrics.csv")) {
    ASSERT_GE(cells.size(), 12u);
    for (size_t c = 8; c < 12; ++c) EXPECT_EQ(cells[c], "nan") << c;
  }
  const auto net_silos = testing::ReadCsvRows(federation.out() / "silos.csv");
  const auto thread_silos = testing::ReadCsvRows(thread / "silos.csv");
  ASSERT_EQ(net_silos.size(), thread_silos.size());
  for (size_t i = 0; i < net_silos.size(); ++i) {
    EXPECT_EQ(net_silos[i][1], thread_silos[i][1]);  // train_records: the silo's own count
    EXPECT_EQ(net_silos[i][2], "");                 // test_records, accuracy, loss: absent
    EXPECT_EQ(net_silos[i][3], "nan");
    EXPECT_EQ(net_silos[i][4], "nan");
    EXPECT_NE(thread_silos[i][3], "nan");
  }
  // The coordinator's config and log never mention a silo's file.
  EXPECT_EQ(federation.coordinator().log().find("train.csv"), std::string::npos);
  EXPECT_EQ(ReadFile(federation.out() / "config.yaml").find("files/silo_"), std::string::npos);
}

TEST(NetworkedTest, SiloKilledMidRoundIsDroppedRejoinsAndKeepsItsLedger) {
  ASSERT_TRUE(HaveMnist()) << "MNIST is missing: run bash scripts/setup.sh";
  const fs::path dir = FreshTempDir("networked_kill_silo");
  constexpr int kRounds = 12;
  // Quorum of all silos: the round in flight when silo 2 dies is left out (model unchanged), and
  // the next round waits (bounded) for silo 2 to rejoin.
  const std::string config = WriteConfig(dir, kRounds, 0, kSilos, 30);
  LocalFederation federation(dir, config, FreePort());
  federation.StartAll();
  ASSERT_TRUE(WaitFor([&] { return LastRound(federation.out()) >= 3; }, 60s))
      << federation.coordinator().log();
  // Stop it first so that it is certainly mid-round when it dies: the coordinator has sent the
  // next task and is waiting for its reply.
  federation.silo(2).Signal(SIGSTOP);
  std::this_thread::sleep_for(500ms);
  federation.silo(2).Signal(SIGKILL);
  ASSERT_EQ(federation.silo(2).Wait(5s), 128 + SIGKILL);
  const int killed_after = LastRound(federation.out());
  federation.StartSilo(2);  // same name, same state dir
  ASSERT_EQ(federation.Finish(), 0) << federation.coordinator().log();

  const auto summary = nlohmann::json::parse(ReadFile(federation.out() / "summary.json"));
  EXPECT_EQ(summary["rounds_completed"], kRounds);
  EXPECT_EQ(summary["rounds_without_quorum"], 1);  // exactly the round it died in
  const std::vector<double> failures = MetricsColumn(federation.out(), "failures");
  ASSERT_EQ(failures.size(), static_cast<size_t>(kRounds));
  EXPECT_EQ(std::count(failures.begin(), failures.end(), 1.0), 1);
  EXPECT_LT(killed_after, kRounds);  // it died before the end and served again afterwards
  EXPECT_NE(federation.coordinator().log().find("disconnected during round"), std::string::npos);
  // The restarted silo remembers every query it made before it died: its ledger covers the
  // rounds it answered (all but one) and at most the one it died in (if it had journaled it).
  const std::vector<long long> queries = NoisyQueries(federation.out());
  ASSERT_EQ(queries.size(), static_cast<size_t>(kSilos));
  EXPECT_GE(queries[2], kLocalSteps * (kRounds - 1));
  EXPECT_LE(queries[2], kLocalSteps * kRounds);
  // The others answered every round, the lost one included (their noise was drawn even though
  // the round missed its quorum).
  EXPECT_EQ(queries[0], kLocalSteps * kRounds);
}

// Three hospitals with their own files cut from UCI Adult: one writes the shared schema's column
// names and spellings, one another column order with its own spellings (F/M, lower-case race), one
// other names and lacks a race level. Read by one schema (each with its own data.rename /
// data.recode), they train exactly the model that thread mode trains on the same records (the
// pooled file, partition.scheme contiguous), and that the same records in the schema's own
// spelling train as silo processes: bit for bit.
TEST(NetworkedTest, SilosWithDifferentColumnsAndSpellingsTrainTheSameModelByOneSchema) {
  if (!fs::exists(testing::SharedDataDir() + "/adult/adult.data")) {
    FAIL() << "UCI Adult is missing at " << testing::SharedDataDir();
  }
  const fs::path dir = FreshTempDir("networked_schema");
  // 3 x 150 complete Adult records (age, education-num, race, sex, hours, income).
  std::vector<std::vector<std::string>> records;
  {
    std::stringstream adult(ReadFile(testing::SharedDataDir() + "/adult/adult.data"));
    for (std::string line; std::getline(adult, line) && records.size() < 450;) {
      std::vector<std::string> cells;
      std::stringstream fields(line);
      for (std::string cell; std::getline(fields, cell, ',');) {
        cells.push_back(cell.substr(cell.find_first_not_of(' ')));
      }
      if (cells.size() != 15 || line.find('?') != std::string::npos) continue;
      if (records.size() >= 300 && cells[8] == "Other") continue;  // hospital 2 lacks a level
      records.push_back({cells[0], cells[4], cells[8], cells[9], cells[12], cells[14]});
    }
  }
  ASSERT_EQ(records.size(), 450u);
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string pooled = "age,education_num,race,sex,hours,income\n";
  for (const auto& r : records) pooled += absl::StrJoin(r, ",") + "\n";
  testing::WriteFile(dir / "pooled.csv", pooled);
  testing::WriteFile(dir / "schema.yaml",
                     "features:\n"
                     "  - {name: age, type: numeric, center: 38, scale: 13}\n"
                     "  - {name: education_num, type: numeric, center: 10, scale: 2.5}\n"
                     "  - {name: race, type: categorical, levels: [Amer-Indian-Eskimo, "
                     "Asian-Pac-Islander, Black, Other, White]}\n"
                     "  - {name: sex, type: categorical, levels: [Female, Male]}\n"
                     "  - {name: hours, type: numeric, center: 40, scale: 12}\n"
                     "label: {name: income, classes: [\"<=50K\", \">50K\"]}\n");
  // Canonical files, and each hospital's own.
  std::string own_spelling[3] = {"age,education_num,race,sex,hours,income\n",
                                 "income,hours,race,sex,age,education_num\n",
                                 "years,schooling,ethnicity,gender,weekly_hours,earnings\n"};
  for (int h = 0; h < 3; ++h) {
    std::string canonical = "age,education_num,race,sex,hours,income\n";
    for (int i = 150 * h; i < 150 * (h + 1); ++i) {
      const auto& r = records[static_cast<size_t>(i)];
      canonical += absl::StrJoin(r, ",") + "\n";
      if (h == 0) own_spelling[0] += absl::StrJoin(r, ",") + "\n";
      if (h == 1) {
        const std::vector<std::string> reordered = {r[5], r[4], lower(r[2]),
                                                    r[3] == "Female" ? "F" : "M", r[0], r[1]};
        own_spelling[1] += absl::StrJoin(reordered, ",") + "\n";
      }
      if (h == 2) own_spelling[2] += absl::StrJoin(r, ",") + "\n";
    }
    testing::WriteFile(dir / ("canonical" + std::to_string(h) + ".csv"), canonical);
    testing::WriteFile(dir / ("own" + std::to_string(h) + ".csv"), own_spelling[h]);
  }
  const std::string common =
      "seed: 5\n"
      "partition: {scheme: contiguous, silos: 3}\n"
      "model: {type: logistic}\n"
      "algorithm: {name: fedavg, rounds: 4, local_steps: 2, batch_size: 16, lr: 0.3}\n"
      "output: {eval_every: 2}\n"
      "network: {round_timeout_seconds: 30, join_timeout_seconds: 60, silos: [h0, h1, h2]}\n";
  const std::string data = "data: {dataset: csv, schema: " + (dir / "schema.yaml").string() +
                           ", train: " + (dir / "pooled.csv").string() + ", test: " +
                           (dir / "pooled.csv").string();
  testing::WriteFile(dir / "coordinator.yaml", common + data + "}\n");
  testing::WriteFile(dir / "silo_canonical.yaml", common + data + "}\n");
  testing::WriteFile(dir / "silo0.yaml", common + data + "}\n");
  testing::WriteFile(dir / "silo1.yaml",
                     common + data + ", recode: [\"sex:F=Female\", \"sex:M=Male\", "
                     "\"race:amer-indian-eskimo=Amer-Indian-Eskimo\", "
                     "\"race:asian-pac-islander=Asian-Pac-Islander\", \"race:black=Black\", "
                     "\"race:other=Other\", \"race:white=White\"]}\n");
  testing::WriteFile(dir / "silo2.yaml",
                     common + data + ", rename: [years=age, schooling=education_num, "
                     "ethnicity=race, gender=sex, weekly_hours=hours, earnings=income]}\n");
  auto run = [&](const std::string& name, bool own) {
    const fs::path run_dir = dir / name;
    fs::create_directories(run_dir);
    LocalFederation federation(run_dir, (dir / "coordinator.yaml").string(), FreePort());
    federation.StartCoordinator();
    for (int h = 0; h < 3; ++h) {
      const std::string i = std::to_string(h);
      federation.StartSiloWith(
          h, {"--name", "h" + i, "--data",
              (dir / ((own ? "own" : "canonical") + i + ".csv")).string(), "--config",
              (dir / (own ? "silo" + i + ".yaml" : std::string("silo_canonical.yaml"))).string()});
    }
    EXPECT_EQ(federation.Finish(), 0) << federation.coordinator().log();
    return ReadFile(federation.out() / "model.bin");
  };
  const std::string canonical_model = run("canonical", false);
  const std::string own_model = run("own", true);
  ASSERT_FALSE(canonical_model.empty());
  EXPECT_EQ(own_model, canonical_model);
  const auto thread = testing::RunFedsilo("run " + (dir / "coordinator.yaml").string() +
                                          " --quiet --threads 2 --out " + (dir / "thread").string());
  ASSERT_EQ(thread.exit_code, 0) << thread.output;
  EXPECT_EQ(ReadFile(dir / "thread" / "model.bin"), own_model);
}

// A quorum that no round reaches (all 4 replies wanted, one silo never comes): the run ends with
// the model unchanged, results written, and the coordinator exits 3 saying so, never 0.
TEST(NetworkedTest, ARunWhereNoRoundReachesQuorumExitsNonZero) {
  ASSERT_TRUE(HaveMnist()) << "MNIST is missing: run bash scripts/setup.sh";
  const fs::path dir = FreshTempDir("networked_no_quorum");
  const std::string config = WriteConfig(dir, 1, 0, kSilos, 30);
  LocalFederation federation(dir, config, FreePort());
  // The round waits join_timeout_seconds (15) for the missing silo, then runs without quorum.
  federation.StartCoordinator(
      {"--set", "network.min_silos=3", "--set", "network.join_timeout_seconds=15"});
  for (int i = 0; i < kSilos - 1; ++i) federation.StartSilo(i);  // silo 3 never comes
  EXPECT_EQ(federation.Finish(), 3) << federation.coordinator().log();
  EXPECT_NE(federation.coordinator().log().find(
                "the run did not complete: no round reached quorum (network.min_replies)"),
            std::string::npos)
      << federation.coordinator().log();
  const auto summary = nlohmann::json::parse(ReadFile(federation.out() / "summary.json"));
  EXPECT_EQ(summary["rounds_completed"], 1);
  EXPECT_EQ(summary["rounds_without_quorum"], 1);
}

TEST(NetworkedTest, SiloStalledPastTheDeadlineIsDroppedAndTheRunGoesOn) {
  ASSERT_TRUE(HaveMnist()) << "MNIST is missing: run bash scripts/setup.sh";
  const fs::path dir = FreshTempDir("networked_stall");
  constexpr int kRounds = 10;
  const std::string config = WriteConfig(dir, kRounds, 0, 3, 1.0);  // 1 s deadline, quorum 3
  LocalFederation federation(dir, config, FreePort());
  federation.StartAll();
  ASSERT_TRUE(WaitFor([&] { return LastRound(federation.out()) >= 2; }, 60s))
      << federation.coordinator().log();
  federation.silo(1).Signal(SIGSTOP);
  std::this_thread::sleep_for(2500ms);  // two or three deadlines pass
  federation.silo(1).Signal(SIGCONT);
  ASSERT_EQ(federation.Finish(), 0) << federation.coordinator().log();

  const auto summary = nlohmann::json::parse(ReadFile(federation.out() / "summary.json"));
  EXPECT_EQ(summary["rounds_completed"], kRounds);
  EXPECT_EQ(summary["rounds_without_quorum"], 0);  // 3 replies were enough
  const std::vector<double> failures = MetricsColumn(federation.out(), "failures");
  const long long missed = std::count(failures.begin(), failures.end(), 1.0);
  EXPECT_GE(missed, 2);
  EXPECT_LT(missed, kRounds);
  EXPECT_NE(federation.coordinator().log().find("did not reply within 1 s"), std::string::npos);
  // Its late answers were discarded by the coordinator, but their noise was drawn: the silo's
  // ledger counts every task it answered, late or not.
  const std::vector<long long> queries = NoisyQueries(federation.out());
  EXPECT_EQ(queries[1], kLocalSteps * kRounds);
  EXPECT_EQ(queries[0], kLocalSteps * kRounds);
}

void ExpectKilledAndResumedCoordinatorEndsWhereAnUninterruptedRunEnds(
    const std::string& name, const std::string& algorithm_extra) {
  ASSERT_TRUE(HaveMnist()) << "MNIST is missing: run bash scripts/setup.sh";
  const fs::path dir = FreshTempDir(name);
  constexpr int kRounds = 14;
  const std::string config = WriteConfig(dir, kRounds, 3, 1, 30, algorithm_extra);
  const fs::path thread = ThreadModeRun(dir, config);
  LocalFederation federation(dir, config, FreePort());
  federation.StartAll();
  ASSERT_TRUE(WaitFor([&] { return LastRound(federation.out()) >= 4; }, 60s))
      << federation.coordinator().log();
  federation.coordinator().Signal(SIGKILL);
  ASSERT_EQ(federation.coordinator().Wait(5s), 128 + SIGKILL);
  ASSERT_LT(LastRound(federation.out()), kRounds);
  federation.StartCoordinator({}, /*resume=*/true);
  ASSERT_EQ(federation.Finish(), 0) << federation.coordinator().log();

  EXPECT_NE(federation.coordinator().log().find("resuming after round"), std::string::npos);
  EXPECT_EQ(ReadFile(federation.out() / "model.bin"), ReadFile(thread / "model.bin"));
  EXPECT_EQ(MetricsWithoutTiming(federation.out()), MetricsWithoutTiming(thread));
  // Each silo answered each of its rounds once: a round re-asked after the resume got the
  // journaled answer again, without new noise and without a second ledger entry.
  EXPECT_EQ(ReadFile(federation.out() / "silos.csv"), ReadFile(thread / "silos.csv"));
}

TEST(NetworkedTest, CoordinatorKilledAndResumedEndsWhereAnUninterruptedRunEnds) {
  ExpectKilledAndResumedCoordinatorEndsWhereAnUninterruptedRunEnds("networked_resume", "");
}

// FedAdam's moments live in the coordinator: the checkpoint carries them, or the resumed run
// would restart them at zero and end elsewhere.
TEST(NetworkedTest, CoordinatorKilledAndResumedWithFedAdamEndsWhereAnUninterruptedRunEnds) {
  ExpectKilledAndResumedCoordinatorEndsWhereAnUninterruptedRunEnds(
      "networked_resume_adam", ", server_optimizer: adam, server_lr: 0.05");
}

// The iterate average (algorithm.average_last) lives in the coordinator: the checkpoint carries
// it, or the resumed run's output would average only the rounds after the resume. 12 of 14
// rounds, so the kill (after round 4 or later) falls inside the averaged tail.
TEST(NetworkedTest, CoordinatorKilledAndResumedWithAnIterateAverageEndsWhereAnUninterruptedRunEnds) {
  ExpectKilledAndResumedCoordinatorEndsWhereAnUninterruptedRunEnds("networked_resume_average",
                                                                   ", average_last: 12");
}

}  // namespace
}  // namespace fedsilo
