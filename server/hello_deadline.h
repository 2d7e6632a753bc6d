// HelloDeadline: closes server streams that stay silent too long before their first message.
//
// A synchronous gRPC server gives every open stream a thread while it waits in Read(); a peer that
// opens streams and never says Hello would pin one thread each. Session() calls Watch(context)
// before its first Read() and keeps the returned Watch until the Read() returns; one reaper thread
// cancels (ServerContext::TryCancel) every watched stream whose deadline has passed, which makes
// its Read() return false, and Watch::expired() then says why. Thread-safe; the destructor stops
// the reaper (every Watch must be gone by then).
#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>

namespace fedsilo {

class HelloDeadline {
  using Clock = std::chrono::steady_clock;
  struct Entry {
    grpc::ServerContext* context;
    Clock::time_point deadline;
    bool expired = false;
  };

 public:
  explicit HelloDeadline(double seconds);
  ~HelloDeadline();
  HelloDeadline(const HelloDeadline&) = delete;
  HelloDeadline& operator=(const HelloDeadline&) = delete;

  class Watch {
   public:
    Watch(Watch&& other) noexcept : owner_(other.owner_), entry_(other.entry_) { other.owner_ = nullptr; }
    Watch(const Watch&) = delete;
    ~Watch();
    bool expired() const;  // the deadline passed and the stream was cancelled

   private:
    friend class HelloDeadline;
    Watch(HelloDeadline* owner, std::list<Entry>::iterator entry) : owner_(owner), entry_(entry) {}
    HelloDeadline* owner_;
    std::list<Entry>::iterator entry_;
  };

  Watch Start(grpc::ServerContext* context);
  double seconds() const { return seconds_; }

 private:
  void Reap();

  const double seconds_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::list<Entry> entries_;
  bool stopping_ = false;
  std::thread reaper_;
};

}  // namespace fedsilo
