// RunCoordinatorProcess: `fedsilo coordinator`. Loads the experiment (the coordinator's copy of
// the data is used only to evaluate, as thread mode does), listens for silos, waits until
// network.min_silos have joined (bounded by network.join_timeout_seconds), runs the same round
// loop as thread mode over a NetworkTransport, writes the same run directory plus a checkpoint
// after every round, and tells the silos when the run is over.
//
// Security: TLS by default (server certificate and key; with a client CA, every silo must present
// a certificate signed by it, and its common name is the only name it may join under).
// Plaintext only with `insecure`, and only on a loopback address.
//
// Shuffle-model algorithms: silos join the shuffler (`fedsilo shuffler`), never the coordinator
// (a silo Session here is refused, FailedPrecondition); the shuffler dials in on ShufflerLink and
// the round loop runs over UnsealingTransport(ShufflerLinkTransport) with the key pair of
// `sealing_key` (required). With TLS, --client-ca is required as well: the link is accepted only
// from a certificate with common name `shuffler_name`.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/runtime/experiment.h"

namespace fedsilo {

struct CoordinatorProcessOptions {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string listen;            // HOST:PORT (port 0: any free port, see port_file)
  std::string port_file;         // when set, the bound port is written there once listening
  RunOptions run;                // out_dir, threads (evaluation), quiet, resume
  bool insecure = false;
  std::string tls_cert;          // PEM server certificate chain
  std::string tls_key;           // PEM private key
  std::string client_ca;         // PEM CA that signs silo certificates (mutual TLS)
  bool dry_run = false;          // validate arguments and config, then return
  // Shuffle-model algorithms (AlgorithmSpec::requires_shuffler) only:
  std::string sealing_key;       // the coordinator's key pair for sealed reports (created if
                                 // absent; the public key is written to sealing_key + ".pub")
  std::string shuffler_name = "shuffler";  // with --client-ca: the certificate CN the shuffler
                                           // link must present
};

struct CoordinatorProcessResult {
  ExperimentConfig config;
  std::string run_id;            // this run's id (OUT/run_id; kept across --resume)
  RunReport report;
  uint64_t bytes_sent = 0;       // protobuf bytes, whole run
  uint64_t bytes_received = 0;
};

absl::StatusOr<CoordinatorProcessResult> RunCoordinatorProcess(
    const CoordinatorProcessOptions& options);

}  // namespace fedsilo
