// Experiment: thread mode end to end. Loads and partitions the data, builds the model, one
// SiloRuntime per silo (sharing the pooled data read-only) and the coordinator program, runs the
// round loop over the in-process transport, and writes the run directory:
//   config.yaml (resolved), metrics.csv, silos.csv, summary.json, model.bin.
// With algorithm.personalize_steps > 0, every evaluation also runs the personalized evaluation
// (personalized_evaluation.h) over all silos: metrics.csv gains personalized_accuracy_{mean,min,
// p10,median} columns (before `seconds`, which stays last) and summary.json the same keys under
// `final`.
// Fairness algorithms (fair_fermi, isrl_dp_fair_fermi) on data with groups also report, on the test
// split from hard predictions (fairness_metrics.h), test_error, dp_violation, eo_violation and
// eopp_violation: metrics.csv columns before `seconds`, summary.json keys under `final`.
// Errors in the config or data come back as InvalidArgument / NotFound naming the problem.
// One experiment per call; the call is not reentrant with respect to its output directory.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/algorithms/algorithm_registry.h"
#include "common/base/status.h"
#include "common/data/partition.h"
#include "common/model/model.h"
#include "common/runtime/evaluation.h"
#include "common/runtime/experiment_config.h"
#include "common/runtime/fairness_metrics.h"
#include "common/runtime/loaded_data_cache.h"
#include "common/runtime/personalized_evaluation.h"
#include "common/base/thread_pool.h"
#include "common/transport/transport.h"

namespace fedsilo {

struct RunOptions {
  std::string out_dir;  // overrides output.dir when non-empty
  int threads = 0;      // silo worker threads; 0 = number of cores
  bool quiet = false;   // no progress line on stderr
  bool checkpoint = false;  // write out_dir/checkpoint.bin after every round (checkpoint.h)
  bool resume = false;      // continue from out_dir/checkpoint.bin (same config required)
  // Runs that share data (a sweep's points) load it once through this memo; nullptr = load.
  LoadedDataCache* data_cache = nullptr;
};

// Worker threads of a run: options.threads, or the number of cores when 0.
int WorkerThreads(const RunOptions& options);

struct RunReport {
  std::string out_dir;
  int rounds_completed = 0;
  int skipped_rounds = 0;      // rounds that missed the quorum (model unchanged)
  std::string stop_reason;
  int non_finite_rounds = 0;  // rounds whose aggregate was not finite (not applied; this run only)
  EvalResult final_test;
  EvalResult final_train;
  int validation_records = 0;  // pooled validation records (data.validation); 0 = none
  EvalResult final_validation;  // on them, when validation_records > 0
  PersonalizedResult final_personalized;  // filled when algorithm.personalize_steps > 0
  bool reports_fairness = false;  // fairness algorithm on data with groups
  FairnessMetrics final_fairness; // test split, hard predictions; when reports_fairness
  FairnessMetrics final_validation_fairness;  // the validation records; when both of the above
  double epsilon = 0.0;        // max over silos; +inf when not private
  double delta = 0.0;          // max over silos
  std::string shuffle_accountant;  // shuffle-model runs: the accountant behind epsilon (else empty)
  double shuffle_eps0 = 0.0;       // shuffle-model runs: every silo's local randomizer parameter
  double load_seconds = 0.0;
  double train_seconds = 0.0;  // round loop, evaluation excluded
  double eval_seconds = 0.0;
  Vector final_parameters;
};

// Everything built before the first round (exposed so tests and benchmarks can reuse it).
struct PreparedExperiment {
  ExperimentConfig config;
  // The data laid out by silo (MakeSiloData), immutable: a sweep's points that share their data,
  // partition and seed share one (LoadedDataCache::LoadSiloData).
  std::shared_ptr<const TrainTest> shared_data;
  const TrainTest& data() const { return *shared_data; }
  std::vector<SiloShard> shards;
  std::unique_ptr<Model> model;
  AlgorithmSpec algorithm;
  double load_seconds = 0.0;
};

// require_test_records: a run evaluates on the test split, so it must not be empty; a silo
// process, which only trains on its own files, passes false. data_cache: where to load and lay
// out the data through (its entries are shared, not copied), or nullptr to load it.
absl::StatusOr<PreparedExperiment> PrepareExperiment(const ExperimentConfig& config,
                                                     bool require_test_records = true,
                                                     LoadedDataCache* data_cache = nullptr);

absl::StatusOr<RunReport> RunPreparedExperiment(const PreparedExperiment& experiment,
                                                const RunOptions& options);

// The coordinator's side of a run over any transport (thread mode passes its in-process
// transport; `fedsilo coordinator` its gRPC one): the round loop, evaluation on the experiment's
// data, epsilon from the silos' privacy reports, the run directory, and with options.checkpoint
// a checkpoint after every round (options.resume continues from it; metrics.csv keeps its rows
// up to the checkpoint's round). `pool` evaluates; it must outlive the call.
absl::StatusOr<RunReport> RunWithTransport(const PreparedExperiment& experiment,
                                           Transport& transport, ThreadPool* pool,
                                           const RunOptions& options);

absl::StatusOr<RunReport> RunExperiment(const ExperimentConfig& config, const RunOptions& options);

}  // namespace fedsilo
