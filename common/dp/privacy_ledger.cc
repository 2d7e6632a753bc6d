#include "common/dp/privacy_ledger.h"

namespace fedsilo {

namespace {

void Append(std::vector<DpEvent>* events, const DpEvent& event) {
  if (!events->empty()) {
    DpEvent& last = events->back();
    if (last.subsampling == event.subsampling && last.sampling_rate == event.sampling_rate &&
        last.noise_multiplier == event.noise_multiplier) {
      last.count += event.count;
      return;
    }
  }
  events->push_back(event);
}

}  // namespace

void PrivacyLedger::Record(const DpEvent& event) {
  Append(&events_, event);
  Append(&unaccounted_, event);
}

void PrivacyLedger::TakeUnaccounted(std::vector<DpEvent>* events) {
  events->clear();
  events->swap(unaccounted_);
}

int64_t PrivacyLedger::num_queries() const {
  int64_t total = 0;
  for (const DpEvent& event : events_) total += event.count;
  return total;
}

}  // namespace fedsilo
