// SiloSetup: an optional one-off step an algorithm runs inside each silo before the silo's first
// task, on the silo's own records, returning the objective that silo trains (e.g. FERMI with
// fairness.marginals: local, where each silo estimates its own group frequencies).
//
// Who calls it: SiloRuntime::Setup (runtime/silo_runtime.h), once per silo, before any task. The
// step sees the silo's records only through a CountOracle (count_oracle.h: exact for a
// non-private silo; Gaussian noise and one ledger event for a private one), so whatever it derives
// is already privatized. count_release() tells the silo's privacy plan, before anything runs,
// whether the step makes a count release and how much of the silo's budget to reserve for it.
// The returned Model must have the same parameter layout as the shared objective (the coordinator
// aggregates every silo's updates into one vector). Immutable; one instance serves every silo
// from any thread. Errors come back as a Status (the run stops with it).
#pragma once

#include <memory>
#include <optional>
#include <span>

#include "common/algorithms/count_oracle.h"
#include "common/base/status.h"
#include "common/data/dataset.h"
#include "common/model/model.h"

namespace fedsilo {

// How much of a private silo's budget its one count release uses.
struct CountReleaseBudget {
  // The count alone is calibrated to this fraction of the silo's epsilon (at the silo's delta);
  // the gradient noise then fills the rest so that everything together stays within epsilon.
  double epsilon_fraction = 0.1;
  // > 0: use this noise multiplier for the count instead of the fraction.
  double noise_multiplier = 0.0;
};

struct SiloSetupContext {
  int silo_id = 0;
  const Model* shared_model = nullptr;  // the experiment's objective (borrowed)
  const Dataset* data = nullptr;        // borrowed: the silo reads only `rows` of it
  std::span<const int> rows;
  CountOracle* counts = nullptr;        // the silo's count oracle; nullptr when no release is
                                        // planned (count_release() empty)
};

class SiloSetup {
 public:
  virtual ~SiloSetup() = default;
  // The count release Run makes, if any.
  virtual std::optional<CountReleaseBudget> count_release() const = 0;
  // The silo's own objective.
  virtual absl::StatusOr<std::unique_ptr<Model>> Run(const SiloSetupContext& context) const = 0;
};

}  // namespace fedsilo
