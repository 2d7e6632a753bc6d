// ShufflerLinkTransport: the coordinator's end of the shuffle model in networked mode.
//
// In a run of a shuffle-model algorithm the silos join the shuffler (`fedsilo shuffler`), and the
// shuffler dials in to this gRPC service (ShufflerLink.Rounds, proto/fedsilo/v1/fedsilo.proto).
// To the round loop this is a Transport: Train() sends the round's tasks to the shuffler as one
// RoundRequest and returns its ShuffledBatch: sealed reports with silo_id -1 in the shuffler's
// order, and failures only as status codes (silo_id -1, the fixed kShuffledFailureMessage).
// HidesSenders() is true. Wrap it in an UnsealingTransport, which opens the reports.
//
// Who may speak: one shuffler at a time (a second stream is refused, AlreadyExists). With mutual
// TLS (`require_certificate`) the peer's certificate common name must equal `shuffler_name`;
// anything else is refused (PermissionDenied) before a task is sent. In plaintext mode on loopback
// nothing authenticates the shuffler (see docs/networked.md).
//
// A batch for another round, an unasked batch or a second batch for a round is discarded and
// logged. A batch that accounts for fewer reports than tasks gets one DataLoss failure per
// missing report; more replies than tasks are left for UnsealingTransport, which discards the
// round. If the shuffler is not connected (bounded wait: join_timeout_seconds), disconnects
// during a round, or does not answer within join_timeout_seconds + round_timeout_seconds + 10 s,
// every task of the round fails (Unavailable / DeadlineExceeded).
//
// Thread-safe: gRPC threads run Rounds(); Train(), WaitForShuffler() and Finish() are called from
// the coordinator's one thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/transport/transport.h"
#include "fedsilo/v1/fedsilo.grpc.pb.h"

namespace fedsilo {

struct ShufflerLinkOptions {
  int num_silos = 0;
  std::string experiment_yaml;            // sent in LinkWelcome (the shuffler forwards it)
  std::string run_id;                     // sent in LinkWelcome (the shuffler forwards it)
  std::string schema_digest;              // sent in LinkWelcome (the shuffler forwards it)
  int64_t num_parameters = 0;
  double round_timeout_seconds = 60;
  double join_timeout_seconds = 120;
  bool require_certificate = false;       // mutual TLS: the peer's CN must be shuffler_name
  std::string shuffler_name = "shuffler";
};

class ShufflerLinkTransport final : public Transport, public v1::ShufflerLink::Service {
 public:
  explicit ShufflerLinkTransport(ShufflerLinkOptions options);
  ~ShufflerLinkTransport() override;

  grpc::Status Rounds(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<v1::LinkMessage, v1::ShufflerMessage>* stream) override;

  RoundResults Train(const std::vector<SiloTask>& tasks) override;
  int num_silos() const override { return options_.num_silos; }
  std::vector<SiloPrivacyReport> PrivacyReports() const override;
  bool HidesSenders() const override { return true; }

  // Waits until the shuffler is connected and says at least `min_silos` silos joined it;
  // DeadlineExceeded saying which is missing after `timeout_seconds`.
  absl::Status WaitForShuffler(int min_silos, double timeout_seconds);
  // Tells the shuffler that the run is over (it tells the silos).
  void Finish(const std::string& reason);

 private:
  struct Link;
  absl::Status Authenticate(grpc::ServerContext* context) const;

  const ShufflerLinkOptions options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::shared_ptr<Link> link_;                        // the live shuffler stream, if any
  int ready_silos_ = 0;                               // as the shuffler last said
  std::vector<SiloPrivacyReport> reports_;            // by silo id
  int round_ = 0;                                     // the round in flight (0: none)
  std::optional<v1::ShuffledBatch> batch_;            // its batch, once in
  std::optional<absl::Status> round_failure_;         // the link broke during the round
};

}  // namespace fedsilo
