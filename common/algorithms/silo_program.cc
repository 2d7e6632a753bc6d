#include "common/algorithms/silo_program.h"

#include <string>

namespace fedsilo {

absl::Status CheckUpdateIsFinite(const SiloUpdate& update) {
  if (!update.delta.allFinite()) {
    return absl::InternalError("silo " + std::to_string(update.silo_id) + " round " +
                               std::to_string(update.round) +
                               ": update is not finite (training diverged; lower algorithm.lr)");
  }
  return absl::OkStatus();
}

absl::StatusOr<SiloUpdate> ModelDeltaUpdate(const SiloTask& task, const SiloContext& context,
                                            const Vector& local) {
  SiloUpdate update;
  update.round = task.round;
  update.silo_id = task.silo_id;
  update.delta = local - *task.global;
  update.weight = context.weight;
  FEDSILO_RETURN_IF_ERROR(CheckUpdateIsFinite(update));
  return update;
}

}  // namespace fedsilo
