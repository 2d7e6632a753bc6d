// ShufflingTransport: the shuffler of the shuffle model, as a Transport decorator (thread mode).
//
// Wraps the transport that reaches the silos. Train() hands the round's tasks to the inner
// transport and only returns once that call has returned, that is once the round has closed and
// every report of the round is in hand. It then permutes the reports uniformly at random with its
// own secret generator and strips what could name a sender: every update gets silo_id = -1, the
// inner order (ascending silo id, or arrival order) is erased first by sorting the reports by
// content, so the output is a function of the multiset of reports and the shuffler's generator
// only (with a fixed seed, the same reports give the same output whoever sent them), and failures
// come back only as a count: one SiloFailure per missing report, silo_id = -1, carrying the status code
// but a fixed message, sorted by code (so neither their order nor their text names a silo).
//
// Reports, not silos: an update carrying several reports (a silo's per-record reports, sealed or
// not) is split first, so every report is permuted on its own among all reports of the round.
//
// Secure sums (silos stating SiloPrivacyReport::secure_sum): a silo's reply carries one share
// sealed for the coordinator and one share for the shuffler (uniform on its own: the shuffler
// learns nothing from it). The shuffler adds its shares modulo 2^bits and forwards only that
// total, as one more update placed last (silo_id -1, `silos` = how many it adds); the sealed
// shares are mixed like reports. A reply with anything else (a missing share, a malformed or
// mismatched one) is dropped whole before anything is added, a DataLoss failure of its silo: a
// partial sum would decode to noise. A discarded round forwards no total either.
//
// Minimum anonymity set: each tasked silo states (SiloPrivacyReport::min_shuffled_reports) the
// fewest reports a round must mix for its accounting to hold. A round that gathers fewer reports
// than the largest such number among its tasked silos is discarded whole: no report is forwarded,
// and every task comes back as a FailedPrecondition failure saying why. Likewise when the tasked
// silos state different local randomizers (eps0 or clip): FMT21 needs every report of the shuffle
// to come from the same randomizer. (The silos trust the shuffler, not the coordinator, to
// enforce this.)
//
// Randomness: seeded from the operating system's entropy by default, or from an injected seed
// (tests only). The seed is never derived from the run's seed or anything else the coordinator
// knows: a coordinator that could replay the permutation could undo it.
//
// What the coordinator still learns (by design, see docs/networked.md): which silos it tasked
// (it chose them), how many reports came back and the failure codes, the multiset of report
// contents (opened after the shuffle when sealed), and each silo's privacy report
// (PrivacyReports() is passed through: its query counts say which silos answered, not which
// report is whose). It learns nothing about which silo sent which report beyond what the report
// contents reveal: the output distribution is the same whichever silo sent which report.
//
// Also true: the round loop cannot drop a silo whose budget is spent (it no longer knows who
// refused); such silos keep refusing on their own. Borrows the inner transport; one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/rng.h"
#include "common/transport/transport.h"

namespace fedsilo {

class ShufflingTransport : public Transport {
 public:
  // Seeds its permutation generator from OS entropy.
  explicit ShufflingTransport(Transport* inner);
  // Injected seed: for tests that need a reproducible permutation. Never pass a value the
  // coordinator knows in a real run.
  ShufflingTransport(Transport* inner, uint64_t seed);

  RoundResults Train(const std::vector<SiloTask>& tasks) override;
  int num_silos() const override { return inner_->num_silos(); }
  std::vector<SiloPrivacyReport> PrivacyReports() const override {
    return inner_->PrivacyReports();
  }
  bool HidesSenders() const override { return true; }

 private:
  // The largest min_shuffled_reports among the tasked silos' privacy reports (0: none stated);
  // FailedPrecondition when they state different randomizers (eps0 or clip).
  absl::StatusOr<int64_t> RequiredReports(const std::vector<SiloTask>& tasks,
                                          const std::vector<SiloPrivacyReport>& privacy) const;
  // Secure sums: takes every secure-sum reply's shuffler share out of its update and returns their
  // total (nullopt when there is none); a malformed reply is removed whole and becomes a DataLoss
  // failure of its silo.
  std::optional<SiloUpdate> TakeShufflerShares(const std::vector<SiloPrivacyReport>& privacy,
                                               RoundResults* collected) const;
  Transport* inner_;
  Rng rng_;
};

// The message every failure carries once the shuffler has hidden its sender.
inline constexpr const char* kShuffledFailureMessage =
    "a report of this round is missing; the shuffler hides which silo failed";

}  // namespace fedsilo
