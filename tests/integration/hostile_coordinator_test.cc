// A real `fedsilo silo` process (labelled `slow`) against a scripted coordinator over a real gRPC
// socket on 127.0.0.1 (tests/testing/fake_coordinator.h): what a hostile or careless coordinator
// can and cannot make a silo do. The silo holds its own CSV file and its own config; the fake
// coordinator sends the Welcome, tasks at parameters of its choosing, and reads the replies.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/data/data_schema.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_coordinator.h"
#include "tests/testing/loopback.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::FakeCoordinator;

constexpr uint64_t kParameters = 4;  // logistic over x1, x2, x3 plus a bias

// An ISRL-DP minibatch SGD config over the silo's own CSV file (standardize off: the features are
// used as written). The same text is the silo's own config and the coordinator's Welcome.
// With `test_csv`, every record of `csv` is training data (else 20% are held out for testing).
std::string Config(const fs::path& csv, const std::string& extra_privacy = "", int batch = 16,
                   const fs::path& test_csv = {}) {
  std::ostringstream yaml;
  yaml << "seed: 11\n"
       << "data: {dataset: csv, train: " << csv.string()
       << (test_csv.empty() ? "" : ", test: " + test_csv.string())
       << ", label: label, positive: \"yes\", standardize: false}\n"
       << "model: {type: logistic}\n"
       << "algorithm: {name: isrl_dp_minibatch_sgd, rounds: 5, batch_size: " << batch << ", lr: 0.5, "
          "personalize_steps: 0}\n"
       << "privacy: {epsilon: 4, delta: 1.0e-5, clip: 1" << extra_privacy << "}\n"
       << "network: {join_timeout_seconds: 20, round_timeout_seconds: 20}\n";
  return yaml.str();
}

// What the fake coordinator saw of one silo session.
struct Seen {
  std::optional<v1::Ready> ready;
  std::vector<v1::SiloMessage> replies;
};

// Runs one silo process (`extra` after the usual arguments) against a coordinator that welcomes it
// with `welcome_yaml` and asks one task per entry of `tasks` (round r + 1 at tasks[r]), then ends
// the run. Returns what the coordinator saw and the silo's exit status.
struct SiloRun {
  Seen seen;
  std::optional<int> exit_status;
  std::string log;
};

SiloRun RunSilo(const fs::path& dir, const std::string& name, const fs::path& csv,
                const fs::path& silo_config, const std::string& welcome_yaml,
                const std::vector<std::vector<double>>& tasks,
                const std::vector<std::string>& extra) {
  SiloRun run;
  std::mutex mutex;
  FakeCoordinator coordinator([&](grpc::ServerContext*, FakeCoordinator::Stream* stream) {
    Seen seen;
    seen.ready = testing::Join(stream, welcome_yaml, kParameters);
    if (seen.ready) {
      for (size_t r = 0; r < tasks.size(); ++r) {
        std::optional<v1::SiloMessage> reply =
            testing::Ask(stream, static_cast<uint32_t>(r + 1), tasks[r]);
        if (!reply) break;
        seen.replies.push_back(*reply);
      }
      testing::Finish(stream);
    }
    std::lock_guard<std::mutex> lock(mutex);
    run.seen = seen;
    return grpc::Status::OK;
  });
  EXPECT_TRUE(coordinator.listening());
  std::vector<std::string> args = {"silo",   "--coordinator", coordinator.address(), "--insecure",
                                   "--name", name,            "--data",              csv.string(),
                                   "--config", silo_config.string(), "--connect-timeout", "10"};
  args.insert(args.end(), extra.begin(), extra.end());
  ChildProcess silo(args, dir / (name + ".log"));
  run.exit_status = silo.Wait(60s);
  run.log = silo.log();
  std::lock_guard<std::mutex> lock(mutex);
  return run;
}

std::vector<double> Delta(const v1::SiloMessage& reply) {
  const auto& values = reply.update().delta().values();
  return {values.begin(), values.end()};
}

class HostileCoordinatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::FreshTempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    testing::WriteLogisticCsv(dir_ / "data.csv", 200, 3);
    testing::WriteFile(dir_ / "silo.yaml", Config(dir_ / "data.csv"));
  }
  SiloRun Run(const std::string& name, const std::string& welcome_yaml,
              const std::vector<std::string>& extra, int tasks = 1) {
    return RunSilo(dir_, name, dir_ / "data.csv", dir_ / "silo.yaml", welcome_yaml,
                   std::vector<std::vector<double>>(tasks, std::vector<double>(kParameters, 0.0)),
                   extra);
  }
  fs::path dir_;
};

// Two silo processes with the same config, seed and id draw different noise: the seed is the
// silo's own OS entropy, even when the coordinator's config asks for reproducible noise
// (privacy.secure_noise: false). Only the silo's own --reproducible-noise makes two runs agree.
TEST_F(HostileCoordinatorTest, NoiseIsSecretUnlessTheSiloItselfOptsIn) {
  const std::string asks_for_reproducible = Config(dir_ / "data.csv", ", secure_noise: false");
  std::vector<std::vector<double>> secret, reproducible;
  for (int i = 0; i < 2; ++i) {
    const std::string state = (dir_ / ("secret" + std::to_string(i))).string();
    SiloRun run = Run("secret" + std::to_string(i), asks_for_reproducible, {"--state-dir", state});
    ASSERT_EQ(run.exit_status, 0) << run.log;
    ASSERT_TRUE(run.seen.ready.has_value()) << run.log;
    EXPECT_FALSE(run.seen.ready->privacy().reproducible_noise());
    ASSERT_EQ(run.seen.replies.size(), 1u) << run.log;
    ASSERT_TRUE(run.seen.replies[0].has_update()) << run.log;
    EXPECT_FALSE(run.seen.replies[0].update().privacy().reproducible_noise());
    secret.push_back(Delta(run.seen.replies[0]));
  }
  for (int i = 0; i < 2; ++i) {
    const std::string state = (dir_ / ("reproducible" + std::to_string(i))).string();
    SiloRun run = Run("reproducible" + std::to_string(i), asks_for_reproducible,
                      {"--state-dir", state, "--reproducible-noise"});
    ASSERT_EQ(run.exit_status, 0) << run.log;
    ASSERT_EQ(run.seen.replies.size(), 1u) << run.log;
    ASSERT_TRUE(run.seen.replies[0].has_update()) << run.log;
    EXPECT_TRUE(run.seen.replies[0].update().privacy().reproducible_noise());
    EXPECT_NE(run.log.find("can recompute and subtract every noise vector"), std::string::npos)
        << run.log;
    reproducible.push_back(Delta(run.seen.replies[0]));
  }
  ASSERT_EQ(secret[0].size(), kParameters);
  EXPECT_NE(secret[0], secret[1]);
  EXPECT_EQ(reproducible[0], reproducible[1]);
  EXPECT_NE(reproducible[0], secret[0]);
}

// One source of truth for training: a coordinator whose run differs from the silo's own config
// in anything but data, privacy, network and output (here the learning rate) is refused at join,
// naming the key and both values; the silo never trains with settings the run does not record.
TEST_F(HostileCoordinatorTest, TrainingSettingsThatDifferFromTheSilosAreRefusedAtJoin) {
  std::string theirs = Config(dir_ / "data.csv");
  const size_t lr = theirs.find("lr: 0.5");
  ASSERT_NE(lr, std::string::npos);
  theirs.replace(lr, 7, "lr: 0.25");
  SiloRun run = Run("strict", theirs, {"--state-dir", (dir_ / "state").string()});
  EXPECT_EQ(run.exit_status, std::optional<int>(2)) << run.log;
  EXPECT_TRUE(run.seen.replies.empty());
  EXPECT_NE(run.log.find("this silo's config sets algorithm.lr to 0.5 but the coordinator's run "
                         "has 0.25"),
            std::string::npos)
      << run.log;
  // Its own privacy budget may differ: that is the silo's decision.
  std::string larger_budget = Config(dir_ / "data.csv");
  larger_budget.replace(larger_budget.find("epsilon: 4"), 10, "epsilon: 9");
  SiloRun own_budget = Run("budget", larger_budget, {"--state-dir", (dir_ / "state2").string()});
  EXPECT_EQ(own_budget.exit_status, 0) << own_budget.log;
  ASSERT_EQ(own_budget.seen.replies.size(), 1u) << own_budget.log;
  EXPECT_TRUE(own_budget.seen.replies[0].has_update()) << own_budget.log;
}

// A peer that takes the silo's Hello and never answers (a stopped or fake coordinator) cannot keep
// the silo waiting: it gives up after its connect timeout, naming what is missing, exit non-zero.
TEST_F(HostileCoordinatorTest, NoWelcomeEndsTheSiloWithinItsTimeout) {
  std::atomic<int> hellos{0};
  FakeCoordinator coordinator([&](grpc::ServerContext* context, FakeCoordinator::Stream* stream) {
    v1::SiloMessage hello;
    if (stream->Read(&hello) && hello.has_hello()) ++hellos;
    // Silent until the silo gives up (bounded, so the test cannot hang).
    testing::HoldUntilCancelled(context, std::chrono::seconds(15));
    return grpc::Status::OK;
  });
  ASSERT_TRUE(coordinator.listening());
  const auto start = std::chrono::steady_clock::now();
  ChildProcess silo({"silo", "--coordinator", coordinator.address(), "--insecure", "--name",
                     "waiting", "--data", (dir_ / "data.csv").string(), "--config",
                     (dir_ / "silo.yaml").string(), "--connect-timeout", "2", "--state-dir",
                     (dir_ / "state").string()},
                    dir_ / "waiting.log");
  const std::optional<int> status = silo.Wait(30s);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(status, std::optional<int>(1)) << silo.log();
  EXPECT_LT(waited, 10.0);
  EXPECT_GE(hellos.load(), 1);
  EXPECT_NE(silo.log().find("no Welcome from " + coordinator.address() + " within 2 s"),
            std::string::npos)
      << silo.log();
}

// A coordinator that sends Finish and then holds the stream open cannot keep the silo process
// alive: it ends the session on its side within its goodbye timeout (5 s) and exits 0.
TEST_F(HostileCoordinatorTest, ACoordinatorThatNeverClosesAfterFinishCannotKeepTheSiloAlive) {
  std::atomic<bool> finished{false};
  FakeCoordinator coordinator([&](grpc::ServerContext* context, FakeCoordinator::Stream* stream) {
    if (!testing::Join(stream, Config(dir_ / "data.csv"), kParameters)) return grpc::Status::OK;
    testing::Finish(stream);
    finished = true;
    // Open until the silo cancels (bounded, so the test cannot hang).
    testing::HoldUntilCancelled(context, std::chrono::seconds(30));
    return grpc::Status::OK;
  });
  ASSERT_TRUE(coordinator.listening());
  ChildProcess silo({"silo", "--coordinator", coordinator.address(), "--insecure", "--name",
                     "held", "--data", (dir_ / "data.csv").string(), "--config",
                     (dir_ / "silo.yaml").string(), "--connect-timeout", "10", "--state-dir",
                     (dir_ / "state").string()},
                    dir_ / "held.log");
  const auto start_by = std::chrono::steady_clock::now() + 20s;
  while (!finished && std::chrono::steady_clock::now() < start_by) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(finished) << silo.log();
  const auto start = std::chrono::steady_clock::now();
  const std::optional<int> status = silo.Wait(40s);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(status, std::optional<int>(0)) << silo.log();
  EXPECT_LT(waited, 15.0) << silo.log();
  EXPECT_NE(silo.log().find("the coordinator ended the run"), std::string::npos) << silo.log();
}

// Found by the fault soak (run 4 of 2026-12-03: 15 silos never rejoined a shuffler that was back
// on its port within a second, and gave up "Connection refused"). A silo that loses its
// coordinator late in its connect timeout (here 5 s into 6) must find it back at its address at
// once: on the old channel gRPC's own reconnect schedule kept failing every call with the old
// error for 10 s (this test failed that way before each attempt dialled a fresh channel).
// The soak's silos also showed that the timeout restarted only after a Ready that went through
// (their logs lack "lost the coordinator"): it now restarts after any Welcome. That case needs
// the Ready's write to fail, which gRPC does not do reliably here, so it is not tested.
TEST_F(HostileCoordinatorTest, ACoordinatorBackAtItsAddressIsFoundAtOnce) {
  const int port = testing::FreePort();
  std::atomic<bool> welcomed{false};
  auto first = std::make_unique<FakeCoordinator>(
      [&](grpc::ServerContext* context, FakeCoordinator::Stream* stream) {
        v1::SiloMessage hello;
        if (welcomed || !stream->Read(&hello)) return grpc::Status::OK;
        std::this_thread::sleep_for(5s);
        v1::CoordinatorMessage welcome;
        welcome.mutable_welcome()->set_protocol_version(1);
        welcome.mutable_welcome()->set_experiment_yaml(Config(dir_ / "data.csv"));
        welcome.mutable_welcome()->set_num_parameters(kParameters);
        welcome.mutable_welcome()->set_num_silos(1);
        stream->Write(welcome);
        welcomed = true;
        testing::HoldUntilCancelled(context, std::chrono::seconds(6));  // until StopNow
        return grpc::Status::OK;
      },
      port);
  ASSERT_TRUE(first->listening());
  const auto started = std::chrono::steady_clock::now();
  ChildProcess silo({"silo", "--coordinator", first->address(), "--insecure", "--name", "late",
                     "--data", (dir_ / "data.csv").string(), "--config",
                     (dir_ / "silo.yaml").string(), "--connect-timeout", "6", "--state-dir",
                     (dir_ / "state").string()},
                    dir_ / "late.log");
  while (!welcomed && std::chrono::steady_clock::now() - started < 20s) {
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(welcomed) << silo.log();
  first->StopNow();  // the coordinator dies
  first.reset();
  // Back after the first timeout has passed, 4.5 s before the second (the silo retries at least
  // every 2 s, each time on a fresh channel).
  std::this_thread::sleep_until(started + 6500ms);
  FakeCoordinator second(
      [&](grpc::ServerContext*, FakeCoordinator::Stream* stream) {
        if (testing::Join(stream, Config(dir_ / "data.csv"), kParameters)) testing::Finish(stream);
        return grpc::Status::OK;
      },
      port);
  ASSERT_TRUE(second.listening());
  EXPECT_EQ(silo.Wait(40s), std::optional<int>(0)) << silo.log();
  EXPECT_NE(silo.log().find("the coordinator ended the run"), std::string::npos) << silo.log();
}

// A peer that answers the Hello with a Task (found by silo_session_fuzzer) and then holds the
// stream open: the silo used to wait for the call's status forever. It now hangs up at once and
// names what it got, exit 2.
TEST_F(HostileCoordinatorTest, APeerThatAnswersTheHelloWithATaskIsRefusedAtOnce) {
  std::atomic<bool> sent{false};
  FakeCoordinator coordinator([&](grpc::ServerContext* context, FakeCoordinator::Stream* stream) {
    v1::SiloMessage hello;
    if (!stream->Read(&hello)) return grpc::Status::OK;
    v1::CoordinatorMessage task;
    task.mutable_task()->set_round(1);
    for (uint64_t i = 0; i < kParameters; ++i) {
      task.mutable_task()->mutable_global_parameters()->add_values(0);
    }
    stream->Write(task);
    sent = true;
    testing::HoldUntilCancelled(context, std::chrono::seconds(30));  // open until the silo cancels
    return grpc::Status::OK;
  });
  ASSERT_TRUE(coordinator.listening());
  ChildProcess silo({"silo", "--coordinator", coordinator.address(), "--insecure", "--name",
                     "asked", "--data", (dir_ / "data.csv").string(), "--config",
                     (dir_ / "silo.yaml").string(), "--connect-timeout", "10", "--state-dir",
                     (dir_ / "state").string()},
                    dir_ / "asked.log");
  const auto start = std::chrono::steady_clock::now();
  const std::optional<int> status = silo.Wait(40s);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(sent);
  EXPECT_EQ(status, std::optional<int>(2)) << silo.log();
  EXPECT_LT(waited, 5.0) << silo.log();
  EXPECT_NE(silo.log().find("answered this silo's Hello with a Task instead of a Welcome"),
            std::string::npos)
      << silo.log();
}

// Two processes for one silo (one state directory, one name) would keep two ledgers and
// overwrite each other's journal: the second is refused at once, naming the lock and the first's
// pid, while the first serves on. SIGKILL releases the lock, so a restart takes it at once.
TEST_F(HostileCoordinatorTest, ASecondProcessForOneSiloIsRefused) {
  FakeCoordinator coordinator([&](grpc::ServerContext* context, FakeCoordinator::Stream* stream) {
    v1::SiloMessage hello;
    stream->Read(&hello);
    testing::HoldUntilCancelled(context, std::chrono::seconds(15));  // silent
    return grpc::Status::OK;
  });
  ASSERT_TRUE(coordinator.listening());
  const std::vector<std::string> args = {
      "silo", "--coordinator", coordinator.address(), "--insecure", "--name", "twin", "--data",
      (dir_ / "data.csv").string(), "--config", (dir_ / "silo.yaml").string(),
      "--connect-timeout", "20", "--state-dir", (dir_ / "state").string()};
  ChildProcess first(args, dir_ / "first.log");
  const fs::path lock = dir_ / "state" / "twin.lock";
  for (int i = 0; i < 250 && !(fs::exists(lock) && fs::file_size(lock) > 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ChildProcess second(args, dir_ / "second.log");
  EXPECT_EQ(second.Wait(10s), std::optional<int>(2)) << second.log();
  EXPECT_NE(second.log().find("another silo process (pid " + std::to_string(first.pid()) +
                              ") holds " + lock.string()),
            std::string::npos)
      << second.log();
  EXPECT_TRUE(first.running()) << first.log();
  first.Signal(SIGKILL);
  ASSERT_TRUE(first.Wait(5s).has_value());
  ChildProcess restarted(args, dir_ / "restarted.log");
  EXPECT_FALSE(restarted.Wait(1500ms).has_value()) << restarted.log();  // waiting for a Welcome
  EXPECT_EQ(restarted.log().find("holds"), std::string::npos) << restarted.log();
}

// A coordinator that goes silent after the silo joined (here: a real coordinator process stopped
// with SIGSTOP while it waits for a second silo) is noticed by keepalive pings
// (network.keepalive_seconds 0.5 in the silo's own config): the silo's stream fails, it tries to
// reconnect within its connect timeout, then exits non-zero with the reason. Without keepalive it
// would wait on the open stream forever.
TEST_F(HostileCoordinatorTest, ACoordinatorThatGoesSilentIsNoticedByKeepalive) {
  std::ostringstream yaml;
  yaml << "seed: 3\n"
       << "data: {dataset: csv, train: " << (dir_ / "data.csv").string()
       << ", label: label, positive: \"yes\"}\n"
       << "partition: {scheme: iid, silos: 2}\n"
       << "model: {type: logistic}\n"
       << "algorithm: {name: fedavg, rounds: 3, batch_size: 16, lr: 0.5, personalize_steps: 0}\n"
       << "network: {join_timeout_seconds: 60, keepalive_seconds: 0.5}\n";
  testing::WriteFile(dir_ / "run.yaml", yaml.str());
  ChildProcess coordinator({"coordinator", (dir_ / "run.yaml").string(), "--listen", "127.0.0.1:0",
                            "--insecure", "--port-file", (dir_ / "port").string(), "--out",
                            (dir_ / "out").string()},
                           dir_ / "coordinator.log");
  const std::string port = testing::WaitForLine(dir_ / "port", 30);
  ASSERT_FALSE(port.empty()) << coordinator.log();
  ChildProcess silo({"silo", "--coordinator", "127.0.0.1:" + port, "--insecure", "--name", "s0",
                     "--shard", "0", "--config", (dir_ / "run.yaml").string(),
                     "--connect-timeout", "3"},
                    dir_ / "s0.log");
  const auto joined_by = std::chrono::steady_clock::now() + 20s;
  while (coordinator.log().find("joined from") == std::string::npos &&
         std::chrono::steady_clock::now() < joined_by) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_NE(coordinator.log().find("joined from"), std::string::npos) << coordinator.log();
  std::this_thread::sleep_for(300ms);  // the silo has sent Ready and waits for a task
  coordinator.Signal(SIGSTOP);
  const auto start = std::chrono::steady_clock::now();
  const std::optional<int> status = silo.Wait(30s);
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  coordinator.Signal(SIGCONT);
  EXPECT_EQ(status, std::optional<int>(1)) << silo.log();
  EXPECT_LT(waited, 15.0) << silo.log();
  EXPECT_NE(silo.log().find("lost the coordinator"), std::string::npos) << silo.log();
}

// A silo's own file is all training data unless its config names a test file or a test fraction
// (nothing is held out silently), and the silo says how many records it uses for what.
TEST_F(HostileCoordinatorTest, ASilosOwnFileIsAllTrainingUnlessItsConfigSaysOtherwise) {
  SiloRun all = Run("all", Config(dir_ / "data.csv"), {"--state-dir", (dir_ / "s1").string()});
  ASSERT_EQ(all.exit_status, 0) << all.log;
  EXPECT_NE(all.log.find("200 training and 0 test records from its own files, 3 features, 2 "
                         "classes (no test file or data.test_fraction configured: every record of"),
            std::string::npos)
      << all.log;
  ASSERT_TRUE(all.seen.ready.has_value());
  EXPECT_EQ(all.seen.ready->privacy().train_records(), 200u);
  std::string quarter = Config(dir_ / "data.csv");
  quarter.replace(quarter.find("standardize: false"), 18, "standardize: false, test_fraction: 0.25");
  testing::WriteFile(dir_ / "quarter.yaml", quarter);
  SiloRun held_out = RunSilo(dir_, "quarter", dir_ / "data.csv", dir_ / "quarter.yaml", quarter,
                             {std::vector<double>(kParameters, 0.0)},
                             {"--state-dir", (dir_ / "s2").string()});
  ASSERT_EQ(held_out.exit_status, 0) << held_out.log;
  EXPECT_NE(held_out.log.find("150 training and 50 test records from its own files, 3 "
                              "features, 2 classes (data.test_fraction 0.25 of"),
            std::string::npos)
      << held_out.log;
  ASSERT_TRUE(held_out.seen.ready.has_value());
  EXPECT_EQ(held_out.seen.ready->privacy().train_records(), 150u);
}

// --dry-run of a silo with its own file reads and checks the file: what it would use, or the
// first problem naming the file, the line and the column (exit 2). No coordinator is needed.
TEST_F(HostileCoordinatorTest, DryRunReadsAndValidatesTheSilosOwnFile) {
  const std::vector<std::string> common = {"silo", "--coordinator", "127.0.0.1:1", "--insecure",
                                           "--name", "dry", "--config",
                                           (dir_ / "silo.yaml").string(), "--dry-run", "--data"};
  std::vector<std::string> good = common;
  good.push_back((dir_ / "data.csv").string());
  ChildProcess ok(good, dir_ / "dry_ok.log");
  EXPECT_EQ(ok.Wait(30s), std::optional<int>(0)) << ok.log();
  EXPECT_NE(ok.log().find("silo 'dry': 200 training and 0 test records from its own files, 3 "
                          "features, 2 classes"),
            std::string::npos)
      << ok.log();
  std::string text = testing::ReadFile(dir_ / "data.csv");
  size_t line_start = 0;
  for (int line = 1; line < 5; ++line) line_start = text.find('\n', line_start) + 1;  // line 5
  const size_t comma = text.find(',', line_start);
  text.replace(comma + 1, text.find(',', comma + 1) - comma - 1, "abc");
  testing::WriteFile(dir_ / "bad.csv", text);
  std::vector<std::string> bad = common;
  bad.push_back((dir_ / "bad.csv").string());
  ChildProcess refused(bad, dir_ / "dry_bad.log");
  EXPECT_EQ(refused.Wait(30s), std::optional<int>(2)) << refused.log();
  EXPECT_NE(refused.log().find("bad.csv:5: column 'x2': expected a number, got 'abc'"),
            std::string::npos)
      << refused.log();
}

// A run that pins a shared data schema (its digest in the Welcome) takes only silos that read
// their file by the same schema: another schema, or none, is refused at join naming both digests;
// the same schema (and its own spelling of the columns) joins and answers.
TEST_F(HostileCoordinatorTest, ASiloMustReadItsFileByTheRunsSchema) {
  testing::WriteFile(dir_ / "schema.yaml",
                     "features:\n  - {name: x1, type: numeric}\n  - {name: x2, type: numeric}\n"
                     "  - {name: x3, type: numeric}\nlabel: {name: label, classes: [\"no\", "
                     "\"yes\"]}\n");
  testing::WriteFile(dir_ / "other_schema.yaml",
                     "features:\n  - {name: x1, type: numeric, scale: 2}\n"
                     "  - {name: x2, type: numeric}\n  - {name: x3, type: numeric}\n"
                     "label: {name: label, classes: [\"no\", \"yes\"]}\n");
  const std::string digest = DataSchemaDigest(*LoadDataSchema((dir_ / "schema.yaml").string()));
  auto run_with = [&](const std::string& name, const std::string& schema_line) {
    std::string yaml = Config(dir_ / "data.csv");
    yaml.replace(yaml.find("standardize: false"), 18, "standardize: false" + schema_line);
    testing::WriteFile(dir_ / (name + ".yaml"), yaml);
    SiloRun run;
    std::mutex mutex;
    FakeCoordinator coordinator([&](grpc::ServerContext*, FakeCoordinator::Stream* stream) {
      v1::SiloMessage hello;
      if (!stream->Read(&hello)) return grpc::Status::OK;
      v1::CoordinatorMessage welcome;
      welcome.mutable_welcome()->set_protocol_version(1);
      welcome.mutable_welcome()->set_num_silos(1);
      welcome.mutable_welcome()->set_experiment_yaml(yaml);
      welcome.mutable_welcome()->set_num_parameters(kParameters);
      welcome.mutable_welcome()->set_schema_digest(digest);
      stream->Write(welcome);
      v1::SiloMessage ready;
      if (stream->Read(&ready) && ready.has_ready()) {
        std::optional<v1::SiloMessage> reply =
            testing::Ask(stream, 1, std::vector<double>(kParameters, 0.0));
        std::lock_guard<std::mutex> lock(mutex);
        if (reply) run.seen.replies.push_back(*reply);
        testing::Finish(stream);
      }
      return grpc::Status::OK;
    });
    ChildProcess silo({"silo", "--coordinator", coordinator.address(), "--insecure", "--name", name,
                       "--data", (dir_ / "data.csv").string(), "--config",
                       (dir_ / (name + ".yaml")).string(), "--state-dir",
                       (dir_ / ("state_" + name)).string(), "--connect-timeout", "10"},
                      dir_ / (name + ".log"));
    run.exit_status = silo.Wait(60s);
    run.log = silo.log();
    std::lock_guard<std::mutex> lock(mutex);
    return run;
  };
  const SiloRun none = run_with("none", "");
  EXPECT_EQ(none.exit_status, std::optional<int>(2)) << none.log;
  EXPECT_NE(none.log.find("reads every silo's data by a shared schema (digest " + digest +
                          "), but this silo's config names none"),
            std::string::npos)
      << none.log;
  const SiloRun other = run_with("other", ", schema: " + (dir_ / "other_schema.yaml").string());
  EXPECT_EQ(other.exit_status, std::optional<int>(2)) << other.log;
  EXPECT_NE(other.log.find(") is not the run's (digest " + digest + ")"), std::string::npos)
      << other.log;
  const SiloRun same = run_with("same", ", schema: " + (dir_ / "schema.yaml").string());
  EXPECT_EQ(same.exit_status, std::optional<int>(0)) << same.log;
  ASSERT_EQ(same.seen.replies.size(), 1u) << same.log;
  EXPECT_TRUE(same.seen.replies[0].has_update()) << same.log;
}

// A record-level private silo without a state directory would forget its spent budget on restart:
// it refuses to join, naming the option.
TEST_F(HostileCoordinatorTest, RecordLevelSiloNeedsAStateDirectory) {
  SiloRun run = Run("stateless", Config(dir_ / "data.csv"), {});
  EXPECT_NE(run.exit_status, std::optional<int>(0)) << run.log;
  EXPECT_TRUE(run.seen.replies.empty());
  EXPECT_NE(run.log.find("needs --state-dir"), std::string::npos) << run.log;
}

// A journal that exists but cannot be read (here: a directory in its place) is not a first start:
// the silo refuses, naming the path and the reason, and answers nothing.
TEST_F(HostileCoordinatorTest, UnreadableJournalIsRefusedNotForgotten) {
  const fs::path state = dir_ / "state";
  fs::create_directories(state / "damaged.journal");
  SiloRun run = Run("damaged", Config(dir_ / "data.csv"), {"--state-dir", state.string()});
  EXPECT_NE(run.exit_status, std::optional<int>(0)) << run.log;
  EXPECT_TRUE(run.seen.replies.empty());
  EXPECT_NE(run.log.find((state / "damaged.journal").string()), std::string::npos) << run.log;
  EXPECT_NE(run.log.find("Is a directory"), std::string::npos) << run.log;
}

// Extreme but finite parameters (w1 = 1e308, w2 = -1e308) make a record with x1 = x2 = 10 have a
// NaN logit (inf - inf). That record gets zero weight before noise, so the silo answers alike with
// and without it: an update with finite values, never a refusal that would reveal the record.
// Every record of the file is training data (a separate test file) and batches are 99 of 100 or
// 101 records: the record is in (almost) every Poisson batch.
TEST_F(HostileCoordinatorTest, NonFiniteRecordGradientCannotChangeTheReplyPattern) {
  std::ostringstream benign;
  benign << "x1,x2,x3,label\n";
  for (int i = 0; i < 100; ++i) {
    const double a = 0.4 * std::sin(i), b = 0.4 * std::cos(3 * i), c = 0.1 * (i % 7);
    benign << a << "," << b << "," << c << "," << (a - b > 0 ? "yes" : "no") << "\n";
  }
  testing::WriteFile(dir_ / "without.csv", benign.str());
  testing::WriteFile(dir_ / "with.csv", benign.str() + "10,10,0,yes\n");
  const std::vector<std::vector<double>> tasks = {{1e308, -1e308, 0.0, 0.0},
                                                  {1e308, -1e308, 0.0, 0.0},
                                                  {1e308, -1e308, 0.0, 0.0}};
  for (const std::string file : {"without", "with"}) {
    const std::string config = Config(dir_ / (file + ".csv"), "", 99, dir_ / "without.csv");
    testing::WriteFile(dir_ / (file + ".yaml"), config);
    SiloRun run = RunSilo(dir_, file, dir_ / (file + ".csv"), dir_ / (file + ".yaml"), config, tasks,
                          {"--state-dir", (dir_ / ("state_" + file)).string()});
    ASSERT_EQ(run.exit_status, 0) << run.log;
    ASSERT_EQ(run.seen.replies.size(), tasks.size()) << run.log;
    for (const v1::SiloMessage& reply : run.seen.replies) {
      ASSERT_TRUE(reply.has_update()) << file << ": " << reply.DebugString() << run.log;
      for (double v : Delta(reply)) EXPECT_TRUE(std::isfinite(v)) << file;
    }
  }
}

}  // namespace
}  // namespace fedsilo
