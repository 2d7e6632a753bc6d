// Helpers for the server tests: a hand-written silo that speaks fedsilo.proto v1 over a real gRPC
// channel (the generated stub, no mock), a real gRPC server around a NetworkTransport on
// 127.0.0.1 (any free port), and a spdlog sink that records what the coordinator logs.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "fedsilo/v1/fedsilo.grpc.pb.h"
#include "server/network_transport.h"

namespace fedsilo::testing {

// One silo session. Every call is bounded: the stream has a 20 s deadline, so a bug in the
// coordinator fails the test instead of hanging it.
class TestSilo {
 public:
  explicit TestSilo(const std::shared_ptr<grpc::Channel>& channel)
      : stub_(v1::Coordinator::NewStub(channel)) {
    context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    stream_ = stub_->Session(&context_);
  }
  ~TestSilo() { Cancel(); }

  bool Hello(const std::string& name, int shard = -1, uint32_t version = 1) {
    v1::SiloMessage message;
    message.mutable_hello()->set_protocol_version(version);
    message.mutable_hello()->set_silo_name(name);
    message.mutable_hello()->set_shard(shard);
    return Send(message);
  }
  bool Ready(uint64_t num_parameters) {
    v1::SiloMessage message;
    message.mutable_ready()->set_num_parameters(num_parameters);
    message.mutable_ready()->mutable_privacy()->set_train_records(100);
    return Send(message);
  }
  // Hello, Welcome, Ready: the Welcome, or nothing when the coordinator ended the stream.
  std::optional<v1::Welcome> Join(const std::string& name, uint64_t num_parameters, int shard = -1) {
    if (!Hello(name, shard)) return std::nullopt;
    const std::optional<v1::CoordinatorMessage> message = Read();
    if (!message || !message->has_welcome()) return std::nullopt;
    if (!Ready(num_parameters)) return std::nullopt;
    return message->welcome();
  }
  std::optional<v1::CoordinatorMessage> Read() {
    v1::CoordinatorMessage message;
    if (!stream_->Read(&message)) return std::nullopt;
    return message;
  }
  // The next message, which must be a Task (else nothing).
  std::optional<v1::Task> ReadTask() {
    const std::optional<v1::CoordinatorMessage> message = Read();
    if (!message || !message->has_task()) return std::nullopt;
    return message->task();
  }
  bool SendUpdate(uint32_t round, const std::vector<double>& delta, double weight,
                  uint64_t noisy_queries = 0) {
    v1::SiloMessage message;
    v1::Update* update = message.mutable_update();
    update->set_round(round);
    update->mutable_delta()->mutable_values()->Assign(delta.begin(), delta.end());
    update->set_weight(weight);
    update->mutable_privacy()->set_noisy_queries(noisy_queries);
    return Send(message);
  }
  // An update carrying a sealed report (shuffle mode), and optionally a delta in the clear too.
  bool SendSealed(uint32_t round, const std::vector<uint8_t>& sealed,
                  const std::vector<double>& clear_delta = {}) {
    return SendSealedReports(round, {sealed}, clear_delta);
  }
  // The same with several sealed reports (one per record: sdp_minibatch_sgd).
  bool SendSealedReports(uint32_t round, const std::vector<std::vector<uint8_t>>& reports,
                         const std::vector<double>& clear_delta = {}) {
    v1::SiloMessage message;
    v1::Update* update = message.mutable_update();
    update->set_round(round);
    for (const auto& sealed : reports) update->add_sealed(std::string(sealed.begin(), sealed.end()));
    update->mutable_delta()->mutable_values()->Assign(clear_delta.begin(), clear_delta.end());
    update->set_weight(1.0);
    return Send(message);
  }
  bool SendRefusal(uint32_t round, int code, const std::string& text) {
    v1::SiloMessage message;
    message.mutable_refusal()->set_round(round);
    message.mutable_refusal()->set_code(code);
    message.mutable_refusal()->set_message(text);
    return Send(message);
  }
  bool Send(const v1::SiloMessage& message) { return stream_->Write(message); }
  // Half-closes and returns how the coordinator ended the stream (reads what is left).
  grpc::Status Finish() {
    stream_->WritesDone();
    v1::CoordinatorMessage ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }
  // Waits, without half-closing, until the coordinator ends the stream; how it ended it.
  grpc::Status AwaitEnd() {
    v1::CoordinatorMessage ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }
  // Drops the connection at once (a silo that crashes or loses its network).
  void Cancel() { context_.TryCancel(); }

 private:
  std::unique_ptr<v1::Coordinator::Stub> stub_;
  grpc::ClientContext context_;  // outlives stream_
  std::unique_ptr<grpc::ClientReaderWriter<v1::SiloMessage, v1::CoordinatorMessage>> stream_;
};

// Records the payload of every log line (thread-safe), for checks that a reason was logged.
class LogCapture : public spdlog::sinks::base_sink<std::mutex> {
 public:
  bool Contains(const std::string& text) const {
    std::lock_guard<std::mutex> lock(lines_mu_);
    for (const std::string& line : lines_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
  // Waits (bounded) until a line containing `text` has been logged.
  bool WaitFor(const std::string& text, double seconds = 5) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!Contains(text)) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }
  std::string All() const {
    std::lock_guard<std::mutex> lock(lines_mu_);
    std::string all;
    for (const std::string& line : lines_) all += line + "\n";
    return all;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    std::lock_guard<std::mutex> lock(lines_mu_);
    lines_.emplace_back(message.payload.data(), message.payload.size());
  }
  void flush_() override {}

 private:
  mutable std::mutex lines_mu_;
  std::vector<std::string> lines_;
};

// Routes the default logger to a LogCapture for the lifetime of this object.
class ScopedLogCapture {
 public:
  ScopedLogCapture()
      : capture_(std::make_shared<LogCapture>()), previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", capture_));
  }
  ~ScopedLogCapture() { spdlog::set_default_logger(previous_); }
  const LogCapture& log() const { return *capture_; }

 private:
  std::shared_ptr<LogCapture> capture_;
  std::shared_ptr<spdlog::logger> previous_;
};

// A NetworkTransport served by a real gRPC server on 127.0.0.1 (any free port).
class TestCoordinator {
 public:
  TestCoordinator(NetworkTransportOptions options,
                  std::shared_ptr<grpc::ServerCredentials> credentials,
                  int max_receive_bytes = 4 * 1024 * 1024)
      : transport_(NetworkTransport::Create(std::move(options)).value()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port_);
    builder.RegisterService(transport_.get());
    builder.SetMaxReceiveMessageSize(max_receive_bytes);
    server_ = builder.BuildAndStart();
  }
  ~TestCoordinator() { Stop(); }

  void Stop() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    server_->Wait();
    server_.reset();
  }
  bool started() const { return server_ != nullptr && port_ != 0; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  NetworkTransport& transport() { return *transport_; }

 private:
  std::unique_ptr<NetworkTransport> transport_;  // outlives the server that serves it
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace fedsilo::testing
