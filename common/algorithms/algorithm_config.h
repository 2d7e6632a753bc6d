// AlgorithmConfig: the `algorithm` section of an experiment file. Plain values; parsed and
// validated by runtime/config_parser, read by the algorithm factories in algorithm_registry.h.
#pragma once

#include <string>
#include <vector>

#include "common/dp/clipping.h"

namespace fedsilo {

// The `fairness` section: the FERMI objective of fair_fermi / isrl_dp_fair_fermi /
// sdp_sum_fair_fermi
// (common/model/fermi_objective.h). Ignored by every other algorithm.
struct FairnessConfig {
  std::string notion = "demographic_parity";  // demographic_parity | equalized_odds |
                                              // equal_opportunity
  double lambda = 1.0;     // weight of the ERMI penalty; 0 = plain ERM
  double w_radius = 10.0;  // the coordinator projects W onto the Frobenius ball of this radius
  double w_lr = 0.0;       // step size of the ascent on W; 0 = algorithm.lr
  // Private runs: per-record L2 bound of the W block of psi's gradient: the W block of each
  // record's gradient of loss + lambda psi is clipped to lambda * w_clip, separately from theta's
  // (privacy.clip); 0 = one joint clip over [theta | W] (privacy.clip).
  double w_clip = 0.0;
  // Where the group marginals P_s come from: pooled (the pooled training frequencies, treated as
  // public: no privacy cost; refused in private runs), public (group_marginals below), local (each
  // silo counts its own records: a Gaussian noisy count charged to its ledger in private runs,
  // exact otherwise). auto (the default) becomes local in a private run and pooled otherwise
  // (AlgorithmSpec::resolve_defaults).
  std::string marginals = "auto";
  // Public group marginals (marginals: public), blocks x groups flattened row by row: P(s)
  // (demographic_parity), P(s | y = 1) (equal_opportunity), P(s | y = c) for every class c
  // (equalized_odds).
  std::vector<double> group_marginals;
  // marginals: local in private runs: the share of each silo's epsilon its noisy count is
  // calibrated to alone, or (when > 0) a fixed noise multiplier for the count instead.
  double marginals_epsilon_fraction = 0.1;
  double marginals_noise_multiplier = 0.0;
  // Derived, not a key: the length of the W block at the end of the parameter vector (set by
  // PrepareExperiment from the objective it builds; the coordinator needs it).
  int dual_size = 0;
};

// Derived, not keys: the trusted server's noise (central_dp_minibatch_sgd), set by
// PrepareExperiment from the privacy section (silo_privacy.h, PlanCentralNoise).
struct CentralNoise {
  double std_on_sum = 0.0;   // Gaussian std on the round's sum of clipped gradients
  unsigned long long seed = 0;  // the coordinator's noise stream
};

struct AlgorithmConfig {
  std::string name = "fedavg";  // a registered algorithm, e.g. fedavg, per_fedavg
  int rounds = 100;
  int average_last = 0;         // output the mean of the models after the last K rounds; 0 = last
  int silos_per_round = 0;      // 0 = all silos every round
  int local_steps = 1;          // SGD steps per round (forced to 1 for *minibatch_sgd)
  int batch_size = 32;          // records per gradient query (expected size under Poisson)
  double lr = 0.1;              // silo step size
  double server_lr = 1.0;       // coordinator step size on the averaged update
  // FedAvg-family coordinators: the step along the averaged update (server_optimizer.h; Reddi et
  // al. 2021): sgd | momentum (FedAvgM) | adam (FedAdam) | yogi (FedYogi), with their beta1,
  // beta2 and tau.
  std::string server_optimizer = "sgd";
  double server_beta1 = 0.9;
  double server_beta2 = 0.99;
  double server_tau = 1e-3;
  double prox_mu = 0.0;         // FedProx's proximal term in local SGD; 0 = FedAvg
  std::string weighting = "size";  // size | uniform: how silo updates are averaged
  // Per-FedAvg (per_fedavg, isrl_dp_per_fedavg); alpha and personalize_steps also drive the
  // personalized evaluation of every algorithm.
  std::string variant = "fo";   // fo | hf | exact
  double alpha = 0.01;          // inner (adaptation) step size
  double beta = 0.0;            // outer (meta) step size; 0 = lr
  double delta = 0.001;         // hf: finite-difference step
  int outer_batch_size = 0;     // |D'|; 0 = batch_size
  int hessian_batch_size = 0;   // |D''|; 0 = batch_size
  int personalize_steps = 1;    // evaluation: SGD steps of size alpha on each silo; 0 = off
  FairnessConfig fairness;      // parsed from the top-level `fairness` section
  CentralNoise central_noise;   // derived (central_dp_minibatch_sgd only)
  // Derived (secure-sum algorithms with separate clip blocks, sdp_sum_fair_fermi): the blocks
  // every silo clips and equalizes (secure_sum_oracle.h), set by PrepareExperiment from the
  // spec's clip_blocks, so that the coordinator can scale the decoded sum back.
  std::vector<ClipBlock> secure_sum_clip_blocks;
};

}  // namespace fedsilo
