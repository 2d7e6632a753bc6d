// RateLimitedWarning: at most a few warning lines (kBurst) per interval for one kind of event,
// however often it happens. The first kBurst occurrences of an interval are logged at once; later
// ones are only counted, and the next line logged after the interval ends says how many were left
// out ("(and 41 more like it since the last such line)"). So a peer that floods the coordinator with bad or replayed messages cannot flood its log.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace fedsilo {

class RateLimitedWarning {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimitedWarning(Clock::duration interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // Logs `message` with spdlog::warn, or counts it when a line was logged less than an interval
  // ago. Returns whether it logged.
  bool Warn(const std::string& message);

  static constexpr int kBurst = 5;

 private:
  const Clock::duration interval_;
  std::mutex mu_;
  Clock::time_point interval_end_ = Clock::time_point::min();
  int logged_in_interval_ = 0;
  int64_t left_out_ = 0;
};

}  // namespace fedsilo
