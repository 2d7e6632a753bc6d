// Transport: how a round's tasks reach the silos and their replies come back.
//
// Implementations: in-process (thread mode, runtime/in_process_transport.h); gRPC (networked
// mode); decorators such as a shuffler or fault injection wrap another Transport. Whatever the
// implementation, Train() returns every reply in canonical order (ascending silo id, or a
// shuffler's seeded order) and reports every task that produced no reply as a SiloFailure, so
// the coordinator's aggregation never depends on arrival order. A shuffler returns replies with
// silo_id = -1 and failures without their silo (shuffling_transport.h). Called from one thread.
#pragma once

#include <vector>

#include "common/algorithms/messages.h"

namespace fedsilo {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual RoundResults Train(const std::vector<SiloTask>& tasks) = 0;
  virtual int num_silos() const = 0;
  // Each silo's latest privacy report, indexed by silo id (for metrics, silos.csv, summary).
  // Call between rounds.
  virtual std::vector<SiloPrivacyReport> PrivacyReports() const = 0;
  // True when a shuffler in this chain hides which silo sent which reply (ShufflingTransport;
  // decorators forward their inner transport's answer). Shuffle-model algorithms require it.
  virtual bool HidesSenders() const { return false; }
};

}  // namespace fedsilo
