// Fuzz target: the shuffler's link loop (RunShufflerProcess, `fedsilo shuffler`) against a hostile
// coordinator. Each input runs one whole shuffler, as the binary does: it dials a real gRPC server
// on 127.0.0.1 (FakeShufflerLink, started once) that plays the input's script on the link, and
// listens for silos on a fresh port, where two honest in-process silos (gRPC clients on their
// own threads) join and answer every task with one sealed report each. The run: sdp_minibatch_sgd,
// logistic over 3 features, 2 silos.
// Input: a script (tests/fuzz/session_script.h): steps, each an op byte (byte % 4) and its
// arguments:
//   0: a LinkMessage (2-byte little-endian length + serialized bytes; bytes that do not parse are
//      skipped);
//   1: a LinkWelcome (1 byte: 3 silos instead of 2, 5 parameters instead of 4, another run id);
//   2: a RoundRequest (3 bytes: round; silo ids as bits: 1 silo 0, 2 silo 1, 4 silo 7, 8 silo 0
//      again; every parameter = the signed byte / 8);
//   3: the link ends with UNAVAILABLE (the shuffler reconnects; from the second,
//      PERMISSION_DENIED).
// After a first LinkWelcome the script reads the shuffler's SilosJoined, after a RoundRequest its
// ShuffledBatch. After the last step the link ends with PERMISSION_DENIED.
// Contract checked: RunShufflerProcess returns (a hang is libFuzzer's timeout) and no thread
// outlives it by more than 10 s; a batch answers the round asked, holds only reports the silos
// sealed (each at most once) and failure codes in ascending order, one entry per silo asked, and
// privacy reports only for silos of the run.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "fedsilo/v1/fedsilo.grpc.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "server/shuffler_process.h"
#include "tests/fuzz/session_script.h"
#include "tests/testing/fake_shuffler_link.h"

namespace {

namespace fs = std::filesystem;
namespace v1 = fedsilo::v1;
using fedsilo::testing::FakeShufflerLink;

constexpr int kSilos = 2;
constexpr uint64_t kParameters = 4;  // logistic over x1, x2, x3 plus a bias
constexpr int kReconnects = 1;

struct Fixture {
  fs::path dir;
  std::string yaml;
  std::unique_ptr<FakeShufflerLink> link;
  fedsilo::fuzz::SessionGate gate;
};
Fixture* fixture = nullptr;

std::string ReportOf(int silo) { return "sealed report of silo " + std::to_string(silo); }

void CheckBatch(const v1::RoundRequest& request, const v1::ShufflerMessage& reply) {
  if (!reply.has_batch()) __builtin_trap();
  const v1::ShuffledBatch& batch = reply.batch();
  if (batch.round() != request.round()) __builtin_trap();
  std::set<std::string> seen;
  for (const std::string& report : batch.sealed_reports()) {
    if (report != ReportOf(0) && report != ReportOf(1)) __builtin_trap();
    if (!seen.insert(report).second) __builtin_trap();
  }
  for (int i = 1; i < batch.failure_codes_size(); ++i) {
    if (batch.failure_codes(i - 1) > batch.failure_codes(i)) __builtin_trap();
  }
  if (batch.sealed_reports_size() + batch.failure_codes_size() != request.silo_ids_size()) {
    __builtin_trap();
  }
  for (const auto& [id, report] : batch.privacy()) {
    if (id >= static_cast<uint32_t>(kSilos)) __builtin_trap();
  }
}

// The message of a step with op 0, 1 or 2; nothing for bytes that do not parse.
std::optional<v1::LinkMessage> MessageOf(const fedsilo::fuzz::ScriptStep& step) {
  v1::LinkMessage message;
  if (step.op == 0) {
    if (!message.ParseFromString(step.bytes)) return std::nullopt;
  } else if (step.op == 1) {
    const uint8_t b = step.bytes[0];
    v1::LinkWelcome* welcome = message.mutable_welcome();
    welcome->set_protocol_version(1);
    welcome->set_num_silos((b & 1) ? kSilos + 1 : kSilos);
    welcome->set_num_parameters((b & 2) ? kParameters + 1 : kParameters);
    welcome->set_run_id((b & 4) ? "fuzz-b" : "fuzz-a");
    welcome->set_experiment_yaml(fixture->yaml);
  } else {
    v1::RoundRequest* round = message.mutable_round();
    round->set_round(static_cast<uint8_t>(step.bytes[0]));
    const uint8_t ids = step.bytes[1];
    if (ids & 1) round->add_silo_ids(0);
    if (ids & 2) round->add_silo_ids(1);
    if (ids & 4) round->add_silo_ids(7);
    if (ids & 8) round->add_silo_ids(0);
    const double value = static_cast<int8_t>(step.bytes[2]) / 8.0;
    for (uint64_t i = 0; i < kParameters; ++i) {
      round->mutable_global_parameters()->add_values(value);
    }
  }
  return message;
}

grpc::Status PlayLink(fedsilo::fuzz::SessionScript& script, FakeShufflerLink::Stream* stream) {
  using Next = fedsilo::fuzz::SessionScript::Next;
  v1::ShufflerMessage hello;
  if (!stream->Read(&hello)) return grpc::Status::OK;
  bool first = true;
  bool joined = false;
  fedsilo::fuzz::ScriptStep step;
  for (Next next; (next = script.Take(&step)) != Next::kEnd;) {
    if (next == Next::kReconnect) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fuzz: the coordinator restarts");
    }
    const std::optional<v1::LinkMessage> message = MessageOf(step);
    if (!message) continue;
    if (!stream->Write(*message)) break;
    v1::ShufflerMessage reply;
    if (first && message->has_welcome()) {  // the shuffler answers a first LinkWelcome
      if (!stream->Read(&reply)) break;
      joined = reply.has_joined();
    } else if (joined && message->has_round()) {  // and a round once its silos joined
      if (!stream->Read(&reply)) break;
      CheckBatch(message->round(), reply);
    }
    first = false;
  }
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "fuzz: the script is over");
}

// An honest silo of the run: joins the shuffler at `address` as shard `shard` and answers every
// task with one sealed report, until the shuffler ends the session (bounded by a deadline).
void HonestSilo(const std::string& address, int shard) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::Coordinator::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->Session(&context);
  v1::SiloMessage hello;
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_silo_name("silo" + std::to_string(shard));
  hello.mutable_hello()->set_shard(shard);
  v1::CoordinatorMessage message;
  if (stream->Write(hello) && stream->Read(&message) && message.has_welcome()) {
    v1::SiloMessage ready;
    ready.mutable_ready()->set_num_parameters(message.welcome().num_parameters());
    bool open = stream->Write(ready);
    while (open && stream->Read(&message)) {
      if (message.has_finish()) break;
      if (!message.has_task()) continue;
      v1::SiloMessage update;
      update.mutable_update()->set_round(message.task().round());
      update.mutable_update()->add_sealed(ReportOf(shard));
      update.mutable_update()->set_weight(1);
      open = stream->Write(update);
    }
  }
  context.TryCancel();
  stream->Finish();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  // Every refusal is logged: noise, unless FEDSILO_FUZZ_VERBOSE=1 (to see what an input does).
  if (std::getenv("FEDSILO_FUZZ_VERBOSE") == nullptr) spdlog::set_level(spdlog::level::off);
  fixture = new Fixture;
  fixture->dir =
      fs::path("/dev/shm") / ("fedsilo_shuffler_link_fuzzer_" + std::to_string(getpid()));
  fs::remove_all(fixture->dir);
  fs::create_directories(fixture->dir);
  std::ofstream(fixture->dir / "data.csv") << "x1,x2,x3,label\n1,2,3,yes\n-1,0,1,no\n";
  std::ostringstream yaml;
  yaml << "seed: 5\n"
       << "data: {dataset: csv, train: " << (fixture->dir / "data.csv").string()
       << ", label: label, positive: \"yes\"}\n"
       << "partition: {scheme: iid, silos: " << kSilos << "}\n"
       << "model: {type: logistic}\n"
       << "algorithm: {name: sdp_minibatch_sgd, rounds: 5, batch_size: 2, lr: 0.5}\n"
       << "network: {join_timeout_seconds: 2, round_timeout_seconds: 1, "
          "hello_timeout_seconds: 1}\n";
  fixture->yaml = yaml.str();
  fixture->link = std::make_unique<FakeShufflerLink>(
      [](grpc::ServerContext*, FakeShufflerLink::Stream* stream) {
        return fixture->gate.Serve(
            [stream](fedsilo::fuzz::SessionScript& script) { return PlayLink(script, stream); });
      });
  if (!fixture->link->listening()) __builtin_trap();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path port_file = fixture->dir / "shuffler.port";
  fs::remove(port_file);
  fixture->gate.Open(std::make_shared<fedsilo::fuzz::SessionScript>(
      data, size, /*op1_bytes=*/1, /*op2_bytes=*/3, /*max_steps=*/32, kReconnects));
  fedsilo::ShufflerProcessOptions options;
  options.listen = "127.0.0.1:0";
  options.port_file = port_file.string();
  options.coordinator = fixture->link->address();
  options.insecure = true;
  options.connect_timeout_seconds = 1;
  std::atomic<bool> done{false};
  std::thread shuffler([&] {
    const absl::Status status = fedsilo::RunShufflerProcess(options);
    if (std::getenv("FEDSILO_FUZZ_VERBOSE") != nullptr) {
      std::fprintf(stderr, "RunShufflerProcess: %s\n", status.ToString().c_str());
    }
    done = true;
  });
  // The silos join once the shuffler listens (it does after a LinkWelcome it accepts).
  std::vector<std::thread> silos;
  while (!done && silos.empty()) {
    std::ifstream in(port_file);
    std::string port;
    if (in >> port && !port.empty()) {
      for (int shard = 0; shard < kSilos; ++shard) {
        silos.emplace_back(HonestSilo, "127.0.0.1:" + port, shard);
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  shuffler.join();
  for (std::thread& silo : silos) silo.join();  // each bounded by its 10 s deadline
  fixture->gate.Close(std::chrono::seconds(10));
  return 0;
}
