// FakeShufflerLink: a scripted coordinator's shuffler link (ShufflerLink.Rounds) on 127.0.0.1 (any
// free port) over a real gRPC server, for tests of a real `fedsilo shuffler` process against a
// coordinator that sends whatever the test wants. Each link session runs `script` on the server's
// thread; the destructor shuts the server down within a second.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "fedsilo/v1/fedsilo.grpc.pb.h"

namespace fedsilo::testing {

class FakeShufflerLink final : public v1::ShufflerLink::Service {
 public:
  using Stream = grpc::ServerReaderWriter<v1::LinkMessage, v1::ShufflerMessage>;
  using Script = std::function<grpc::Status(grpc::ServerContext*, Stream*)>;

  explicit FakeShufflerLink(Script script) : script_(std::move(script)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeShufflerLink() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  bool listening() const { return server_ != nullptr && port_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  grpc::Status Rounds(grpc::ServerContext* context, Stream* stream) override {
    return script_(context, stream);
  }

 private:
  Script script_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace fedsilo::testing
