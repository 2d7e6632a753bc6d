// FERMI across silos (fair_fermi, isrl_dp_fair_fermi): min over theta, max over W of the mean
// FERMI objective (common/model/fermi_objective.h), after Lowy et al. (TMLR 2022), Lowy, Gupta,
// Razaviyayn (ICLR 2023) and Gupta et al. (2024).
//
// Silo half: the minibatch-SGD pattern (LocalSgdSiloProgram with one step): each silo queries
// its gradient oracle once per round at the global [theta | W] and sends -lr * g, where g is the
// gradient of the objective over BOTH blocks; with the DP oracle each record's full gradient is
// clipped and the sum noised inside the silo (one ledger event per round).
// sdp_sum_fair_fermi: the same objective and steps through the secure sum of issue 15: each silo
// sends its noisy integer sum of block-clipped [theta | W] gradients (SdpSumMinibatchSgd's silo
// half, blocks equalized), and the coordinator decodes the round's sum and descends and ascends as
// below (FermiCoordinator around an SdpSumMinibatchSgdCoordinator).
// Coordinator half (FermiCoordinator): averages the replies as FedAvg does, descends on theta
// (theta += server_lr * mean delta_theta), ASCENDS on W (W -= server_lr * ratio * mean delta_W)
// and projects W onto the Frobenius ball of radius w_radius. The registry uses
// ratio = w_lr / (lr * lambda): W takes steps of w_lr along the gradient of psi itself (mean
// delta_W is -lr * lambda * dpsi/dW), so the ascent is stable for w_lr < 1 / max_c P(yhat = c)
// whatever lambda (psi is a quadratic in W of curvature -2 P(yhat = c)). With lambda = 0 the W
// gradients are zero, W stays 0 and theta follows minibatch SGD exactly.
// FermiObjectiveFor builds the shared objective from the configured base model; its group
// marginals come from fairness.group_marginals (marginals: public) or the pooled training
// frequencies (marginals: pooled, treated as public: no privacy cost is charged for them). With
// marginals: local the shared objective (pooled frequencies) only serves the harness's evaluation
// and as a template: FermiSiloSetup runs in every silo, counts the silo's records through its
// CountOracle (Gaussian noise charged to its ledger in private runs, exact otherwise), turns the
// counts into marginals (MarginalsFromCounts; noisy counts are first raised to at least one
// record) and trains the silo on the objective with its own marginals.
// FermiClipBlocks: with fairness.w_clip > 0 (and lambda > 0) private silos clip each record's
// theta block to privacy.clip and its W block to lambda * w_clip separately (w_clip bounds the W
// gradient of psi itself, so one value serves every lambda, as w_lr does), and noise each block in
// proportion to its bound (gradient_oracle.h, silo_privacy.h); with lambda = 0 the W block of
// every gradient is zero and one joint clip is used.
#pragma once

#include <memory>
#include <span>

#include <optional>
#include <string>
#include <vector>

#include "common/algorithms/algorithm_config.h"
#include "common/algorithms/fedavg.h"
#include "common/algorithms/silo_setup.h"
#include "common/base/status.h"
#include "common/data/dataset.h"
#include "common/dp/clipping.h"
#include "common/model/model.h"

namespace fedsilo {

class FermiCoordinator : public CoordinatorProgram {
 public:
  // dual_size: length of the W block at the end of the parameters; w_step_ratio scales the
  // averaged W delta into the ascent step (see above).
  FermiCoordinator(Weighting weighting, double server_lr, int dual_size, double w_step_ratio,
                   double w_radius);
  // As above with `descent` making the step on every coordinate (e.g. the secure sum's decoding
  // coordinator) in place of FedAvg's averaging.
  FermiCoordinator(std::unique_ptr<CoordinatorProgram> descent, int dual_size, double w_step_ratio,
                   double w_radius);
  absl::Status Aggregate(int round, const RoundResults& results, Vector* global) override;

 private:
  std::unique_ptr<CoordinatorProgram> descent_;
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

// fairness.marginals: local: each silo's own marginals from its (noisy) group counts.
class FermiSiloSetup : public SiloSetup {
 public:
  explicit FermiSiloSetup(CountReleaseBudget budget) : budget_(budget) {}
  std::optional<CountReleaseBudget> count_release() const override { return budget_; }
  // FailedPrecondition when the shared model is not a FERMI objective or no count oracle is
  // given; the oracle's errors otherwise.
  absl::StatusOr<std::unique_ptr<Model>> Run(const SiloSetupContext& context) const override;

 private:
  CountReleaseBudget budget_;
};

// Where the marginals come from, in words (summary.json).
std::string FermiMarginalsDescription(const FairnessConfig& fairness, bool record_level_dp);

// The setup of fairness.marginals: local, or nullptr for the other sources.
std::shared_ptr<const SiloSetup> FermiSiloSetupFor(const AlgorithmConfig& config);

// Separate clipping of [theta | W] (`num_parameters` in all, W the last fairness.dual_size):
// {theta: clip, W: lambda * fairness.w_clip}, or empty (one joint clip) when w_clip or lambda is 0.
std::vector<ClipBlock> FermiClipBlocks(const AlgorithmConfig& config, int num_parameters,
                                       double clip);

}  // namespace fedsilo
