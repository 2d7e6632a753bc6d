#include "common/dp/secure_sum_plan.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/dp/rdp.h"

namespace fedsilo {

absl::StatusOr<SecureSumPlan> PlanSecureSum(const SecureSumSetting& setting,
                                            std::span<const double> orders) {
  const auto invalid = [](const std::string& what) {
    return absl::InvalidArgumentError("secure sum plan: " + what);
  };
  if (!(setting.clip > 0.0) || !std::isfinite(setting.clip)) {
    return invalid(absl::StrCat("the clip must be finite and > 0, got ", setting.clip));
  }
  if (!(setting.headroom >= 1.0) || !std::isfinite(setting.headroom)) {
    return invalid(absl::StrCat("the headroom must be finite and >= 1, got ", setting.headroom));
  }
  if (setting.dimension < 1 || setting.batch < 1 || setting.rounds < 1) {
    return invalid(absl::StrCat("dimension, batch and rounds must be >= 1, got ",
                                setting.dimension, ", ", setting.batch, ", ", setting.rounds));
  }
  if (setting.batch > setting.records) {
    return invalid(absl::StrCat("a batch of ", setting.batch, " needs at least as many records, got ",
                                setting.records));
  }
  if (setting.min_honest_silos < 1 || setting.min_honest_silos > setting.max_silos) {
    return invalid(absl::StrCat("the fewest honest silos must be in [1, ", setting.max_silos,
                                "], got ", setting.min_honest_silos));
  }
  SecureSumPlan plan;
  const double d = static_cast<double>(setting.dimension);
  plan.params.scale = setting.headroom * std::sqrt(d) / setting.clip;
  plan.params.shares = setting.shares;
  plan.params.record_bound = plan.params.scale * setting.clip + std::sqrt(d);
  FEDSILO_ASSIGN_OR_RETURN(plan.sensitivity,
                           RecordSensitivity(plan.params.record_bound, setting.dimension));
  const SkellamSampling sampling{
      setting.sampling, static_cast<double>(setting.batch) / static_cast<double>(setting.records)};
  if (setting.count_noise_multiplier > 0.0) {
    FEDSILO_ASSIGN_OR_RETURN(
        plan.count_rdp,
        ComputeRdp(DpEvent{Subsampling::kNone, 1.0, setting.count_noise_multiplier, 1}, orders));
  } else if (setting.count_noise_multiplier < 0.0 || std::isnan(setting.count_noise_multiplier)) {
    return invalid(absl::StrCat("the count release's noise multiplier must be >= 0, got ",
                                setting.count_noise_multiplier));
  }
  FEDSILO_ASSIGN_OR_RETURN(plan.total_variance,
                           CalibrateSkellamVariance(setting.epsilon, setting.delta,
                                                    plan.sensitivity, sampling, setting.rounds,
                                                    orders, plan.count_rdp));
  plan.share_variance = plan.total_variance / static_cast<double>(setting.min_honest_silos);
  plan.min_honest_silos = setting.min_honest_silos;
  // The most records a silo sums in a round (except with half the wrap probability, Poisson:
  // a silo of any size n samples Bin(n, K / n) records, of mean K and variance below K).
  double batch_bound = static_cast<double>(setting.batch);
  double noise_wrap = setting.wrap_probability;
  if (setting.sampling == Subsampling::kPoissonReplaceOne) {
    noise_wrap /= 2.0;
    const double l = std::log(2.0 * static_cast<double>(setting.max_silos) *
                              static_cast<double>(setting.rounds) / setting.wrap_probability);
    const double k = static_cast<double>(setting.batch);
    batch_bound = std::ceil(k + l / 3.0 + std::sqrt(l * l / 9.0 + 2.0 * k * l));
  }
  FEDSILO_ASSIGN_OR_RETURN(
      plan.range,
      SumRange(setting.max_silos * static_cast<int64_t>(batch_bound), plan.params.record_bound,
               plan.share_variance * static_cast<double>(setting.max_silos), setting.dimension,
               setting.rounds, noise_wrap));
  FEDSILO_ASSIGN_OR_RETURN(plan.params.bits, ModulusBitsFor(plan.range));
  plan.noise_std = std::sqrt(plan.total_variance) / plan.params.scale;
  return plan;
}

}  // namespace fedsilo
