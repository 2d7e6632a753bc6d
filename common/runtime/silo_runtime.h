// SiloRuntime: hosts one silo: its records (as rows of a shared or own Dataset), its private
// randomness, its privacy ledger and its half of the algorithm. The trust boundary.
//
// Handle() runs one task: it derives the round's batch and noise generators from the silo's
// private seed (never sent anywhere), builds the silo's gradient oracle (DP when the plan says so),
// runs the SiloProgram, and returns the privatized update. Calls for one silo must not overlap
// (the transport serves each silo from one thread at a time); different silos run in parallel.
// Per-silo state is small (row list, seed, ledger) so 10,000 silos fit beside the pooled data.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/algorithms/messages.h"
#include "common/algorithms/silo_program.h"
#include "common/data/dataset.h"
#include "common/dp/privacy_ledger.h"
#include "common/model/model.h"
#include "common/runtime/silo_privacy.h"

namespace fedsilo {

struct SiloRuntimeOptions {
  int silo_id = 0;
  const Model* model = nullptr;          // borrowed, outlives the runtime
  const Dataset* data = nullptr;         // borrowed, outlives the runtime
  std::vector<int> train_rows;           // the silo's records
  std::shared_ptr<const SiloProgram> program;
  SiloPrivacyPlan privacy;
  uint64_t private_seed = 0;             // root of the silo's batch and noise streams
  double weight = 1.0;                   // public aggregation weight
};

class SiloRuntime {
 public:
  explicit SiloRuntime(SiloRuntimeOptions options);

  absl::StatusOr<SiloUpdate> Handle(const SiloTask& task);

  int silo_id() const { return options_.silo_id; }
  int num_records() const { return static_cast<int>(options_.train_rows.size()); }
  const std::vector<int>& train_rows() const { return options_.train_rows; }
  const SiloPrivacyPlan& privacy() const { return options_.privacy; }
  const PrivacyLedger& ledger() const { return ledger_; }

 private:
  SiloRuntimeOptions options_;
  PrivacyLedger ledger_;
};

}  // namespace fedsilo
