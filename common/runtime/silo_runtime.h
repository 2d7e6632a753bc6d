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
// Never twice: a silo answers each round at most once. Asked again for a round it has answered
// (a replayed task, or a coordinator resumed from a checkpoint), it re-sends its earlier answer
// when the parameters are the same (nothing new is revealed) and refuses otherwise
// (FailedPrecondition): answering the same round at other parameters would reuse that round's
// noise and reveal the difference of two gradients without noise.
//
// Journal: what a silo process persists after every task (ledger, last round, last answer) and
// restores when it restarts, so a restarted silo never forgets spent budget.
//
// Budget: before a task, a private silo checks that serving it keeps it within its plan (the
// accountant's epsilon for rdp calibration, the planned query count for paper calibration) and
// otherwise answers ResourceExhausted without computing anything, whatever the coordinator asks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
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
  bool keep_last_answer = false;         // keep the last update to re-send it (silo processes;
                                         // thread mode never repeats a round and saves memory)
};

// What a silo must remember across restarts.
struct SiloJournal {
  std::vector<DpEvent> ledger;        // every noisy query so far
  int last_round = 0;                 // last round answered (0: none)
  uint64_t last_global_digest = 0;    // digest of the parameters it was asked at
  bool has_last_update = false;
  SiloUpdate last_update;             // its answer
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
  SiloJournal Journal() const;
  // Restores a journal (before the first task): replays its ledger into the accountant.
  absl::Status Restore(const SiloJournal& journal);
  // Epsilon spent so far by the RDP accountant at the plan's delta (0 before any query; NaN when
  // no accountant covers the sampler; 0 for a non-private silo).
  // Computed on demand (a conversion over the RDP orders): call it between rounds, not per query.
  double spent_epsilon() const;
  // What the silo may tell about its privacy spending (computes spent_epsilon()).
  SiloPrivacyReport PrivacyReport() const;

 private:
  absl::Status CheckBudget(const SiloTask& task) const;
  absl::Status AccountNewEvents();

  SiloRuntimeOptions options_;
  PrivacyLedger ledger_;
  std::vector<double> spent_rdp_;  // per default RDP order
  bool only_plan_events_ = true;   // every recorded event is plan.query_event (fast budget check)
  int last_round_ = 0;
  uint64_t last_digest_ = 0;
  std::optional<SiloUpdate> last_update_;
};

// FNV-1a over a vector's bytes: identifies the parameters a round was asked at.
uint64_t DigestOf(const Vector& values);

}  // namespace fedsilo
