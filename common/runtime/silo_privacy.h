// SiloPrivacyPlan: how one silo privatizes its gradient queries, decided by the silo itself from
// the privacy settings and its own record count (the silo is the trust boundary).
//
// calibration `paper`: sigma of Lowy & Razaviyayn's closed form for T = rounds * queries_per_round
// noisy queries (the silo may serve every round), delta = privacy.delta or 1/n^2 when 0.
// Pure; thread-safe. Errors: InvalidArgument for settings that give no meaningful noise.
#pragma once

#include <cstdint>
#include <string>

#include "common/algorithms/gradient_oracle.h"
#include "common/base/status.h"
#include "common/runtime/experiment_config.h"

namespace fedsilo {

struct SiloPrivacyPlan {
  bool record_level_dp = false;
  double target_epsilon = 0.0;  // what the calibration aims for (per silo, whole run)
  double delta = 0.0;
  int64_t planned_queries = 0;  // T: noisy gradient queries the calibration covers
  double sigma_mean = 0.0;      // std of the noise on the minibatch-mean gradient
  OracleSettings oracle;        // what the silo's oracle runs
};

absl::StatusOr<SiloPrivacyPlan> PlanSiloPrivacy(const PrivacyConfig& privacy,
                                                const AlgorithmConfig& algorithm,
                                                bool record_level_dp, int64_t queries_per_round,
                                                int64_t num_records);

}  // namespace fedsilo
