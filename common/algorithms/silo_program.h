// SiloProgram: the half of an algorithm that runs inside a silo (the trust boundary).
//
// Train() receives the round's task and a SiloContext giving access to the silo's gradient
// oracle (plain or DP: the program does not know which) and returns the update the silo sends.
// Everything it returns has passed through the oracle, so it is already privatized when the
// algorithm is private. Programs are immutable after construction: one instance serves every
// silo from any thread. Errors (e.g. a diverged, non-finite update) come back as a Status.
#pragma once

#include "common/algorithms/gradient_oracle.h"
#include "common/algorithms/messages.h"
#include "common/model/model.h"

namespace fedsilo {

struct SiloContext {
  int silo_id = 0;
  const Model* model = nullptr;
  GradientOracle* oracle = nullptr;
  double weight = 1.0;  // the silo's public aggregation weight
};

class SiloProgram {
 public:
  virtual ~SiloProgram() = default;
  virtual absl::StatusOr<SiloUpdate> Train(const SiloTask& task, SiloContext& context) const = 0;
};

// Checks that a proposed update is finite; the error names the silo and round.
absl::Status CheckUpdateIsFinite(const SiloUpdate& update);

// The update of a silo whose local training moved the task's global model to `local`:
// delta = local - global, the silo's weight, checked to be finite.
absl::StatusOr<SiloUpdate> ModelDeltaUpdate(const SiloTask& task, const SiloContext& context,
                                            Vector local);

}  // namespace fedsilo
