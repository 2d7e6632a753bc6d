#include "server/coordinator_process.h"

#include <chrono>
#include <fstream>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/base/binary_record.h"
#include "common/base/thread_pool.h"
#include "common/runtime/config_parser.h"
#include "fedsilo/v1/wire.h"
#include "server/network_transport.h"

namespace fedsilo {
namespace {

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
  grpc::SslServerCredentialsOptions ssl(
      options.client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  FEDSILO_ASSIGN_OR_RETURN(pair.cert_chain, ReadWholeFile(options.tls_cert));
  FEDSILO_ASSIGN_OR_RETURN(pair.private_key, ReadWholeFile(options.tls_key));
  ssl.pem_key_cert_pairs.push_back(pair);
  if (!options.client_ca.empty()) {
    FEDSILO_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadWholeFile(options.client_ca));
  }
  return grpc::SslServerCredentials(ssl);
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
  if (options.dry_run) return result;

  FEDSILO_ASSIGN_OR_RETURN(PreparedExperiment experiment, PrepareExperiment(config));
  NetworkTransportOptions network;
  network.num_silos = config.partition.silos;
  network.roster = config.network.silos;
  network.experiment_yaml = ExperimentConfigToYaml(config);
  network.num_parameters = experiment.model->num_parameters();
  network.round_timeout_seconds = config.network.round_timeout_seconds;
  network.join_timeout_seconds = config.network.join_timeout_seconds;
  network.min_replies = config.network.min_replies;
  network.names_from_certificates = !options.client_ca.empty();
  NetworkTransport transport(network);

  const int max_bytes = static_cast<int>(config.network.max_message_mb * 1024 * 1024);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, credentials, &port);
  builder.RegisterService(&transport);
  builder.SetMaxReceiveMessageSize(max_bytes);
  builder.SetMaxSendMessageSize(max_bytes);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError("cannot listen on " + options.listen +
                                  " (address in use or not local?)");
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  spdlog::info("coordinator listening on {}:{} ({}), waiting for silos", host, port,
               options.insecure ? "plaintext" : "TLS");
  if (!options.port_file.empty()) {
    FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(options.port_file, std::to_string(port) + "\n"));
  }
  const auto stop = [&](const std::string& reason) {
    transport.Finish(reason);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  };
  const int min_silos = config.network.min_silos > 0 ? config.network.min_silos
                                                     : config.partition.silos;
  if (absl::Status joined = transport.WaitForSilos(min_silos, config.network.join_timeout_seconds);
      !joined.ok()) {
    stop(std::string(joined.message()));
    return joined;
  }
  RunOptions run = options.run;
  run.checkpoint = true;
  const int threads = run.threads > 0 ? run.threads
                                      : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
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
