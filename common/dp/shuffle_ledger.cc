#include "common/dp/shuffle_ledger.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/dp/approx_dp_composition.h"

namespace fedsilo {

absl::StatusOr<ShuffleLedger> ShuffleLedger::Create(const ShuffleBudget& budget) {
  if (!(budget.epsilon > 0.0) || !std::isfinite(budget.epsilon)) {
    return absl::InvalidArgumentError(
        absl::StrCat("shuffle budget epsilon must be positive and finite, got ", budget.epsilon));
  }
  if (!(budget.delta > 0.0 && budget.delta < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("shuffle budget delta must be in (0, 1), got ", budget.delta));
  }
  if (!(budget.delta_slack > 0.0 && budget.delta_slack < budget.delta)) {
    return absl::InvalidArgumentError(absl::StrCat("shuffle budget delta_slack must be in (0, ",
                                                   budget.delta, "), got ",
                                                   budget.delta_slack));
  }
  return ShuffleLedger(budget);
}

absl::Status ShuffleLedger::Charge(const ApproxDpEvent& event) {
  if (event.count != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a shuffled round is charged once, got count ", event.count));
  }
  std::vector<ApproxDpEvent> next = events_;
  if (!next.empty() && next.back().epsilon == event.epsilon && next.back().delta == event.delta) {
    next.back().count += 1;
  } else {
    next.push_back(event);
  }
  absl::StatusOr<ApproxDpGuarantee> composed = ComposeAdvanced(next, budget_.delta_slack);
  if (!composed.ok()) return composed.status();
  if (composed->epsilon > budget_.epsilon) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "shuffle privacy budget spent: round ", rounds() + 1, " would bring epsilon to ",
        composed->epsilon, ", above the budget ", budget_.epsilon));
  }
  if (composed->delta > budget_.delta * (1.0 + 1e-12)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "shuffle privacy budget spent: round ", rounds() + 1, " would bring delta to ",
        composed->delta, ", above the budget ", budget_.delta));
  }
  events_ = std::move(next);
  spent_ = *composed;
  return absl::OkStatus();
}

int64_t ShuffleLedger::rounds() const {
  int64_t total = 0;
  for (const ApproxDpEvent& e : events_) total += e.count;
  return total;
}

}  // namespace fedsilo
