// UnsealingTransport: the coordinator's side of sealed reports, as a Transport decorator.
//
// Sits between the coordinator and the shuffler (coordinator -> UnsealingTransport ->
// ShufflingTransport -> silos). It owns the coordinator's key pair; silos seal each report for
// its public key before the report leaves them, so nothing between silo and coordinator can read
// it. Train() opens every sealed update the inner transport returns, after the shuffle, and
// restores its round, weight and delta; order and silo_id (-1) are kept as they came. A report
// that cannot be opened (DataLoss), arrives unsealed (InvalidArgument: in shuffle mode every
// report must be sealed) or answers another round (InvalidArgument) is dropped and reported as a
// failure with the same silo_id it came with. Other failures pass through.
//
// Sealed boxes give confidentiality, not authenticity: anyone holding the public key can seal a
// report, so the shuffler could add reports of its own. Two checks bound that: a second copy of
// the same sealed bytes in a round is a replay (DataLoss, discarded; honest seals never repeat),
// and a round with more replies than its tasks allow (more failures than tasks, or more reports
// than reports_per_task per task that did not fail) is discarded whole (one DataLoss failure per
// task). reports_per_task is 1 for silo-level reports and the batch size for per-record reports.
// A shuffler that replaces reports is not detected here. The shuffler's own total of secure-sum
// shares (an unsealed update carrying sum_shares, see shuffling_transport.h) is passed on last as
// it came, and does not count as a report; a round with more than one is discarded whole.
// One thread.
#pragma once

#include <cstdint>

#include "common/base/thread_pool.h"
#include "common/transport/sealed_report.h"
#include "common/transport/transport.h"

namespace fedsilo {

class UnsealingTransport : public Transport {
 public:
  // `pool` (optional, borrowed): opens the round's reports in parallel on it; the output is the
  // same with or without it. It must not be running other work when Train is called.
  UnsealingTransport(Transport* inner, CoordinatorKeyPair keys, int64_t reports_per_task = 1,
                     ThreadPool* pool = nullptr);

  // What silos seal their reports for.
  const ReportPublicKey& public_key() const { return keys_.public_key(); }

  RoundResults Train(const std::vector<SiloTask>& tasks) override;
  int num_silos() const override { return inner_->num_silos(); }
  std::vector<SiloPrivacyReport> PrivacyReports() const override {
    return inner_->PrivacyReports();
  }
  bool HidesSenders() const override { return inner_->HidesSenders(); }

 private:
  Transport* inner_;
  CoordinatorKeyPair keys_;
  int64_t reports_per_task_;
  ThreadPool* pool_;
};

}  // namespace fedsilo
