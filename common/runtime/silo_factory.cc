#include "common/runtime/silo_factory.h"

#include <utility>

#include "common/base/rng.h"

namespace fedsilo {

SiloFactory::SiloFactory(const PreparedExperiment& experiment)
    : experiment_(experiment),
      program_(experiment.algorithm.make_silo_program(experiment.config.algorithm)),
      setup_(experiment.algorithm.make_silo_setup
                 ? experiment.algorithm.make_silo_setup(experiment.config.algorithm)
                 : nullptr),
      extras_(PrivacyExtrasFor(experiment.algorithm, experiment.config,
                               experiment.model->num_parameters(), setup_.get())),
      secret_noise_(experiment.config.privacy.secure_noise) {}

absl::StatusOr<std::unique_ptr<SiloRuntime>> SiloFactory::Make(int silo_id,
                                                               std::vector<int> train_rows) {
  const ExperimentConfig& config = experiment_.config;
  const AlgorithmSpec& spec = experiment_.algorithm;
  const int64_t n = static_cast<int64_t>(train_rows.size());
  auto plan = plans_.find(n);
  if (plan == plans_.end()) {
    FEDSILO_ASSIGN_OR_RETURN(
        SiloPrivacyPlan new_plan,
        PlanSiloPrivacy(config.privacy, config.algorithm, spec.record_level_dp,
                        spec.queries_per_round(config.algorithm), n, extras_));
    plan = plans_.emplace(n, std::move(new_plan)).first;
  }
  SiloRuntimeOptions silo;
  silo.silo_id = silo_id;
  silo.model = experiment_.model.get();
  silo.data = &experiment_.data().train;
  silo.train_rows = std::move(train_rows);  // a silo's own index list (4 bytes a record)
  silo.program = program_;
  silo.privacy = plan->second;
  silo.private_seed = secret_noise_ ? SeedFromOsEntropy()
                                    : DeriveSeed(config.seed, "silo-private",
                                                 static_cast<uint64_t>(silo_id));
  silo.reproducible_noise = !secret_noise_;
  silo.weight = seal_for_ ? 1.0 : static_cast<double>(n);
  silo.seal_for = seal_for_;
  silo.keep_last_answer = keep_last_answer_;
  silo.setup = setup_;
  return std::make_unique<SiloRuntime>(std::move(silo));
}

}  // namespace fedsilo
