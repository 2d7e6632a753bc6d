// ExperimentConfig: one experiment file (YAML), fully resolved: every key with its value or
// default. Parsed and validated by config_parser.h; documented key by key in docs/config.md.
// Plain values, copyable, no behaviour.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/algorithms/algorithm_config.h"
#include "common/data/data_config.h"
#include "common/data/partition.h"
#include "common/model/model_registry.h"

namespace fedsilo {

struct PrivacyConfig {
  double epsilon = 1.0;         // per-silo budget (target) over the whole run
  double delta = 0.0;           // 0 = 1 / n_i^2 per silo (the ISRL-DP papers' choice)
  double clip = 1.0;            // per-record L2 clipping bound
  std::string sampling = "poisson";  // poisson | without_replacement | with_replacement
  std::string calibration = "rdp";   // rdp: smallest noise the RDP accountant certifies;
                                     // paper: closed-form sigma of Lowy & Razaviyayn
  int planned_rounds = 0;       // rounds each silo budgets for; 0 = algorithm.rounds
  bool secure_noise = false;    // true: silos seed their noise from OS entropy
  // Shuffle-model algorithms: a public lower bound on every silo's record count. Each silo checks
  // it for itself; it lets the calibration claim amplification by subsampling at
  // q = batch_size / min_silo_records. 0 = no amplification by subsampling is claimed.
  int min_silo_records = 0;
};

struct OutputConfig {
  std::string dir = "runs/latest";
  int eval_every = 10;          // evaluate every k rounds (and always after the last round)
  bool save_model = true;
};

// Networked mode (`fedsilo coordinator` / `fedsilo silo`); thread mode reads only min_replies.
struct NetworkConfig {
  int min_silos = 0;                   // silos that must join before round 1; 0 = partition.silos
  double join_timeout_seconds = 120;   // longest wait for min_silos (and for a quorum to rejoin)
  double round_timeout_seconds = 60;   // deadline of one round; late replies are dropped
  int min_replies = 1;                 // quorum: a round with fewer replies changes nothing
  double max_message_mb = 16;          // largest gRPC message accepted, either direction
  double keepalive_seconds = 20;       // ping a silent peer this often; no answer in as long: gone
  double hello_timeout_seconds = 10;   // a stream that has not said Hello by then is closed
  std::vector<std::string> silos;      // roster: silo names in id order (empty: ids are shards)
};

struct ExperimentConfig;
// Silos that must join before round 1: network.min_silos, or partition.silos when 0.
int MinSilosToStart(const ExperimentConfig& config);

struct ExperimentConfig {
  unsigned long long seed = 1;
  DataConfig data;
  PartitionConfig partition;
  ModelConfig model;
  AlgorithmConfig algorithm;
  PrivacyConfig privacy;
  OutputConfig output;
  NetworkConfig network;
  std::string source_path;      // the YAML file it came from (for messages)
  std::set<std::string> given_keys;  // "section.key" of every key the file or --set gave (the
                                     // rest are defaults); filled by the config parser
};

inline int MinSilosToStart(const ExperimentConfig& config) {
  return config.network.min_silos > 0 ? config.network.min_silos : config.partition.silos;
}

}  // namespace fedsilo
