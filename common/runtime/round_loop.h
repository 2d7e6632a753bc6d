// RunFederated: the one round loop that every algorithm and every mode share.
//
// Each round: sample `silos_per_round` of the silos still able to serve, uniformly without
// replacement from a generator derived from (seed, "silo-selection", round); ask the coordinator
// program for tasks; send them through the transport; aggregate the replies (canonical order);
// tell the observer. A silo that fails with ResourceExhausted (its privacy budget is spent) is
// dropped from later sampling; when fewer silos than silos_per_round can still serve, the loop
// stops cleanly and says why. Any other failure (a silo that died, stalled past the deadline or
// sent an invalid message) only removes that reply from the round: the round is aggregated from
// the replies that came, provided there are at least `min_replies`; otherwise the round leaves
// the model unchanged (and the observer still sees it). A round where every silo asked failed,
// each failure names its silo and none is transient (IsTransientFailure: every silo refused or
// sent an unusable reply) stops the loop with the reason: no later round could reach quorum
// either. (A shuffler's failures carry no silo, and its discarded round can be caused by one late
// silo: they never stop the loop.) An aggregate
// that is not finite is never applied: the round leaves the model unchanged and is counted in
// non_finite_rounds. With require_shuffler and a transport that does not hide senders, it returns
// FailedPrecondition before round one.
// Single-threaded; borrows everything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/algorithms/coordinator_program.h"
#include "common/base/status.h"
#include "common/transport/transport.h"

namespace fedsilo {

struct RoundLoopOptions {
  int first_round = 1;
  int rounds = 1;               // last round = first_round + rounds - 1
  int silos_per_round = 0;      // 0 = all silos that can serve
  uint64_t seed = 0;            // root of the silo-selection stream (coordinator's own randomness)
  int min_replies = 1;          // quorum: fewer replies leave the round's model unchanged
  std::vector<int> eligible;    // silos that can serve (ascending); empty = all (resume sets it)
  // A shuffle-model algorithm (AlgorithmSpec::requires_shuffler): refuse to run, before any
  // task is sent, unless the transport chain hides senders (a ShufflingTransport).
  bool require_shuffler = false;
};

// What the loop knows after a round (what a checkpoint must hold to continue).
struct RoundState {
  int round = 0;
  const Vector& global;
  const RoundResults& results;
  const std::vector<int>& eligible;  // silos still able to serve, ascending
  bool aggregated = false;           // false when the quorum was not reached
};

// Called after every round, in order. Returning an error stops the loop with that error.
class RoundObserver {
 public:
  virtual ~RoundObserver() = default;
  virtual absl::Status OnRoundEnd(const RoundState& state) = 0;
};

struct RoundLoopOutcome {
  int rounds_completed = 0;
  int non_finite_rounds = 0;    // rounds whose aggregate was not finite (model left unchanged)
  std::string stop_reason;      // empty when every round ran
};

// A failure that may not recur next round: a timeout, a dropped connection, a cancelled call, a
// spent budget (that silo is no longer sampled). Anything else is the silo's deliberate refusal or
// a reply the coordinator cannot use.
bool IsTransientFailure(const absl::Status& status);

absl::StatusOr<RoundLoopOutcome> RunFederated(CoordinatorProgram& coordinator,
                                              Transport& transport,
                                              const RoundLoopOptions& options, Vector* global,
                                              RoundObserver* observer);

// The silos chosen for one round (ascending). Exposed for tests and for checkpoint/resume.
std::vector<int> SampleSilos(const std::vector<int>& eligible, int silos_per_round, uint64_t seed,
                             int round);

}  // namespace fedsilo
