// Partition export (`fedsilo partition`): writes each silo's share of a dataset to its own files,
// so that a silo process can be handed a folder and run on it (`fedsilo silo --data FILE.csv`)
// instead of deriving its shard from the pooled dataset.
//
// ExportPartition prepares the experiment exactly as thread mode does (PrepareExperiment: load and
// preprocess, PartitionData with DeriveSeed(seed, "partition"), LayOutBySilo) and writes into
// `out_dir`, which must not exist yet or be empty:
//   summary.txt           PartitionSummary (the table thread mode prints before a run);
//   coordinator.yaml      the experiment's resolved config with a roster (network.silos: the
//                         config's, else silo0 .. silo<N-1>), so silos holding these files can
//                         join by name; each silo.yaml carries the same roster;
//   silo_<i>/train.csv    silo i's training records, in the silo's own order (its k-th row is
//                         the k-th record the thread-mode silo trains on);
//   silo_<i>/test.csv     silo i's test records (a header alone when it holds none);
//   silo_<i>/silo.yaml    the experiment's resolved config with the `data` section replaced by a
//                         CSV schema that reads the two files beside it (relative paths, so the
//                         folder can be moved or handed over as a whole).
// The files hold preprocessed numbers: a header row, the feature columns (named by
// Dataset::feature_names when those are usable CSV column names, else x0, x1, ...), `label` (the
// class id) and, when the data has sensitive groups, `group` (the group id). Every number is
// written in the shortest form that reads back as the same double. The schema sets
// standardize: false and fixed `classes` and `groups`, so reading a file back with LoadData gives
// the very features, labels and groups of the in-memory partition, with num_classes and
// num_groups of the whole dataset even when a silo lacks some classes or groups.
// Not kept: MNIST's original digit when label_map: parity relabels it (only the parity is a label).
//
// Errors: the config and data errors of PrepareExperiment (InvalidArgument, NotFound);
// FailedPrecondition when out_dir exists and is not an empty directory; InvalidArgument for a
// non-finite feature; PermissionDenied when a file cannot be written. One call per out_dir; not
// reentrant with respect to it.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/runtime/experiment_config.h"

namespace fedsilo {

struct PartitionExportReport {
  std::string out_dir;
  int silos = 0;
  std::vector<std::string> columns;  // the header of every file
  long long train_rows = 0;          // written over all silos
  long long test_rows = 0;
  std::string summary;               // the text of summary.txt
  std::vector<std::string> roster;   // silo i's name (the config's network.silos, or silo<i>)
};

absl::StatusOr<PartitionExportReport> ExportPartition(const ExperimentConfig& config,
                                                      const std::string& out_dir);

}  // namespace fedsilo
