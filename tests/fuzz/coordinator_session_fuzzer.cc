// Fuzz target: the gRPC handler silos talk to (NetworkTransport: Session, Admit, HandleReply),
// as the coordinator of a plain run serves it and as the shuffler of a shuffle-model run does
// (the same class, taking 1 to K sealed reports and no delta). Each input gets a fresh
// NetworkTransport (2 silos, no roster, 3 parameters, 10 ms rounds) served by a real gRPC server
// over an in-process channel, so every message travels the path a peer's does: serialized, sent
// on a Session stream, decoded by gRPC, handled by the transport, while the coordinator's own
// thread runs rounds (Train) as the round loop does.
// Input: a mode byte (odd: the shuffler's side, K = 3 sealed reports), then a list of steps, each
// an op byte then, for messages, a 2-byte little-endian length and the serialized SiloMessage
// (bytes that do not parse are skipped: gRPC's own decoding of raw bytes is wire_fuzzer's). Ops
// (byte % 4): 0 send a message on the current stream; 1 start a round for every silo (one at a
// time; the round ends at its replies or its 10 ms deadline); 2 open another stream (a reconnect,
// or a second silo; the earlier one stays open); 3 read one message from the server (Welcome or
// Task) so later updates can answer it.
// Contract checked: nothing crashes, hangs or leaks (ASan); every round returns one result per
// task, replies and failures each in ascending silo id, a failure with an error; an accepted
// update has the run's size, finite values and a positive finite weight (plain), or 1 to K
// sealed reports and no delta (shuffler).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "fedsilo/v1/fedsilo.grpc.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "server/network_transport.h"

namespace {

namespace v1 = fedsilo::v1;
constexpr int kSilos = 2;
constexpr int kParameters = 3;
constexpr int kSealedReports = 3;
bool sealed_run = false;

// The round in flight: the coordinator's thread, and what its results must satisfy.
class Round {
 public:
  Round(fedsilo::NetworkTransport* transport, int number) {
    for (int silo = 0; silo < kSilos; ++silo) {
      tasks_.push_back(fedsilo::SiloTask{number, silo,
                                         std::make_shared<const fedsilo::Vector>(
                                             fedsilo::Vector::Zero(kParameters))});
    }
    thread_ = std::thread([this, transport] { results_ = transport->Train(tasks_); });
  }
  ~Round() {
    thread_.join();
    // One result per task, replies and failures each in ascending silo id.
    if (results_.updates.size() + results_.failures.size() != tasks_.size()) __builtin_trap();
    int last = -1;
    for (const fedsilo::SiloUpdate& update : results_.updates) {
      if (update.silo_id <= last || update.silo_id >= kSilos) __builtin_trap();
      last = update.silo_id;
      if (sealed_run) {
        if (update.sealed.empty() || update.sealed.size() > kSealedReports) __builtin_trap();
        if (update.delta.size() != 0) __builtin_trap();
        continue;
      }
      if (update.delta.size() != kParameters) __builtin_trap();
      for (double v : update.delta) {
        if (!std::isfinite(v)) __builtin_trap();
      }
      if (!(update.weight > 0) || !std::isfinite(update.weight)) __builtin_trap();
    }
    last = -1;
    for (const fedsilo::SiloFailure& failure : results_.failures) {
      if (failure.silo_id <= last || failure.silo_id >= kSilos || failure.status.ok()) {
        __builtin_trap();
      }
      last = failure.silo_id;
    }
  }

 private:
  std::vector<fedsilo::SiloTask> tasks_;
  fedsilo::RoundResults results_;
  std::thread thread_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  spdlog::set_level(spdlog::level::off);  // every rejection is logged: noise here
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  sealed_run = data[0] % 2 == 1;
  fedsilo::NetworkTransportOptions options;
  options.max_sealed_reports = sealed_run ? kSealedReports : 0;
  options.num_silos = kSilos;
  options.experiment_yaml = "seed: 1\n";
  options.run_id = "fuzz";
  options.num_parameters = kParameters;
  options.round_timeout_seconds = 0.01;
  options.join_timeout_seconds = 0.01;
  options.hello_timeout_seconds = 0.01;
  auto transport = fedsilo::NetworkTransport::Create(options);
  if (!transport.ok()) __builtin_trap();
  grpc::ServerBuilder builder;
  builder.RegisterService(transport->get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  std::shared_ptr<grpc::Channel> channel = server->InProcessChannel(grpc::ChannelArguments());
  auto stub = v1::Coordinator::NewStub(channel);

  struct Session {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<v1::SiloMessage, v1::CoordinatorMessage>> stream;
  };
  auto open = [&] {
    auto session = std::make_unique<Session>();
    session->context.set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::milliseconds(50));
    session->stream = stub->Session(&session->context);
    return session;
  };
  auto close = [](std::unique_ptr<Session>& session) {
    session->stream->WritesDone();
    session->stream->Finish();
    session.reset();
  };
  std::vector<std::unique_ptr<Session>> sessions;
  sessions.push_back(open());
  std::optional<Round> round;
  int rounds = 0;
  size_t at = 1;
  while (at < size && sessions.size() < 8) {
    const uint8_t op = data[at++] % 4;
    if (op == 0) {
      if (at + 2 > size) break;
      const size_t length = std::min<size_t>(data[at] | (data[at + 1] << 8), size - at - 2);
      at += 2;
      v1::SiloMessage message;
      if (message.ParseFromArray(data + at, static_cast<int>(length))) {
        sessions.back()->stream->Write(message);
      }
      at += length;
    } else if (op == 1) {
      round.reset();  // waits for the round in flight
      if (rounds < 4) round.emplace(transport->get(), ++rounds);
    } else if (op == 2) {
      sessions.push_back(open());  // the earlier stream stays open, as a silo that reconnects
    } else {
      v1::CoordinatorMessage reply;
      sessions.back()->stream->Read(&reply);  // bounded by the session's deadline
    }
  }
  round.reset();
  for (auto& session : sessions) close(session);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  return 0;
}
