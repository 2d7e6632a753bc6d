// NetworkTransport: the coordinator's end of networked mode. Silos dial in to its gRPC service
// (one bidirectional Session stream each, proto/fedsilo/v1/fedsilo.proto); the round loop sees it
// as a Transport, so the algorithms run unchanged.
//
// Joining: a Hello must speak protocol version 1 and name a silo the coordinator knows: its
// roster position (network.silos) or, without a roster, its shard index. With TLS client
// certificates the claimed name must equal the certificate's common name, so one silo cannot speak
// for another, and a certified name stays bound to the id it first joined as (without a roster, one
// certificate cannot take several shards). A second live session for the same silo is refused. Rejections end the stream
// with a gRPC status naming the reason, are logged, and leave the other silos alone.
//
// A round: Train() sends each sampled, connected silo its task (from one writer thread per
// session, so a silo that stops reading never blocks the coordinator) and waits until every task
// is answered or the round deadline passes. It returns replies in ascending silo id whatever the
// arrival order; a silo that is not connected, disconnects, misses the deadline, refuses, or sends
// an invalid update (wrong round, wrong size, non-finite value, bad weight) becomes a SiloFailure
// naming it. A message for a round that is not the current one, or a second answer, is discarded
// and logged (a replay cannot change a round). Silos may reconnect between rounds.
//
// Thread-safe: gRPC threads run Session(); Train(), WaitForSilos() and Finish() are called from
// the coordinator's one thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/transport/transport.h"
#include "fedsilo/v1/fedsilo.grpc.pb.h"
#include "server/hello_deadline.h"
#include "server/rate_limited_warning.h"

namespace fedsilo {

struct NetworkTransportOptions {
  int num_silos = 0;
  std::vector<std::string> roster;        // silo names by id; empty: ids are shard indices
  std::string experiment_yaml;            // sent in Welcome
  std::string run_id;                     // sent in Welcome
  std::string schema_digest;              // sent in Welcome ("" = no shared data schema pinned)
  int64_t num_parameters = 0;
  double round_timeout_seconds = 60;
  double join_timeout_seconds = 120;      // longest wait for a quorum before a round
  int min_replies = 1;
  bool names_from_certificates = false;   // TLS with client certificates: name must equal CN
  // What a silo's Update must carry. 0: a delta in the clear (the coordinator of a plain run),
  // whose weight is at most the record count the silo reported at Ready (so one silo cannot
  // outweigh the others by claiming a huge weight). K > 0: 1 to K sealed reports and no delta (the
  // shuffler of a shuffle-model run, K = the algorithm's reports per silo). Anything else fails
  // that silo's reply only, with a message naming the silo and the round.
  int64_t max_sealed_reports = 0;
  double hello_timeout_seconds = 10;      // a stream silent this long before its Hello is closed
  // With names_from_certificates: where the certified name bound to each silo id is kept (one
  // name a line, in id order, "" for none), read when the transport starts and rewritten
  // atomically at every new binding, so a resumed coordinator keeps them. Empty: in memory only.
  std::string bindings_file;
};

// Threads a fedsilo server may use to serve streams: one per silo session and as many again for
// reconnects and rejected peers, plus gRPC's own.
inline int MaxServerThreads(int num_silos) { return 2 * num_silos + 32; }

// Traffic counters (serialized protobuf bytes), for benchmarks.
struct NetworkTraffic {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
};

class NetworkTransport final : public Transport, public v1::Coordinator::Service {
 public:
  // Fails only on a bindings_file that exists but cannot be read or does not fit the run
  // (DataLoss naming it); see Create.
  static absl::StatusOr<std::unique_ptr<NetworkTransport>> Create(NetworkTransportOptions options);
  explicit NetworkTransport(NetworkTransportOptions options);
  ~NetworkTransport() override;

  grpc::Status Session(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::SiloMessage>* stream) override;

  RoundResults Train(const std::vector<SiloTask>& tasks) override;
  int num_silos() const override { return options_.num_silos; }
  std::vector<SiloPrivacyReport> PrivacyReports() const override;

  // Waits until at least `count` silos are connected and ready; DeadlineExceeded naming the
  // missing silos after `timeout_seconds`.
  absl::Status WaitForSilos(int count, double timeout_seconds);
  // Tells every connected silo that the run is over (they then close their streams).
  void Finish(const std::string& reason);
  NetworkTraffic traffic() const;

 private:
  struct Peer;  // one live session

  absl::StatusOr<int> Admit(grpc::ServerContext* context, const v1::Hello& hello);
  void HandleReply(const std::shared_ptr<Peer>& peer, const v1::SiloMessage& message);
  void Record(int silo_id, absl::StatusOr<SiloUpdate> reply);  // requires mu_
  int CountReady() const;                                       // requires mu_
  double WeightBound(int silo_id) const;                        // takes mu_
  std::string Describe(int silo_id) const;

  const NetworkTransportOptions options_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<Peer>> peers_;            // by silo id; null when not connected
  std::vector<SiloPrivacyReport> reports_;              // by silo id
  std::vector<int64_t> joined_records_;                 // by silo id: train_records at Ready
  std::vector<bool> own_data_;                          // by silo id: joined without a shard
  std::vector<std::string> certified_names_;            // by silo id: the certified name bound
                                                        // to it ("" until one joins)
  int round_ = 0;                                       // the round in flight (0: none)
  std::map<int, std::optional<absl::StatusOr<SiloUpdate>>> outstanding_;  // by silo id
  NetworkTraffic traffic_;
  HelloDeadline hello_deadline_;
  // A few lines per 10 s for each kind of repeated event (discards: per silo, so one flooding
  // silo cannot hide another's).
  RateLimitedWarning rejected_warning_;
  RateLimitedWarning silent_warning_;
  std::vector<std::unique_ptr<RateLimitedWarning>> discarded_warnings_;  // by silo id
};

}  // namespace fedsilo
