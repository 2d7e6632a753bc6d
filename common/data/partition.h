// Partitioners: split a dataset's records among silos, each silo getting its own train and test
// index lists (the records themselves stay in the pooled Dataset; silos never copy them).
//
// Schemes (the `partition` section): iid, dirichlet (label skew, alpha), shards (k labels per silo),
// label_per_silo, by_attribute (sort by a feature column, contiguous blocks, heterogeneity h),
// even_odd_pairs (MNIST: one even and one odd digit per silo, mixing p), per_fedavg_split (Fallah
// et al. 2020: half the silos hold a records of each of classes 0-4, the others a/2 of one class
// of 0-4 and 2a of one class of 5-9). Deterministic given seed.
// Errors (InvalidArgument) name the problem: more silos than records, an unknown scheme, a missing
// column. Pure function; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/data/dataset.h"

namespace fedsilo {

// Most silos a run may have (partition.silos): bounds what a process allocates per silo, whoever
// wrote the config (a shuffler reads the coordinator's).
inline constexpr int kMaxSilos = 100000;

struct PartitionConfig {
  std::string scheme = "iid";
  int silos = 10;
  double alpha = 0.5;        // dirichlet concentration (smaller = more skew)
  int labels_per_silo = 2;   // shards: distinct labels per silo
  std::string attribute;     // by_attribute: feature column to sort by (e.g. "age")
  double h = 1.0;            // by_attribute: 1 = pure contiguous blocks, 0 = random split
  double p = 0.9;            // even_odd_pairs: fraction of a silo's records from its own pair
  int per_class = 0;         // per_fedavg_split: a (records per class); 0 = the largest that fits
};

struct SiloShard {
  std::vector<int> train;  // row indices into TrainTest::train
  std::vector<int> test;   // row indices into TrainTest::test
  std::vector<int> validation;  // row indices into TrainTest::train held out from `train`
};

absl::StatusOr<std::vector<SiloShard>> PartitionData(const TrainTest& data,
                                                     const PartitionConfig& config,
                                                     unsigned long long seed);

// A human-readable table: silo, train size, test size, label histogram.
std::string PartitionSummary(const TrainTest& data, const std::vector<SiloShard>& shards);

}  // namespace fedsilo
