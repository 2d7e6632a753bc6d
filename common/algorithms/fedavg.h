// FedAvg and minibatch SGD (McMahan et al. 2017; Woodworth et al. 2020), private or not.
//
// Silo half (LocalSgdSiloProgram): from the global model w, take `local_steps` steps
// w <- w - lr * g with g from the silo's gradient oracle, and send delta = w_local - w_global.
// Minibatch SGD is the same program with one step. With the DP oracle this is ISRL-DP FedAvg /
// ISRL-DP minibatch SGD (Lowy & Razaviyayn): every gradient is clipped and noised in the silo.
//
// Coordinator half (FedAvgCoordinator): w <- w + server_lr * sum_i a_i delta_i over the replies
// received, a_i proportional to the silo weight (`size`) or equal (`uniform`) and renormalized
// over the silos that replied: a missing reply simply leaves the average (each reply is already
// privatized on its own, so no noise scaling depends on who else replied).
#pragma once

#include <string>

#include "common/algorithms/coordinator_program.h"
#include "common/algorithms/silo_program.h"

namespace fedsilo {

class LocalSgdSiloProgram : public SiloProgram {
 public:
  LocalSgdSiloProgram(int local_steps, double lr);
  absl::StatusOr<SiloUpdate> Train(const SiloTask& task, SiloContext& context) const override;

 private:
  int local_steps_;
  double lr_;
};

enum class Weighting { kBySize, kUniform };

class FedAvgCoordinator : public CoordinatorProgram {
 public:
  FedAvgCoordinator(Weighting weighting, double server_lr);
  absl::Status Aggregate(int round, const RoundResults& results, Vector* global) override;

 private:
  Weighting weighting_;
  double server_lr_;
};

}  // namespace fedsilo
