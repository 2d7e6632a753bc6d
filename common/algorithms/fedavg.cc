#include "common/algorithms/fedavg.h"

#include <cmath>
#include <string>
#include <utility>

namespace fedsilo {

LocalSgdSiloProgram::LocalSgdSiloProgram(int local_steps, double lr, double prox_mu)
    : local_steps_(local_steps), lr_(lr), prox_mu_(prox_mu) {}

absl::StatusOr<SiloUpdate> LocalSgdSiloProgram::Train(const SiloTask& task,
                                                      SiloContext& context) const {
  const Vector& global = *task.global;
  Vector w = global;
  Vector grad(global.size());
  for (int step = 0; step < local_steps_; ++step) {
    FEDSILO_RETURN_IF_ERROR(context.oracle->Next(w, &grad));
    if (prox_mu_ > 0.0) grad.noalias() += prox_mu_ * (w - global);
    w.noalias() -= lr_ * grad;
  }
  return ModelDeltaUpdate(task, context, std::move(w));
}

FedAvgCoordinator::FedAvgCoordinator(Weighting weighting, ServerOptimizerOptions optimizer)
    : weighting_(weighting), optimizer_(std::move(optimizer)) {}

absl::StatusOr<Vector> AverageDeltas(int round, const RoundResults& results, Weighting weighting,
                                     Eigen::Index size) {
  if (results.updates.empty()) {
    std::string reasons;
    for (const SiloFailure& failure : results.failures) {
      reasons += "; silo " + std::to_string(failure.silo_id) + ": " +
                 std::string(failure.status.message());
    }
    return absl::UnavailableError("round " + std::to_string(round) + ": no silo replied" + reasons);
  }
  double total_weight = 0.0;
  for (const SiloUpdate& update : results.updates) {
    total_weight += weighting == Weighting::kBySize ? update.weight : 1.0;
  }
  // Fixed summation order: the order of results.updates (canonical, never arrival order).
  Vector average = Vector::Zero(size);
  for (const SiloUpdate& update : results.updates) {
    if (update.delta.size() != size) {
      return absl::InvalidArgumentError("round " + std::to_string(round) + ": silo " +
                                        std::to_string(update.silo_id) + " sent " +
                                        std::to_string(update.delta.size()) +
                                        " values, expected " + std::to_string(size));
    }
    const double a = (weighting == Weighting::kBySize ? update.weight : 1.0) / total_weight;
    average.noalias() += a * update.delta;
  }
  return average;
}

absl::Status FedAvgCoordinator::Aggregate(int round, const RoundResults& results,
                                          Vector* global) {
  FEDSILO_ASSIGN_OR_RETURN(const Vector average,
                           AverageDeltas(round, results, weighting_, global->size()));
  optimizer_.Step(average, global);
  return absl::OkStatus();
}

}  // namespace fedsilo
