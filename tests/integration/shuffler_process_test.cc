// The shuffle model in networked mode with real processes on 127.0.0.1 (labelled `slow`): one
// `fedsilo coordinator`, one `fedsilo shuffler` and several `fedsilo silo` processes running a
// shuffle-model algorithm (the test-only test_shuffled_minibatch_sgd of
// tests/testing/shuffle_test_algorithm.cc, in the fedsilo_with_test_algorithms binary).
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/runtime/silo_journal_file.h"
#include "common/transport/sealed_report.h"
#include "tests/server/test_silo.h"
#include "tests/testing/certs.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_coordinator.h"
#include "tests/testing/fake_shuffler_link.h"
#include "tests/testing/loopback.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;
using testing::FreePort;
using testing::ReadFile;
using testing::ReadModel;
using testing::WaitForLine;
using std::chrono::seconds;

const std::string kBinary = FEDSILO_TEST_ALGORITHMS_BINARY_PATH;

// A small synthetic logistic problem, split IID over `silos`; 12 rounds of shuffle-model
// minibatch SGD. The silos' names in the tests start with "ward-", a string no other file holds.
// `extra` is appended as further YAML; `network_extra` goes inside the network mapping.
std::string WriteConfig(const fs::path& dir, int silos, const std::string& algorithm,
                        int rounds = 12, int eval_every = 4, const std::string& extra = "",
                        const std::string& network_extra = "") {
  testing::WriteLogisticCsv(dir / "data.csv", 960, 11);
  std::ostringstream yaml;
  yaml << "seed: 9\n"
       << "data: {dataset: csv, train: " << (dir / "data.csv").string()
       << ", label: label, positive: \"yes\"}\n"
       << "partition: {scheme: iid, silos: " << silos << "}\n"
       << "model: {type: logistic}\n"
       << "algorithm: {name: " << algorithm
       << ", rounds: " << rounds << ", batch_size: 16, lr: 0.5, personalize_steps: 0}\n"
       << "output: {eval_every: " << eval_every << ", save_model: true}\n"
       << "network: {join_timeout_seconds: 30, round_timeout_seconds: 20" << network_extra << "}\n"
       << extra;
  testing::WriteFile(dir / "experiment.yaml", yaml.str());
  return (dir / "experiment.yaml").string();
}

// The last evaluated round in a metrics.csv (0 when none yet).
int LastRound(const fs::path& metrics) {
  std::stringstream in(ReadFile(metrics));
  std::string line;
  int last = 0;
  std::getline(in, line);
  while (std::getline(in, line)) {
    if (!line.empty()) last = std::atoi(line.c_str());
  }
  return last;
}

// Every file under `dir`, concatenated (to search what the coordinator wrote).
std::string AllFiles(const fs::path& dir) {
  std::string all;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) all += ReadFile(entry.path());
  }
  return all;
}

std::string Logs(const std::vector<std::unique_ptr<ChildProcess>>& processes) {
  std::string all;
  for (const auto& process : processes) all += process->log() + "\n-----\n";
  return all;
}

// Silo process `ward-<i>` serving shard i through the shuffler at `shuffler_address`
// (plaintext loopback), pinning dir/coordinator.key.pub, journal in dir/state.
std::unique_ptr<ChildProcess> StartSilo(const fs::path& dir, const std::string& shuffler_address,
                                        int i) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{"silo", "--coordinator", shuffler_address, "--insecure", "--name",
                               "ward-" + std::to_string(i), "--shard", std::to_string(i),
                               "--coordinator-public-key", (dir / "coordinator.key.pub").string(),
                               "--state-dir", (dir / "state").string(), "--reproducible-noise"},
      dir / ("silo" + std::to_string(i) + ".log"), kBinary);
}

// Waits (at most 60 s) until dir/net/metrics.csv shows round `round` evaluated.
void WaitForRound(const fs::path& dir, int round) {
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  while (LastRound(dir / "net" / "metrics.csv") < round && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The thread-mode reference run of `config` (results in dir/thread), by the same binary as the
// processes (the plain fedsilo lacks the test algorithm): its final model, or {} if it failed.
std::vector<double> ThreadModeModel(const fs::path& dir, const std::string& config) {
  ChildProcess reference({"run", config, "--quiet", "--out", (dir / "thread").string()},
                         dir / "thread.log", kBinary);
  EXPECT_EQ(reference.Wait(seconds(60)), 0) << reference.log();
  return ReadModel(dir / "thread" / "model.bin");
}

// Runs `fedsilo coordinator` (results in dir/net), `fedsilo shuffler` and `silos` silo processes
// named ward-<i> serving shard i, plaintext on loopback, and waits until every one has exited
// (each expected with status 0). Returns them (coordinator, shuffler, silos) for their logs;
// fewer when a process did not start.
std::vector<std::unique_ptr<ChildProcess>> RunShuffleModel(const fs::path& dir,
                                                           const std::string& config, int silos) {
  std::vector<std::unique_ptr<ChildProcess>> processes;
  processes.push_back(std::make_unique<ChildProcess>(
      std::vector<std::string>{"coordinator", config, "--listen", "127.0.0.1:0", "--insecure",
                               "--port-file", (dir / "coordinator.port").string(), "--out",
                               (dir / "net").string(), "--sealing-key",
                               (dir / "coordinator.key").string(), "--quiet"},
      dir / "coordinator.log", kBinary));
  ChildProcess& coordinator = *processes.back();
  const std::string coordinator_port = WaitForLine(dir / "coordinator.port", 30);
  EXPECT_FALSE(coordinator_port.empty()) << coordinator.log();
  if (coordinator_port.empty()) return processes;
  EXPECT_TRUE(fs::exists(dir / "coordinator.key.pub"));
  processes.push_back(std::make_unique<ChildProcess>(
      std::vector<std::string>{"shuffler", "--listen", "127.0.0.1:0", "--insecure", "--port-file",
                               (dir / "shuffler.port").string(), "--coordinator",
                               "127.0.0.1:" + coordinator_port},
      dir / "shuffler.log", kBinary));
  ChildProcess& shuffler = *processes.back();
  const std::string shuffler_port = WaitForLine(dir / "shuffler.port", 30);
  EXPECT_FALSE(shuffler_port.empty()) << Logs(processes);
  if (shuffler_port.empty()) return processes;
  for (int i = 0; i < silos; ++i) processes.push_back(StartSilo(dir, "127.0.0.1:" + shuffler_port, i));
  EXPECT_EQ(coordinator.Wait(seconds(120)), 0) << Logs(processes);
  EXPECT_EQ(shuffler.Wait(seconds(15)), 0) << shuffler.log();
  for (size_t i = 2; i < processes.size(); ++i) {
    EXPECT_EQ(processes[i]->Wait(seconds(15)), 0) << processes[i]->log();
  }
  return processes;
}

// Coordinator + shuffler + 4 silos, plaintext on loopback. The run completes; its final model is
// the thread-mode run's (same config, same binary) up to floating-point rounding: every silo
// computes the same update in both modes (same data, seeds and parameters), but each mode's
// shuffler permutes the reports with its own OS-seeded generator, so the coordinator sums the
// same terms in another order. Each round's mean moves by at most a few ulps of the largest
// term; over 12 rounds of a contracting logistic-regression step that stays far below 1e-9.
// The coordinator never learns a silo's name: its log and every file it wrote are free of them.
TEST(ShufflerProcessTest, FourSilosThroughTheShufflerEndWhereThreadModeEnds) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_run");
  const std::string config = WriteConfig(dir, 4, "test_shuffled_minibatch_sgd");
  const std::vector<double> expected = ThreadModeModel(dir, config);
  ASSERT_EQ(expected.size(), 4u);

  const std::vector<std::unique_ptr<ChildProcess>> processes = RunShuffleModel(dir, config, 4);
  ASSERT_EQ(processes.size(), 6u);
  ChildProcess& coordinator = *processes[0];
  ChildProcess& shuffler = *processes[1];

  const std::vector<double> networked = ReadModel(dir / "net" / "model.bin");
  ASSERT_EQ(networked.size(), expected.size());
  double norm = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(networked[i], expected[i], 1e-9) << i;
    norm += expected[i] * expected[i];
  }
  EXPECT_GT(std::sqrt(norm), 0.1);  // it trained: the comparison is not 0 == 0

  // The shuffler forwarded sealed reports every round; the silos sealed for the pinned key.
  const std::string shuffler_log = shuffler.log();
  EXPECT_NE(shuffler_log.find("round 12: forwarded 4 sealed reports and 0 failures"),
            std::string::npos) << shuffler_log;
  EXPECT_NE(processes[2]->log().find("sealing every report for the pinned coordinator key"),
            std::string::npos);
  // The coordinator never sees a silo's name: not in its log, not in any file it wrote. (The
  // shuffler, which admits the silos, does.)
  const std::string coordinator_view = coordinator.log() + AllFiles(dir / "net");
  EXPECT_EQ(coordinator_view.find("ward-"), std::string::npos) << coordinator.log();
  EXPECT_NE(shuffler_log.find("ward-0"), std::string::npos);
  EXPECT_NE(ReadFile(dir / "net" / "summary.json").find("silos -> shuffler -> coordinator"),
            std::string::npos);
  // Each silo journaled its sealed last answer (the journal holds sealed bytes since FEDSILOJRN2;
  // the current format is 6).
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(ReadFile(dir / "state" / ("ward-" + std::to_string(i) + ".journal")).substr(0, 11),
              "FEDSILOJRN6");
  }
}

// sdp_minibatch_sgd end to end: coordinator, shuffler and 4 silo processes, each silo sending one
// sealed l2-ball report per sampled record (16 per round), the shuffler mixing all 64 reports of a
// round one by one. The final model is thread mode's up to summation order (each silo draws the
// same batch and noise from its private seed in both modes), the coordinator's summary names the
// shuffle accountant and a spent epsilon within the budget, and the shuffler forwarded 64 reports.
TEST(ShufflerProcessTest, SdpMinibatchSgdThroughTheShufflerEndsWhereThreadModeEnds) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_sdp");
  const std::string config = WriteConfig(
      dir, 4, "sdp_minibatch_sgd", 12, 4,
      "privacy: {epsilon: 8, delta: 1.0e-5, clip: 1.0, sampling: without_replacement}\n",
      ", min_replies: 4");
  const std::vector<double> expected = ThreadModeModel(dir, config);
  ASSERT_EQ(expected.size(), 4u);

  const std::vector<std::unique_ptr<ChildProcess>> processes = RunShuffleModel(dir, config, 4);
  ASSERT_EQ(processes.size(), 6u);
  const std::vector<double> networked = ReadModel(dir / "net" / "model.bin");
  ASSERT_EQ(networked.size(), expected.size()) << Logs(processes);
  double moved = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(networked[i], expected[i], 1e-9) << i;
    moved += std::abs(expected[i]);
  }
  EXPECT_GT(moved, 0.05);  // it trained: the comparison is not 0 == 0
  EXPECT_NE(processes[1]->log().find("round 12: forwarded 64 sealed reports and 0 failures"),
            std::string::npos)
      << processes[1]->log();
  const std::string summary = ReadFile(dir / "net" / "summary.json");
  EXPECT_NE(summary.find("\"accountant\": \"shuffle: FMT21 numerical + advanced composition\""),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("\"min_reports_per_round\": 64"), std::string::npos) << summary;
  // Every silo spent at most its budget, and the same in both modes.
  const auto rows = testing::ReadCsvRows(dir / "net" / "silos.csv");
  ASSERT_EQ(rows.size(), 4u);
  for (const std::vector<std::string>& cells : rows) {
    ASSERT_EQ(cells.size(), 15u);
    EXPECT_EQ(cells[11], "1");              // these silos opted in: --reproducible-noise
    EXPECT_EQ(cells[7], "12");              // 12 rounds charged
    EXPECT_LE(std::stod(cells[8]), 8.0);    // epsilon spent
    EXPECT_GT(std::stod(cells[10]), 0.0);   // local eps0
  }
}

// sdp_sum_minibatch_sgd end to end: coordinator, shuffler and 4 silo processes, each silo sending
// the token of its coordinator share (a mask derived in its session) and its shuffler share, the
// shuffler adding the shuffler shares. The decoded sum is exact integer arithmetic whatever the
// order and whatever the masks (they cancel), and each silo draws the same batch, rounding and
// noise from its private seed in both modes, so the final model is thread mode's exactly; the
// shuffler forwarded 4 tokens and its total each round, and every silo spent at most its budget.
TEST(ShufflerProcessTest, SdpSumMinibatchSgdThroughTheShufflerEndsExactlyWhereThreadModeEnds) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_sdp_sum");
  const std::string config = WriteConfig(
      dir, 4, "sdp_sum_minibatch_sgd", 12, 4,
      "privacy: {epsilon: 8, delta: 1.0e-5, clip: 1.0, min_silo_records: 150}\n",
      ", min_replies: 4");
  const std::vector<double> expected = ThreadModeModel(dir, config);
  ASSERT_EQ(expected.size(), 4u);

  const std::vector<std::unique_ptr<ChildProcess>> processes = RunShuffleModel(dir, config, 4);
  ASSERT_EQ(processes.size(), 6u);
  const std::vector<double> networked = ReadModel(dir / "net" / "model.bin");
  ASSERT_EQ(networked.size(), expected.size()) << Logs(processes);
  double moved = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(networked[i], expected[i]) << i;
    moved += std::abs(expected[i]);
  }
  EXPECT_GT(moved, 0.05);  // it trained: the comparison is not 0 == 0
  EXPECT_NE(processes[1]->log().find("round 12: forwarded 4 sealed reports and 0 failures"),
            std::string::npos)
      << processes[1]->log();
  const std::string summary = ReadFile(dir / "net" / "summary.json");
  EXPECT_NE(summary.find("\"calibration\": \"secure_sum\""), std::string::npos) << summary;
  const auto rows = testing::ReadCsvRows(dir / "net" / "silos.csv");
  ASSERT_EQ(rows.size(), 4u);
  for (const std::vector<std::string>& cells : rows) {
    ASSERT_EQ(cells.size(), 15u);
    EXPECT_EQ(cells[7], "12");            // 12 rounds served
    EXPECT_LE(std::stod(cells[8]), 8.0);  // epsilon spent
  }
}

// Private fair FL through the secure sum (sdp_sum_fair_fermi) with real processes: each silo
// process releases its own noisy group counts, clips theta and W apart and sends only its token
// and its shuffler share; the coordinator decodes, descends on theta and ascends on W. The final
// [theta | W] equals thread mode's bit for bit (reproducible noise), and W moved.
TEST(ShufflerProcessTest, SdpSumFairFermiThroughTheShufflerEndsExactlyWhereThreadModeEnds) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_sdp_sum_fermi");
  // 960 records: group g, x1 ~ N(g, 1), x2 ~ N(0, 1), label 1 w.p. sigmoid(2 x1 + x2 - 1).
  std::mt19937_64 rng(4);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  std::ostringstream csv;
  csv << "x1,x2,grp,label\n";
  for (int i = 0; i < 960; ++i) {
    const int g = uniform(rng) < 0.4 ? 1 : 0;
    const double x1 = g + normal(rng), x2 = normal(rng);
    const double p = 1.0 / (1.0 + std::exp(-(2.0 * x1 + x2 - 1.0)));
    csv << x1 << "," << x2 << "," << (g ? "b" : "a") << "," << (uniform(rng) < p ? "yes" : "no")
        << "\n";
  }
  testing::WriteFile(dir / "data.csv", csv.str());
  testing::WriteFile(
      dir / "experiment.yaml",
      "seed: 9\n"
      "data: {dataset: csv, train: " + (dir / "data.csv").string() +
          ", label: label, positive: \"yes\", categorical: [grp], sensitive: grp, drop: [grp]}\n"
          "partition: {scheme: iid, silos: 3}\n"
          "model: {type: logistic}\n"
          "algorithm: {name: sdp_sum_fair_fermi, rounds: 12, batch_size: 32, lr: 0.5, "
          "personalize_steps: 0}\n"
          "fairness: {lambda: 2, w_clip: 4, marginals: local}\n"
          "privacy: {epsilon: 8, delta: 1.0e-5, clip: 1.0, min_silo_records: 250}\n"
          "output: {eval_every: 4, save_model: true}\n"
          "network: {join_timeout_seconds: 30, round_timeout_seconds: 20, min_replies: 3}\n");
  const std::string config = (dir / "experiment.yaml").string();
  const std::vector<double> expected = ThreadModeModel(dir, config);
  ASSERT_EQ(expected.size(), 7u);  // theta (2 weights, bias) and W (2 classes x 2 groups)
  const std::vector<std::unique_ptr<ChildProcess>> processes = RunShuffleModel(dir, config, 3);
  ASSERT_EQ(processes.size(), 5u);
  const std::vector<double> networked = ReadModel(dir / "net" / "model.bin");
  ASSERT_EQ(networked.size(), expected.size()) << Logs(processes);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(networked[i], expected[i]) << i;
  double w_moved = 0;
  for (size_t i = 3; i < expected.size(); ++i) w_moved += std::abs(expected[i]);
  EXPECT_GT(w_moved, 1e-3);  // W ascended
  const std::string summary = ReadFile(dir / "net" / "summary.json");
  EXPECT_NE(summary.find("\"calibration\": \"secure_sum\""), std::string::npos) << summary;
  const auto rows = testing::ReadCsvRows(dir / "net" / "silos.csv");
  ASSERT_EQ(rows.size(), 3u);
  for (const std::vector<std::string>& cells : rows) {
    EXPECT_EQ(cells[7], "12");            // 12 rounds served
    EXPECT_GT(std::stod(cells[8]), 0.0);  // epsilon spent: the count release and the rounds
    EXPECT_LE(std::stod(cells[8]), 8.0);
  }
}

// Refusals with real processes: a silo that dials the coordinator directly in a shuffle-model
// run is refused by the coordinator; a silo without the coordinator's pinned public key refuses
// to join through the shuffler; a coordinator without a sealing key refuses to start.
TEST(ShufflerProcessTest, DirectSilosAndSilosWithoutAPinnedKeyAreRefused) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_refusals");
  const std::string config = WriteConfig(dir, 2, "test_shuffled_minibatch_sgd");
  ChildProcess keyless_coordinator({"coordinator", config, "--listen", "127.0.0.1:0", "--insecure",
                                    "--dry-run"},
                                   dir / "keyless.log", kBinary);
  EXPECT_EQ(keyless_coordinator.Wait(seconds(30)), 2);
  EXPECT_NE(keyless_coordinator.log().find("needs --sealing-key FILE"), std::string::npos)
      << keyless_coordinator.log();

  ChildProcess coordinator({"coordinator", config, "--listen", "127.0.0.1:0", "--insecure",
                            "--port-file", (dir / "coordinator.port").string(), "--out",
                            (dir / "net").string(), "--sealing-key",
                            (dir / "coordinator.key").string(), "--quiet"},
                           dir / "coordinator.log", kBinary);
  const std::string coordinator_port = WaitForLine(dir / "coordinator.port", 30);
  ASSERT_FALSE(coordinator_port.empty()) << coordinator.log();
  ChildProcess direct({"silo", "--coordinator", "127.0.0.1:" + coordinator_port, "--insecure",
                       "--name", "ward-0", "--shard", "0", "--coordinator-public-key",
                       (dir / "coordinator.key.pub").string()},
                      dir / "direct.log", kBinary);
  EXPECT_EQ(direct.Wait(seconds(30)), 2) << direct.log();
  EXPECT_NE(direct.log().find("is shuffle-model: silos join the shuffler"), std::string::npos)
      << direct.log();
  EXPECT_NE(coordinator.log().find("refused a silo session"), std::string::npos)
      << coordinator.log();

  ChildProcess shuffler({"shuffler", "--listen", "127.0.0.1:0", "--insecure", "--port-file",
                         (dir / "shuffler.port").string(), "--coordinator",
                         "127.0.0.1:" + coordinator_port},
                        dir / "shuffler.log", kBinary);
  const std::string shuffler_port = WaitForLine(dir / "shuffler.port", 30);
  ASSERT_FALSE(shuffler_port.empty()) << shuffler.log() << coordinator.log();
  ChildProcess keyless({"silo", "--coordinator", "127.0.0.1:" + shuffler_port, "--insecure",
                        "--name", "ward-1", "--shard", "1"},
                       dir / "keyless_silo.log", kBinary);
  EXPECT_EQ(keyless.Wait(seconds(30)), 2) << keyless.log();
  EXPECT_NE(keyless.log().find("needs the coordinator's public key pinned with "
                               "--coordinator-public-key"),
            std::string::npos)
      << keyless.log();
  // Neither refused silo sent anything: no round started.
  EXPECT_FALSE(fs::exists(dir / "net" / "metrics.csv") &&
               ReadFile(dir / "net" / "metrics.csv").find("\n4,") != std::string::npos);
}

// The other direction: in a run of an ordinary algorithm, a silo with a pinned coordinator key
// refuses to join (it never sends a report in the clear), and a shuffler finds no shuffler link to
// connect to (the coordinator does not serve one) and stops with the reason.
TEST(ShufflerProcessTest, APlainRunRefusesSealingSilosAndHasNoShufflerLink) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_plain_run");
  const std::string config = WriteConfig(dir, 2, "minibatch_sgd");
  testing::WriteFile(dir / "coordinator.key.pub", std::string(64, 'a') + "\n");
  ChildProcess coordinator({"coordinator", config, "--listen", "127.0.0.1:0", "--insecure",
                            "--port-file", (dir / "coordinator.port").string(), "--out",
                            (dir / "net").string(), "--quiet"},
                           dir / "coordinator.log", kBinary);
  const std::string port = WaitForLine(dir / "coordinator.port", 30);
  ASSERT_FALSE(port.empty()) << coordinator.log();
  ChildProcess sealing_silo({"silo", "--coordinator", "127.0.0.1:" + port, "--insecure", "--name",
                             "ward-0", "--shard", "0", "--coordinator-public-key",
                             (dir / "coordinator.key.pub").string()},
                            dir / "silo.log", kBinary);
  EXPECT_EQ(sealing_silo.Wait(seconds(30)), 2) << sealing_silo.log();
  EXPECT_NE(sealing_silo.log().find("refuses to send its reports in the clear"), std::string::npos)
      << sealing_silo.log();
  ChildProcess shuffler({"shuffler", "--listen", "127.0.0.1:0", "--insecure", "--coordinator",
                         "127.0.0.1:" + port},
                        dir / "shuffler.log", kBinary);
  EXPECT_EQ(shuffler.Wait(seconds(30)), 1) << shuffler.log();
  EXPECT_NE(shuffler.log().find("the coordinator refused this shuffler: it serves no shuffler link "
                                "(its run's algorithm is not shuffle-model)"),
            std::string::npos)
      << shuffler.log();
}

// Hand-written silos (the generated stub, tests/server/test_silo.h) against a real shuffler and
// coordinator: each round one silo sends a report sealed for the coordinator's key, the other a
// delta in the clear. The shuffler forwards the sealed report and turns the clear one into a
// failure without forwarding it: the coordinator's metrics count 1 reply and 1 failure per round,
// and the clear values (a number no honest run produces) appear nowhere the coordinator wrote.
TEST(ShufflerProcessTest, TheShufflerForwardsSealedReportsOnlyNeverAClearDelta) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_clear_delta");
  const std::string config = WriteConfig(dir, 2, "test_shuffled_minibatch_sgd", 2, 1);
  ChildProcess coordinator({"coordinator", config, "--listen", "127.0.0.1:0", "--insecure",
                            "--port-file", (dir / "coordinator.port").string(), "--out",
                            (dir / "net").string(), "--sealing-key",
                            (dir / "coordinator.key").string(), "--quiet"},
                           dir / "coordinator.log", kBinary);
  const std::string coordinator_port = WaitForLine(dir / "coordinator.port", 30);
  ASSERT_FALSE(coordinator_port.empty()) << coordinator.log();
  ChildProcess shuffler({"shuffler", "--listen", "127.0.0.1:0", "--insecure", "--port-file",
                         (dir / "shuffler.port").string(), "--coordinator",
                         "127.0.0.1:" + coordinator_port},
                        dir / "shuffler.log", kBinary);
  const std::string shuffler_port = WaitForLine(dir / "shuffler.port", 30);
  ASSERT_FALSE(shuffler_port.empty()) << shuffler.log();
  absl::StatusOr<ReportPublicKey> key = ReadReportPublicKey((dir / "coordinator.key.pub").string());
  ASSERT_TRUE(key.ok()) << key.status();

  const auto channel = grpc::CreateChannel("127.0.0.1:" + shuffler_port,
                                           grpc::InsecureChannelCredentials());
  testing::TestSilo sealing(channel), clear(channel);
  ASSERT_TRUE(sealing.Join("ward-0", 4, 0).has_value()) << shuffler.log();
  ASSERT_TRUE(clear.Join("ward-1", 4, 1).has_value()) << shuffler.log();
  for (uint32_t round = 1; round <= 2; ++round) {
    const auto task_a = sealing.ReadTask();
    const auto task_b = clear.ReadTask();
    ASSERT_TRUE(task_a.has_value() && task_b.has_value()) << coordinator.log() << shuffler.log();
    ASSERT_EQ(task_a->round(), round);
    auto sealed = SealReport(ReportPayload{static_cast<int>(round), 1.0, Vector::Constant(4, 0.125)},
                             *key);
    ASSERT_TRUE(sealed.ok());
    ASSERT_TRUE(sealing.SendSealed(round, *sealed));
    ASSERT_TRUE(clear.SendUpdate(round, {4242.4242, 4242.4242, 4242.4242, 4242.4242}, 1.0));
  }
  ASSERT_EQ(coordinator.Wait(seconds(60)), 0) << coordinator.log() << shuffler.log();
  EXPECT_EQ(shuffler.Wait(seconds(15)), 0) << shuffler.log();
  // The shuffler's edge refuses the clear delta on arrival: that silo's reply fails alone.
  EXPECT_NE(shuffler.log().find("silo 1 failed round 1: the update of silo 1 for round 1 carries "
                                "a delta in the clear; this run takes only sealed reports"),
            std::string::npos) << shuffler.log();
  EXPECT_NE(shuffler.log().find("round 2: forwarded 1 sealed reports and 1 failures"),
            std::string::npos) << shuffler.log();
  // metrics.csv: replies 1 and failures 1 in both rounds.
  std::stringstream metrics(ReadFile(dir / "net" / "metrics.csv"));
  std::string header, row, cell;
  std::getline(metrics, header);
  std::vector<std::string> names;
  for (std::stringstream h(header); std::getline(h, cell, ',');) names.push_back(cell);
  int rows = 0, checked = 0;
  while (std::getline(metrics, row)) {
    std::stringstream cells(row);
    for (size_t i = 0; std::getline(cells, cell, ','); ++i) {
      if (i < names.size() && (names[i] == "replies" || names[i] == "failures")) {
        EXPECT_EQ(cell, "1") << names[i] << " in " << row;
        ++checked;
      }
    }
    ++rows;
  }
  EXPECT_EQ(rows, 2);
  EXPECT_EQ(checked, 4);
  EXPECT_EQ((coordinator.log() + AllFiles(dir / "net")).find("4242.42"), std::string::npos);
}

// A shuffle-model coordinator over mutual TLS: out DIR/net, key DIR/coordinator.key, its port in
// DIR/coordinator.port.
std::vector<std::string> TlsCoordinatorArgs(const fs::path& dir, const std::string& config,
                                            const testing::TestCertificates& certs) {
  return {"coordinator", config, "--listen", "127.0.0.1:0", "--port-file",
          (dir / "coordinator.port").string(), "--out", (dir / "net").string(),
          "--sealing-key", (dir / "coordinator.key").string(), "--tls-cert", certs.server.cert,
          "--tls-key", certs.server.key, "--client-ca", certs.ca, "--quiet"};
}

// Silos silo-a, silo-b and silo-c (shards 0-2) dialing the shuffler at 127.0.0.1:`port` over
// mutual TLS with their test certificates, pinning dir/coordinator.key.pub, journals in
// dir/state.
std::vector<std::unique_ptr<ChildProcess>> StartTlsSilos(const fs::path& dir,
                                                         const testing::TestCertificates& certs,
                                                         const std::string& port) {
  std::vector<std::unique_ptr<ChildProcess>> silos;
  const testing::KeyPair* silo_certs[] = {&certs.silo_a, &certs.silo_b, &certs.silo_c};
  const char* names[] = {"silo-a", "silo-b", "silo-c"};
  for (int i = 0; i < 3; ++i) {
    silos.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{"silo", "--coordinator", "127.0.0.1:" + port, "--name", names[i],
                                 "--shard", std::to_string(i), "--ca", certs.ca, "--cert",
                                 silo_certs[i]->cert, "--key", silo_certs[i]->key,
                                 "--coordinator-public-key",
                                 (dir / "coordinator.key.pub").string(), "--state-dir",
                                 (dir / "state").string(), "--reproducible-noise"},
        dir / (std::string(names[i]) + ".log"), kBinary));
  }
  return silos;
}

// Mutual TLS: the coordinator accepts the shuffler link only from the certificate named
// "shuffler". A shuffler process presenting a silo's certificate (signed by the same CA) is
// refused before any round; the real shuffler then runs 3 TLS silos to the end, and the result
// matches thread mode up to rounding.
TEST(ShufflerProcessTest, MutualTlsLinkOnlyFromTheShufflerCertificate) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_tls");
  const testing::TestCertificates certs = testing::MakeTestCertificates(dir / "certs");
  ASSERT_TRUE(certs.ok()) << certs.error;
  const std::string config = WriteConfig(dir, 3, "test_shuffled_minibatch_sgd");
  ChildProcess reference({"run", config, "--quiet", "--out", (dir / "thread").string()},
                         dir / "thread.log", kBinary);
  ASSERT_EQ(reference.Wait(seconds(60)), 0) << reference.log();

  ChildProcess coordinator(TlsCoordinatorArgs(dir, config, certs), dir / "coordinator.log",
                           kBinary);
  const std::string coordinator_port = WaitForLine(dir / "coordinator.port", 30);
  ASSERT_FALSE(coordinator_port.empty()) << coordinator.log();
  const auto shuffler_args = [&](const testing::KeyPair& client, const std::string& port_file) {
    return std::vector<std::string>{
        "shuffler", "--listen", "127.0.0.1:0", "--port-file", (dir / port_file).string(),
        "--coordinator", "127.0.0.1:" + coordinator_port, "--tls-cert", certs.shuffler.cert,
        "--tls-key", certs.shuffler.key, "--client-ca", certs.ca, "--ca", certs.ca, "--cert",
        client.cert, "--key", client.key, "--connect-timeout", "10", "--state-dir",
        (dir / "shuffler_state").string()};
  };
  ChildProcess impostor(shuffler_args(certs.silo_a, "impostor.port"), dir / "impostor.log", kBinary);
  EXPECT_EQ(impostor.Wait(seconds(30)), 1) << impostor.log();
  EXPECT_NE(impostor.log().find("only the shuffler (certificate common name 'shuffler') may send "
                                "batches; this peer's certificate is for 'silo-a'"),
            std::string::npos)
      << impostor.log();
  EXPECT_NE(coordinator.log().find("refused a shuffler link"), std::string::npos);

  ChildProcess shuffler(shuffler_args(certs.shuffler, "shuffler.port"), dir / "shuffler.log",
                        kBinary);
  const std::string shuffler_port = WaitForLine(dir / "shuffler.port", 30);
  ASSERT_FALSE(shuffler_port.empty()) << shuffler.log() << coordinator.log();
  std::vector<std::unique_ptr<ChildProcess>> silos = StartTlsSilos(dir, certs, shuffler_port);
  ASSERT_EQ(coordinator.Wait(seconds(90)), 0)
      << coordinator.log() << shuffler.log() << Logs(silos);
  EXPECT_EQ(shuffler.Wait(seconds(15)), 0) << shuffler.log();
  for (auto& silo : silos) EXPECT_EQ(silo->Wait(seconds(15)), 0) << silo->log();
  const std::vector<double> expected = ReadModel(dir / "thread" / "model.bin");
  const std::vector<double> networked = ReadModel(dir / "net" / "model.bin");
  ASSERT_EQ(networked.size(), 4u);
  ASSERT_EQ(expected.size(), 4u);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(networked[i], expected[i], 1e-9) << i;
  // (silo-a's name is in the coordinator's log, once: the impostor's refused certificate.)
  for (const char* name : {"silo-b", "silo-c"}) {
    EXPECT_EQ((coordinator.log() + AllFiles(dir / "net")).find(name), std::string::npos) << name;
  }
}

// The secure sum over mutual TLS (silos -> shuffler -> coordinator, every link authenticated):
// the same exact agreement with thread mode as in plaintext.
TEST(ShufflerProcessTest, SdpSumMinibatchSgdOverMutualTlsEndsExactlyWhereThreadModeEnds) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_sum_tls");
  const testing::TestCertificates certs = testing::MakeTestCertificates(dir / "certs");
  ASSERT_TRUE(certs.ok()) << certs.error;
  const std::string config = WriteConfig(
      dir, 3, "sdp_sum_minibatch_sgd", 12, 4,
      "privacy: {epsilon: 8, delta: 1.0e-5, clip: 1.0, min_silo_records: 150}\n",
      ", min_replies: 3");
  const std::vector<double> expected = ThreadModeModel(dir, config);
  ASSERT_EQ(expected.size(), 4u);
  ChildProcess coordinator(TlsCoordinatorArgs(dir, config, certs), dir / "coordinator.log",
                           kBinary);
  const std::string coordinator_port = WaitForLine(dir / "coordinator.port", 30);
  ASSERT_FALSE(coordinator_port.empty()) << coordinator.log();
  ChildProcess shuffler(
      {"shuffler", "--listen", "127.0.0.1:0", "--port-file", (dir / "shuffler.port").string(),
       "--coordinator", "127.0.0.1:" + coordinator_port, "--tls-cert", certs.shuffler.cert,
       "--tls-key", certs.shuffler.key, "--client-ca", certs.ca, "--ca", certs.ca, "--cert",
       certs.shuffler.cert, "--key", certs.shuffler.key, "--connect-timeout", "10",
       "--state-dir", (dir / "shuffler_state").string()},
      dir / "shuffler.log", kBinary);
  const std::string shuffler_port = WaitForLine(dir / "shuffler.port", 30);
  ASSERT_FALSE(shuffler_port.empty()) << shuffler.log() << coordinator.log();
  std::vector<std::unique_ptr<ChildProcess>> silos = StartTlsSilos(dir, certs, shuffler_port);
  ASSERT_EQ(coordinator.Wait(seconds(90)), 0)
      << coordinator.log() << shuffler.log() << Logs(silos);
  EXPECT_EQ(shuffler.Wait(seconds(15)), 0) << shuffler.log();
  for (auto& silo : silos) EXPECT_EQ(silo->Wait(seconds(15)), 0) << silo->log();
  const std::vector<double> networked = ReadModel(dir / "net" / "model.bin");
  ASSERT_EQ(networked.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(networked[i], expected[i]) << i;
  EXPECT_NE(shuffler.log().find("round 12: forwarded 3 sealed reports and 0 failures"),
            std::string::npos)
      << shuffler.log();
}

// Without a roster, a certificate is bound to the shard it first took, and a shuffler that
// authenticates silos by certificate keeps the bindings in --state-dir: killed and restarted,
// it still refuses silo-a's certificate for another shard (fault soak finding: the bindings
// lived in memory, so after a restart any certificate of the CA could take the shard of a silo
// that was down). Without --state-dir such a shuffler refuses to serve, naming it.
TEST(ShufflerProcessTest, CertificateBindingsOutliveAShufflerRestart) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_bindings");
  const testing::TestCertificates certs = testing::MakeTestCertificates(dir / "certs");
  ASSERT_TRUE(certs.ok()) << certs.error;
  const std::string config = WriteConfig(dir, 3, "test_shuffled_minibatch_sgd");
  ChildProcess coordinator(TlsCoordinatorArgs(dir, config, certs), dir / "coordinator.log",
                           kBinary);
  const std::string coordinator_port = WaitForLine(dir / "coordinator.port", 30);
  ASSERT_FALSE(coordinator_port.empty()) << coordinator.log();
  const auto shuffler_args = [&](const std::string& port_file, bool state) {
    std::vector<std::string> args = {
        "shuffler", "--listen", "127.0.0.1:0", "--port-file", (dir / port_file).string(),
        "--coordinator", "127.0.0.1:" + coordinator_port, "--tls-cert", certs.shuffler.cert,
        "--tls-key", certs.shuffler.key, "--client-ca", certs.ca, "--ca", certs.ca, "--cert",
        certs.shuffler.cert, "--key", certs.shuffler.key, "--connect-timeout", "10"};
    if (state) args.insert(args.end(), {"--state-dir", (dir / "shuffler_state").string()});
    return args;
  };
  const auto silo_a = [&](const std::string& port, int shard, const std::string& log) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{"silo", "--coordinator", "127.0.0.1:" + port, "--name", "silo-a",
                                 "--shard", std::to_string(shard), "--ca", certs.ca, "--cert",
                                 certs.silo_a.cert, "--key", certs.silo_a.key,
                                 "--coordinator-public-key", (dir / "coordinator.key.pub").string(),
                                 "--state-dir", (dir / ("state" + log)).string(),
                                 "--connect-timeout", "5"},
        dir / (log + ".log"), kBinary);
  };
  {
    ChildProcess stateless(shuffler_args("stateless.port", false), dir / "stateless.log",
                           kBinary);
    EXPECT_EQ(stateless.Wait(seconds(30)), 2) << stateless.log();
    EXPECT_NE(stateless.log().find("needs --state-dir"), std::string::npos) << stateless.log();
  }
  auto shuffler = std::make_unique<ChildProcess>(shuffler_args("first.port", true),
                                                 dir / "shuffler1.log", kBinary);
  const std::string first_port = WaitForLine(dir / "first.port", 30);
  ASSERT_FALSE(first_port.empty()) << shuffler->log() << coordinator.log();
  auto joined = silo_a(first_port, 0, "a0");
  // The run waits for 3 silos, so silo-a stays connected, bound to shard 0.
  for (int i = 0; i < 500 && shuffler->log().find("('silo-a') joined") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(shuffler->log().find("silo 0 ('silo-a') joined"), std::string::npos) << shuffler->log();
  shuffler->Signal(SIGKILL);
  joined->Signal(SIGKILL);
  ASSERT_TRUE(shuffler->Wait(seconds(5)).has_value());
  ASSERT_TRUE(joined->Wait(seconds(5)).has_value());

  shuffler = std::make_unique<ChildProcess>(shuffler_args("second.port", true),
                                            dir / "shuffler2.log", kBinary);
  const std::string second_port = WaitForLine(dir / "second.port", 30);
  ASSERT_FALSE(second_port.empty()) << shuffler->log() << coordinator.log();
  auto claimant = silo_a(second_port, 1, "a1");
  EXPECT_NE(claimant->Wait(seconds(30)), std::optional<int>(0)) << claimant->log();
  EXPECT_NE(claimant->log().find("silo 'silo-a' joined this run as silo 0; its certificate cannot "
                                 "also speak for silo 1"),
            std::string::npos)
      << claimant->log() << shuffler->log();
  EXPECT_EQ(claimant->log().find("' is silo "), std::string::npos) << claimant->log();
}

// The coordinator is killed (SIGKILL) mid-run and resumed on the same port with the same sealing
// key file: the shuffler keeps its silos and reconnects, the silos keep their pinned key (the key
// pair is reloaded, not regenerated; if the kill fell between the silos' answers and the
// checkpoint, they re-send their journaled sealed answers for that round), and the run ends where
// thread mode ends (up to rounding, as above).
TEST(ShufflerProcessTest, CoordinatorKilledAndResumedTheShufflerReconnects) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_resume");
  const std::string config = WriteConfig(dir, 3, "test_shuffled_minibatch_sgd", 1000, 1);
  ChildProcess reference({"run", config, "--quiet", "--out", (dir / "thread").string()},
                         dir / "thread.log", kBinary);
  ASSERT_EQ(reference.Wait(seconds(120)), 0) << reference.log();
  const std::string address = "127.0.0.1:" + std::to_string(FreePort());
  const auto coordinator_args = [&](bool resume) {
    std::vector<std::string> args = {"coordinator", config, "--listen", address, "--insecure",
                                     "--out", (dir / "net").string(), "--sealing-key",
                                     (dir / "coordinator.key").string(), "--quiet"};
    if (resume) args.push_back("--resume");
    return args;
  };
  auto coordinator = std::make_unique<ChildProcess>(coordinator_args(false),
                                                    dir / "coordinator1.log", kBinary);
  ASSERT_TRUE([&] {
    for (int i = 0; i < 1500 && !fs::exists(dir / "coordinator.key.pub"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return fs::exists(dir / "coordinator.key.pub");
  }()) << coordinator->log();
  const std::string public_key = ReadFile(dir / "coordinator.key.pub");
  ChildProcess shuffler({"shuffler", "--listen", "127.0.0.1:0", "--insecure", "--port-file",
                         (dir / "shuffler.port").string(), "--coordinator", address},
                        dir / "shuffler.log", kBinary);
  const std::string shuffler_port = WaitForLine(dir / "shuffler.port", 30);
  ASSERT_FALSE(shuffler_port.empty()) << shuffler.log();
  std::vector<std::unique_ptr<ChildProcess>> silos;
  for (int i = 0; i < 3; ++i) {
    silos.push_back(StartSilo(dir, "127.0.0.1:" + shuffler_port, i));
  }
  // Kill it once some rounds are done, well before the end.
  WaitForRound(dir, 10);
  coordinator->Signal(SIGKILL);
  ASSERT_TRUE(coordinator->Wait(seconds(10)).has_value());
  const int killed_after = LastRound(dir / "net" / "metrics.csv");
  ASSERT_GE(killed_after, 10) << coordinator->log();
  ASSERT_LT(killed_after, 1000) << "the run ended before the kill; nothing was resumed";

  coordinator = std::make_unique<ChildProcess>(coordinator_args(true), dir / "coordinator2.log",
                                               kBinary);
  ASSERT_EQ(coordinator->Wait(seconds(120)), 0)
      << coordinator->log() << shuffler.log() << Logs(silos);
  EXPECT_EQ(shuffler.Wait(seconds(15)), 0) << shuffler.log();
  for (auto& silo : silos) EXPECT_EQ(silo->Wait(seconds(15)), 0) << silo->log();
  EXPECT_EQ(ReadFile(dir / "coordinator.key.pub"), public_key);  // reloaded, not regenerated
  EXPECT_NE(shuffler.log().find("lost the coordinator"), std::string::npos) << shuffler.log();
  EXPECT_EQ(LastRound(dir / "net" / "metrics.csv"), 1000);
  const std::vector<double> expected = ReadModel(dir / "thread" / "model.bin");
  const std::vector<double> networked = ReadModel(dir / "net" / "model.bin");
  ASSERT_EQ(expected.size(), 4u);
  ASSERT_EQ(networked.size(), 4u);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(networked[i], expected[i], 1e-9) << i;
}

// "round N: forwarded K sealed reports and F failures" lines of a shuffler log: N -> {K, F}, and
// every N seen twice in `repeated`.
std::map<int, std::pair<int, int>> ForwardedRounds(const std::string& log, std::vector<int>* repeated) {
  static const std::regex line(R"(round (\d+): forwarded (\d+) sealed reports and (\d+) failures)");
  std::map<int, std::pair<int, int>> rounds;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator(); ++it) {
    const int round = std::stoi((*it)[1]);
    if (!rounds.emplace(round, std::make_pair(std::stoi((*it)[2]), std::stoi((*it)[3]))).second) {
      repeated->push_back(round);
    }
  }
  return rounds;
}

// The shuffler process is killed (SIGKILL) in the middle of an sdp_minibatch_sgd run and a new
// one started on the same port. The coordinator waits for a shuffler link (at most
// network.join_timeout_seconds per round), the silos reconnect to the address they know, and the
// run completes. The round in flight at the kill, if any, misses its quorum (all 3 silos' reports
// are needed) and is counted in rounds_without_quorum; every other round was forwarded exactly
// once, by one of the two shufflers, with all 48 reports. Each silo's journal charges the rounds
// it answered: every forwarded round, plus at most the lost one (a silo that answered the killed
// shuffler did release a report) -- never a round twice, and what the coordinator's silos.csv
// reports is the journal's count.
TEST(ShufflerProcessTest, ShufflerKilledAndRestartedOnTheSamePortTheRunCompletes) {
  const fs::path dir = testing::FreshTempDir("shuffler_process_shuffler_restart");
  constexpr int kRounds = 300;
  constexpr int kSilos = 3;
  const std::string config = WriteConfig(
      dir, kSilos, "sdp_minibatch_sgd", kRounds, 1,
      "privacy: {epsilon: 8, delta: 1.0e-5, clip: 1.0, sampling: without_replacement}\n",
      ", min_replies: 3");
  ChildProcess coordinator({"coordinator", config, "--listen", "127.0.0.1:0", "--insecure",
                            "--port-file", (dir / "coordinator.port").string(), "--out",
                            (dir / "net").string(), "--sealing-key",
                            (dir / "coordinator.key").string(), "--quiet"},
                           dir / "coordinator.log", kBinary);
  const std::string coordinator_port = WaitForLine(dir / "coordinator.port", 30);
  ASSERT_FALSE(coordinator_port.empty()) << coordinator.log();
  // A fixed port: the silos only know this address, so the new shuffler must take it over.
  const std::string shuffler_address = "127.0.0.1:" + std::to_string(FreePort());
  const std::vector<std::string> shuffler_args = {"shuffler", "--listen", shuffler_address,
                                                  "--insecure", "--coordinator",
                                                  "127.0.0.1:" + coordinator_port};
  auto shuffler = std::make_unique<ChildProcess>(shuffler_args, dir / "shuffler1.log", kBinary);
  std::vector<std::unique_ptr<ChildProcess>> silos;
  for (int i = 0; i < kSilos; ++i) {
    silos.push_back(StartSilo(dir, shuffler_address, i));
  }
  WaitForRound(dir, 10);
  shuffler->Signal(SIGKILL);
  ASSERT_TRUE(shuffler->Wait(seconds(10)).has_value());
  const int killed_after = LastRound(dir / "net" / "metrics.csv");
  ASSERT_GE(killed_after, 10) << coordinator.log() << shuffler->log();
  ASSERT_LT(killed_after, kRounds) << "the run ended before the kill";
  const std::string first_log = shuffler->log();

  shuffler = std::make_unique<ChildProcess>(shuffler_args, dir / "shuffler2.log", kBinary);
  ASSERT_EQ(coordinator.Wait(seconds(180)), 0) << coordinator.log() << shuffler->log() << Logs(silos);
  EXPECT_EQ(shuffler->Wait(seconds(15)), 0) << shuffler->log();
  for (auto& silo : silos) EXPECT_EQ(silo->Wait(seconds(15)), 0) << silo->log();
  const std::string second_log = shuffler->log();
  for (auto& silo : silos) {
    EXPECT_NE(silo->log().find("lost the coordinator"), std::string::npos) << silo->log();
  }
  EXPECT_EQ(LastRound(dir / "net" / "metrics.csv"), kRounds);

  const nlohmann::json summary = nlohmann::json::parse(ReadFile(dir / "net" / "summary.json"),
                                                       nullptr, false);
  ASSERT_FALSE(summary.is_discarded());
  const int missed = summary.value("rounds_without_quorum", -1);
  EXPECT_GE(missed, 0);
  EXPECT_LE(missed, 1) << "only the round in flight at the kill may miss its quorum";

  // Nothing forwarded twice: each round at most once over both shufflers, the new one only rounds
  // after the old one's, and every forwarded round complete.
  std::vector<int> repeated;
  std::map<int, std::pair<int, int>> forwarded = ForwardedRounds(first_log, &repeated);
  const int last_before = forwarded.empty() ? 0 : forwarded.rbegin()->first;
  const std::map<int, std::pair<int, int>> after = ForwardedRounds(second_log, &repeated);
  ASSERT_FALSE(after.empty()) << second_log;
  EXPECT_GT(after.begin()->first, last_before) << "the new shuffler forwarded an old round";
  for (const auto& [round, counts] : after) {
    EXPECT_TRUE(forwarded.emplace(round, counts).second) << "round " << round << " forwarded twice";
  }
  EXPECT_TRUE(repeated.empty()) << ::testing::PrintToString(repeated);
  for (const auto& [round, counts] : forwarded) {
    EXPECT_EQ(counts, std::make_pair(kSilos * 16, 0)) << "round " << round;
  }
  EXPECT_EQ(static_cast<int>(forwarded.size()), kRounds - missed)
      << "each round with quorum came from exactly one forwarded batch";
  EXPECT_EQ(coordinator.log().find("replay"), std::string::npos) << coordinator.log();

  // Each silo's charges: every forwarded round (it answered all of them), at most one more.
  std::vector<std::string> reported;
  for (const std::vector<std::string>& cells : testing::ReadCsvRows(dir / "net" / "silos.csv")) {
    ASSERT_EQ(cells.size(), 15u);
    EXPECT_EQ(cells[11], "1");  // these silos opted in: --reproducible-noise
    reported.push_back(cells[7]);
  }
  ASSERT_EQ(reported.size(), static_cast<size_t>(kSilos));
  std::vector<std::string> journaled;
  for (int i = 0; i < kSilos; ++i) {
    absl::StatusOr<SiloJournal> journal =
        ReadSiloJournal((dir / "state" / ("ward-" + std::to_string(i) + ".journal")).string());
    ASSERT_TRUE(journal.ok()) << journal.status();
    EXPECT_EQ(journal->last_round, kRounds) << i;
    EXPECT_GE(journal->shuffled_rounds, static_cast<int64_t>(forwarded.size())) << i;
    EXPECT_LE(journal->shuffled_rounds, static_cast<int64_t>(forwarded.size()) + missed) << i;
    journaled.push_back(std::to_string(journal->shuffled_rounds));
  }
  // The coordinator's table lists the same counts (silos.csv is by silo id, the journals by
  // name; the multisets agree).
  std::sort(reported.begin(), reported.end());
  std::sort(journaled.begin(), journaled.end());
  EXPECT_EQ(reported, journaled);
}

// A hostile coordinator on the shuffler's link. `fedsilo shuffler` (plaintext loopback, connect
// timeout `connect_timeout` s) against `link`; returns its exit status and how long it took.
struct ShufflerEnd {
  std::optional<int> status;
  double seconds;
  std::string log;
};
ShufflerEnd RunShufflerAgainst(const fs::path& dir, const testing::FakeShufflerLink& link,
                               const std::string& connect_timeout) {
  const auto start = std::chrono::steady_clock::now();
  ChildProcess shuffler({"shuffler", "--listen", "127.0.0.1:0", "--insecure", "--port-file",
                         (dir / "shuffler.port").string(), "--coordinator", link.address(),
                         "--connect-timeout", connect_timeout},
                        dir / "shuffler.log", kBinary);
  ShufflerEnd end;
  end.status = shuffler.Wait(seconds(60));
  end.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  end.log = shuffler.log();
  return end;
}

// Holds the link open until the shuffler cancels it (bounded, so the test cannot hang).
void HoldOpen(grpc::ServerContext* context) {
  testing::HoldUntilCancelled(context, std::chrono::seconds(30));
}

// Found by reading the shuffler's link loop beside silo_session_fuzzer's finding in the silo's:
// the shuffler waited without bound for the coordinator's first message, and for the call's
// status after a first message that was not a LinkWelcome.
TEST(ShufflerProcessTest, ALinkThatNeverAnswersTheHelloEndsTheShufflerWithinItsTimeout) {
  const fs::path dir = testing::FreshTempDir("shuffler_silent_link");
  testing::FakeShufflerLink link([](grpc::ServerContext* context,
                                    testing::FakeShufflerLink::Stream* stream) {
    v1::ShufflerMessage hello;
    stream->Read(&hello);
    HoldOpen(context);
    return grpc::Status::OK;
  });
  ASSERT_TRUE(link.listening());
  const ShufflerEnd end = RunShufflerAgainst(dir, link, "2");
  EXPECT_EQ(end.status, std::optional<int>(1)) << end.log;
  EXPECT_LT(end.seconds, 10.0) << end.log;
  EXPECT_NE(end.log.find("no LinkWelcome from " + link.address() + " within 2 s"),
            std::string::npos) << end.log;
}

TEST(ShufflerProcessTest, ALinkThatAnswersTheHelloWithARoundIsRefusedAtOnce) {
  const fs::path dir = testing::FreshTempDir("shuffler_round_first");
  testing::FakeShufflerLink link([](grpc::ServerContext* context,
                                    testing::FakeShufflerLink::Stream* stream) {
    v1::ShufflerMessage hello;
    stream->Read(&hello);
    v1::LinkMessage round;
    round.mutable_round()->set_round(1);
    round.mutable_round()->add_silo_ids(0);
    stream->Write(round);
    HoldOpen(context);
    return grpc::Status::OK;
  });
  ASSERT_TRUE(link.listening());
  const ShufflerEnd end = RunShufflerAgainst(dir, link, "30");
  EXPECT_EQ(end.status, std::optional<int>(2)) << end.log;
  EXPECT_LT(end.seconds, 5.0) << end.log;
  EXPECT_NE(end.log.find("answered the shuffler's Hello with a RoundRequest instead of a "
                         "LinkWelcome"),
            std::string::npos) << end.log;
}

// What a coordinator's link first sends for the run of `config` (one shuffle-model silo, a
// logistic model over 3 features plus a bias), claiming `num_silos` silos.
v1::LinkMessage WelcomeFor(const std::string& config, uint32_t num_silos = 1) {
  v1::LinkMessage welcome;
  welcome.mutable_welcome()->set_protocol_version(1);
  welcome.mutable_welcome()->set_num_silos(num_silos);
  welcome.mutable_welcome()->set_experiment_yaml(ReadFile(config));
  welcome.mutable_welcome()->set_num_parameters(4);
  welcome.mutable_welcome()->set_run_id("hostile");
  return welcome;
}

// A shuffler whose link welcomes it into the one-silo run of dir/experiment.yaml and, once its
// silo (ward-0, started here) has joined, runs `then` on the link. Returns the shuffler and the
// silo; `then_ran` tells whether the link got that far (within 30 s).
struct JoinedShuffler {
  std::unique_ptr<testing::FakeShufflerLink> link;
  std::unique_ptr<ChildProcess> shuffler;
  std::unique_ptr<ChildProcess> silo;
  std::atomic<bool> then_ran{false};
};
void StartJoinedShuffler(const fs::path& dir, JoinedShuffler* run,
                         std::function<void(grpc::ServerContext*, testing::FakeShufflerLink::Stream*)> then) {
  const std::string config = WriteConfig(dir, 1, "test_shuffled_minibatch_sgd");
  ASSERT_TRUE(CoordinatorKeyPair::LoadOrCreate((dir / "coordinator.key").string()).ok());
  run->link = std::make_unique<testing::FakeShufflerLink>(
      [run, config, then](grpc::ServerContext* context, testing::FakeShufflerLink::Stream* stream) {
        v1::ShufflerMessage message;
        if (!stream->Read(&message) || !stream->Write(WelcomeFor(config))) return grpc::Status::OK;
        if (!stream->Read(&message) || !message.has_joined()) return grpc::Status::OK;
        then(context, stream);
        run->then_ran = true;
        HoldOpen(context);
        return grpc::Status::OK;
      });
  ASSERT_TRUE(run->link->listening());
  run->shuffler = std::make_unique<ChildProcess>(
      std::vector<std::string>{"shuffler", "--listen", "127.0.0.1:0", "--insecure", "--port-file",
                               (dir / "shuffler.port").string(), "--coordinator",
                               run->link->address(), "--connect-timeout", "30"},
      dir / "shuffler.log", kBinary);
  const std::string port = WaitForLine(dir / "shuffler.port", 30);
  ASSERT_FALSE(port.empty()) << run->shuffler->log();
  run->silo = StartSilo(dir, "127.0.0.1:" + port, 0);
  const auto by = std::chrono::steady_clock::now() + seconds(30);
  while (!run->then_ran && std::chrono::steady_clock::now() < by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(run->then_ran) << run->shuffler->log() << run->silo->log();
}

// After its LinkFinish the coordinator keeps the link open: the shuffler tells its silo the run
// is over and leaves within the goodbye bound (5 s), exit 0.
TEST(ShufflerProcessTest, ALinkHeldOpenAfterItsFinishCannotKeepTheShufflerAlive) {
  const fs::path dir = testing::FreshTempDir("shuffler_finish_held");
  JoinedShuffler run;
  StartJoinedShuffler(dir, &run, [](grpc::ServerContext*, testing::FakeShufflerLink::Stream* stream) {
    v1::LinkMessage finish;
    finish.mutable_finish()->set_reason("the run is over");
    stream->Write(finish);
  });
  if (HasFatalFailure()) return;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run.shuffler->Wait(seconds(40)), 0) << run.shuffler->log();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 15.0)
      << run.shuffler->log();
  EXPECT_NE(run.shuffler->log().find("the coordinator ended the run"), std::string::npos)
      << run.shuffler->log();
  EXPECT_EQ(run.silo->Wait(seconds(15)), 0) << run.silo->log();
}

// shuffler_link_fuzzer's finding: a LinkWelcome claiming 4,294,967,295 silos made the shuffler
// size its per-silo tables by it and abort (std::length_error). The count must be the one its
// own config states (partition.silos, at most 100,000).
TEST(ShufflerProcessTest, ALinkWelcomeWhoseSiloCountIsNotItsConfigsIsRefused) {
  const fs::path dir = testing::FreshTempDir("shuffler_welcome_count");
  const std::string config = WriteConfig(dir, 1, "test_shuffled_minibatch_sgd");
  testing::FakeShufflerLink link([&](grpc::ServerContext* context,
                                     testing::FakeShufflerLink::Stream* stream) {
    v1::ShufflerMessage hello;
    stream->Read(&hello);
    stream->Write(WelcomeFor(config, 4294967295u));
    HoldOpen(context);
    return grpc::Status::OK;
  });
  ASSERT_TRUE(link.listening());
  const ShufflerEnd end = RunShufflerAgainst(dir, link, "30");
  EXPECT_EQ(end.status, std::optional<int>(2)) << end.log;
  EXPECT_NE(end.log.find("the coordinator's LinkWelcome names 4294967295 silos but its config's "
                         "partition.silos is 1"),
            std::string::npos) << end.log;
}

// A round that asks a silo outside the run, or one silo twice, is a coordinator that breaks the
// protocol (the request's size would otherwise set what the shuffler allocates): it ends the
// shuffler with a named error, exit 2.
TEST(ShufflerProcessTest, ARoundAskingASiloOutsideTheRunEndsTheShuffler) {
  const fs::path dir = testing::FreshTempDir("shuffler_round_ids");
  JoinedShuffler run;
  StartJoinedShuffler(dir, &run, [](grpc::ServerContext*, testing::FakeShufflerLink::Stream* stream) {
    v1::LinkMessage round;
    round.mutable_round()->set_round(1);
    round.mutable_round()->add_silo_ids(0);
    round.mutable_round()->add_silo_ids(7);
    for (int i = 0; i < 4; ++i) round.mutable_round()->mutable_global_parameters()->add_values(0);
    stream->Write(round);
  });
  if (HasFatalFailure()) return;
  EXPECT_EQ(run.shuffler->Wait(seconds(20)), 2) << run.shuffler->log();
  EXPECT_NE(run.shuffler->log().find("the coordinator's round 1 asks silo 7, not a silo of this "
                                     "run (1 silos)"),
            std::string::npos) << run.shuffler->log();
  run.silo->Wait(seconds(15));
}

}  // namespace
}  // namespace fedsilo

