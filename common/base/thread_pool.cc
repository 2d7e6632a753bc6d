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

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads < 1 ? 1 : num_threads) {
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

void ThreadPool::RunIndices(const std::function<void(int)>& fn, int n, int id) {
  const auto run_if_unclaimed = [&](int i) {
    std::atomic<uint8_t>& flag = claimed_[static_cast<size_t>(i)];
    if (flag.load(std::memory_order_relaxed) != 0 ||
        flag.exchange(1, std::memory_order_acq_rel) != 0) {
      return;
    }
    fn(i);
    finished_.fetch_add(1, std::memory_order_acq_rel);
  };
  const auto share_start = [&](int t) {
    return static_cast<int>(static_cast<int64_t>(n) * t / num_threads_);
  };
  const int own_end = share_start(id + 1);
  for (int i = share_start(id); i < own_end; ++i) run_if_unclaimed(i);
  for (int i = 0; i < n; ++i) run_if_unclaimed(i);  // what the others have not started
}

void ThreadPool::ParallelFor(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    // No worker is in a job here (the last call waited for them to leave), so the counters can
    // be reset.
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    job_size_ = n;
    if (claimed_capacity_ < n) {
      claimed_ = std::make_unique<std::atomic<uint8_t>[]>(static_cast<size_t>(n));
      claimed_capacity_ = n;
    }
    for (int i = 0; i < n; ++i) claimed_[static_cast<size_t>(i)].store(0, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  work_ready_.notify_all();
  RunIndices(fn, n, 0);  // the caller works too
  // Every index finished, and every worker that joined has left (it may not touch the counters
  // once the next call resets them): poll a while, then sleep.
  const auto done = [&] { return finished_.load(std::memory_order_acquire) == n; };
  const auto give_up = std::chrono::steady_clock::now() + kSpinTime;
  while (!done() && std::chrono::steady_clock::now() < give_up) CpuRelax();
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [&] { return done() && in_job_ == 0; });
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
    int n;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] {
        return stopping_ || (job_ != nullptr && generation_.load() != seen_generation);
      });
      if (stopping_) return;
      seen_generation = generation_.load();
      fn = job_;
      n = job_size_;
      ++in_job_;
    }
    RunIndices(*fn, n, id);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --in_job_;
    }
    work_done_.notify_all();
  }
}

}  // namespace fedsilo
