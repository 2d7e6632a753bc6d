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

}  // namespace fedsilo
