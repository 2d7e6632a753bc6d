#include "server/rate_limited_warning.h"

#include <spdlog/spdlog.h>

namespace fedsilo {

bool RateLimitedWarning::Warn(const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  const Clock::time_point now = Clock::now();
  if (now >= interval_end_) {
    interval_end_ = now + interval_;
    logged_in_interval_ = 0;
  }
  if (logged_in_interval_ >= kBurst) {
    ++left_out_;
    return false;
  }
  ++logged_in_interval_;
  if (left_out_ > 0) {
    spdlog::warn("{} (and {} more like it since the last such line)", message, left_out_);
  } else {
    spdlog::warn("{}", message);
  }
  left_out_ = 0;
  return true;
}

}  // namespace fedsilo
