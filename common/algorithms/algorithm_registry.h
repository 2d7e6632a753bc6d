// AlgorithmRegistry: maps an algorithm name to its silo half and coordinator half.
//
// Built in: fedavg, minibatch_sgd, isrl_dp_fedavg, isrl_dp_minibatch_sgd, per_fedavg,
// isrl_dp_per_fedavg, fair_fermi, isrl_dp_fair_fermi, sdp_sum_fair_fermi, sdp_minibatch_sgd,
// sdp_sum_minibatch_sgd, central_dp_minibatch_sgd (a trusted-server baseline). Built-ins are
// registered on first use (no static initializers, so nothing is lost when linking statically).
// RegisterAlgorithm adds a user's algorithm before any run; lookups are thread-safe afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/algorithms/algorithm_config.h"
#include "common/algorithms/coordinator_program.h"
#include "common/algorithms/server_optimizer.h"
#include "common/algorithms/silo_program.h"
#include "common/algorithms/silo_setup.h"
#include "common/base/status.h"
#include "common/data/dataset.h"
#include "common/dp/clipping.h"
#include "common/model/model.h"

namespace fedsilo {

struct AlgorithmSpec {
  std::string name;
  std::string description;
  // True when every gradient a silo computes goes through the record-level DP oracle.
  bool record_level_dp = false;
  // True when the coordinator takes algorithm.server_optimizer (and its betas and tau); others
  // accept only sgd.
  bool server_optimizer = false;
  // True when the silo program adds FedProx's proximal term (algorithm.prox_mu); others accept
  // only 0.
  bool proximal_term = false;
  // True for shuffle-model algorithms: their privacy holds only if a shuffler hides which silo
  // sent which report, so the round loop refuses to run them without one (round_loop.h).
  bool requires_shuffler = false;
  // Secure-sum algorithms (sdp_sum_minibatch_sgd, sdp_sum_fair_fermi): each silo's noise is a
  // share of the Skellam noise the round's sum carries, calibrated for the fewest honest silos
  // (network.min_replies); the silo plans it with PlanSecureSum (silo_privacy.h). Requires
  // requires_shuffler.
  bool secure_sum = false;
  // A baseline that needs a trusted server (central_dp_minibatch_sgd): silos clip but add no
  // noise and send their clipped sums to the coordinator, which adds the noise
  // (config.central_noise, planned by PrepareExperiment). Thread mode only: a silo process
  // refuses it, since it would send a value without noise.
  bool trusted_server = false;
  // Shuffle-model algorithms with one report per sampled record: how many reports one silo sends
  // in a round (its batch size). Empty = one report (the silo's update) per silo.
  std::function<int64_t(const AlgorithmConfig&)> reports_per_silo;
  std::function<std::unique_ptr<SiloProgram>(const AlgorithmConfig&)> make_silo_program;
  std::function<std::unique_ptr<CoordinatorProgram>(const AlgorithmConfig&)> make_coordinator;
  // Gradient-oracle queries one silo makes in one round it serves.
  std::function<int64_t(const AlgorithmConfig&)> queries_per_round;
  // Optional: checks settings that only this algorithm constrains (InvalidArgument naming the
  // key). Called by the config parser after decoding; empty = nothing to check.
  std::function<absl::Status(const AlgorithmConfig&)> validate;
  // Optional: replaces settings left at "auto" by what this algorithm needs (e.g. private FERMI's
  // group marginals become each silo's noisy counts). Called by the config parser after decoding
  // and by PrepareExperiment, before validate.
  std::function<void(AlgorithmConfig*)> resolve_defaults;
  // Optional: the objective this algorithm optimizes, built around the configured model (e.g.
  // FERMI's [theta | W]); `train_rows` of `train` are the pooled training records. It may fill
  // config->fairness.dual_size and other derived values. Empty = the model itself.
  std::function<absl::StatusOr<std::unique_ptr<Model>>(AlgorithmConfig* config,
                                                       std::unique_ptr<Model> model,
                                                       const Dataset& train,
                                                       std::span<const int> train_rows)>
      make_objective;
  // Optional: a one-off step each silo runs on its own records before its first task, giving the
  // objective that silo trains (silo_setup.h). Empty, or nullptr returned = every silo trains the
  // shared objective.
  std::function<std::shared_ptr<const SiloSetup>(const AlgorithmConfig&)> make_silo_setup;
  // Optional: separate per-record clipping of consecutive parameter blocks in private silos,
  // given the parameter count and privacy.clip (e.g. FERMI's theta and W). Empty function or
  // empty result = one joint clip.
  std::function<std::vector<ClipBlock>(const AlgorithmConfig&, int num_parameters, double clip)>
      clip_blocks;
};

void RegisterAlgorithm(AlgorithmSpec spec);
// The settings `spec` takes: its declared server optimizer and proximal term, then its own
// validate (InvalidArgument "algorithm.key: problem").
absl::Status ValidateAlgorithmConfig(const AlgorithmSpec& spec, const AlgorithmConfig& config);
// The server optimizer the algorithm section describes (server_optimizer.h).
ServerOptimizerOptions ServerOptimizerOptionsFrom(const AlgorithmConfig& config);
std::vector<std::string> RegisteredAlgorithmNames();
absl::StatusOr<AlgorithmSpec> FindAlgorithm(const std::string& name);

}  // namespace fedsilo
