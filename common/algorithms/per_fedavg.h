// Per-FedAvg (Fallah, Mokhtari, Ozdaglar, "Personalized Federated Learning with Theoretical
// Guarantees: A Model-Agnostic Meta-Learning Approach", NeurIPS 2020; arXiv: "Personalized
// Federated Learning: A Meta-Learning Approach"), private or not.
//
// Silo half (PerFedAvgSiloProgram): from the global model w, tau = local_steps meta-steps, each
// drawing independent batches D, D', D'' from the silo's gradient oracle:
//   w~ = w - alpha * grad f(w; D)                      (query 1, |D| = batch_size)
//   g  = grad f(w~; D')                                (query 2, |D'| = outer_batch_size)
//   fo:    w <- w - beta * g
//   hf:    d = [grad f(w + delta g; D'') - grad f(w - delta g; D'')] / (2 delta)  (query 3, one
//          batch D'' for both gradients, |D''| = hessian_batch_size), taken at the current w;
//          w <- w - beta * (g - alpha * d)
//   exact: the same with d = Hessian of f(.; D'') at w times g (the model's own HVP)
// and sends delta = w - w_global. The coordinator half is FedAvgCoordinator (averaging).
// Every query goes through the oracle, so with the DP oracle this is ISRL-DP Per-FedAvg: the
// ledger counts 2 queries per step (fo) or 3 (hf); the DP oracle refuses the exact HVP.
// Immutable after construction; one instance serves every silo from any thread. Errors: the
// oracle's (e.g. a private batch size it was not calibrated for) and a non-finite update.
#pragma once

#include <cstdint>
#include <string>

#include "common/algorithms/algorithm_config.h"
#include "common/algorithms/silo_program.h"
#include "common/base/status.h"

namespace fedsilo {

enum class PerFedAvgVariant { kFirstOrder, kHessianFree, kExact };

struct PerFedAvgOptions {
  PerFedAvgVariant variant = PerFedAvgVariant::kFirstOrder;
  int local_steps = 1;       // tau
  double alpha = 0.01;
  double beta = 0.001;
  double delta = 0.001;
  int batch_size = 32;       // |D|
  int outer_batch_size = 32; // |D'|
  int hessian_batch_size = 32;  // |D''|
};

// "fo" | "hf" | "exact"; InvalidArgument otherwise.
absl::StatusOr<PerFedAvgVariant> ParsePerFedAvgVariant(const std::string& name);

// Options from the algorithm section (beta 0 = lr; batch sizes 0 = batch_size).
absl::StatusOr<PerFedAvgOptions> PerFedAvgOptionsFromConfig(const AlgorithmConfig& config);

// Per-FedAvg's constraints on the algorithm section; `record_level_dp` adds the private ones
// (equal batch sizes, no exact variant). Messages start with the key path.
absl::Status ValidatePerFedAvgConfig(const AlgorithmConfig& config, bool record_level_dp);

// Oracle queries one silo makes per round: 2 tau (fo) or 3 tau (hf, exact).
int64_t PerFedAvgQueriesPerRound(const AlgorithmConfig& config);

class PerFedAvgSiloProgram : public SiloProgram {
 public:
  explicit PerFedAvgSiloProgram(const PerFedAvgOptions& options);
  absl::StatusOr<SiloUpdate> Train(const SiloTask& task, SiloContext& context) const override;

 private:
  PerFedAvgOptions options_;
};

}  // namespace fedsilo
