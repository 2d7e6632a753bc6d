// ThreadPool: every index runs exactly once, on every path (inline, polling workers, sleeping
// workers), over many back-to-back calls of different sizes.
#include "common/base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace fedsilo {
namespace {

// Runs ParallelFor(n) and checks that each index ran once and nothing else ran.
void ExpectEachIndexOnce(ThreadPool& pool, int n) {
  std::vector<std::atomic<int>> runs(static_cast<size_t>(n));
  std::atomic<int> outside{0};
  pool.ParallelFor(n, [&](int i) {
    if (i < 0 || i >= n) {
      outside.fetch_add(1);
      return;
    }
    runs[static_cast<size_t>(i)].fetch_add(1);
  });
  EXPECT_EQ(outside.load(), 0) << "n = " << n;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(runs[static_cast<size_t>(i)].load(), 1) << "index " << i << " of " << n;
  }
}

TEST(ThreadPoolTest, EveryIndexRunsOnceOverManyBackToBackCalls) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int call = 0; call < 2000; ++call) ExpectEachIndexOnce(pool, call % 37);
    ExpectEachIndexOnce(pool, 10000);
  }
}

TEST(ThreadPoolTest, WorkersThatFellAsleepWakeForTheNextCall) {
  ThreadPool pool(3);
  for (int call = 0; call < 5; ++call) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // longer than the polling time
    ExpectEachIndexOnce(pool, 64);
  }
}

// Two items are in progress at once (each waits, up to 10 s, until the other has started), so the
// worker takes part; and the call returns only after the last item.
TEST(ThreadPoolTest, TheWorkerTakesPartAndTheCallWaitsForEveryItem) {
  ThreadPool pool(2);
  std::atomic<int> started{0}, done{0};
  std::atomic<bool> met{false};
  pool.ParallelFor(2, [&](int) {
    started.fetch_add(1);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (started.load() < 2 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    if (started.load() == 2) met.store(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    done.fetch_add(1);
  });
  EXPECT_TRUE(met.load());
  EXPECT_EQ(done.load(), 2);
}

// A thread stuck in one item does not hold up the rest of its share: index 2 (the start of the
// worker's share of 4) waits, up to 10 s, until 0, 1 and 3 are done; index 3 is the worker's
// too, so it gets done only if another thread takes it.
TEST(ThreadPoolTest, AnotherThreadTakesOverTheShareOfAThreadThatIsStuck) {
  ThreadPool pool(2);
  std::atomic<int> others_done{0};
  bool waited_out = false;
  const auto start = std::chrono::steady_clock::now();
  pool.ParallelFor(4, [&](int i) {
    if (i != 2) {
      others_done.fetch_add(1);
      return;
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (others_done.load() < 3 && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::yield();
    }
    waited_out = others_done.load() < 3;
  });
  EXPECT_FALSE(waited_out);
  EXPECT_EQ(others_done.load(), 3);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ThreadPoolTest, OneThreadRunsInlineInOrder) {
  ThreadPool pool(1);
  std::vector<int> order;
  pool.ParallelFor(5, [&](int i) { order.push_back(i); });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

}  // namespace
}  // namespace fedsilo
