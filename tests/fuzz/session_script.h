// The input of a session fuzzer (silo_session_fuzzer, shuffler_link_fuzzer) read as the script a
// fake peer plays on the sessions of one process under test, and the gate through which the fake
// peer's handler threads get the current input's script.
//
// SessionScript: steps, each an op byte (byte % 4) and its arguments: op 0 a 2-byte little-endian
// length and that many bytes (a serialized message), ops 1 and 2 the fixed number of bytes the
// target gives, op 3 none (the session ends and the process reconnects, at most `max_reconnects`
// times a script; beyond, the script ends). Sessions take steps in turn: a reconnected session
// goes on where the last one stopped. Thread-safe.
// SessionGate: Open() makes a script current; Serve() runs a handler's play on it (NOT_FOUND
// between inputs); Close() ends the input and traps when a handler outlives it by `limit`.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace fedsilo::fuzz {

struct ScriptStep {
  int op = 0;
  std::string bytes;  // op 0: the message; ops 1 and 2: their argument bytes
};

class SessionScript {
 public:
  SessionScript(const uint8_t* data, size_t size, size_t op1_bytes, size_t op2_bytes,
                size_t max_steps, int max_reconnects)
      : max_reconnects_(max_reconnects) {
    size_t at = 0;
    while (at < size && steps_.size() < max_steps) {
      ScriptStep step{data[at++] % 4, {}};
      size_t length = step.op == 1 ? op1_bytes : step.op == 2 ? op2_bytes : 0;
      if (step.op == 0) {
        if (at + 2 > size) break;
        length = std::min<size_t>(data[at] | (data[at + 1] << 8), size - at - 2);
        at += 2;
      }
      if (at + length > size) break;
      step.bytes.assign(reinterpret_cast<const char*>(data + at), length);
      at += length;
      steps_.push_back(std::move(step));
    }
  }

  enum class Next { kStep, kReconnect, kEnd };
  // The next step for a session: kStep (with *step, op 0 to 2), kReconnect, or kEnd.
  Next Take(ScriptStep* step) {
    std::lock_guard<std::mutex> lock(mu_);
    if (next_ == steps_.size()) return Next::kEnd;
    *step = steps_[next_++];
    if (step->op != 3) return Next::kStep;
    return ++reconnects_ <= max_reconnects_ ? Next::kReconnect : Next::kEnd;
  }

 private:
  std::mutex mu_;
  std::vector<ScriptStep> steps_;
  size_t next_ = 0;
  int reconnects_ = 0;
  const int max_reconnects_;
};

class SessionGate {
 public:
  void Open(std::shared_ptr<SessionScript> script) {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(script);
  }

  template <typename Play>
  grpc::Status Serve(Play&& play) {
    ++sessions_;  // before the script is read, so that Close() waits for this handler
    std::shared_ptr<SessionScript> script;
    {
      std::lock_guard<std::mutex> lock(mu_);
      script = current_;
    }
    const grpc::Status status =
        script ? play(*script) : grpc::Status(grpc::StatusCode::NOT_FOUND, "between inputs");
    --sessions_;
    return status;
  }

  void Close(std::chrono::seconds limit) {
    Open(nullptr);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (sessions_.load() > 0) {
      if (std::chrono::steady_clock::now() > deadline) __builtin_trap();  // a handler never ended
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

 private:
  std::mutex mu_;
  std::shared_ptr<SessionScript> current_;
  std::atomic<int> sessions_{0};
};

}  // namespace fedsilo::fuzz
