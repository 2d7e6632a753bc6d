// Central-DP minibatch SGD (central_dp_minibatch_sgd): the trusted-server baseline of issue 15,
// for comparison only. It needs a coordinator trusted with every silo's clipped gradients.
//
// Silo half: LocalSgdSiloProgram with one step and a plain oracle that clips each record's
// gradient (OracleSettings::clip_only) but adds no noise: delta_i = -lr * (clipped sum) / K.
// Coordinator half (CentralDpCoordinator): the uniform mean of the S deltas received, plus the
// trusted server's Gaussian noise on the round's total clipped sum, N(0, std_on_sum^2) per
// coordinate, carried to the mean's scale: N(0, (lr std_on_sum / (K S))^2); then the server
// optimizer's step. The noise comes from the coordinator's own generator, seeded per round from
// CentralNoise::seed (so a resumed run draws the same noise). std_on_sum = z * clip with z the
// Poisson-subsampled Gaussian's multiplier for each silo's (epsilon, delta) at the public rate
// (PlanCentralNoise, silo_privacy.h). A round with no reply is Unavailable.
#pragma once

#include "common/algorithms/algorithm_config.h"
#include "common/algorithms/coordinator_program.h"
#include "common/algorithms/server_optimizer.h"

namespace fedsilo {

class CentralDpCoordinator : public CoordinatorProgram {
 public:
  CentralDpCoordinator(double lr, int batch_size, CentralNoise noise,
                       ServerOptimizerOptions optimizer);
  absl::Status Aggregate(int round, const RoundResults& results, Vector* global) override;
  Vector State() const override { return optimizer_.State(); }
  absl::Status RestoreState(const Vector& state, int num_parameters) override {
    return optimizer_.Restore(state, num_parameters);
  }

 private:
  double lr_;
  int batch_size_;
  CentralNoise noise_;
  ServerOptimizer optimizer_;
};

}  // namespace fedsilo
