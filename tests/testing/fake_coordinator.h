// FakeCoordinator: a scripted coordinator on 127.0.0.1 (any free port) that speaks fedsilo.proto
// v1 over a real gRPC server, for tests of a real `fedsilo silo` process against a coordinator
// that sends whatever the test wants: extreme parameters, a config that asks for reproducible
// noise, tasks past the budget. Each silo session runs `script` on the server's thread; the
// helpers below (Join, Ask) do the usual steps. Sessions are bounded by the silo's own timeouts;
// the destructor shuts the server down within a second.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "fedsilo/v1/fedsilo.grpc.pb.h"

namespace fedsilo::testing {

class FakeCoordinator final : public v1::Coordinator::Service {
 public:
  using Stream = grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::SiloMessage>;
  using Script = std::function<grpc::Status(grpc::ServerContext*, Stream*)>;

  // On `port` of 127.0.0.1 (0: any free port; a fixed one lets a test restart the coordinator).
  explicit FakeCoordinator(Script script, int port = 0) : script_(std::move(script)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:" + std::to_string(port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeCoordinator() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  // Stops at once, as a killed coordinator: open sessions are cancelled, connections closed.
  void StopNow() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }

  bool listening() const { return server_ != nullptr && port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status Session(grpc::ServerContext* context, Stream* stream) override {
    return script_(context, stream);
  }

 private:
  Script script_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// Reads the silo's Hello, welcomes it as `silo_id` of `num_silos` with `experiment_yaml`, and reads
// its Ready. Returns the Ready, or nothing when the silo said something else or hung up.
inline std::optional<v1::Ready> Join(FakeCoordinator::Stream* stream,
                                     const std::string& experiment_yaml, uint64_t num_parameters,
                                     uint32_t silo_id = 0, uint32_t num_silos = 1) {
  v1::SiloMessage hello;
  if (!stream->Read(&hello) || !hello.has_hello()) return std::nullopt;
  v1::CoordinatorMessage welcome;
  welcome.mutable_welcome()->set_protocol_version(1);
  welcome.mutable_welcome()->set_silo_id(silo_id);
  welcome.mutable_welcome()->set_num_silos(num_silos);
  welcome.mutable_welcome()->set_experiment_yaml(experiment_yaml);
  welcome.mutable_welcome()->set_num_parameters(num_parameters);
  if (!stream->Write(welcome)) return std::nullopt;
  v1::SiloMessage ready;
  if (!stream->Read(&ready) || !ready.has_ready()) return std::nullopt;
  return ready.ready();
}

// Sends a Task for `round` at `parameters` and returns the silo's answer (Update or Refusal), or
// nothing when the stream ended.
inline std::optional<v1::SiloMessage> Ask(FakeCoordinator::Stream* stream, uint32_t round,
                                          const std::vector<double>& parameters) {
  v1::CoordinatorMessage task;
  task.mutable_task()->set_round(round);
  for (double v : parameters) task.mutable_task()->mutable_global_parameters()->add_values(v);
  if (!stream->Write(task)) return std::nullopt;
  v1::SiloMessage reply;
  if (!stream->Read(&reply)) return std::nullopt;
  return reply;
}

// Holds a session open until the peer cancels it, or `limit` passes (so a test cannot hang).
inline void HoldUntilCancelled(grpc::ServerContext* context, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!context->IsCancelled() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Ends the session the way a coordinator does at the end of a run.
inline void Finish(FakeCoordinator::Stream* stream, const std::string& reason = "test over") {
  v1::CoordinatorMessage finish;
  finish.mutable_finish()->set_reason(reason);
  stream->Write(finish);
}

}  // namespace fedsilo::testing
