// RunCoordinatorProcess: `fedsilo coordinator`. Loads the experiment (the coordinator's copy of
// the data is used only to evaluate, as thread mode does), listens for silos, waits until
// network.min_silos have joined (bounded by network.join_timeout_seconds), runs the same round
// loop as thread mode over a NetworkTransport, writes the same run directory plus a checkpoint
// after every round, and tells the silos when the run is over.
//
// Security: TLS by default (server certificate and key; with a client CA, every silo must present
// a certificate signed by it, and its common name is the only name it may join under).
// Plaintext only with `insecure`, and only on a loopback address.
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
};

struct CoordinatorProcessResult {
  ExperimentConfig config;
  RunReport report;
  uint64_t bytes_sent = 0;       // protobuf bytes, whole run
  uint64_t bytes_received = 0;
};

absl::StatusOr<CoordinatorProcessResult> RunCoordinatorProcess(
    const CoordinatorProcessOptions& options);

}  // namespace fedsilo
