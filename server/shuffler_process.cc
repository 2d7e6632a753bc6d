#include "server/shuffler_process.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "common/base/binary_record.h"
#include "common/algorithms/algorithm_registry.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/silo_privacy.h"
#include "common/transport/shuffling_transport.h"
#include "fedsilo/v1/call_watchdog.h"
#include "fedsilo/v1/fedsilo.grpc.pb.h"
#include "fedsilo/v1/grpc_edge.h"
#include "fedsilo/v1/wire.h"
#include "server/network_transport.h"

namespace fedsilo {
namespace {

using Clock = std::chrono::steady_clock;
using LinkStream = grpc::ClientReaderWriter<v1::ShufflerMessage, v1::LinkMessage>;
using wire::CallWatchdog;
using wire::kGoodbyeTimeout;

// "a RoundRequest", "a LinkFinish", ...: what a coordinator sent, for errors.
std::string MessageKind(const v1::LinkMessage& message) {
  switch (message.kind_case()) {
    case v1::LinkMessage::kWelcome: return "a LinkWelcome";
    case v1::LinkMessage::kRound: return "a RoundRequest";
    case v1::LinkMessage::kFinish: return "a LinkFinish";
    default: return "an empty message";
  }
}

absl::Status ValidateArguments(const ShufflerProcessOptions& options) {
  if (options.listen.empty()) return absl::InvalidArgumentError("--listen HOST:PORT is required");
  if (options.coordinator.empty()) {
    return absl::InvalidArgumentError("--coordinator HOST:PORT is required");
  }
  const bool any_tls = !options.tls_cert.empty() || !options.tls_key.empty() ||
                       !options.client_ca.empty() || !options.ca.empty() ||
                       !options.cert.empty() || !options.key.empty();
  if (options.insecure) {
    if (any_tls) return absl::InvalidArgumentError("--insecure cannot be combined with TLS files");
    for (const std::string* address : {&options.listen, &options.coordinator}) {
      if (!wire::IsLoopbackAddress(*address)) {
        return absl::InvalidArgumentError(
            "--insecure (plaintext) is refused for " + *address +
            ": it is allowed only for loopback addresses (127.0.0.1, ::1, localhost); use TLS");
      }
    }
    return absl::OkStatus();
  }
  if (options.tls_cert.empty() || options.tls_key.empty() || options.ca.empty() ||
      options.cert.empty() || options.key.empty()) {
    return absl::InvalidArgumentError(
        "the shuffler needs --tls-cert and --tls-key (its certificate for the silos), --ca (the CA "
        "of the coordinator's certificate) and --cert/--key (its client certificate for the "
        "coordinator), or --insecure on loopback addresses");
  }
  for (const std::string* file : {&options.tls_cert, &options.tls_key, &options.client_ca,
                                  &options.ca, &options.cert, &options.key}) {
    if (!file->empty() && !std::filesystem::exists(*file)) {
      return absl::NotFoundError("no file " + *file);
    }
  }
  return absl::OkStatus();
}

// What the shuffler serves once the coordinator has said what the run is.
struct SiloSide {
  ExperimentConfig config;
  std::string experiment_yaml;
  int64_t num_parameters = 0;
  std::unique_ptr<NetworkTransport> transport;
  std::unique_ptr<ShufflingTransport> shuffler;
  std::unique_ptr<grpc::Server> server;
};

absl::StatusOr<std::unique_ptr<SiloSide>> ServeSilos(const ShufflerProcessOptions& options,
                                                     const v1::LinkWelcome& welcome) {
  auto side = std::make_unique<SiloSide>();
  side->experiment_yaml = welcome.experiment_yaml();
  side->num_parameters = static_cast<int64_t>(welcome.num_parameters());
  FEDSILO_ASSIGN_OR_RETURN(side->config, ParseExperimentConfig(welcome.experiment_yaml(),
                                                               "the coordinator's config", {}));
  const ExperimentConfig& config = side->config;
  if (welcome.num_silos() != static_cast<uint32_t>(config.partition.silos)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the coordinator's LinkWelcome names ", welcome.num_silos(), " silos but its config's "
        "partition.silos is ", config.partition.silos, ": not a fedsilo coordinator's welcome"));
  }
  NetworkTransportOptions network;
  network.num_silos = static_cast<int>(welcome.num_silos());
  network.roster = config.network.silos;
  network.experiment_yaml = welcome.experiment_yaml();
  network.run_id = welcome.run_id();
  network.schema_digest = welcome.schema_digest();
  network.num_parameters = static_cast<int64_t>(welcome.num_parameters());
  network.round_timeout_seconds = config.network.round_timeout_seconds;
  network.join_timeout_seconds = config.network.join_timeout_seconds;
  network.min_replies = config.network.min_replies;
  network.hello_timeout_seconds = config.network.hello_timeout_seconds;
  network.names_from_certificates = !options.client_ca.empty();
  if (network.names_from_certificates && network.roster.empty()) {
    // Without a roster a certificate is bound to the shard it first took. A restarted shuffler
    // must keep that, or any certificate of the CA could take a shard whose silo is down.
    if (options.state_dir.empty()) {
      return absl::FailedPreconditionError(
          "this run has no roster (network.silos) and the shuffler authenticates silos by "
          "certificate (--client-ca): it needs --state-dir DIR to keep which certificate took "
          "which shard across its restarts (or list the silos' names in network.silos)");
    }
    std::error_code made;
    std::filesystem::create_directories(options.state_dir, made);
    if (made) {
      return absl::PermissionDeniedError("--state-dir " + options.state_dir +
                                         ": cannot create it: " + made.message());
    }
    network.bindings_file = (std::filesystem::path(options.state_dir) /
                             ("silo_certificates_" + welcome.run_id())).string();
  }
  FEDSILO_ASSIGN_OR_RETURN(const AlgorithmSpec spec, FindAlgorithm(config.algorithm.name));
  network.max_sealed_reports = ReportsPerSilo(spec, config);  // K: more fails that silo alone
  FEDSILO_ASSIGN_OR_RETURN(side->transport, NetworkTransport::Create(network));
  // The permutation's seed comes from the OS: nothing the coordinator knows can replay it.
  side->shuffler = std::make_unique<ShufflingTransport>(side->transport.get());

  FEDSILO_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                           wire::ServerCredentialsFrom(wire::ServerTlsFiles{options.insecure, options.tls_cert, options.tls_key, options.client_ca}));
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, credentials, &port);
  builder.RegisterService(side->transport.get());
  wire::ApplyServerLimits(&builder, config.network.max_message_mb,
                          MaxServerThreads(network.num_silos));
  side->server = builder.BuildAndStart();
  if (side->server == nullptr || port == 0) {
    return absl::UnavailableError("cannot listen on " + options.listen +
                                  " (address in use or not local?)");
  }
  spdlog::info("shuffler listening for silos on {} port {} ({})", options.listen, port,
               options.insecure ? "plaintext" : "TLS");
  if (!options.port_file.empty()) {
    FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(options.port_file, std::to_string(port) + "\n"));
  }
  return side;
}

// Ends the silos' side, when there is one: every silo hears `reason`, the server stops.
void StopServing(SiloSide* side, const std::string& reason) {
  if (side == nullptr) return;
  side->transport->Finish(reason);
  side->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
}

// A round asks each silo of the run at most once: anything else is a coordinator that breaks the
// protocol (and a request's size would otherwise set what the shuffler allocates).
absl::Status CheckSiloIds(const SiloSide& side, const v1::RoundRequest& request) {
  const int num_silos = side.config.partition.silos;
  std::vector<bool> asked(static_cast<size_t>(num_silos), false);
  for (const uint32_t id : request.silo_ids()) {
    if (id >= static_cast<uint32_t>(num_silos)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the coordinator's round ", request.round(), " asks silo ", id,
          ", not a silo of this run (", num_silos, " silos)"));
    }
    if (asked[id]) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the coordinator's round ", request.round(), " asks silo ", id, " twice"));
    }
    asked[id] = true;
  }
  return absl::OkStatus();
}

// One round: the silos' replies, shuffled, as one batch. Unsealed reports are not forwarded.
v1::ShufflerMessage ShuffleRound(SiloSide& side, const v1::RoundRequest& request) {
  v1::ShufflerMessage out;
  v1::ShuffledBatch* batch = out.mutable_batch();
  const int round = static_cast<int>(request.round());
  batch->set_round(request.round());
  absl::StatusOr<Vector> global =
      wire::FromProto(request.global_parameters(), side.num_parameters,
                      absl::StrCat("the parameters of round ", round));
  std::vector<int> codes;
  if (!global.ok()) {
    spdlog::warn("round {}: {}", round, std::string(global.status().message()));
    for (int i = 0; i < request.silo_ids_size(); ++i) {
      codes.push_back(static_cast<int>(absl::StatusCode::kInvalidArgument));
    }
  } else {
    auto shared = std::make_shared<const Vector>(*std::move(global));
    std::vector<SiloTask> tasks;
    for (const uint32_t id : request.silo_ids()) {
      tasks.push_back(SiloTask{round, static_cast<int>(id), shared});
    }
    RoundResults shuffled = side.shuffler->Train(tasks);
    for (const SiloUpdate& update : shuffled.updates) {
      if (update.sealed.empty() && update.sum_shares.size() == 1) {  // the total of the shares
        wire::ToProto(update.sum_shares[0], batch->mutable_shuffler_total());
        continue;
      }
      if (update.sealed.size() != 1) {  // the shuffler's output holds one report per entry
        spdlog::warn("round {}: a report arrived unsealed; it is not forwarded", round);
        codes.push_back(static_cast<int>(absl::StatusCode::kInvalidArgument));
        continue;
      }
      batch->add_sealed_reports(std::string(update.sealed[0].begin(), update.sealed[0].end()));
    }
    for (const SiloFailure& failure : shuffled.failures) {
      codes.push_back(static_cast<int>(failure.status.code()));
    }
  }
  std::sort(codes.begin(), codes.end());
  for (const int code : codes) batch->add_failure_codes(code);
  const std::vector<SiloPrivacyReport> reports = side.transport->PrivacyReports();
  for (size_t id = 0; id < reports.size(); ++id) {
    if (reports[id].known) wire::ToProto(reports[id], &(*batch->mutable_privacy())[static_cast<uint32_t>(id)]);
  }
  spdlog::info("round {}: forwarded {} sealed reports and {} failures in shuffled order", round,
               batch->sealed_reports_size(), batch->failure_codes_size());
  return out;
}

}  // namespace

absl::Status RunShufflerProcess(const ShufflerProcessOptions& options) {
  FEDSILO_RETURN_IF_ERROR(ValidateArguments(options));
  const auto open_channel = [&] {
    return wire::OpenChannel(options.coordinator,
                             wire::ClientTlsFiles{options.insecure, options.ca, options.cert,
                                                  options.key, options.server_name},
                             NetworkConfig().max_message_mb, NetworkConfig().keepalive_seconds);
  };
  FEDSILO_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, open_channel());
  if (options.dry_run) return absl::OkStatus();
  auto stub = v1::ShufflerLink::NewStub(channel);
  const auto timeout = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
      options.connect_timeout_seconds > 0 ? options.connect_timeout_seconds : 120.0));
  auto give_up_at = Clock::now() + timeout;
  auto backoff = std::chrono::milliseconds(100);
  std::unique_ptr<SiloSide> side;
  std::string last_problem = "no answer";
  for (;;) {
    grpc::ClientContext context;
    std::unique_ptr<LinkStream> stream;
    v1::ShufflerMessage hello;
    hello.mutable_hello()->set_protocol_version(wire::kProtocolVersion);
    v1::LinkMessage message;
    bool answered;
    bool no_welcome;
    {
      // From the call's start: opening the stream waits for the connection too.
      CallWatchdog watchdog(&context, timeout);
      stream = stub->Rounds(&context);
      answered = stream->Write(hello) && stream->Read(&message);
      watchdog.Disarm();
      no_welcome = watchdog.fired();
    }
    if (answered && !message.has_welcome()) {
      // Not a fedsilo coordinator of this protocol; waiting for its status could last forever.
      context.TryCancel();
      StopServing(side.get(), "the shuffler's coordinator broke the protocol");
      return absl::FailedPreconditionError(absl::StrCat(
          "the peer at ", options.coordinator, " answered the shuffler's Hello with ",
          MessageKind(message), " instead of a LinkWelcome: not a fedsilo coordinator of protocol ",
          wire::kProtocolVersion));
    }
    bool linked = answered;
    if (linked) {
      const v1::LinkWelcome& welcome = message.welcome();
      if (side == nullptr) {
        FEDSILO_ASSIGN_OR_RETURN(side, ServeSilos(options, welcome));
      } else if (welcome.experiment_yaml() != side->experiment_yaml) {
        return absl::FailedPreconditionError(
            "the coordinator came back with another experiment; this shuffler serves one run");
      }
      backoff = std::chrono::milliseconds(100);
      const int min_silos = side->config.network.min_silos > 0 ? side->config.network.min_silos
                                                               : static_cast<int>(welcome.num_silos());
      if (absl::Status joined =
              side->transport->WaitForSilos(min_silos, side->config.network.join_timeout_seconds);
          !joined.ok()) {
        StopServing(side.get(), std::string(joined.message()));
        context.TryCancel();
        return joined;
      }
      v1::ShufflerMessage ready;
      ready.mutable_joined()->set_ready_silos(static_cast<uint32_t>(min_silos));
      linked = stream->Write(ready);
      spdlog::info("shuffler: {} silos joined; serving rounds", min_silos);
      while (linked && stream->Read(&message)) {
        if (message.has_round()) {
          if (absl::Status ids = CheckSiloIds(*side, message.round()); !ids.ok()) {
            context.TryCancel();
            StopServing(side.get(), "the shuffler's coordinator broke the protocol");
            return ids;
          }
          if (!stream->Write(ShuffleRound(*side, message.round()))) break;
        } else if (message.has_finish()) {
          spdlog::info("shuffler: the coordinator ended the run: {}", message.finish().reason());
          StopServing(side.get(), message.finish().reason());
          // The run is over whatever the coordinator does next: one that keeps the stream open
          // after its Finish cannot keep the process alive.
          CallWatchdog watchdog(&context, kGoodbyeTimeout);
          stream->WritesDone();
          stream->Finish();
          return absl::OkStatus();
        }
      }
    }
    grpc::Status status;
    {
      CallWatchdog watchdog(&context, kGoodbyeTimeout);  // the stream has ended or never began
      status = stream->Finish();
    }
    if (no_welcome) {
      StopServing(side.get(), "the shuffler lost the coordinator");
      return absl::DeadlineExceededError(absl::StrCat(
          "no LinkWelcome from ", options.coordinator, " within ",
          std::chrono::duration<double>(timeout).count(),
          " s of the shuffler's Hello: the peer accepts connections but does not answer "
          "(stopped, overloaded, or not a fedsilo coordinator)"));
    }
    if (!wire::WorthReconnecting(status.error_code())) {
      StopServing(side.get(), "the coordinator refused the shuffler");
      const std::string why =
          status.error_code() == grpc::StatusCode::UNIMPLEMENTED
              ? "it serves no shuffler link (its run's algorithm is not shuffle-model)"
              : status.error_message();
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          "the coordinator refused this shuffler: " + why);
    }
    last_problem = status.error_message().empty() ? "stream closed" : status.error_message();
    if (answered) {
      // A LinkWelcome came: the time to reach the coordinator again starts now, even when the
      // silos took longer than the timeout to join and the SilosJoined then failed.
      spdlog::warn("shuffler: lost the coordinator ({}); reconnecting", last_problem);
      give_up_at = Clock::now() + timeout;
    }
    if (Clock::now() >= give_up_at) {
      StopServing(side.get(), "the shuffler lost the coordinator");
      return absl::DeadlineExceededError("could not reach the coordinator at " +
                                         options.coordinator + ": " + last_problem);
    }
    // Every attempt dials afresh (see silo_process.cc): a failed channel waits out gRPC's own
    // reconnect schedule and fails each call meanwhile.
    FEDSILO_ASSIGN_OR_RETURN(channel, open_channel());
    stub = v1::ShufflerLink::NewStub(channel);
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace fedsilo
