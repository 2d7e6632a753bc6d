// AlgorithmRegistry: maps an algorithm name to its silo half and coordinator half.
//
// Built in: fedavg, minibatch_sgd, isrl_dp_fedavg, isrl_dp_minibatch_sgd, per_fedavg,
// isrl_dp_per_fedavg. Built-ins are
// registered on first use (no static initializers, so nothing is lost when linking statically).
// RegisterAlgorithm adds a user's algorithm before any run; lookups are thread-safe afterwards.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/algorithms/algorithm_config.h"
#include "common/algorithms/coordinator_program.h"
#include "common/algorithms/silo_program.h"
#include "common/base/status.h"

namespace fedsilo {

struct AlgorithmSpec {
  std::string name;
  std::string description;
  // True when every gradient a silo computes goes through the record-level DP oracle.
  bool record_level_dp = false;
  std::function<std::unique_ptr<SiloProgram>(const AlgorithmConfig&)> make_silo_program;
  std::function<std::unique_ptr<CoordinatorProgram>(const AlgorithmConfig&)> make_coordinator;
  // Gradient-oracle queries one silo makes in one round it serves.
  std::function<int64_t(const AlgorithmConfig&)> queries_per_round;
  // Optional: checks settings that only this algorithm constrains (InvalidArgument naming the
  // key). Called by the config parser after decoding; empty = nothing to check.
  std::function<absl::Status(const AlgorithmConfig&)> validate;
};

void RegisterAlgorithm(AlgorithmSpec spec);
std::vector<std::string> RegisteredAlgorithmNames();
absl::StatusOr<AlgorithmSpec> FindAlgorithm(const std::string& name);

}  // namespace fedsilo
