#include "fedsilo/v1/call_watchdog.h"

namespace fedsilo::wire {

CallWatchdog::CallWatchdog(grpc::ClientContext* context,
                           std::chrono::steady_clock::duration timeout)
    : thread_([this, context, timeout] {
        std::unique_lock<std::mutex> lock(mu_);
        if (!changed_.wait_for(lock, timeout, [this] { return disarmed_; })) {
          fired_ = true;
          context->TryCancel();
        }
      }) {}

CallWatchdog::~CallWatchdog() {
  Disarm();
  thread_.join();
}

void CallWatchdog::Disarm() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    disarmed_ = true;
  }
  changed_.notify_all();
}

bool CallWatchdog::fired() {
  std::lock_guard<std::mutex> lock(mu_);
  return fired_;
}

}  // namespace fedsilo::wire
