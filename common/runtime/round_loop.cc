#include "common/runtime/round_loop.h"

#include <algorithm>
#include <memory>

#include "common/base/rng.h"

namespace fedsilo {

bool IsTransientFailure(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsCancelled(status) || absl::IsResourceExhausted(status);
}

std::vector<int> SampleSilos(const std::vector<int>& eligible, int silos_per_round, uint64_t seed,
                             int round) {
  std::vector<int> pool = eligible;
  if (silos_per_round <= 0 || static_cast<size_t>(silos_per_round) >= pool.size()) return pool;
  Rng rng(DeriveSeed(seed, "silo-selection", static_cast<uint64_t>(round)));
  // Partial Fisher-Yates: the first k entries become a uniform random k-subset.
  for (int i = 0; i < silos_per_round; ++i) {
    const size_t j = static_cast<size_t>(i) + rng.UniformInt(pool.size() - static_cast<size_t>(i));
    std::swap(pool[static_cast<size_t>(i)], pool[j]);
  }
  pool.resize(static_cast<size_t>(silos_per_round));
  std::sort(pool.begin(), pool.end());
  return pool;
}

absl::StatusOr<RoundLoopOutcome> RunFederated(CoordinatorProgram& coordinator,
                                              Transport& transport,
                                              const RoundLoopOptions& options, Vector* global,
                                              RoundObserver* observer) {
  if (options.require_shuffler && !transport.HidesSenders()) {
    return absl::FailedPreconditionError(
        "this algorithm is a shuffle-model algorithm: it must run with a shuffler between the "
        "silos and the coordinator (ShufflingTransport), and the transport chain has none");
  }
  std::vector<int> eligible = options.eligible;
  if (eligible.empty()) {
    eligible.resize(static_cast<size_t>(transport.num_silos()));
    for (size_t i = 0; i < eligible.size(); ++i) eligible[i] = static_cast<int>(i);
  }
  const size_t wanted = options.silos_per_round > 0 ? static_cast<size_t>(options.silos_per_round)
                                                    : static_cast<size_t>(transport.num_silos());
  RoundLoopOutcome outcome;
  const int last_round = options.first_round + options.rounds - 1;
  for (int round = options.first_round; round <= last_round; ++round) {
    if (eligible.size() < wanted) {
      outcome.stop_reason = "stopped before round " + std::to_string(round) + ": only " +
                            std::to_string(eligible.size()) + " silos can still serve, " +
                            std::to_string(wanted) + " needed per round";
      return outcome;
    }
    const std::vector<int> sampled =
        SampleSilos(eligible, options.silos_per_round, options.seed, round);
    auto snapshot = std::make_shared<const Vector>(*global);
    const RoundResults results = transport.Train(coordinator.ConfigureRound(round, snapshot, sampled));
    for (const SiloFailure& failure : results.failures) {
      if (absl::IsResourceExhausted(failure.status)) {
        eligible.erase(std::remove(eligible.begin(), eligible.end(), failure.silo_id),
                       eligible.end());
      }
    }
    if (results.updates.empty() && eligible.size() < wanted) {
      // Every sampled silo refused because its budget is spent: end cleanly, with the reason.
      outcome.stop_reason = "stopped in round " + std::to_string(round) + ": only " +
                            std::to_string(eligible.size()) + " silos can still serve, " +
                            std::to_string(wanted) + " needed per round (" +
                            std::string(results.failures.front().status.message()) + ")";
      return outcome;
    }
    if (results.updates.empty() && !results.failures.empty() &&
        std::all_of(results.failures.begin(), results.failures.end(),
                    [](const SiloFailure& f) {
                      return f.silo_id >= 0 && !IsTransientFailure(f.status);
                    })) {
      // Every silo asked answered with a refusal or a reply that cannot be used (not a timeout or
      // a dropped connection): asking again will not change that. Failures without a silo (a
      // shuffler's discarded round, which one late silo can cause) never stop the run.
      outcome.stop_reason = "stopped in round " + std::to_string(round) + ": every silo asked (" +
                            std::to_string(results.failures.size()) +
                            ") refused or sent an unusable reply, so no round can reach quorum "
                            "(silo " + std::to_string(results.failures.front().silo_id) + ": " +
                            std::string(results.failures.front().status.message()) + ")";
      return outcome;
    }
    bool quorum = !results.updates.empty() &&
                  results.updates.size() >= static_cast<size_t>(std::max(1, options.min_replies));
    if (quorum) {
      FEDSILO_RETURN_IF_ERROR(coordinator.Aggregate(round, results, global));
      if (!global->allFinite()) {
        // Never apply a non-finite model, whatever the replies held: keep the round's start.
        *global = *snapshot;
        quorum = false;
        ++outcome.non_finite_rounds;
      }
    }
    outcome.rounds_completed = round - options.first_round + 1;
    if (observer != nullptr) {
      FEDSILO_RETURN_IF_ERROR(
          observer->OnRoundEnd(RoundState{round, *global, results, eligible, quorum}));
    }
  }
  return outcome;
}

}  // namespace fedsilo
