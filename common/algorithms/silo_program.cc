#include "common/algorithms/silo_program.h"

#include <string>
#include <utility>

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
                                            Vector local) {
  SiloUpdate update;
  update.round = task.round;
  update.silo_id = task.silo_id;
  local -= *task.global;
  update.delta = std::move(local);
  update.weight = context.weight;
  FEDSILO_RETURN_IF_ERROR(CheckUpdateIsFinite(update));
  return update;
}

}  // namespace fedsilo
