// RunSiloProcess: `fedsilo silo`. One silo as its own process: it dials out to the coordinator
// (no inbound connection), joins under its name, builds its half of the algorithm over its own
// records, and answers tasks until the coordinator says the run is over.
//
// Data: `--shard I` derives shard I of the configured dataset exactly as thread mode does (so a
// multi-process run reproduces a thread-mode run bit for bit); `--data FILE.csv` reads the silo's
// own file with the CSV schema of its config (the coordinator never sees the path or the rows).
// Config: the silo's own `--config` when given (its data and privacy sections are the silo's
// decision: the coordinator cannot raise a silo's budget), else the coordinator's.
// State: with --state-dir the silo persists its journal (ledger, last round, last answer)
// atomically after every task, before answering, and restores it on restart: a restarted silo
// never forgets spent budget and never answers a round twice.
// Shuffle model: with --coordinator-public-key the silo seals every report for that key
// (SiloRuntimeOptions::seal_for) and dials the shuffler; its journal keeps the sealed bytes, so a
// restarted silo re-sends exactly the report it sent.
// Reconnects (bounded by network.join_timeout_seconds) when the coordinator goes away, so a
// resumed coordinator finds its silos again.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

struct SiloProcessOptions {
  std::string coordinator;       // HOST:PORT
  std::string name;
  int shard = -1;                // >= 0: derive this shard of the configured dataset
  std::string data_file;         // else: the silo's own CSV file
  std::string config_path;       // optional: the silo's own experiment file
  std::vector<std::string> overrides;
  std::string state_dir;         // optional: where the journal lives
  bool insecure = false;
  std::string ca;                // PEM CA that signed the coordinator's certificate
  std::string cert;              // PEM client certificate (CN = name)
  std::string key;               // PEM private key
  std::string server_name;       // TLS name to check on the coordinator's certificate (default:
                                 // the host of `coordinator`)
  double connect_timeout_seconds = 0;  // 0: the config's network.join_timeout_seconds
  bool dry_run = false;          // validate arguments (and the own config; with data_file, read
                                 // and check the file, printing what it holds) and return
  // Testing only: derive the batch and noise seed from the run's seed and this silo's id, as
  // thread mode does, so a networked run reproduces it bit for bit. The coordinator (who knows
  // the seed and the id) can then recompute and subtract every noise vector, so this is logged as
  // a warning. Off: the seed comes from this process's OS entropy, whatever the coordinator's
  // config, the Welcome or the silo's own config say.
  bool reproducible_noise = false;
  // Shuffle-model runs: the coordinator's public key for sealed reports (its --sealing-key
  // FILE.pub), pinned here and never taken from the peer. `coordinator` is then the shuffler's
  // address. Required for a shuffle-model algorithm; refused for any other (a silo with a pinned
  // key never sends a report in the clear).
  std::string coordinator_public_key;
};

absl::Status RunSiloProcess(const SiloProcessOptions& options);

}  // namespace fedsilo
