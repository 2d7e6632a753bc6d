#include "common/base/thread_pool.h"

namespace fedsilo {

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads < 1 ? 1 : num_threads) {
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void ThreadPool::ParallelFor(int n, const std::function<void(int)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  job_ = &fn;
  job_size_ = n;
  next_index_ = 0;
  finished_ = 0;
  ++generation_;
  work_ready_.notify_all();
  // The caller works too.
  while (next_index_ < job_size_) {
    const int i = next_index_++;
    lock.unlock();
    fn(i);
    lock.lock();
    ++finished_;
  }
  work_done_.wait(lock, [this] { return finished_ == job_size_; });
  job_ = nullptr;
}

void ThreadPool::WorkerLoop() {
  uint64_t seen_generation = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [&] {
      return stopping_ || (job_ != nullptr && generation_ != seen_generation &&
                           next_index_ < job_size_);
    });
    if (stopping_) return;
    seen_generation = generation_;
    while (job_ != nullptr && next_index_ < job_size_) {
      const int i = next_index_++;
      const auto* fn = job_;
      lock.unlock();
      (*fn)(i);
      lock.lock();
      ++finished_;
      if (finished_ == job_size_) work_done_.notify_all();
    }
  }
}

}  // namespace fedsilo
