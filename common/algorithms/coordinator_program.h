// CoordinatorProgram: the half of an algorithm that runs on the coordinator (Flower-style hooks
// inside a round loop that the framework owns, see runtime/round_loop.h).
//
// ConfigureRound turns the sampled silos into tasks; Aggregate folds the round's results into the
// global parameters. The coordinator sees only what came through the transport: privatized
// updates (possibly anonymized) and failures. Called from the round loop's thread only.
// A program that keeps state between rounds besides the parameters (a server optimizer's
// moments) exposes it through State() and RestoreState(), which a coordinator checkpoint carries.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "common/algorithms/messages.h"
#include "common/base/eigen_types.h"
#include "common/base/status.h"

namespace fedsilo {

class CoordinatorProgram {
 public:
  virtual ~CoordinatorProgram() = default;

  // One task per sampled silo (sampled is in ascending order).
  virtual std::vector<SiloTask> ConfigureRound(int round,
                                               const std::shared_ptr<const Vector>& global,
                                               std::span<const int> sampled) const;

  // Folds the replies into *global. A round with no reply is an error naming the failures.
  virtual absl::Status Aggregate(int round, const RoundResults& results, Vector* global) = 0;

  // State kept between rounds; empty for a stateless program.
  virtual Vector State() const { return Vector(); }
  // Restores State() of a run over `num_parameters`; a stateless program accepts only empty state.
  virtual absl::Status RestoreState(const Vector& state, int num_parameters);
};

}  // namespace fedsilo
