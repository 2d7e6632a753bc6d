#include "common/algorithms/per_fedavg.h"

#include <cstdint>
#include <string>
#include <utility>

namespace fedsilo {

absl::StatusOr<PerFedAvgVariant> ParsePerFedAvgVariant(const std::string& name) {
  if (name == "fo") return PerFedAvgVariant::kFirstOrder;
  if (name == "hf") return PerFedAvgVariant::kHessianFree;
  if (name == "exact") return PerFedAvgVariant::kExact;
  return absl::InvalidArgumentError("algorithm.variant: unknown value '" + name +
                                    "' (allowed: fo | hf | exact)");
}

absl::StatusOr<PerFedAvgOptions> PerFedAvgOptionsFromConfig(const AlgorithmConfig& config) {
  PerFedAvgOptions options;
  FEDSILO_ASSIGN_OR_RETURN(options.variant, ParsePerFedAvgVariant(config.variant));
  options.local_steps = config.local_steps;
  options.alpha = config.alpha;
  options.beta = config.beta > 0.0 ? config.beta : config.lr;
  options.delta = config.delta;
  options.batch_size = config.batch_size;
  options.outer_batch_size = config.outer_batch_size > 0 ? config.outer_batch_size : config.batch_size;
  options.hessian_batch_size =
      config.hessian_batch_size > 0 ? config.hessian_batch_size : config.batch_size;
  return options;
}

absl::Status ValidatePerFedAvgConfig(const AlgorithmConfig& config, bool record_level_dp) {
  FEDSILO_ASSIGN_OR_RETURN(PerFedAvgOptions options, PerFedAvgOptionsFromConfig(config));
  if (!(options.delta > 0.0)) {
    return absl::InvalidArgumentError("algorithm.delta: must be > 0, got " +
                                      std::to_string(config.delta));
  }
  if (!record_level_dp) return absl::OkStatus();
  if (options.variant == PerFedAvgVariant::kExact) {
    return absl::InvalidArgumentError(
        "algorithm.variant: 'exact' cannot be private (no per-record clipping of a Hessian-vector "
        "product is defined); use variant hf, whose finite difference is clipped per record");
  }
  // The silo's privacy plan calibrates one query shape (q = batch_size / n_i).
  if (options.outer_batch_size != config.batch_size) {
    return absl::InvalidArgumentError(
        "algorithm.outer_batch_size: a private run needs it equal to algorithm.batch_size (" +
        std::to_string(config.batch_size) + ") or 0, got " +
        std::to_string(config.outer_batch_size));
  }
  if (options.variant == PerFedAvgVariant::kHessianFree &&
      options.hessian_batch_size != config.batch_size) {
    return absl::InvalidArgumentError(
        "algorithm.hessian_batch_size: a private run needs it equal to algorithm.batch_size (" +
        std::to_string(config.batch_size) + ") or 0, got " +
        std::to_string(config.hessian_batch_size));
  }
  return absl::OkStatus();
}

int64_t PerFedAvgQueriesPerRound(const AlgorithmConfig& config) {
  const int64_t per_step = config.variant == "fo" ? 2 : 3;
  return per_step * config.local_steps;
}

PerFedAvgSiloProgram::PerFedAvgSiloProgram(const PerFedAvgOptions& options) : options_(options) {}

absl::StatusOr<SiloUpdate> PerFedAvgSiloProgram::Train(const SiloTask& task,
                                                       SiloContext& context) const {
  const Vector& global = *task.global;
  GradientOracle& oracle = *context.oracle;
  Vector w = global;
  Vector grad(global.size()), adapted(global.size()), outer(global.size()), hvp(global.size());
  for (int step = 0; step < options_.local_steps; ++step) {
    FEDSILO_RETURN_IF_ERROR(oracle.Next(w, options_.batch_size, &grad));       // D
    adapted = w - options_.alpha * grad;
    FEDSILO_RETURN_IF_ERROR(oracle.Next(adapted, options_.outer_batch_size, &outer));  // D'
    switch (options_.variant) {
      case PerFedAvgVariant::kFirstOrder:
        break;
      case PerFedAvgVariant::kHessianFree: {  // D'': both gradients on one batch, one query
        const Vector plus = w + options_.delta * outer;
        const Vector minus = w - options_.delta * outer;
        FEDSILO_RETURN_IF_ERROR(oracle.NextGradientDifference(
            plus, minus, 0.5 / options_.delta, options_.hessian_batch_size, &hvp));
        outer.noalias() -= options_.alpha * hvp;
        break;
      }
      case PerFedAvgVariant::kExact:
        FEDSILO_RETURN_IF_ERROR(
            oracle.NextHessianVectorProduct(w, outer, options_.hessian_batch_size, &hvp));
        outer.noalias() -= options_.alpha * hvp;
        break;
    }
    w.noalias() -= options_.beta * outer;
  }
  return ModelDeltaUpdate(task, context, std::move(w));
}

}  // namespace fedsilo
