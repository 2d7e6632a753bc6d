// ShuffleLedger: one silo's record of the shuffled rounds its records took part in, with the
// budget enforced before a report leaves the silo.
//
// Each entry is an ApproxDpEvent (typically ShuffledRoundEvent(n_min, eps0, delta_round), see
// common/dp/shuffle_calibration.h). Charge(event) composes every recorded event plus the new one
// with ComposeAdvanced (slack delta' = the budget's delta_slack) and records the event only if
// the result stays within (epsilon, delta); otherwise it records nothing and returns
// ResourceExhausted saying which limit would be crossed, so the silo refuses the round. The
// delta comparison allows a relative 1e-12 for floating-point rounding (R x delta / (2R) +
// delta / 2 may exceed delta by an ulp); nothing else is rounded in the silo's favour.
// Consecutive identical events are merged (count += 1). Create refuses a budget with epsilon
// <= 0 or not finite, delta outside (0, 1), or delta_slack outside (0, delta) (InvalidArgument).
// Not thread-safe: owned by the one thread serving the silo.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/dp/approx_dp_event.h"

namespace fedsilo {

struct ShuffleBudget {
  double epsilon = 0.0;
  double delta = 0.0;
  double delta_slack = 0.0;  // delta' of advanced composition, part of delta
};

class ShuffleLedger {
 public:
  static absl::StatusOr<ShuffleLedger> Create(const ShuffleBudget& budget);

  absl::Status Charge(const ApproxDpEvent& event);

  const std::vector<ApproxDpEvent>& events() const { return events_; }
  int64_t rounds() const;                 // sum of the recorded counts
  ApproxDpGuarantee spent() const { return spent_; }  // composed over what is recorded
  const ShuffleBudget& budget() const { return budget_; }

 private:
  explicit ShuffleLedger(const ShuffleBudget& budget) : budget_(budget) {}
  ShuffleBudget budget_;
  std::vector<ApproxDpEvent> events_;
  ApproxDpGuarantee spent_;
};

}  // namespace fedsilo
