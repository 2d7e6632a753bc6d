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
// whose event goes to the ledger. Call Setup() before the first Handle() (after Restore() when
// the silo restores a journal); it is not thread-safe. The setup's result is not journaled: a
// restarted silo runs its setup again and is charged for its count again (its budget check
// includes what the journal says it spent, so it refuses when that no longer fits).
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
// Shuffle-model silos (plan.shuffle): the oracle is a LocalReportOracle (one eps0-LDP report per
// record of a fixed-size batch) and the budget is a ShuffleLedger of (epsilon, delta) round events:
// before drawing anything the silo charges the round (ShuffleLedger::Charge), which refuses with
// ResourceExhausted when the round would take it past (epsilon, delta). Each report is sealed on
// its own (SiloUpdate::sealed holds one entry per record). The journal keeps the charged rounds.
//
// Secure-sum silos (plan.secure_sum): the oracle is a SecureSumOracle (its noisy integer sum of
// a Poisson batch, mod 2^bits); the silo splits it here, never elsewhere: the coordinator's share
// is a mask derived in the silo's sealing session (sealed_report.h; only its token is sent) and
// the shuffler's is the sum minus that mask. Without a coordinator key it sends nothing
// (FailedPrecondition). The budget is the plan's
// max_rounds: before drawing anything the silo counts the round and refuses (ResourceExhausted)
// one past it. The journal keeps the rounds (as shuffled_rounds).
//
// Budget: before a task, a private silo checks that serving it keeps it within its plan (the
// accountant's epsilon for rdp calibration, the planned query count for paper calibration) and
// otherwise answers ResourceExhausted without computing anything, whatever the coordinator asks.
// Likewise Setup() refuses (ResourceExhausted, nothing drawn) a count release whose cost would
// take the silo past its epsilon, and (FailedPrecondition) one its plan reserved no budget for.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "common/algorithms/messages.h"
#include "common/algorithms/silo_program.h"
#include "common/algorithms/silo_setup.h"
#include "common/data/dataset.h"
#include "common/dp/privacy_ledger.h"
#include "common/dp/rdp_accountant.h"
#include "common/model/model.h"
#include "common/runtime/silo_privacy.h"
#include "common/transport/sealed_report.h"

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
  bool reproducible_noise = false;       // private_seed derives from the run's seed (stated in
                                         // the privacy report: whoever has the config can
                                         // recompute the noise)
  double weight = 1.0;                   // public aggregation weight
  bool keep_last_answer = false;         // keep the last update to re-send it (silo processes;
                                         // thread mode never repeats a round and saves memory)
  // Shuffle mode: seal every update (round, weight, delta) for this coordinator public key
  // before it leaves the silo (SiloUpdate::sealed). Unset = updates leave in the clear.
  std::optional<ReportPublicKey> seal_for;
};

// What a silo must remember across restarts.
struct SiloJournal {
  std::string run_id;                 // the run last_round and last_update belong to (the silo
                                      // process sets it; "" before run ids existed)
  std::vector<DpEvent> ledger;        // every noisy query so far, across runs
  int64_t shuffled_rounds = 0;        // shuffle-model or secure-sum rounds its records were
                                      // reported in
  int last_round = 0;                 // last round answered (0: none)
  uint64_t last_global_digest = 0;    // digest of the parameters it was asked at
  bool has_last_update = false;
  SiloUpdate last_update;             // its answer
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
  // Secure-sum silos: the rounds served so far (0 for other silos).
  int64_t secure_sum_rounds() const { return secure_sum_rounds_; }
  // Shuffle-model silos: the rounds charged so far (nullptr for other silos).
  const ShuffleLedger* shuffle_ledger() const {
    return shuffle_ledger_ ? &*shuffle_ledger_ : nullptr;
  }
  SiloJournal Journal() const;
  // Restores a journal (before the first task): replays its ledger into the accountant.
  absl::Status Restore(const SiloJournal& journal);
  // OK when the silo's budget allows one more round (always, without record-level DP); else the
  // error it would refuse that round with (a silo process says so when it joins).
  absl::Status CanServeAnotherRound() const;
  // Epsilon spent so far by the RDP accountant at the plan's delta (0 before any query; NaN when
  // no accountant covers the sampler; 0 for a non-private silo).
  // Computed on demand (a conversion over the RDP orders): call it between rounds, not per query.
  double spent_epsilon() const;
  // What the silo may tell about its privacy spending (computes spent_epsilon()).
  SiloPrivacyReport PrivacyReport() const;

 private:
  absl::Status CheckBudget(const SiloTask& task) const;
  absl::Status CheckCountBudget() const;
  absl::Status CheckSecureSumBudget(int round) const;
  absl::Status AccountNewEvents();
  // The RDP spent per default order, with `more_queries` gradient queries beyond those made.
  std::vector<double> SpentRdp(int64_t more_queries) const;
  // Epsilon at the plan's delta of scale x rdp (per default order).
  absl::StatusOr<EpsilonAndOrder> EpsilonOf(std::span<const double> rdp, double scale = 1.0) const;

  SiloRuntimeOptions options_;
  std::optional<EpsilonConverter> epsilon_;  // at the default orders and the plan's delta
  std::unique_ptr<Model> own_model_;  // built by Setup()
  bool set_up_ = false;
  PrivacyLedger ledger_;
  // Per default RDP order, the RDP of every event but the gradient queries, which are counted
  // in gradient_queries_ and added by SpentRdp (count x curve: no sum of thousands of terms).
  std::vector<double> spent_rdp_;
  std::vector<DpEvent> new_events_;  // AccountNewEvents' buffer, kept between calls
  int64_t gradient_queries_ = 0;   // queries of plan.query_event's shape
  int64_t count_releases_ = 0;     // events of plan.count_event's shape
  // Every recorded event is plan.query_event or the plan's one count release, both of which
  // plan.max_queries accounts for (fast budget check).
  bool only_plan_events_ = true;
  int last_round_ = 0;
  uint64_t last_digest_ = 0;
  std::optional<SiloUpdate> last_update_;
  std::optional<ShuffleLedger> shuffle_ledger_;  // shuffle-model silos only
  int64_t secure_sum_rounds_ = 0;                // secure-sum silos only
  // Secure-sum silos: the epsilon of `first` rounds, converted once (Handle does it, in parallel
  // with the other silos, so that the shuffler's read after the round is a lookup).
  mutable std::optional<std::pair<int64_t, double>> secure_sum_epsilon_;
  std::optional<SealingSession> session_;        // secure-sum silos: derives coordinator shares
};

// FNV-1a over a vector's bytes: identifies the parameters a round was asked at.
uint64_t DigestOf(const Vector& values);

}  // namespace fedsilo
