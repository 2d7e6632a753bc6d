// FedAvg and minibatch SGD (McMahan et al. 2017; Woodworth et al. 2020), private or not.
//
// Silo half (LocalSgdSiloProgram): from the global model w_g, take `local_steps` steps
// w <- w - lr * (g + mu (w - w_g)) with g from the silo's gradient oracle, and send
// delta = w_local - w_g. mu = 0 is FedAvg; mu > 0 is FedProx's proximal term (Li et al. 2020,
// algorithm.prox_mu), which involves only the public w_g, so a private run's accounting is the
// same. Minibatch SGD is the same program with one step. With the DP oracle this is ISRL-DP
// FedAvg / ISRL-DP minibatch SGD (Lowy & Razaviyayn): every gradient is clipped and noised in
// the silo.
//
// Coordinator half (FedAvgCoordinator): d = sum_i a_i delta_i over the replies received, a_i
// proportional to the silo weight (`size`) or equal (`uniform`) and renormalized over the silos
// that replied (a missing reply simply leaves the average: each reply is already privatized on
// its own, so no noise scaling depends on who else replied); then the server optimizer's step
// along d (server_optimizer.h: w <- w + server_lr * d for plain FedAvg).
#pragma once

#include <string>

#include "common/algorithms/coordinator_program.h"
#include "common/algorithms/server_optimizer.h"
#include "common/algorithms/silo_program.h"

namespace fedsilo {

class LocalSgdSiloProgram : public SiloProgram {
 public:
  LocalSgdSiloProgram(int local_steps, double lr, double prox_mu = 0.0);
  absl::StatusOr<SiloUpdate> Train(const SiloTask& task, SiloContext& context) const override;

 private:
  int local_steps_;
  double lr_;
  double prox_mu_;
};

enum class Weighting { kBySize, kUniform };

// The weighted mean of the replies' deltas (weights by size or equal, renormalized over the
// replies), summed in the order of results.updates. Unavailable naming the failures when no silo
// replied; InvalidArgument when a delta's length is not `size`.
absl::StatusOr<Vector> AverageDeltas(int round, const RoundResults& results, Weighting weighting,
                                     Eigen::Index size);

class FedAvgCoordinator : public CoordinatorProgram {
 public:
  FedAvgCoordinator(Weighting weighting, ServerOptimizerOptions optimizer);
  // Plain FedAvg: w <- w + server_lr * d.
  FedAvgCoordinator(Weighting weighting, double server_lr)
      : FedAvgCoordinator(weighting, ServerOptimizerOptions{.lr = server_lr}) {}
  absl::Status Aggregate(int round, const RoundResults& results, Vector* global) override;
  Vector State() const override { return optimizer_.State(); }
  absl::Status RestoreState(const Vector& state, int num_parameters) override {
    return optimizer_.Restore(state, num_parameters);
  }

 private:
  Weighting weighting_;
  ServerOptimizer optimizer_;
};

}  // namespace fedsilo
