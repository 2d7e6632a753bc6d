// Fuzz target: the silo's session loop (RunSiloProcess, `fedsilo silo`) against a hostile
// coordinator. Each input runs one whole silo, as the binary does: it dials a real gRPC server on
// 127.0.0.1 (FakeCoordinator, started once), which plays the input's script on the silo's
// session streams. The silo reads its own CSV file (40 synthetic records) with its own config
// (ISRL-DP minibatch SGD, logistic, 5 rounds, epsilon 4) and a fresh --state-dir per input.
// Input: a script (tests/fuzz/session_script.h): steps, each an op byte (byte % 4) and its
// arguments:
//   0: a CoordinatorMessage (2-byte little-endian length + serialized bytes; bytes that do not
//      parse are skipped), then, when it is a Task, the silo's answer is read;
//   1: a Welcome (1 byte: silo id, run id, a wrong parameter count, a config that differs from
//      the silo's), then the silo's Ready is read;
//   2: a Task (2 bytes: round, and every parameter = the signed byte / 8), the answer is read;
//   3: the session ends with UNAVAILABLE (the silo reconnects; from the third, PERMISSION_DENIED).
// After the last step the session ends with PERMISSION_DENIED, so the silo returns.
// Contract checked: RunSiloProcess returns (a hang is libFuzzer's timeout) and no session handler
// outlives it by more than 5 s; every Update has the model's size, finite values and a positive
// finite weight; the silo never answers more distinct rounds than its own config plans (5), never
// answers a round at or below one it answered before with a new update, and never reports more
// epsilon spent than its own budget (4), whatever the coordinator sends.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "fedsilo/v1/fedsilo.grpc.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "silo/silo_process.h"
#include "tests/fuzz/session_script.h"
#include "tests/testing/fake_coordinator.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = fedsilo::v1;
using fedsilo::testing::FakeCoordinator;

constexpr uint64_t kParameters = 4;  // logistic over x1, x2, x3 plus a bias
constexpr int kRounds = 5;
constexpr double kEpsilon = 4.0;
constexpr int kReconnects = 2;

std::string SiloConfig(const fs::path& csv, int rounds) {
  std::ostringstream yaml;
  yaml << "seed: 11\n"
       << "data: {dataset: csv, train: " << csv.string()
       << ", label: label, positive: \"yes\", standardize: false}\n"
       << "model: {type: logistic}\n"
       << "algorithm: {name: isrl_dp_minibatch_sgd, rounds: " << rounds
       << ", batch_size: 40, lr: 0.5, personalize_steps: 0}\n"
       << "privacy: {epsilon: " << kEpsilon << ", delta: 1.0e-5, clip: 1}\n"
       << "network: {join_timeout_seconds: 1, round_timeout_seconds: 1}\n";
  return yaml.str();
}

// What the silo answered during one input (every session of it).
struct Answers {
  std::mutex mu;
  std::set<uint32_t> rounds;  // rounds answered with an Update
  uint32_t last_round = 0;
  std::string last_delta;     // the last Update's delta, serialized
};

struct Fixture {
  fs::path dir;
  fs::path csv;
  fs::path config;
  std::string welcome_yaml;
  std::string other_yaml;  // differs from the silo's config in a training key
  std::unique_ptr<FakeCoordinator> coordinator;
  fedsilo::fuzz::SessionGate gate;
  std::unique_ptr<Answers> answers;
};
Fixture* fixture = nullptr;

void CheckReply(const v1::SiloMessage& reply, uint32_t round) {
  if (!reply.has_update()) return;  // a refusal: always allowed
  const v1::Update& update = reply.update();
  if (update.round() != round) __builtin_trap();
  if (static_cast<uint64_t>(update.delta().values_size()) != kParameters) __builtin_trap();
  for (double v : update.delta().values()) {
    if (!std::isfinite(v)) __builtin_trap();
  }
  if (!(update.weight() > 0) || !std::isfinite(update.weight())) __builtin_trap();
  if (update.privacy().epsilon() > kEpsilon * (1 + 1e-9)) __builtin_trap();
  Answers& answers = *fixture->answers;
  std::lock_guard<std::mutex> lock(answers.mu);
  const std::string delta = update.delta().SerializeAsString();
  if (answers.rounds.count(round) != 0 || round <= answers.last_round) {
    // A round asked again: only the very same answer may come back.
    if (round != answers.last_round || delta != answers.last_delta) __builtin_trap();
    return;
  }
  answers.rounds.insert(round);
  answers.last_round = round;
  answers.last_delta = delta;
  if (answers.rounds.size() > static_cast<size_t>(kRounds)) __builtin_trap();
}

// The message of a step with op 0, 1 or 2; nothing for bytes that do not parse.
std::optional<v1::CoordinatorMessage> MessageOf(const fedsilo::fuzz::ScriptStep& step) {
  v1::CoordinatorMessage message;
  if (step.op == 0) {
    if (!message.ParseFromString(step.bytes)) return std::nullopt;
  } else if (step.op == 1) {
    const uint8_t b = step.bytes[0];
    v1::Welcome* welcome = message.mutable_welcome();
    welcome->set_protocol_version(1);
    welcome->set_silo_id(b % 4);
    welcome->set_num_silos(4);
    welcome->set_run_id((b & 4) ? "fuzz-b" : "fuzz-a");
    welcome->set_num_parameters((b & 0x30) == 0x30 ? kParameters + 1 : kParameters);
    welcome->set_experiment_yaml((b & 0x40) ? fixture->other_yaml : fixture->welcome_yaml);
  } else {
    message.mutable_task()->set_round(static_cast<uint8_t>(step.bytes[0]));
    const double value = static_cast<int8_t>(step.bytes[1]) / 8.0;
    for (uint64_t i = 0; i < kParameters; ++i) {
      message.mutable_task()->mutable_global_parameters()->add_values(value);
    }
  }
  return message;
}

grpc::Status PlaySession(fedsilo::fuzz::SessionScript& script, FakeCoordinator::Stream* stream) {
  using Next = fedsilo::fuzz::SessionScript::Next;
  v1::SiloMessage hello;
  if (!stream->Read(&hello)) return grpc::Status::OK;
  bool first = true;    // nothing sent yet on this session
  bool joined = false;  // the first message was a Welcome and the silo answered Ready
  fedsilo::fuzz::ScriptStep step;
  for (Next next; (next = script.Take(&step)) != Next::kEnd;) {
    if (next == Next::kReconnect) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fuzz: the coordinator restarts");
    }
    const std::optional<v1::CoordinatorMessage> message = MessageOf(step);
    if (!message) continue;
    if (!stream->Write(*message)) break;
    v1::SiloMessage reply;
    if (first && message->has_welcome()) {  // the silo answers a Welcome only as the first message
      if (!stream->Read(&reply)) break;
      joined = reply.has_ready();
    } else if (joined && message->has_task()) {  // and a Task only once it has joined
      if (!stream->Read(&reply)) break;
      CheckReply(reply, message->task().round());
    }
    first = false;
  }
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "fuzz: the script is over");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  // Every refusal is logged: noise, unless FEDSILO_FUZZ_VERBOSE=1 (to see what an input does).
  if (std::getenv("FEDSILO_FUZZ_VERBOSE") == nullptr) spdlog::set_level(spdlog::level::off);
  fixture = new Fixture;
  fixture->dir = fs::path("/dev/shm") / ("fedsilo_silo_session_fuzzer_" + std::to_string(getpid()));
  fs::remove_all(fixture->dir);
  fs::create_directories(fixture->dir);
  fixture->csv = fixture->dir / "data.csv";
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  std::ofstream csv(fixture->csv);
  csv << "x1,x2,x3,label\n";
  for (int i = 0; i < 40; ++i) {
    const double a = normal(rng), b = normal(rng), c = normal(rng);
    csv << a << "," << b << "," << c << "," << (a - 0.7 * b + 0.2 * c > 0 ? "yes" : "no") << "\n";
  }
  csv.close();
  fixture->welcome_yaml = SiloConfig(fixture->csv, kRounds);
  fixture->other_yaml = SiloConfig(fixture->csv, kRounds + 1);
  fixture->config = fixture->dir / "silo.yaml";
  std::ofstream(fixture->config) << fixture->welcome_yaml;
  fixture->coordinator = std::make_unique<FakeCoordinator>(
      [](grpc::ServerContext*, FakeCoordinator::Stream* stream) {
        return fixture->gate.Serve(
            [stream](fedsilo::fuzz::SessionScript& script) { return PlaySession(script, stream); });
      });
  if (!fixture->coordinator->listening()) __builtin_trap();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path state = fixture->dir / "state";
  fs::remove_all(state);
  fixture->answers = std::make_unique<Answers>();
  fixture->gate.Open(std::make_shared<fedsilo::fuzz::SessionScript>(
      data, size, /*op1_bytes=*/1, /*op2_bytes=*/2, /*max_steps=*/64, kReconnects));
  fedsilo::SiloProcessOptions options;
  options.coordinator = fixture->coordinator->address();
  options.name = "fuzz";
  options.data_file = fixture->csv.string();
  options.config_path = fixture->config.string();
  options.state_dir = state.string();
  options.insecure = true;
  options.connect_timeout_seconds = 1;
  const absl::Status status = fedsilo::RunSiloProcess(options);
  if (std::getenv("FEDSILO_FUZZ_VERBOSE") != nullptr) {
    std::fprintf(stderr, "RunSiloProcess: %s\n", status.ToString().c_str());
  }
  fixture->gate.Close(std::chrono::seconds(5));
  return 0;
}
