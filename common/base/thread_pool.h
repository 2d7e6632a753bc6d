// ThreadPool: a fixed set of worker threads that run index ranges in parallel.
//
// Used by the in-process transport (one task per silo) and by evaluation. ParallelFor blocks
// until every index has run; it is safe to call from one thread at a time (calls are serialized
// by the caller, the round loop). Work items must not throw. With num_threads <= 1 everything
// runs inline on the caller's thread, which keeps single-threaded runs free of any scheduling.
// Which thread runs which index is not fixed (indices are claimed one by one from a shared
// counter), so results must not depend on it. Between calls a worker spins for a short while
// before it sleeps, so that a round loop's back-to-back calls do not wait on thread wake-ups.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
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
  void WorkerLoop();
  // Claims and runs indices of the current job until none is left.
  void RunIndices(const std::function<void(int)>& fn, int n);

  int num_threads_;
  std::vector<std::thread> workers_;
  // A job is published and joined under mutex_ (job_, job_size_, generation_, in_job_), so a
  // worker never claims an index of a job other than the one it joined; indices are then claimed
  // without the lock.
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int)>* job_ = nullptr;
  int job_size_ = 0;
  int in_job_ = 0;  // workers that joined the current job and have not left it
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> next_index_{0};
  std::atomic<int> finished_{0};
  bool stopping_ = false;
  std::atomic<bool> stopping_flag_{false};
};

}  // namespace fedsilo
