#include "server/hello_deadline.h"

#include <algorithm>

namespace fedsilo {

HelloDeadline::HelloDeadline(double seconds) : seconds_(seconds), reaper_([this] { Reap(); }) {}

HelloDeadline::~HelloDeadline() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  reaper_.join();
}

HelloDeadline::Watch HelloDeadline::Start(grpc::ServerContext* context) {
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds_));
  std::lock_guard<std::mutex> lock(mu_);
  entries_.push_back(Entry{context, deadline});
  changed_.notify_all();
  return Watch(this, std::prev(entries_.end()));
}

HelloDeadline::Watch::~Watch() {
  if (owner_ == nullptr) return;
  std::lock_guard<std::mutex> lock(owner_->mu_);
  owner_->entries_.erase(entry_);  // under the lock: the reaper never touches a finished stream
}

bool HelloDeadline::Watch::expired() const {
  std::lock_guard<std::mutex> lock(owner_->mu_);
  return entry_->expired;
}

void HelloDeadline::Reap() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto next = Clock::time_point::max();
    const auto now = Clock::now();
    for (Entry& entry : entries_) {
      if (entry.expired) continue;
      if (entry.deadline <= now) {
        entry.expired = true;
        entry.context->TryCancel();
      } else {
        next = std::min(next, entry.deadline);
      }
    }
    if (next == Clock::time_point::max()) {
      changed_.wait(lock);
    } else {
      changed_.wait_until(lock, next);
    }
  }
}

}  // namespace fedsilo
