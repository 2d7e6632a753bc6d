#include "server/coordinator_process.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/algorithms/algorithm_registry.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/binary_record.h"
#include "common/base/rng.h"
#include "common/data/data_schema.h"
#include "common/base/thread_pool.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/silo_privacy.h"
#include "common/transport/sealed_report.h"
#include "common/transport/unsealing_transport.h"
#include "fedsilo/v1/grpc_edge.h"
#include "fedsilo/v1/wire.h"
#include "server/network_transport.h"
#include "server/shuffler_link.h"

namespace fedsilo {
namespace {

// The digest of the run's shared data schema (data.schema of a csv run), or "" without one.
absl::StatusOr<std::string> PinnedSchemaDigest(const ExperimentConfig& config) {
  if (config.data.dataset != "csv" || config.data.csv.schema.empty()) return std::string();
  FEDSILO_ASSIGN_OR_RETURN(const DataSchema schema, LoadDataSchema(config.data.csv.schema));
  return DataSchemaDigest(schema);
}


absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const CoordinatorProcessOptions& options) {
  const bool any_tls = !options.tls_cert.empty() || !options.tls_key.empty() ||
                       !options.client_ca.empty();
  if (options.insecure) {
    if (any_tls) {
      return absl::InvalidArgumentError("--insecure cannot be combined with TLS files");
    }
    if (!wire::IsLoopbackAddress(options.listen)) {
      return absl::InvalidArgumentError(
          "--insecure (plaintext) is refused on " + options.listen +
          ": it is allowed only on a loopback address (127.0.0.1, ::1, localhost); use TLS "
          "(--tls-cert, --tls-key, --client-ca) for anything else");
    }
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert.empty() || options.tls_key.empty()) {
    return absl::InvalidArgumentError(
        "the coordinator needs --tls-cert and --tls-key (and --client-ca to authenticate silos), "
        "or --insecure on a loopback address");
  }
  return wire::ServerCredentialsFrom(
      wire::ServerTlsFiles{false, options.tls_cert, options.tls_key, options.client_ca});
}

// In a shuffle-model run silos must go through the shuffler: a direct Session is refused.
class RefuseSilosService final : public v1::Coordinator::Service {
 public:
  explicit RefuseSilosService(std::string algorithm) : algorithm_(std::move(algorithm)) {}
  grpc::Status Session(grpc::ServerContext* context,
                       grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::SiloMessage>*) override {
    const std::string why = "this run's algorithm '" + algorithm_ +
                            "' is shuffle-model: silos join the shuffler (fedsilo shuffler), never "
                            "the coordinator directly";
    spdlog::warn("refused a silo session from {}: {}", context->peer(), why);
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, why);
  }

 private:
  const std::string algorithm_;
};

// Listens with `credentials` on options.listen and registers `services`; writes the port file.
absl::StatusOr<std::unique_ptr<grpc::Server>> Listen(
    const CoordinatorProcessOptions& options, const ExperimentConfig& config,
    const std::shared_ptr<grpc::ServerCredentials>& credentials,
    const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, credentials, &port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  wire::ApplyServerLimits(&builder, config.network.max_message_mb,
                          MaxServerThreads(config.partition.silos));
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError("cannot listen on " + options.listen +
                                  " (address in use or not local?)");
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  spdlog::info("coordinator listening on {}:{} ({})", host, port,
               options.insecure ? "plaintext" : "TLS");
  if (!options.port_file.empty()) {
    FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(options.port_file, std::to_string(port) + "\n"));
  }
  return server;
}

// The shuffle-model run: silos -> shuffler -> ShufflerLinkTransport -> UnsealingTransport.
absl::StatusOr<CoordinatorProcessResult> RunShuffleModel(const CoordinatorProcessOptions& options,
                                                         CoordinatorProcessResult result,
                                                         const PreparedExperiment& experiment) {
  const ExperimentConfig& config = result.config;
  FEDSILO_ASSIGN_OR_RETURN(CoordinatorKeyPair keys,
                           CoordinatorKeyPair::LoadOrCreate(options.sealing_key));
  spdlog::info("sealed reports: public key {} (written to {}.pub; each silo pins it with "
               "--coordinator-public-key)",
               ReportPublicKeyHex(keys.public_key()), options.sealing_key);
  FEDSILO_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                           ServerCredentials(options));
  if (options.insecure) {
    spdlog::warn("--insecure: the shuffler link is not authenticated (any local process may "
                 "connect first as the shuffler); the reports stay sealed");
  }
  ShufflerLinkOptions link_options;
  link_options.num_silos = config.partition.silos;
  link_options.experiment_yaml = ExperimentConfigToYaml(config);
  link_options.run_id = result.run_id;
  FEDSILO_ASSIGN_OR_RETURN(link_options.schema_digest, PinnedSchemaDigest(config));
  link_options.num_parameters = experiment.model->num_parameters();
  link_options.round_timeout_seconds = config.network.round_timeout_seconds;
  link_options.join_timeout_seconds = config.network.join_timeout_seconds;
  link_options.require_certificate = !options.client_ca.empty();
  link_options.shuffler_name = options.shuffler_name;
  ShufflerLinkTransport link(link_options);
  RefuseSilosService refuse_silos(config.algorithm.name);
  FEDSILO_ASSIGN_OR_RETURN(std::unique_ptr<grpc::Server> server,
                           Listen(options, config, credentials, {&link, &refuse_silos}));
  spdlog::info("shuffle-model run: waiting for the shuffler");
  const auto stop = [&](const std::string& reason) {
    link.Finish(reason);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  };
  const int min_silos = MinSilosToStart(config);
  if (absl::Status joined = link.WaitForShuffler(min_silos, config.network.join_timeout_seconds);
      !joined.ok()) {
    stop(std::string(joined.message()));
    return joined;
  }
  RunOptions run = options.run;
  run.checkpoint = true;
  ThreadPool pool(WorkerThreads(run));
  UnsealingTransport edge(&link, std::move(keys),
                          ReportsPerSilo(experiment.algorithm, experiment.config), &pool);
  absl::StatusOr<RunReport> report = RunWithTransport(experiment, edge, &pool, run);
  stop(report.ok() ? "the run is over" : std::string(report.status().message()));
  if (!report.ok()) return report.status();
  result.report = *std::move(report);
  // How the run travelled, beside the rest of the summary (no byte counts: the coordinator talks
  // only to the shuffler).
  const std::string summary_path = result.report.out_dir + "/summary.json";
  FEDSILO_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(summary_path));
  nlohmann::json summary = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (summary.is_discarded()) return absl::DataLossError("cannot read back " + summary_path);
  summary["run_id"] = result.run_id;
  summary["network"] = {{"protocol", "fedsilo.v1 gRPC"},
                        {"topology", "silos -> shuffler -> coordinator (sealed reports)"},
                        {"transport_security", options.insecure
                                                   ? "plaintext (loopback); shuffler link not "
                                                     "authenticated"
                                                   : "mutual TLS; shuffler link only from CN " +
                                                         options.shuffler_name}};
  FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(summary_path, summary.dump(2) + "\n"));
  return result;
}

// The run's id: a new random one for a new run, written to OUT/run_id; the one in OUT/run_id for
// --resume (the silos then see the same run and re-send, never redo, the rounds they answered).
absl::StatusOr<std::string> RunIdFor(const std::string& out_dir, bool resume) {
  const std::string path = (std::filesystem::path(out_dir) / "run_id").string();
  if (resume) {
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    if (!text.ok()) {
      return absl::FailedPreconditionError("--resume: cannot read the run's id: " +
                                           std::string(text.status().message()));
    }
    std::string id(absl::StripAsciiWhitespace(*text));
    if (id.empty()) return absl::DataLossError("--resume: " + path + " is empty");
    return id;
  }
  if (std::filesystem::exists(path)) {
    // A second run into the same folder would overwrite the first run's results, and the silos'
    // ledgers already count that run: refuse, naming both ways on.
    absl::StatusOr<std::string> text = ReadWholeFile(path);
    const std::string old_id =
        text.ok() ? std::string(absl::StripAsciiWhitespace(*text)) : std::string("?");
    return absl::FailedPreconditionError(
        "the output folder " + out_dir + " already holds run " + old_id + " (" + path +
        "): pass --resume to continue that run, or give a new --out (or remove " + out_dir +
        ") to start another; the silos' ledgers (--state-dir) keep counting the budget the "
        "earlier run spent on their records");
  }
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) {
    return absl::PermissionDeniedError("cannot create output directory " + out_dir + ": " +
                                       error.message());
  }
  const std::string id = absl::StrCat(absl::Hex(SeedFromOsEntropy(), absl::kZeroPad16),
                                      absl::Hex(SeedFromOsEntropy(), absl::kZeroPad16));
  FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(path, id + "\n"));
  return id;
}

}  // namespace

absl::StatusOr<CoordinatorProcessResult> RunCoordinatorProcess(
    const CoordinatorProcessOptions& options) {
  CoordinatorProcessResult result;
  FEDSILO_ASSIGN_OR_RETURN(result.config,
                           LoadExperimentConfig(options.config_path, options.overrides));
  const ExperimentConfig& config = result.config;
  if (options.listen.empty()) return absl::InvalidArgumentError("--listen HOST:PORT is required");
  FEDSILO_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> credentials,
                           ServerCredentials(options));
  if (options.client_ca.empty() && !options.insecure) {
    spdlog::warn("no --client-ca: silos are not authenticated (any TLS client may join under "
                 "any name on the roster)");
  }
  FEDSILO_ASSIGN_OR_RETURN(AlgorithmSpec spec, FindAlgorithm(config.algorithm.name));
  if (spec.trusted_server) {
    return absl::FailedPreconditionError(
        "algorithm '" + config.algorithm.name + "' is a trusted-server baseline (silos would send "
        "clipped gradients without noise): thread mode only (fedsilo run)");
  }
  const bool shuffle_model = spec.requires_shuffler;
  if (shuffle_model) {
    if (options.sealing_key.empty()) {
      return absl::InvalidArgumentError(
          "algorithm '" + config.algorithm.name + "' is shuffle-model: the coordinator needs "
          "--sealing-key FILE (its key pair for the silos' sealed reports, created if absent; give "
          "each silo FILE.pub as --coordinator-public-key)");
    }
    if (!options.insecure && options.client_ca.empty()) {
      return absl::InvalidArgumentError(
          "algorithm '" + config.algorithm.name + "' is shuffle-model: with TLS the coordinator "
          "needs --client-ca to accept batches only from the shuffler's certificate (common name '" +
          options.shuffler_name + "')");
    }
  } else if (!options.sealing_key.empty()) {
    return absl::InvalidArgumentError("--sealing-key is for shuffle-model algorithms; '" +
                                      config.algorithm.name + "' is not one");
  }
  if (options.dry_run) return result;

  FEDSILO_ASSIGN_OR_RETURN(PreparedExperiment experiment, PrepareExperiment(config));
  const std::string out_dir = options.run.out_dir.empty() ? config.output.dir : options.run.out_dir;
  FEDSILO_ASSIGN_OR_RETURN(result.run_id, RunIdFor(out_dir, options.run.resume));
  spdlog::info("run id {}{}", result.run_id, options.run.resume ? " (resumed)" : "");
  if (shuffle_model) return RunShuffleModel(options, std::move(result), experiment);
  NetworkTransportOptions network;
  network.num_silos = config.partition.silos;
  network.roster = config.network.silos;
  network.experiment_yaml = ExperimentConfigToYaml(config);
  network.run_id = result.run_id;
  FEDSILO_ASSIGN_OR_RETURN(network.schema_digest, PinnedSchemaDigest(config));
  network.num_parameters = experiment.model->num_parameters();
  network.round_timeout_seconds = config.network.round_timeout_seconds;
  network.join_timeout_seconds = config.network.join_timeout_seconds;
  network.min_replies = config.network.min_replies;
  network.hello_timeout_seconds = config.network.hello_timeout_seconds;
  network.names_from_certificates = !options.client_ca.empty();
  if (network.names_from_certificates && network.roster.empty()) {
    // Without a roster a certificate is bound to the shard it first took; a resumed run keeps that.
    network.bindings_file = (std::filesystem::path(out_dir) / "silo_certificates").string();
    if (!options.run.resume) std::filesystem::remove(network.bindings_file);
  }
  FEDSILO_ASSIGN_OR_RETURN(std::unique_ptr<NetworkTransport> network_transport,
                           NetworkTransport::Create(network));
  NetworkTransport& transport = *network_transport;

  FEDSILO_ASSIGN_OR_RETURN(std::unique_ptr<grpc::Server> server,
                           Listen(options, config, credentials, {&transport}));
  const auto stop = [&](const std::string& reason) {
    transport.Finish(reason);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  };
  const int min_silos = MinSilosToStart(config);
  if (absl::Status joined = transport.WaitForSilos(min_silos, config.network.join_timeout_seconds);
      !joined.ok()) {
    stop(std::string(joined.message()));
    return joined;
  }
  RunOptions run = options.run;
  run.checkpoint = true;
  ThreadPool pool(WorkerThreads(run));
  absl::StatusOr<RunReport> report = RunWithTransport(experiment, transport, &pool, run);
  stop(report.ok() ? "the run is over" : std::string(report.status().message()));
  if (!report.ok()) return report.status();
  result.report = *std::move(report);
  const NetworkTraffic traffic = transport.traffic();
  result.bytes_sent = traffic.bytes_sent;
  result.bytes_received = traffic.bytes_received;
  // The network's share of the run, beside the rest of the summary.
  const std::string summary_path = result.report.out_dir + "/summary.json";
  FEDSILO_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(summary_path));
  nlohmann::json summary = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (summary.is_discarded()) return absl::DataLossError("cannot read back " + summary_path);
  const double rounds = std::max(1, result.report.rounds_completed);
  summary["run_id"] = result.run_id;
  summary["network"] = {{"protocol", "fedsilo.v1 gRPC"},
                        {"transport_security", options.insecure ? "plaintext (loopback)"
                                               : options.client_ca.empty() ? "TLS"
                                                                           : "mutual TLS"},
                        {"bytes_sent", traffic.bytes_sent},
                        {"bytes_received", traffic.bytes_received},
                        {"bytes_sent_per_round", traffic.bytes_sent / rounds},
                        {"bytes_received_per_round", traffic.bytes_received / rounds}};
  FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(summary_path, summary.dump(2) + "\n"));
  return result;
}

}  // namespace fedsilo
