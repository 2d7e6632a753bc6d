#include "common/runtime/journal_summary.h"

#include <cmath>
#include <string>

#include "common/dp/rdp_accountant.h"

namespace fedsilo {
namespace {

std::string SamplerName(Subsampling subsampling) {
  switch (subsampling) {
    case Subsampling::kNone: return "none";
    case Subsampling::kPoisson: return "poisson (add/remove-one)";
    case Subsampling::kWithoutReplacement: return "without_replacement";
    case Subsampling::kWithReplacement: return "with_replacement";
    case Subsampling::kPoissonReplaceOne: return "poisson";
  }
  return "unknown";
}

}  // namespace

absl::StatusOr<nlohmann::json> SummarizeSiloJournal(const SiloJournal& journal,
                                                    std::optional<double> delta) {
  nlohmann::json summary;
  summary["run_id"] = journal.run_id;
  summary["last_round"] = journal.last_round;
  summary["has_last_update"] = journal.has_last_update;
  summary["shuffled_rounds"] = journal.shuffled_rounds;
  int64_t queries = 0;
  nlohmann::json events = nlohmann::json::array();
  for (const DpEvent& event : journal.ledger) {
    queries += event.count;
    events.push_back({{"sampler", SamplerName(event.subsampling)},
                      {"sampling_rate", event.sampling_rate},
                      {"noise_multiplier", event.noise_multiplier},
                      {"count", event.count}});
  }
  summary["noisy_queries"] = queries;
  summary["events"] = std::move(events);
  if (!delta.has_value()) return summary;
  if (!(*delta > 0.0 && *delta < 1.0)) {
    return absl::InvalidArgumentError("--delta must be in (0, 1), got " + std::to_string(*delta));
  }
  summary["delta"] = *delta;
  if (journal.shuffled_rounds > 0) {
    summary["epsilon"] = nullptr;
    summary["epsilon_note"] =
        "a shuffle-model silo: its epsilon follows from its shuffled rounds and the run's "
        "calibration (fedsilo privacy shuffle), not from Gaussian events";
    return summary;
  }
  RdpAccountant accountant;
  if (absl::Status composed = accountant.Compose(journal.ledger); !composed.ok()) {
    return absl::FailedPreconditionError("the journal's ledger cannot be accounted: " +
                                         std::string(composed.message()));
  }
  FEDSILO_ASSIGN_OR_RETURN(const EpsilonAndOrder spent, accountant.GetEpsilon(*delta));
  if (std::isfinite(spent.epsilon)) {
    summary["epsilon"] = spent.epsilon;
    summary["rdp_order"] = spent.order;
  } else {
    summary["epsilon"] = nullptr;
    summary["epsilon_note"] = "infinite: the ledger holds a query without noise";
  }
  return summary;
}

}  // namespace fedsilo
