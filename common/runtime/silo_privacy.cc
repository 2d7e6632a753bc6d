#include "common/runtime/silo_privacy.h"

#include <algorithm>
#include <string>

#include "common/dp/paper_calibration.h"

namespace fedsilo {

absl::StatusOr<SiloPrivacyPlan> PlanSiloPrivacy(const PrivacyConfig& privacy,
                                                const AlgorithmConfig& algorithm,
                                                bool record_level_dp, int64_t queries_per_round,
                                                int64_t num_records) {
  SiloPrivacyPlan plan;
  FEDSILO_ASSIGN_OR_RETURN(plan.oracle.sampling, ParseSampling(privacy.sampling));
  plan.oracle.batch_size = algorithm.batch_size;
  plan.record_level_dp = record_level_dp;
  if (!record_level_dp) return plan;
  if (num_records < 1) return absl::InvalidArgumentError("a silo with no records cannot train");
  plan.oracle.record_level_dp = true;
  plan.oracle.clip = privacy.clip;
  plan.target_epsilon = privacy.epsilon;
  const double n = static_cast<double>(num_records);
  plan.delta = privacy.delta > 0.0 ? privacy.delta : 1.0 / (n * n);
  plan.planned_queries = static_cast<int64_t>(algorithm.rounds) * queries_per_round;
  if (privacy.calibration != "paper") {
    return absl::InvalidArgumentError("privacy.calibration: unknown value '" +
                                      privacy.calibration + "' (allowed: paper)");
  }
  plan.sigma_mean =
      PaperIsrlDpSigma(privacy.clip, plan.planned_queries, n, privacy.epsilon, plan.delta);
  const double expected_batch =
      static_cast<double>(std::min<int64_t>(algorithm.batch_size, num_records));
  plan.oracle.noise_std_sum = plan.sigma_mean * expected_batch;
  return plan;
}

}  // namespace fedsilo
