#include "common/runtime/silo_runtime.h"

#include <string>

#include "common/base/rng.h"

namespace fedsilo {

SiloRuntime::SiloRuntime(SiloRuntimeOptions options) : options_(std::move(options)) {}

absl::StatusOr<SiloUpdate> SiloRuntime::Handle(const SiloTask& task) {
  if (task.silo_id != options_.silo_id) {
    return absl::InvalidArgumentError("task for silo " + std::to_string(task.silo_id) +
                                      " delivered to silo " + std::to_string(options_.silo_id));
  }
  if (task.global == nullptr || task.global->size() != options_.model->num_parameters()) {
    return absl::InvalidArgumentError("silo " + std::to_string(options_.silo_id) +
                                      ": task has a parameter vector of the wrong size");
  }
  Rng sampling_rng(DeriveSeed(options_.private_seed, "batch", static_cast<uint64_t>(task.round)));
  Rng noise_rng(DeriveSeed(options_.private_seed, "noise", static_cast<uint64_t>(task.round)));
  const OracleData source{options_.model, options_.data, options_.train_rows};
  const OracleSettings& settings = options_.privacy.oracle;
  std::unique_ptr<GradientOracle> oracle;
  if (settings.record_level_dp) {
    oracle = std::make_unique<DpGradientOracle>(source, settings, &sampling_rng, &noise_rng,
                                                &ledger_);
  } else {
    oracle = std::make_unique<PlainGradientOracle>(source, settings, &sampling_rng);
  }
  SiloContext context{options_.silo_id, options_.model, oracle.get(), options_.weight};
  return options_.program->Train(task, context);
}

}  // namespace fedsilo
