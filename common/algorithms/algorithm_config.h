// AlgorithmConfig: the `algorithm` section of an experiment file. Plain values; parsed and
// validated by runtime/config_parser, read by the algorithm factories in algorithm_registry.h.
#pragma once

#include <string>

namespace fedsilo {

struct AlgorithmConfig {
  std::string name = "fedavg";  // fedavg | minibatch_sgd | isrl_dp_fedavg | isrl_dp_minibatch_sgd
  int rounds = 100;
  int silos_per_round = 0;      // 0 = all silos every round
  int local_steps = 1;          // SGD steps per round (forced to 1 for *minibatch_sgd)
  int batch_size = 32;          // records per gradient query (expected size under Poisson)
  double lr = 0.1;              // silo step size
  double server_lr = 1.0;       // coordinator step size on the averaged update
  std::string weighting = "size";  // size | uniform: how silo updates are averaged
};

}  // namespace fedsilo
