// SiloPrivacyPlan: how one silo privatizes its gradient queries and what budget it enforces,
// decided by the silo itself from the privacy settings and its own record count (the silo is
// the trust boundary; nothing here is sent to the coordinator).
//
// Every noisy query is one subsampled Gaussian event (q = batch / n_i, noise multiplier z in the
// convention of the sampler, see dp/dp_event.h). The silo budgets for T = planned_rounds *
// queries_per_round queries (planned_rounds defaults to algorithm.rounds: the silo may serve
// every round) at (epsilon, delta), delta = privacy.delta or 1/n_i^2 when 0.
//   calibration rdp   (default) z = the smallest noise multiplier for which the RDP accountant
//                     certifies (epsilon, delta) after T queries; the budget is that epsilon.
//   calibration paper sigma on the mean gradient from Lowy & Razaviyayn's closed form; the budget
//                     is the T queries the formula covers; the accountant's epsilon (Poisson or
//                     without-replacement sampling) is reported beside the target.
// Pure; thread-safe. Errors: InvalidArgument for settings no noise can satisfy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/algorithms/gradient_oracle.h"
#include "common/base/status.h"
#include "common/dp/dp_event.h"
#include "common/runtime/experiment_config.h"

namespace fedsilo {

struct SiloPrivacyPlan {
  bool record_level_dp = false;
  bool accountable = false;      // an RDP accountant covers the sampler (not with_replacement)
  bool budget_by_epsilon = false;  // rdp: refuse past target epsilon; paper: past planned queries
  double target_epsilon = 0.0;   // the budget (per silo, whole run)
  double delta = 0.0;
  int64_t queries_per_round = 0;
  int64_t planned_queries = 0;   // T
  int64_t max_queries = 0;       // most queries of query_event the budget allows (>= T for rdp)
  double sigma_mean = 0.0;       // std of the noise on the minibatch-mean gradient
  DpEvent query_event;           // what one noisy query costs
  std::shared_ptr<const std::vector<double>> query_rdp;  // RDP of one query per default order
  OracleSettings oracle;         // what the silo's oracle runs
};

absl::StatusOr<SiloPrivacyPlan> PlanSiloPrivacy(const PrivacyConfig& privacy,
                                                const AlgorithmConfig& algorithm,
                                                bool record_level_dp, int64_t queries_per_round,
                                                int64_t num_records);

// "add/remove-one record" for Poisson sampling, "replace-one record" otherwise.
std::string NeighbouringRelation(const std::string& sampling);

}  // namespace fedsilo
