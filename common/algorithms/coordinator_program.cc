#include "common/algorithms/coordinator_program.h"

namespace fedsilo {

std::vector<SiloTask> CoordinatorProgram::ConfigureRound(
    int round, const std::shared_ptr<const Vector>& global, std::span<const int> sampled) const {
  std::vector<SiloTask> tasks;
  tasks.reserve(sampled.size());
  for (int silo : sampled) tasks.push_back(SiloTask{round, silo, global});
  return tasks;
}

}  // namespace fedsilo
