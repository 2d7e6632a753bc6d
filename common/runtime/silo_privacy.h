// SiloPrivacyPlan: how one silo privatizes its gradient queries and what budget it enforces,
// decided by the silo itself from the privacy settings and its own record count (the silo is
// the trust boundary; nothing here is sent to the coordinator).
//
// Every noisy query is one subsampled Gaussian event (q = batch / n_i, noise multiplier z in the
// convention of the sampler, see dp/dp_event.h). The silo budgets for T = planned_rounds *
// queries_per_round queries (planned_rounds defaults to algorithm.rounds: the silo may serve
// every round) at (epsilon, delta), delta = privacy.delta or 1/n_i^2 when 0.
//   calibration rdp   (default) z = the smallest noise multiplier for which the RDP accountant
//                     certifies (epsilon, delta) after T queries; the budget is that epsilon.
//   calibration paper sigma on the mean gradient from Lowy & Razaviyayn's closed form; the budget
//                     is the T queries the formula covers; the accountant's epsilon (Poisson or
//                     without-replacement sampling) is reported beside the target.
//
// Extras an algorithm may ask for (PrivacyExtras, from its AlgorithmSpec; rdp calibration only):
//   clip blocks   each record's gradient clipped block by block (e.g. FERMI's theta to
//                 privacy.clip and W to fairness.w_clip). Block b of the sum gets noise
//                 std_b = z k sqrt(B) clip_b (B blocks, k = 1 Poisson / 2 replace-one): the same
//                 multiplier per block, as DP-FERMI. Scaling block b by 1 / std_b makes the
//                 mechanism one Gaussian of unit noise whose sensitivity is
//                 k sqrt(sum_b (clip_b / std_b)^2) = 1 / z, so each query is exactly the
//                 subsampled Gaussian event with multiplier z the accountant composes
//                 (QueryNoiseMultiplier in gradient_oracle.h computes it back from the stds).
//   count release one Gaussian histogram of the silo's records before training (count_oracle.h):
//                 event {kNone, q = 1, z_c}, noise std z_c per cell under add/remove-one
//                 (Poisson) and z_c sqrt(2) under replace-one. z_c is the budget's fixed noise
//                 multiplier, or the smallest z_c whose release alone costs
//                 epsilon_fraction * epsilon at delta; the gradient multiplier z is then the
//                 smallest for which the count AND the T queries compose (RDP) within epsilon.
//                 max_queries counts the release too.
// Pure; thread-safe. Errors: InvalidArgument for settings no noise can satisfy, naming the silo's
// size (e.g. a count release that alone costs more than the budget), and for extras with
// calibration paper.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/algorithms/algorithm_registry.h"
#include "common/algorithms/gradient_oracle.h"
#include "common/algorithms/silo_setup.h"
#include "common/base/status.h"
#include "common/dp/dp_event.h"
#include "common/runtime/experiment_config.h"

namespace fedsilo {

struct SiloPrivacyPlan {
  bool record_level_dp = false;
  bool accountable = false;      // an RDP accountant covers the sampler (not with_replacement)
  bool budget_by_epsilon = false;  // rdp: refuse past target epsilon; paper: past planned queries
  double target_epsilon = 0.0;   // the budget (per silo, whole run)
  double delta = 0.0;
  int64_t queries_per_round = 0;
  int64_t planned_queries = 0;   // T
  int64_t max_queries = 0;       // most queries of query_event the budget allows (>= T for rdp)
  double sigma_mean = 0.0;       // std of the noise on the minibatch-mean gradient (on its
                                 // first block's coordinates with separate block clipping)
  DpEvent query_event;           // what one noisy query costs
  std::shared_ptr<const std::vector<double>> query_rdp;  // RDP of one query per default order
  OracleSettings oracle;         // what the silo's oracle runs
  // The one-off count release, when the algorithm makes one (PrivacyExtras::count_release).
  std::optional<DpEvent> count_event;
  double count_noise_std = 0.0;  // per cell
  std::shared_ptr<const std::vector<double>> count_rdp;  // its RDP per default order
};

// What an algorithm asks of a private silo besides plain, jointly clipped gradient queries.
struct PrivacyExtras {
  int num_parameters = 0;              // length of the gradients
  std::vector<ClipBlock> clip_blocks;  // separate clipping; empty = one joint clip
  std::optional<CountReleaseBudget> count_release;  // a one-off count before training
};

// The extras of `spec` under `config` for gradients of `num_parameters`, with `setup` the
// algorithm's silo setup (nullptr when it has none).
PrivacyExtras PrivacyExtrasFor(const AlgorithmSpec& spec, const ExperimentConfig& config,
                               int num_parameters, const SiloSetup* setup);

absl::StatusOr<SiloPrivacyPlan> PlanSiloPrivacy(const PrivacyConfig& privacy,
                                                const AlgorithmConfig& algorithm,
                                                bool record_level_dp, int64_t queries_per_round,
                                                int64_t num_records,
                                                const PrivacyExtras& extras = {});

// "add/remove-one record" for Poisson sampling, "replace-one record" otherwise.
std::string NeighbouringRelation(const std::string& sampling);

}  // namespace fedsilo
