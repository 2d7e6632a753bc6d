// SiloRuntime: hosts one silo: its records (as rows of a shared or own Dataset), its private
// randomness, its privacy ledger and its half of the algorithm. The trust boundary.
//
// Handle() runs one task: it derives the round's batch and noise generators from the silo's
// private seed (never sent anywhere), builds the silo's gradient oracle (DP when the plan says so),
// runs the SiloProgram, and returns the privatized update. Calls for one silo must not overlap
// (the transport serves each silo from one thread at a time); different silos run in parallel.
// Per-silo state is small (row list, seed, ledger, one RDP curve) so 10,000 silos fit beside
// the pooled data.
//
// Setup(): when the algorithm has a silo setup (silo_setup.h), the silo runs it once on its own
// records before its first task and from then on trains the Model it returns (owned by the
// runtime) instead of the borrowed shared one. The setup reads the records through a count oracle:
// exact for a non-private silo; for a private one the DP count oracle with the plan's count noise,
// whose event goes to the ledger. Call Setup() before the first Handle(); it is not thread-safe.
//
// Budget: before a task, a private silo checks that serving it keeps it within its plan (the
// accountant's epsilon for rdp calibration, the planned query count for paper calibration) and
// otherwise answers ResourceExhausted without computing anything, whatever the coordinator asks.
// Likewise Setup() refuses (ResourceExhausted, nothing drawn) a count release whose cost would
// take the silo past its epsilon, and (FailedPrecondition) one its plan reserved no budget for.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/algorithms/messages.h"
#include "common/algorithms/silo_program.h"
#include "common/algorithms/silo_setup.h"
#include "common/data/dataset.h"
#include "common/dp/privacy_ledger.h"
#include "common/model/model.h"
#include "common/runtime/silo_privacy.h"

namespace fedsilo {

struct SiloRuntimeOptions {
  int silo_id = 0;
  const Model* model = nullptr;          // borrowed, outlives the runtime (the shared objective)
  const Dataset* data = nullptr;         // borrowed, outlives the runtime
  std::vector<int> train_rows;           // the silo's records
  std::shared_ptr<const SiloProgram> program;
  std::shared_ptr<const SiloSetup> setup;  // optional: see Setup()
  SiloPrivacyPlan privacy;
  uint64_t private_seed = 0;             // root of the silo's batch and noise streams
  double weight = 1.0;                   // public aggregation weight
};

class SiloRuntime {
 public:
  explicit SiloRuntime(SiloRuntimeOptions options);

  // Runs the algorithm's silo setup, if any (once; FailedPrecondition after a successful call).
  // Until it succeeds, a silo with a setup refuses tasks (FailedPrecondition).
  absl::Status Setup();
  absl::StatusOr<SiloUpdate> Handle(const SiloTask& task);

  int silo_id() const { return options_.silo_id; }
  int num_records() const { return static_cast<int>(options_.train_rows.size()); }
  const std::vector<int>& train_rows() const { return options_.train_rows; }
  const SiloPrivacyPlan& privacy() const { return options_.privacy; }
  // The objective the silo trains: its own after Setup() built one, else the shared one.
  const Model& model() const { return own_model_ ? *own_model_ : *options_.model; }
  const PrivacyLedger& ledger() const { return ledger_; }
  // Epsilon spent so far by the RDP accountant at the plan's delta (0 before any query; NaN when
  // no accountant covers the sampler; 0 for a non-private silo).
  // Computed on demand (a conversion over the RDP orders): call it between rounds, not per query.
  double spent_epsilon() const;

 private:
  absl::Status CheckBudget(const SiloTask& task) const;
  absl::Status CheckCountBudget() const;
  absl::Status AccountNewEvents();

  SiloRuntimeOptions options_;
  std::unique_ptr<Model> own_model_;  // built by Setup()
  bool set_up_ = false;
  PrivacyLedger ledger_;
  std::vector<double> spent_rdp_;  // per default RDP order
  int64_t gradient_queries_ = 0;   // queries of plan.query_event's shape
  int64_t count_releases_ = 0;     // events of plan.count_event's shape
  // Every recorded event is plan.query_event or the plan's one count release, both of which
  // plan.max_queries accounts for (fast budget check).
  bool only_plan_events_ = true;
};

}  // namespace fedsilo
