#include "common/runtime/silo_privacy.h"

#include <algorithm>
#include <string>

#include "common/dp/calibration.h"
#include "common/dp/paper_calibration.h"
#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"

namespace fedsilo {

std::string NeighbouringRelation(const std::string& sampling) {
  return sampling == "poisson" ? "add/remove-one record" : "replace-one record";
}

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
  plan.queries_per_round = queries_per_round;
  const int64_t planned_rounds = privacy.planned_rounds > 0 ? privacy.planned_rounds : algorithm.rounds;
  plan.planned_queries = planned_rounds * queries_per_round;
  const double expected_batch = static_cast<double>(std::min<int64_t>(algorithm.batch_size, num_records));
  const double q = expected_batch / n;
  plan.accountable = plan.oracle.sampling != Sampling::kWithReplacement;

  // Noise multiplier z relates to the noise on the clipped SUM by std_sum = z * sensitivity,
  // sensitivity C (add/remove-one) or 2C (replace-one).
  const double sensitivity =
      plan.oracle.sampling == Sampling::kPoisson ? privacy.clip : 2.0 * privacy.clip;
  Subsampling subsampling = Subsampling::kWithReplacement;
  if (q >= 1.0) {
    subsampling = Subsampling::kNone;
  } else if (plan.oracle.sampling == Sampling::kPoisson) {
    subsampling = Subsampling::kPoisson;
  } else if (plan.oracle.sampling == Sampling::kWithoutReplacement) {
    subsampling = Subsampling::kWithoutReplacement;
  }
  if (privacy.calibration == "rdp") {
    if (!plan.accountable) {
      return absl::InvalidArgumentError(
          "privacy.sampling: with_replacement has no accountant; calibration rdp needs poisson or "
          "without_replacement");
    }
    const DpEventShape steps[] = {{subsampling, std::min(q, 1.0), plan.planned_queries}};
    auto z = CalibrateNoiseMultiplier(privacy.epsilon, plan.delta, steps);
    if (!z.ok()) {
      return absl::InvalidArgumentError("privacy: cannot reach epsilon " +
                                        std::to_string(privacy.epsilon) + " for a silo of " +
                                        std::to_string(num_records) + " records: " +
                                        std::string(z.status().message()));
    }
    plan.oracle.noise_std_sum = *z * sensitivity;
    plan.sigma_mean = plan.oracle.noise_std_sum / expected_batch;
    plan.budget_by_epsilon = true;
  } else if (privacy.calibration == "paper") {
    plan.sigma_mean =
        PaperIsrlDpSigma(privacy.clip, plan.planned_queries, n, privacy.epsilon, plan.delta);
    plan.oracle.noise_std_sum = plan.sigma_mean * expected_batch;
    plan.budget_by_epsilon = false;
  } else {
    return absl::InvalidArgumentError("privacy.calibration: unknown value '" +
                                      privacy.calibration + "' (allowed: rdp, paper)");
  }
  plan.query_event = DpEvent{subsampling, std::min(q, 1.0), plan.oracle.noise_std_sum / sensitivity, 1};
  plan.max_queries = plan.planned_queries;
  if (plan.accountable) {
    const std::vector<double> orders = DefaultRdpOrders();
    FEDSILO_ASSIGN_OR_RETURN(std::vector<double> curve, ComputeRdp(plan.query_event, orders));
    plan.query_rdp = std::make_shared<const std::vector<double>>(std::move(curve));
    if (plan.budget_by_epsilon) {
      // The largest k with epsilon(k queries) <= target: RDP composes additively, so
      // epsilon(k) is monotone in k; bracket then bisect.
      auto within = [&](int64_t k) -> absl::StatusOr<bool> {
        std::vector<double> rdp(*plan.query_rdp);
        for (double& value : rdp) value *= static_cast<double>(k);
        FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder e, EpsilonFromRdp(orders, rdp, plan.delta));
        return e.epsilon <= plan.target_epsilon;
      };
      int64_t good = 0, bad = std::max<int64_t>(1, plan.planned_queries);
      while (true) {
        FEDSILO_ASSIGN_OR_RETURN(bool ok, within(bad));
        if (!ok) break;
        good = bad;
        bad *= 2;
      }
      while (bad - good > 1) {
        const int64_t mid = good + (bad - good) / 2;
        FEDSILO_ASSIGN_OR_RETURN(bool ok, within(mid));
        (ok ? good : bad) = mid;
      }
      plan.max_queries = good;
    }
  }
  return plan;
}

}  // namespace fedsilo
