// RunShufflerProcess: `fedsilo shuffler`, the shuffler of a shuffle-model run as its own process.
//
// Topology: silos -> shuffler -> coordinator. The shuffler dials out to the coordinator
// (ShufflerLink.Rounds), receives the experiment, then listens for the silos, which join it with
// the same Session protocol they use with a coordinator (and the same checks: protocol version,
// roster or shard, certificate common name with --client-ca, one session per silo, deadlines).
// Inside, a NetworkTransport serves the silos and a ShufflingTransport (seeded from the OS, never
// from anything the coordinator knows) turns each round's replies into one batch: the sealed
// reports permuted, silo ids and arrival order removed, failures reduced to status codes.
//
// What the shuffler sees: which silos joined and answered, the size of each sealed report, and
// the global parameters of each round. It holds no key: reports are sealed by the silos for the
// coordinator's public key, and it cannot open them. A silo update that arrives unsealed is turned
// into a failure (InvalidArgument) and never forwarded.
//
// Security: towards the silos, TLS with --tls-cert/--tls-key (and --client-ca to authenticate them
// by certificate); towards the coordinator, --ca and --cert/--key (required: the coordinator of a
// shuffle-model run accepts the link only from the certificate whose common name it expects,
// "shuffler" by default). Authenticating silos by certificate without a roster, it binds each
// certificate to the shard it first took and keeps the bindings in --state-dir, so a restart does
// not free a shard for another certificate of the CA.
// Plaintext only with --insecure, and only when both addresses are loopback.
#pragma once

#include <string>

#include "common/base/status.h"

namespace fedsilo {

struct ShufflerProcessOptions {
  std::string listen;            // HOST:PORT for the silos (port 0: any free port)
  std::string port_file;         // when set, the bound port is written there once listening
  std::string coordinator;       // HOST:PORT of the coordinator
  bool insecure = false;
  std::string tls_cert;          // towards silos: PEM server certificate chain
  std::string tls_key;           //   its private key
  std::string client_ca;         //   PEM CA that signs silo certificates (mutual TLS)
  std::string ca;                // towards the coordinator: PEM CA of its certificate
  std::string cert;              //   the shuffler's client certificate (CN: the name the
  std::string key;               //   coordinator expects) and key
  std::string server_name;       //   TLS name to check on the coordinator's certificate
  // Where the shuffler keeps, per run, which certificate took which shard
  // (STATE_DIR/silo_certificates_<run id>). Required with client_ca when the run has no roster.
  std::string state_dir;
  double connect_timeout_seconds = 0;  // 0: 120 s to reach the coordinator
  bool dry_run = false;
};

absl::Status RunShufflerProcess(const ShufflerProcessOptions& options);

}  // namespace fedsilo
