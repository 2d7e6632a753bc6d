// ThreadPool: a fixed set of worker threads that run index ranges in parallel.
//
// Used by the in-process transport (one task per silo) and by evaluation. ParallelFor blocks
// until every index has run; it is safe to call from one thread at a time (calls are serialized
// by the caller, the round loop). Work items must not throw. With num_threads <= 1 everything
// runs inline on the caller's thread, which keeps single-threaded runs free of any scheduling.
// Each thread first runs its own contiguous share of the indices (the same share call after call
// for the same n, so a round loop's silos stay on one core and their state in its caches), then
// takes any index still unclaimed, so a slow or sleeping thread holds nobody up. Which thread runs
// which index is therefore not fixed, and results must not depend on it. Between calls a worker
// spins for a short while before it sleeps, so that back-to-back calls do not wait on wake-ups.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fedsilo {

class ThreadPool {
 public:
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Runs fn(i) for every i in [0, n), on the workers and the calling thread; returns when done.
  void ParallelFor(int n, const std::function<void(int)>& fn);

 private:
  // `id` in [1, num_threads); the caller is 0.
  void WorkerLoop(int id);
  // Runs the indices of the current job that thread `id` claims: its own share, then the rest.
  void RunIndices(const std::function<void(int)>& fn, int id);

  int num_threads_;
  std::vector<std::thread> workers_;
  // A job is published and joined under mutex_ (job_, the shares, generation_, in_job_), so a
  // worker never claims an index of a job other than the one it joined; indices are then claimed
  // without the lock.
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int)>* job_ = nullptr;
  // Workers that joined the current job and have not left it (changed under mutex_, read
  // without it while the caller polls).
  std::atomic<int> in_job_{0};
  std::atomic<uint64_t> generation_{0};
  // Thread t's share of the current job is [next, end) of shares_[t]; an index is claimed by
  // advancing `next`. Each share has its own cache line, so threads that work through their own
  // shares touch no line another thread writes.
  struct alignas(64) Share {
    std::atomic<int> next{0};
    int end = 0;
  };
  std::unique_ptr<Share[]> shares_;
  // Indices finished in the current job: each thread adds its count once, when it leaves.
  std::atomic<int> finished_{0};
  bool stopping_ = false;
  std::atomic<bool> stopping_flag_{false};
};

}  // namespace fedsilo
