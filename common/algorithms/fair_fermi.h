// FERMI across silos (fair_fermi, isrl_dp_fair_fermi): min over theta, max over W of the mean
// FERMI objective (common/model/fermi_objective.h), after Lowy et al. (TMLR 2022), Lowy, Gupta,
// Razaviyayn (ICLR 2023) and Gupta et al. (2024).
//
// Silo half: the minibatch-SGD pattern (LocalSgdSiloProgram with one step): each silo queries
// its gradient oracle once per round at the global [theta | W] and sends -lr * g, where g is the
// gradient of the objective over BOTH blocks; with the DP oracle each record's full gradient is
// clipped and the sum noised inside the silo (one ledger event per round).
// Coordinator half (FermiCoordinator): averages the replies as FedAvg does, descends on theta
// (theta += server_lr * mean delta_theta), ASCENDS on W (W -= server_lr * ratio * mean delta_W)
// and projects W onto the Frobenius ball of radius w_radius. The registry uses
// ratio = w_lr / (lr * lambda): W takes steps of w_lr along the gradient of psi itself (mean
// delta_W is -lr * lambda * dpsi/dW), so the ascent is stable for w_lr < 1 / max_c P(yhat = c)
// whatever lambda (psi is a quadratic in W of curvature -2 P(yhat = c)). With lambda = 0 the W
// gradients are zero, W stays 0 and theta follows minibatch SGD exactly.
// FermiObjectiveFor builds the objective from the configured base model; group marginals come
// from fairness.group_marginals or, when empty, from the pooled training frequencies (treated as
// public: no privacy cost is charged for them).
#pragma once

#include <memory>
#include <span>

#include "common/algorithms/algorithm_config.h"
#include "common/algorithms/fedavg.h"
#include "common/base/status.h"
#include "common/data/dataset.h"
#include "common/model/model.h"

namespace fedsilo {

class FermiCoordinator : public CoordinatorProgram {
 public:
  // dual_size: length of the W block at the end of the parameters; w_step_ratio scales the
  // averaged W delta into the ascent step (see above).
  FermiCoordinator(Weighting weighting, double server_lr, int dual_size, double w_step_ratio,
                   double w_radius);
  absl::Status Aggregate(int round, const RoundResults& results, Vector* global) override;

 private:
  FedAvgCoordinator average_;
  int dual_size_;
  double w_step_ratio_;
  double w_radius_;
};

// Checks the fairness section (InvalidArgument naming the key).
absl::Status ValidateFairnessConfig(const AlgorithmConfig& config);

// The FERMI objective over `base`; `train_rows` of `train` are the pooled training records.
absl::StatusOr<std::unique_ptr<Model>> FermiObjectiveFor(const AlgorithmConfig& config,
                                                         std::unique_ptr<Model> base,
                                                         const Dataset& train,
                                                         std::span<const int> train_rows);

}  // namespace fedsilo
