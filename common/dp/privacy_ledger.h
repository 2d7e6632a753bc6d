// PrivacyLedger: what one silo's data has been exposed to, written at the moment noise is drawn.
//
// Owned by one silo (the trust boundary); the coordinator never holds it. Consecutive identical
// events are merged (count += k), so a run of 100,000 identical steps is one entry. Not
// thread-safe: each silo's ledger is written by the one thread serving that silo at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "common/dp/dp_event.h"

namespace fedsilo {

class PrivacyLedger {
 public:
  void Record(const DpEvent& event);
  const std::vector<DpEvent>& events() const { return events_; }
  // Total number of noisy queries recorded.
  int64_t num_queries() const;
  // Sets *events to the events recorded since the last call (merged likewise), for an
  // incremental accountant. The two vectors trade buffers, so a caller that passes the same one
  // each time makes no allocation.
  void TakeUnaccounted(std::vector<DpEvent>* events);

 private:
  std::vector<DpEvent> events_;
  std::vector<DpEvent> unaccounted_;
};

}  // namespace fedsilo
