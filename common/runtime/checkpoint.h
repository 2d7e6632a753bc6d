// Checkpoint: what the coordinator needs to continue a run after it was killed, written after
// every round. A resumed run reaches the same final parameters and metrics as an uninterrupted
// one, because silo selection is a pure function of (seed, round, eligible silos), the
// coordinator program's state between rounds (a server optimizer's moments) is saved with the
// parameters, and each silo keeps its own ledger and refuses to answer a round twice
// (silo/silo_state.h).
//
// File: a binary record (base/binary_record.h, magic "FEDSILOCKPT3") written atomically, so a
// crash leaves the old or the new checkpoint, never a torn one; a damaged file is DataLoss. A
// "FEDSILOCKPT2" file (before the iterate average was saved) reads with nothing averaged, a
// "FEDSILOCKPT1" file (before coordinator state was saved) with empty state too.
#pragma once

#include <string>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/status.h"

namespace fedsilo {

struct Checkpoint {
  int round = 0;                 // last completed round
  int skipped_rounds = 0;        // rounds so far that missed the quorum
  std::vector<int> eligible;     // silos still able to serve (ascending)
  Vector global;                 // parameters after `round`
  Vector coordinator_state;      // CoordinatorProgram::State() after `round`
  Vector average;                // IterateAverage's mean after `round` (empty when count is 0)
  int averaged_rounds = 0;       // how many models that mean holds
  std::string config_yaml;       // the resolved config of the run (a resume must match it)
};

absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint);
absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path);

}  // namespace fedsilo
