#include "common/algorithms/coordinator_program.h"

#include <string>

namespace fedsilo {

std::vector<SiloTask> CoordinatorProgram::ConfigureRound(
    int round, const std::shared_ptr<const Vector>& global, std::span<const int> sampled) const {
  std::vector<SiloTask> tasks;
  tasks.reserve(sampled.size());
  for (int silo : sampled) tasks.push_back(SiloTask{round, silo, global});
  return tasks;
}

absl::Status CoordinatorProgram::RestoreState(const Vector& state, int /*num_parameters*/) {
  if (state.size() == 0) return absl::OkStatus();
  return absl::InvalidArgumentError("this algorithm's coordinator keeps no state, the checkpoint "
                                    "holds " + std::to_string(state.size()) + " values");
}

}  // namespace fedsilo
