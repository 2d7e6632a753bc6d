// CallWatchdog: cancels a client call (grpc::ClientContext::TryCancel) unless Disarm() comes within
// its timeout. Bounds a step of a session that gRPC would let last forever: a peer, or a stopped
// process whose socket still accepts, that takes the Hello and never answers; one that sends its
// Finish and never closes the stream. Shared by the silo's and the shuffler's client loops.
// The destructor disarms it and joins its thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>

namespace fedsilo::wire {

// How long a client waits for a stream's closing status once its session is over (after the
// peer's Finish, or after the stream ended): a peer that holds the call open cannot hold the
// process.
inline constexpr std::chrono::seconds kGoodbyeTimeout{5};

class CallWatchdog {
 public:
  CallWatchdog(grpc::ClientContext* context, std::chrono::steady_clock::duration timeout);
  ~CallWatchdog();
  CallWatchdog(const CallWatchdog&) = delete;
  CallWatchdog& operator=(const CallWatchdog&) = delete;

  void Disarm();
  // Whether the timeout passed first (the call was cancelled).
  bool fired();

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool disarmed_ = false;
  bool fired_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace fedsilo::wire
