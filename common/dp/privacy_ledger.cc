#include "common/dp/privacy_ledger.h"

namespace fedsilo {

void PrivacyLedger::Record(const DpEvent& event) {
  if (!events_.empty()) {
    DpEvent& last = events_.back();
    if (last.subsampling == event.subsampling && last.sampling_rate == event.sampling_rate &&
        last.noise_multiplier == event.noise_multiplier) {
      last.count += event.count;
      return;
    }
  }
  events_.push_back(event);
}

int64_t PrivacyLedger::num_queries() const {
  int64_t total = 0;
  for (const DpEvent& event : events_) total += event.count;
  return total;
}

}  // namespace fedsilo
