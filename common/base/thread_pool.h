// ThreadPool: a fixed set of worker threads that run index ranges in parallel.
//
// Used by the in-process transport (one task per silo) and by evaluation. ParallelFor blocks
// until every index has run; it is safe to call from one thread at a time (calls are serialized
// by the caller, the round loop). Work items must not throw. With num_threads <= 1 everything
// runs inline on the caller's thread, which keeps single-threaded runs free of any scheduling.
#pragma once

#include <condition_variable>
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

  int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  const std::function<void(int)>* job_ = nullptr;
  int job_size_ = 0;
  int next_index_ = 0;
  int finished_ = 0;
  uint64_t generation_ = 0;
  bool stopping_ = false;
};

}  // namespace fedsilo
