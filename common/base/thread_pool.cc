#include "common/base/thread_pool.h"

#include <chrono>

namespace fedsilo {
namespace {

// How long an idle thread polls before it sleeps: longer than the gap between a round loop's
// calls (aggregation, bookkeeping), far shorter than anything a user would notice as busy CPU.
constexpr auto kSpinTime = std::chrono::microseconds(200);

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int num_threads)
    : num_threads_(num_threads < 1 ? 1 : num_threads),
      shares_(std::make_unique<Share[]>(static_cast<size_t>(num_threads_))) {
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    stopping_flag_.store(true, std::memory_order_release);
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::RunIndices(const std::function<void(int)>& fn, int id) {
  int ran = 0;
  for (int k = 0; k < num_threads_; ++k) {  // its own share first, then what the others left
    Share& share = shares_[static_cast<size_t>((id + k) % num_threads_)];
    for (int i = share.next.fetch_add(1, std::memory_order_relaxed); i < share.end;
         i = share.next.fetch_add(1, std::memory_order_relaxed)) {
      fn(i);
      ++ran;
    }
  }
  if (ran > 0) finished_.fetch_add(ran, std::memory_order_acq_rel);
}

void ThreadPool::ParallelFor(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    // No worker is in a job here (the last call waited for them to leave), so the shares can be
    // reset. Thread t's share is the same for the same n, call after call.
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    for (int t = 0; t < num_threads_; ++t) {
      Share& share = shares_[static_cast<size_t>(t)];
      share.next.store(static_cast<int>(static_cast<int64_t>(n) * t / num_threads_),
                       std::memory_order_relaxed);
      share.end = static_cast<int>(static_cast<int64_t>(n) * (t + 1) / num_threads_);
    }
    finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  work_ready_.notify_all();
  RunIndices(fn, 0);  // the caller works too
  // Every index finished, and every worker that joined has left (it may not touch the shares
  // once the next call resets them): poll a while, then sleep.
  const auto done = [&] {
    return finished_.load(std::memory_order_acquire) == n &&
           in_job_.load(std::memory_order_acquire) == 0;
  };
  const auto give_up = std::chrono::steady_clock::now() + kSpinTime;
  while (!done() && std::chrono::steady_clock::now() < give_up) CpuRelax();
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, done);
  job_ = nullptr;
}

void ThreadPool::WorkerLoop(int id) {
  uint64_t seen_generation = 0;
  while (true) {
    // A new job: poll a while, then sleep until one is published.
    const auto give_up = std::chrono::steady_clock::now() + kSpinTime;
    while (generation_.load(std::memory_order_acquire) == seen_generation &&
           !stopping_flag_.load(std::memory_order_acquire) &&
           std::chrono::steady_clock::now() < give_up) {
      CpuRelax();
    }
    const std::function<void(int)>* fn;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] {
        return stopping_ || (job_ != nullptr && generation_.load() != seen_generation);
      });
      if (stopping_) return;
      seen_generation = generation_.load();
      fn = job_;
      in_job_.fetch_add(1, std::memory_order_relaxed);
    }
    RunIndices(*fn, id);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      in_job_.fetch_sub(1, std::memory_order_release);
    }
    work_done_.notify_all();
  }
}

}  // namespace fedsilo
