#include "common/runtime/experiment.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/algorithms/fair_fermi.h"
#include "common/base/binary_record.h"
#include "common/base/rng.h"
#include "common/base/thread_pool.h"
#include "common/data/loader_registry.h"
#include "common/metrics/csv_table.h"
#include "common/model/model_registry.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/fairness_metrics.h"
#include "common/runtime/in_process_transport.h"
#include "common/runtime/iterate_average.h"
#include "common/runtime/personalized_evaluation.h"
#include "common/runtime/round_loop.h"
#include "common/runtime/silo_data.h"
#include "common/runtime/checkpoint.h"
#include "common/runtime/silo_factory.h"
#include "common/runtime/silo_runtime.h"
#include "common/transport/sealed_report.h"
#include "common/transport/shuffling_transport.h"
#include "common/transport/unsealing_transport.h"

namespace fedsilo {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Every silo's rows of one list (train or validation), pooled and sorted.
std::vector<int> PooledRows(const std::vector<SiloShard>& shards,
                            std::vector<int> SiloShard::*rows) {
  std::vector<int> pooled;
  for (const SiloShard& shard : shards) {
    pooled.insert(pooled.end(), (shard.*rows).begin(), (shard.*rows).end());
  }
  std::sort(pooled.begin(), pooled.end());
  return pooled;
}


// Raw little-endian doubles behind a small header: "FEDSILO1", uint64 count.
absl::Status WriteModel(const std::filesystem::path& path, const Vector& w) {
  std::string bytes = "FEDSILO1";
  const uint64_t count = static_cast<uint64_t>(w.size());
  bytes.append(reinterpret_cast<const char*>(&count), sizeof(count));
  bytes.append(reinterpret_cast<const char*>(w.data()), sizeof(double) * static_cast<size_t>(w.size()));
  return WriteFileAtomically(path.string(), bytes);
}

// The personalized evaluation's settings: alpha-sized SGD steps on batch_size records.
PersonalizationOptions PersonalizationFor(const ExperimentConfig& config) {
  PersonalizationOptions options;
  options.steps = config.algorithm.personalize_steps;
  options.step_size = config.algorithm.alpha;
  options.batch_size = config.algorithm.batch_size;
  options.seed = DeriveSeed(config.seed, "personalized-evaluation");
  return options;
}

// Personalized evaluation of the silos whose shards the coordinator holds. A silo on its own files
// is left out (its test rows removed: NaN, as a silo without test rows): the coordinator's copy of
// the data is not that silo's, so no number about it is made from it.
PersonalizedResult EvaluatePersonalizedOnHeldShards(const PreparedExperiment& experiment,
                                                    const Transport& transport, const Vector& global,
                                                    int round, ThreadPool* pool) {
  const std::vector<SiloPrivacyReport> reports = transport.PrivacyReports();
  const bool any_own =
      std::any_of(reports.begin(), reports.end(), [](const SiloPrivacyReport& r) { return r.own_data; });
  std::vector<SiloShard> held;
  if (any_own) {
    held = experiment.shards;
    for (size_t i = 0; i < held.size() && i < reports.size(); ++i) {
      if (reports[i].own_data) held[i].test.clear();
    }
  }
  return EvaluatePersonalized(*experiment.model, global, experiment.data(),
                              any_own ? held : experiment.shards,
                              PersonalizationFor(experiment.config), round, pool);
}

// Whether a run reports fairness metrics: fairness algorithms on data with groups (other runs
// keep their columns unchanged).
bool ReportsFairness(const PreparedExperiment& experiment) {
  return static_cast<bool>(experiment.algorithm.make_objective) &&
         experiment.data().test.has_groups();
}

// Watches the round loop: evaluates every eval_every rounds, writes metrics.csv, draws progress.
class RunObserver : public RoundObserver {
 public:
  RunObserver(const PreparedExperiment& experiment, ThreadPool* pool, CsvTable* metrics,
              std::vector<int> pooled_train_rows, std::vector<int> pooled_validation_rows,
              const Transport* transport, IterateAverage* average, RoundObserver* next,
              bool quiet)
      : experiment_(experiment),
        pool_(pool),
        metrics_(metrics),
        pooled_train_rows_(std::move(pooled_train_rows)),
        pooled_validation_rows_(std::move(pooled_validation_rows)),
        test_rows_(AllRows(experiment.data().test)),
        transport_(transport),
        average_(average),
        next_(next),
        quiet_(quiet),
        start_(Clock::now()) {
    if (experiment.algorithm.trusted_server) {  // the server's noise, one event a round
      absl::StatusOr<CentralNoisePlan> central = PlanCentralNoise(experiment.config);
      if (central.ok()) {
        absl::StatusOr<std::vector<double>> curve =
            ComputeRdp(DpEvent{Subsampling::kPoissonReplaceOne, central->sampling_rate,
                               central->noise_multiplier, 1},
                       DefaultRdpOrders());
        if (curve.ok()) central_round_rdp_ = *std::move(curve);
      }
    }
  }

  absl::Status OnRoundEnd(const RoundState& state) override {
    const int round = state.round;
    average_->AfterRound(round, state.global);
    const Vector& global = average_->Output(state.global);  // the model the run reports
    const RoundResults& results = state.results;
    const AlgorithmConfig& algorithm = experiment_.config.algorithm;
    if (!state.aggregated) {
      ++skipped_rounds_;
      std::fprintf(stderr, "%sfedsilo: round %d left the model unchanged: %zu replies, quorum %d%s%s\n",
                   interactive_ && !quiet_ ? "\n" : "", round, results.updates.size(),
                   std::max(1, experiment_.config.network.min_replies),
                   results.failures.empty() ? "" : "; first failure: ",
                   results.failures.empty()
                       ? ""
                       : std::string(results.failures.front().status.message()).c_str());
    }
    if (state.aggregated) ++aggregated_rounds_;
    const bool last = round == algorithm.rounds;
    if (last || round % experiment_.config.output.eval_every == 0) {
      const auto eval_start = Clock::now();
      UpdateEpsilon();
      last_train_ = Evaluate(*experiment_.model, global, experiment_.data().train,
                             pooled_train_rows_, pool_);
      last_test_ = Evaluate(*experiment_.model, global, experiment_.data().test, test_rows_, pool_);
      std::vector<CsvTable::Cell> row = {
          static_cast<long long>(round), last_train_.loss, last_test_.loss, last_test_.accuracy,
          epsilon_max_, epsilon_mean_, static_cast<long long>(results.updates.size()),
          static_cast<long long>(results.failures.size())};
      std::vector<double> extra;  // optional columns, then the timing column
      if (!pooled_validation_rows_.empty()) {
        last_validation_ = Evaluate(*experiment_.model, global, experiment_.data().train,
                                    pooled_validation_rows_, pool_);
        extra.insert(extra.end(), {last_validation_.loss, last_validation_.accuracy});
      }
      if (algorithm.personalize_steps > 0) {
        last_personalized_ =
            EvaluatePersonalizedOnHeldShards(experiment_, *transport_, global, round, pool_);
        extra.insert(extra.end(), {last_personalized_.mean, last_personalized_.min,
                                   last_personalized_.p10, last_personalized_.median});
      }
      if (ReportsFairness(experiment_)) {
        last_fairness_ = EvaluateFairness(*experiment_.model, global, experiment_.data().test,
                                          test_rows_);
        extra.insert(extra.end(), {last_fairness_.test_error, last_fairness_.dp_violation,
                                   last_fairness_.eo_violation, last_fairness_.eopp_violation});
        if (!pooled_validation_rows_.empty()) {  // for choosing settings without the test split
          last_validation_fairness_ = EvaluateFairness(*experiment_.model, global,
                                                       experiment_.data().train,
                                                       pooled_validation_rows_);
          const FairnessMetrics& v = last_validation_fairness_;
          extra.insert(extra.end(),
                       {v.test_error, v.dp_violation, v.eo_violation, v.eopp_violation});
        }
      }
      eval_seconds_ += SecondsSince(eval_start);
      evaluated_round_ = round;
      extra.push_back(SecondsSince(start_));  // timing stays the last column
      row.insert(row.end(), extra.begin(), extra.end());
      FEDSILO_RETURN_IF_ERROR(metrics_->AddRow(row));
    }
    if (!quiet_) DrawProgress(round, last);
    return next_ != nullptr ? next_->OnRoundEnd(state) : absl::OkStatus();
  }

  int skipped_rounds() const { return skipped_rounds_; }

  double eval_seconds() const { return eval_seconds_; }
  const EvalResult& last_train() const { return last_train_; }
  const EvalResult& last_test() const { return last_test_; }
  const EvalResult& last_validation() const { return last_validation_; }
  const PersonalizedResult& last_personalized() const { return last_personalized_; }
  const FairnessMetrics& last_fairness() const { return last_fairness_; }
  const FairnessMetrics& last_validation_fairness() const { return last_validation_fairness_; }
  int evaluated_round() const { return evaluated_round_; }

 private:
  // Max and mean over silos of the epsilon each has spent (inf when the run is not private, NaN
  // when no accountant covers the sampler).
  void UpdateEpsilon() {
    if (!central_round_rdp_.empty()) {  // a trusted server's noise: the same for every silo
      std::vector<double> spent = central_round_rdp_;
      for (double& v : spent) v *= aggregated_rounds_;
      absl::StatusOr<EpsilonAndOrder> epsilon =
          EpsilonFromRdp(DefaultRdpOrders(), spent, experiment_.config.privacy.delta);
      epsilon_max_ = epsilon_mean_ = aggregated_rounds_ == 0 ? 0.0
                                     : epsilon.ok()           ? epsilon->epsilon
                                                              : std::numeric_limits<double>::infinity();
      return;
    }
    if (!experiment_.algorithm.record_level_dp) {
      epsilon_max_ = epsilon_mean_ = std::numeric_limits<double>::infinity();
      return;
    }
    double max = 0.0, sum = 0.0;
    int known = 0;
    for (const SiloPrivacyReport& report : transport_->PrivacyReports()) {
      if (!report.known) continue;
      const double e = report.epsilon;
      max = std::isnan(e) || std::isnan(max) ? std::numeric_limits<double>::quiet_NaN()
                                             : std::max(max, e);
      sum += e;
      ++known;
    }
    epsilon_max_ = max;
    epsilon_mean_ = known > 0 ? sum / known : 0.0;
  }

  // On a terminal: one line redrawn in place, at most 10 times a second. Otherwise (a log file,
  // CI): a plain line at the first round, then at most one every 5 seconds, and at the last
  // round, so a long run is never silent for long and a fast one does not flood the log.
  void DrawProgress(int round, bool last) {
    const double elapsed = SecondsSince(start_);
    if (first_round_ == 0) first_round_ = round;  // a resumed run starts past round 1
    const double interval = interactive_ ? 0.1 : 5.0;
    if (!last && last_draw_ >= 0.0 && elapsed - last_draw_ < interval) return;
    last_draw_ = elapsed;
    if (evaluated_round_ != round) UpdateEpsilon();  // what the silos have spent so far
    const int total = experiment_.config.algorithm.rounds;
    const double rate = (round - first_round_ + 1) / std::max(elapsed, 1e-9);
    const double left = (total - round) / rate;
    char eps[32];
    if (std::isinf(epsilon_max_)) {
      std::snprintf(eps, sizeof(eps), "inf");
    } else {
      std::snprintf(eps, sizeof(eps), "%.3g", epsilon_max_);
    }
    char metrics[112] = "not evaluated yet";
    if (evaluated_round_ > 0) {
      std::snprintf(metrics, sizeof(metrics), "train loss %.4f | test acc %.4f (round %d)",
                    last_train_.loss, last_test_.accuracy, evaluated_round_);
    }
    std::fprintf(stderr, "%sround %d/%d | %.3g rounds/s | %.1fs left | %s | eps %s%s",
                 interactive_ ? "\r" : "", round, total, rate, left, metrics, eps,
                 interactive_ && !last ? "   " : "\n");
    std::fflush(stderr);
  }

  const PreparedExperiment& experiment_;
  ThreadPool* pool_;
  CsvTable* metrics_;
  std::vector<int> pooled_train_rows_;
  std::vector<int> pooled_validation_rows_;  // empty: no validation split
  std::vector<int> test_rows_;
  const Transport* transport_;
  IterateAverage* average_;
  RoundObserver* next_;
  int skipped_rounds_ = 0;
  double epsilon_max_ = 0.0;
  double epsilon_mean_ = 0.0;
  std::vector<double> central_round_rdp_;  // trusted-server baselines: one round's RDP
  int aggregated_rounds_ = 0;
  bool quiet_;
  bool interactive_ = isatty(fileno(stderr)) != 0;
  Clock::time_point start_;
  double eval_seconds_ = 0.0;
  double last_draw_ = -1.0;
  int first_round_ = 0;  // the first round this process ran
  int evaluated_round_ = 0;
  EvalResult last_train_;
  EvalResult last_test_;
  EvalResult last_validation_;
  PersonalizedResult last_personalized_;
  FairnessMetrics last_fairness_;
  FairnessMetrics last_validation_fairness_;  // test_error is then the validation error
};

// Writes the checkpoint after every round (after the round's metrics row), atomically.
class CheckpointWriter : public RoundObserver {
 public:
  CheckpointWriter(std::string path, std::string config_yaml, int skipped_before,
                   const CoordinatorProgram* coordinator, const IterateAverage* average)
      : path_(std::move(path)),
        config_yaml_(std::move(config_yaml)),
        skipped_(skipped_before),
        coordinator_(coordinator),
        average_(average) {}

  absl::Status OnRoundEnd(const RoundState& state) override {
    if (!state.aggregated) ++skipped_;
    Checkpoint checkpoint;
    checkpoint.round = state.round;
    checkpoint.skipped_rounds = skipped_;
    checkpoint.eligible = state.eligible;
    checkpoint.global = state.global;
    checkpoint.coordinator_state = coordinator_->State();
    checkpoint.averaged_rounds = average_->count();
    checkpoint.average = average_->mean();
    checkpoint.config_yaml = config_yaml_;
    return WriteCheckpoint(path_, checkpoint);
  }

 private:
  std::string path_;
  std::string config_yaml_;
  int skipped_;
  const CoordinatorProgram* coordinator_;
  const IterateAverage* average_;
};

// The noisy queries each silo budgets for (the same for every silo).
int64_t PlannedQueries(const ExperimentConfig& config, const AlgorithmSpec& spec) {
  const int64_t rounds =
      config.privacy.planned_rounds > 0 ? config.privacy.planned_rounds : config.algorithm.rounds;
  return rounds * spec.queries_per_round(config.algorithm);
}

std::vector<std::string> MetricsHeader(const ExperimentConfig& config, bool validation,
                                       bool fairness) {
  std::vector<std::string> header = {"round",   "train_loss",   "test_loss", "test_accuracy",
                                     "epsilon", "epsilon_mean", "replies",   "failures"};
  if (validation) header.insert(header.end(), {"val_loss", "val_accuracy"});
  if (config.algorithm.personalize_steps > 0) {
    header.insert(header.end(), {"personalized_accuracy_mean", "personalized_accuracy_min",
                                 "personalized_accuracy_p10", "personalized_accuracy_median"});
  }
  if (fairness) {
    header.insert(header.end(), {"test_error", "dp_violation", "eo_violation", "eopp_violation"});
    if (validation) {
      header.insert(header.end(),
                    {"val_error", "val_dp_violation", "val_eo_violation", "val_eopp_violation"});
    }
  }
  header.push_back("seconds");
  return header;
}

}  // namespace

absl::StatusOr<PreparedExperiment> PrepareExperiment(const ExperimentConfig& config,
                                                     bool require_test_records,
                                                     LoadedDataCache* data_cache) {
  PreparedExperiment experiment;
  experiment.config = config;
  experiment.config.data.dir = ResolveDataDir(config.data.dir);
  experiment.config.data.seed = config.seed;
  const auto start = Clock::now();
  FEDSILO_ASSIGN_OR_RETURN(experiment.algorithm, FindAlgorithm(config.algorithm.name));
  if (experiment.algorithm.resolve_defaults) {
    experiment.algorithm.resolve_defaults(&experiment.config.algorithm);
  }
  FEDSILO_RETURN_IF_ERROR(
      ValidateAlgorithmConfig(experiment.algorithm, experiment.config.algorithm));
  if (experiment.algorithm.trusted_server) {
    FEDSILO_ASSIGN_OR_RETURN(const CentralNoisePlan central, PlanCentralNoise(experiment.config));
    experiment.config.algorithm.central_noise =
        CentralNoise{central.std_on_sum, DeriveSeed(config.seed, "central-noise")};
  }
  std::shared_ptr<const TrainTest> shared;
  TrainTest loaded;
  if (data_cache != nullptr) {
    FEDSILO_ASSIGN_OR_RETURN(shared, data_cache->Load(experiment.config.data));
  } else {
    FEDSILO_ASSIGN_OR_RETURN(loaded, LoadData(experiment.config.data));
  }
  const TrainTest& data = shared != nullptr ? *shared : loaded;
  if (data.train.size() == 0) {
    return absl::InvalidArgumentError("data: the training split of '" + config.data.dataset +
                                      "' is empty");
  }
  if (require_test_records && data.test.size() == 0) {
    return absl::InvalidArgumentError("data: the test split of '" + config.data.dataset +
                                      "' is empty (a run evaluates on the pooled test split)");
  }
  FEDSILO_ASSIGN_OR_RETURN(experiment.model,
                           MakeModel(config.model, data.train.dim(), data.train.num_classes));
  const bool index_nonzeros = experiment.model->reads_nonzeros();
  if (data_cache != nullptr) {  // partitioned and laid out once per sweep, and shared
    FEDSILO_ASSIGN_OR_RETURN(std::shared_ptr<const SiloData> silo_data,
                             data_cache->LoadSiloData(experiment.config, data, index_nonzeros));
    experiment.shared_data = std::shared_ptr<const TrainTest>(silo_data, &silo_data->data);
    experiment.shards = silo_data->shards;
  } else {
    FEDSILO_ASSIGN_OR_RETURN(SiloData silo_data,
                             MakeSiloData(std::move(loaded), config.partition,
                                          config.data.validation, config.seed, index_nonzeros));
    experiment.shared_data = std::make_shared<const TrainTest>(std::move(silo_data.data));
    experiment.shards = std::move(silo_data.shards);
  }
  if (experiment.algorithm.make_objective) {
    const std::vector<int> pooled = PooledRows(experiment.shards, &SiloShard::train);
    FEDSILO_ASSIGN_OR_RETURN(
        experiment.model,
        experiment.algorithm.make_objective(&experiment.config.algorithm,
                                            std::move(experiment.model), experiment.data().train,
                                            pooled));
  }
  if (experiment.algorithm.secure_sum && experiment.algorithm.clip_blocks) {
    experiment.config.algorithm.secure_sum_clip_blocks = experiment.algorithm.clip_blocks(
        experiment.config.algorithm, experiment.model->num_parameters(), config.privacy.clip);
  }
  experiment.load_seconds = SecondsSince(start);
  return experiment;
}

int WorkerThreads(const RunOptions& options) {
  return options.threads > 0 ? options.threads
                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

absl::StatusOr<RunReport> RunPreparedExperiment(const PreparedExperiment& experiment,
                                                const RunOptions& options) {
  // Silos: each plans its own privacy from its own size and owns its seed and ledger.
  SiloFactory factory(experiment);
  // Shuffle-model algorithms: silos seal their reports for the coordinator's key, and the
  // shuffler sits between the in-process transport and the coordinator (which opens the reports).
  std::optional<CoordinatorKeyPair> keys;
  if (experiment.algorithm.requires_shuffler) {
    FEDSILO_ASSIGN_OR_RETURN(keys, CoordinatorKeyPair::Generate());
    factory.set_seal_for(keys->public_key());
  }
  std::vector<std::unique_ptr<SiloRuntime>> silos;
  std::vector<SiloRuntime*> silo_pointers;
  for (size_t i = 0; i < experiment.shards.size(); ++i) {
    FEDSILO_ASSIGN_OR_RETURN(std::unique_ptr<SiloRuntime> silo,
                             factory.Make(static_cast<int>(i), experiment.shards[i].train));
    FEDSILO_RETURN_IF_ERROR(silo->Setup());
    silos.push_back(std::move(silo));
    silo_pointers.push_back(silos.back().get());
  }
  ThreadPool pool(WorkerThreads(options));
  InProcessTransport transport(silo_pointers, &pool);
  if (keys) {
    ShufflingTransport shuffler(&transport);  // its own OS-entropy seed, never the run's seed
    UnsealingTransport coordinator_edge(&shuffler, std::move(*keys),
                                        ReportsPerSilo(experiment.algorithm, experiment.config),
                                        &pool);
    return RunWithTransport(experiment, coordinator_edge, &pool, options);
  }
  return RunWithTransport(experiment, transport, &pool, options);
}

absl::StatusOr<RunReport> RunWithTransport(const PreparedExperiment& experiment,
                                           Transport& transport, ThreadPool* pool,
                                           const RunOptions& options) {
  const ExperimentConfig& config = experiment.config;
  RunReport report;
  report.load_seconds = experiment.load_seconds;
  report.out_dir = options.out_dir.empty() ? config.output.dir : options.out_dir;
  std::error_code error;
  std::filesystem::create_directories(report.out_dir, error);
  if (error) {
    return absl::PermissionDeniedError("cannot create output directory " + report.out_dir + ": " +
                                       error.message());
  }
  const std::filesystem::path out(report.out_dir);
  const std::string config_yaml = ExperimentConfigToYaml(config);
  const std::string checkpoint_path = (out / "checkpoint.bin").string();
  const AlgorithmSpec& spec = experiment.algorithm;
  std::unique_ptr<CoordinatorProgram> coordinator = spec.make_coordinator(config.algorithm);

  RoundLoopOptions loop;
  loop.rounds = config.algorithm.rounds;
  loop.silos_per_round = config.algorithm.silos_per_round;
  loop.seed = DeriveSeed(config.seed, "coordinator");
  loop.min_replies = config.network.min_replies;
  loop.require_shuffler = spec.requires_shuffler;
  Rng init_rng(DeriveSeed(config.seed, "init"));
  Vector global = experiment.model->InitialParameters(init_rng);
  IterateAverage average =
      IterateAverage::ForLastRounds(config.algorithm.rounds, config.algorithm.average_last);
  int skipped_before = 0;
  if (options.resume) {
    FEDSILO_ASSIGN_OR_RETURN(Checkpoint checkpoint, ReadCheckpoint(checkpoint_path));
    if (checkpoint.config_yaml != config_yaml) {
      return absl::FailedPreconditionError(
          "--resume: the checkpoint in " + report.out_dir +
          " belongs to a run with another configuration (compare its config.yaml)");
    }
    if (checkpoint.global.size() != global.size()) {
      return absl::DataLossError("--resume: the checkpoint's parameter vector has the wrong size");
    }
    global = checkpoint.global;
    if (absl::Status restored =
            coordinator->RestoreState(checkpoint.coordinator_state, global.size());
        !restored.ok()) {
      return absl::DataLossError("--resume: the checkpoint in " + report.out_dir + ": " +
                                 std::string(restored.message()));
    }
    if (checkpoint.averaged_rounds > 0 && checkpoint.average.size() != global.size()) {
      return absl::DataLossError("--resume: the checkpoint's iterate average has the wrong size");
    }
    average.Restore(std::move(checkpoint.average), checkpoint.averaged_rounds);
    loop.first_round = checkpoint.round + 1;
    loop.rounds = config.algorithm.rounds - checkpoint.round;
    loop.eligible = checkpoint.eligible;
    skipped_before = checkpoint.skipped_rounds;
    if (!options.quiet) {
      std::fprintf(stderr, "fedsilo: resuming after round %d from %s\n", checkpoint.round,
                   checkpoint_path.c_str());
    }
  } else {
    if (!options.quiet) {
      std::fprintf(stderr, "%s", PartitionSummary(experiment.data(), experiment.shards).c_str());
    }
    FEDSILO_RETURN_IF_ERROR(WriteFileAtomically((out / "config.yaml").string(), config_yaml));
  }

  const std::vector<int> pooled_train_rows = PooledRows(experiment.shards, &SiloShard::train);
  const std::vector<int> pooled_validation_rows =
      PooledRows(experiment.shards, &SiloShard::validation);

  const std::vector<std::string> header =
      MetricsHeader(config, !pooled_validation_rows.empty(), ReportsFairness(experiment));
  const std::string metrics_path = (out / "metrics.csv").string();
  FEDSILO_ASSIGN_OR_RETURN(
      CsvTable metrics, options.resume
                            ? CsvTable::Continue(metrics_path, header, loop.first_round - 1)
                            : CsvTable::Create(metrics_path, header));
  CheckpointWriter checkpointer(checkpoint_path, config_yaml, skipped_before, coordinator.get(),
                                &average);
  RunObserver observer(experiment, pool, &metrics, pooled_train_rows, pooled_validation_rows,
                       &transport, &average,
                       options.checkpoint ? &checkpointer : nullptr, options.quiet);

  const auto loop_start = Clock::now();
  RoundLoopOutcome outcome;
  if (loop.rounds > 0) {
    FEDSILO_ASSIGN_OR_RETURN(outcome,
                             RunFederated(*coordinator, transport, loop, &global, &observer));
  }
  report.train_seconds = SecondsSince(loop_start) - observer.eval_seconds();
  const Vector& output = average.Output(global);  // what the run reports and saves
  report.eval_seconds = observer.eval_seconds();
  report.rounds_completed = loop.first_round - 1 + outcome.rounds_completed;
  report.skipped_rounds = skipped_before + observer.skipped_rounds();
  const std::vector<SiloPrivacyReport> silo_reports = transport.PrivacyReports();
  report.epsilon = 0.0;
  for (const SiloPrivacyReport& silo : silo_reports) {
    if (!silo.known) continue;
    report.epsilon = std::isnan(silo.epsilon) ? silo.epsilon : std::max(report.epsilon, silo.epsilon);
    if (silo.record_level_dp) report.delta = std::max(report.delta, silo.delta);
  }
  if (!spec.record_level_dp) report.epsilon = std::numeric_limits<double>::infinity();
  if (spec.trusted_server) {  // the server's noise, not the silos', bounds the records' privacy
    FEDSILO_ASSIGN_OR_RETURN(const CentralNoisePlan central, PlanCentralNoise(config));
    report.epsilon = central.epsilon;
    report.delta = config.privacy.delta;
  }
  report.stop_reason = outcome.stop_reason;
  report.non_finite_rounds = outcome.non_finite_rounds;
  if (observer.evaluated_round() != report.rounds_completed) {  // stopped early: final evaluation
    report.final_train = Evaluate(*experiment.model, output, experiment.data().train,
                                  pooled_train_rows, pool);
    report.final_test = Evaluate(*experiment.model, output, experiment.data().test,
                                 AllRows(experiment.data().test), pool);
    if (!pooled_validation_rows.empty()) {
      report.final_validation = Evaluate(*experiment.model, output, experiment.data().train,
                                         pooled_validation_rows, pool);
    }
    if (config.algorithm.personalize_steps > 0) {
      report.final_personalized = EvaluatePersonalizedOnHeldShards(
          experiment, transport, output, report.rounds_completed, pool);
    }
    if (ReportsFairness(experiment)) {
      report.final_fairness = EvaluateFairness(*experiment.model, output, experiment.data().test,
                                               AllRows(experiment.data().test));
      if (!pooled_validation_rows.empty()) {
        report.final_validation_fairness = EvaluateFairness(
            *experiment.model, output, experiment.data().train, pooled_validation_rows);
      }
    }
  } else {
    report.final_train = observer.last_train();
    report.final_test = observer.last_test();
    report.final_validation = observer.last_validation();
    report.final_personalized = observer.last_personalized();
    report.final_fairness = observer.last_fairness();
    report.final_validation_fairness = observer.last_validation_fairness();
  }
  report.reports_fairness = ReportsFairness(experiment);
  report.validation_records = static_cast<int>(pooled_validation_rows.size());
  report.final_parameters = output;

  // Per-silo results: accuracy computed by the harness on each silo's test split; privacy as
  // each silo reported it.
  FEDSILO_ASSIGN_OR_RETURN(
      CsvTable silo_table,
      CsvTable::Create((out / "silos.csv").string(),
                       {"silo", "train_records", "test_records", "test_accuracy", "test_loss",
                        "noise_multiplier", "noise_sigma_mean", "noisy_queries", "epsilon",
                        "delta", "local_eps0", "reproducible_noise", "target_epsilon", "clip",
                        "sampling_rate"}));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (size_t i = 0; i < experiment.shards.size(); ++i) {
    const SiloShard& shard = experiment.shards[i];
    const SiloPrivacyReport& silo = silo_reports[i];
    // A silo on its own files holds records the coordinator does not: no per-silo test numbers
    // are made up from the coordinator's copy of the data (empty cells), and its size is its own.
    const bool own_data = silo.known && silo.own_data;
    const EvalResult silo_test =
        own_data ? EvalResult{nan, nan}
                 : Evaluate(*experiment.model, output, experiment.data().test, shard.test, nullptr);
    FEDSILO_RETURN_IF_ERROR(silo_table.AddRow(
        {static_cast<long long>(i),
         static_cast<long long>(silo.known ? silo.train_records
                                           : static_cast<int64_t>(shard.train.size())),
         own_data ? CsvTable::Cell(std::string())
                  : CsvTable::Cell(static_cast<long long>(shard.test.size())),
         silo_test.accuracy, silo_test.loss,
         silo.known ? silo.noise_multiplier : nan, silo.known ? silo.sigma_mean : nan,
         static_cast<long long>(silo.noisy_queries),
         !silo.known ? nan
         : silo.record_level_dp ? silo.epsilon
                                : std::numeric_limits<double>::infinity(),
         silo.known ? silo.delta : nan,
         silo.known && silo.min_shuffled_reports > 0 ? silo.eps0 : nan,
         silo.known ? static_cast<long long>(silo.reproducible_noise) : -1LL,
         silo.known && silo.record_level_dp ? silo.target_epsilon : nan,
         silo.known && silo.record_level_dp ? silo.clip : nan,
         silo.known && silo.record_level_dp ? silo.sampling_rate : nan}));
  }
  SiloPrivacyReport any_silo;
  for (const SiloPrivacyReport& silo : silo_reports) {
    if (silo.known) any_silo = silo;
  }
  nlohmann::json summary;
  summary["fedsilo_version"] = FEDSILO_VERSION;
  summary["algorithm"] = config.algorithm.name;
  summary["dataset"] = config.data.dataset;
  summary["silos"] = transport.num_silos();
  summary["rounds_completed"] = report.rounds_completed;
  summary["rounds_without_quorum"] = report.skipped_rounds;
  summary["rounds_with_non_finite_aggregate"] = report.non_finite_rounds;
  summary["stop_reason"] = report.stop_reason;
  summary["final"] = {{"round", report.rounds_completed},
                      {"test_accuracy", report.final_test.accuracy},
                      {"test_loss", report.final_test.loss},
                      {"train_loss", report.final_train.loss}};
  if (report.validation_records > 0) {
    summary["final"]["val_loss"] = report.final_validation.loss;
    summary["final"]["val_accuracy"] = report.final_validation.accuracy;
    summary["final"]["validation_records"] = report.validation_records;
  }
  if (config.algorithm.personalize_steps > 0) {
    summary["final"]["personalized_accuracy_mean"] = report.final_personalized.mean;
    summary["final"]["personalized_accuracy_min"] = report.final_personalized.min;
    summary["final"]["personalized_accuracy_p10"] = report.final_personalized.p10;
    summary["final"]["personalized_accuracy_median"] = report.final_personalized.median;
    summary["final"]["personalized_silos"] = report.final_personalized.silos_evaluated;
  }
  if (report.reports_fairness) {
    summary["final"]["test_error"] = report.final_fairness.test_error;
    summary["final"]["dp_violation"] = report.final_fairness.dp_violation;
    summary["final"]["eo_violation"] = report.final_fairness.eo_violation;
    summary["final"]["eopp_violation"] = report.final_fairness.eopp_violation;
    if (report.validation_records > 0) {
      const FairnessMetrics& v = report.final_validation_fairness;
      summary["final"]["val_error"] = v.test_error;
      summary["final"]["val_dp_violation"] = v.dp_violation;
      summary["final"]["val_eo_violation"] = v.eo_violation;
      summary["final"]["val_eopp_violation"] = v.eopp_violation;
    }
    summary["fairness"] = {{"notion", config.algorithm.fairness.notion},
                           {"lambda", config.algorithm.fairness.lambda},
                           {"group_marginals",
                            FermiMarginalsDescription(config.algorithm.fairness,
                                                      spec.record_level_dp)}};
  }
  nlohmann::json privacy;
  privacy["record_level_dp"] = spec.record_level_dp;
  if (spec.trusted_server) {
    FEDSILO_ASSIGN_OR_RETURN(const CentralNoisePlan central, PlanCentralNoise(config));
    privacy["trust"] =
        "NEEDS A TRUSTED SERVER: silos send clipped gradient sums without noise; the coordinator "
        "adds the Gaussian noise to their total (a baseline for comparison, thread mode only)";
    privacy["calibration"] = "central";
    privacy["sampling"] = config.privacy.sampling;
    privacy["neighbouring"] = kNeighbouringRelation;
    privacy["clip"] = config.privacy.clip;
    privacy["target_epsilon"] = config.privacy.epsilon;
    privacy["epsilon"] = central.epsilon;
    privacy["delta"] = config.privacy.delta;
    privacy["accountant"] =
        "rdp: Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019) at the public rate, "
        "replace-one by the weak triangle inequality, on the total sum";
    privacy["central"] = {{"noise_multiplier", central.noise_multiplier},
                          {"std_on_sum", central.std_on_sum},
                          {"public_sampling_rate", central.sampling_rate}};
  } else if (spec.record_level_dp) {
    privacy["calibration"] = config.privacy.calibration;
    privacy["sampling"] = config.privacy.sampling;
    privacy["neighbouring"] = kNeighbouringRelation;
    privacy["clip"] = config.privacy.clip;
    privacy["target_epsilon"] = config.privacy.epsilon;
    privacy["delta"] = report.delta;  // max over silos
    privacy["planned_queries_per_silo"] = PlannedQueries(config, spec);
    if (spec.secure_sum) {  // split-and-mix secure summation with Skellam noise
      privacy["calibration"] = "secure_sum";
      privacy["epsilon"] = report.epsilon;  // max over silos, spent
      FEDSILO_ASSIGN_OR_RETURN(
          const SecureSumPlan sum,
          PublicSecureSumPlanFor(config, spec, experiment.model->num_parameters()));
      privacy["accountant"] =
          "rdp: Skellam mechanism on the decoded sum (Agarwal, Kairouz, Liu 2021), "
          "Poisson-subsampled by the floor-free bound for symmetric mechanisms "
          "(common/dp/poisson_subsampled_rdp.h), replace-one by the weak triangle inequality, "
          "156 orders, improved conversion (Canonne, Kamath, Steinke 2020)";
      privacy["secure_sum"] = {
          {"shares_per_silo", sum.params.shares},
          {"modulus_bits", sum.params.bits},
          {"scale", sum.params.scale},
          {"record_bound", sum.params.record_bound},
          {"min_honest_silos", sum.min_honest_silos},
          {"total_variance", sum.total_variance},
          {"share_variance", sum.share_variance},
          {"noise_std_on_sum", sum.noise_std},
          {"range", sum.range},
          {"public_sampling_rate",
           PublicSamplingRate(config.privacy, config.algorithm.batch_size)}};
    } else if (spec.requires_shuffler && spec.reports_per_silo) {  // per-record shuffle model
      privacy["calibration"] = "shuffle";
      privacy["epsilon"] = report.epsilon;  // max over silos, spent
      FEDSILO_ASSIGN_OR_RETURN(const ShuffleCalibration shuffle,
                               PublicShuffleCalibration(config, spec));
      report.shuffle_accountant = shuffle.sampling_rate < 1.0 ? kShuffleSubsampledAccountantName
                                                              : kShuffleAccountantName;
      report.shuffle_eps0 = shuffle.eps0;
      privacy["accountant"] = report.shuffle_accountant;
      privacy["shuffle"] = {
          {"local_randomizer", "l2-ball sampling (Duchi, Jordan, Wainwright 2018), one report "
                               "per sampled record"},
          {"eps0", shuffle.eps0},
          {"min_reports_per_round", shuffle.min_reports},
          {"public_sampling_rate", shuffle.sampling_rate},
          {"shuffle_round_epsilon", shuffle.shuffle_epsilon},
          {"shuffle_round_delta", shuffle.shuffle_delta},
          {"round_epsilon_at_public_rate", shuffle.round_epsilon},
          {"round_delta", shuffle.round_delta},
          {"planned_rounds", shuffle.rounds},
          {"composed_epsilon_at_public_rate", shuffle.epsilon},
          {"composed_delta", shuffle.delta}};
    } else if (config.privacy.sampling != "with_replacement") {
      privacy["epsilon"] = report.epsilon;  // max over silos, spent
      privacy["accountant"] =
          std::string("rdp: ") +
          (config.privacy.sampling == "poisson"
               ? "Poisson-subsampled Gaussian (Mironov, Talwar, Zhang 2019), replace-one by "
                 "the weak triangle inequality (Mironov 2017, Prop. 11)"
               : "fixed-size without-replacement subsampled Gaussian (Wang, Balle, "
                 "Kasiviswanathan 2019)") +
          ", 156 orders, improved conversion (Canonne, Kamath, Steinke 2020)";
    } else {
      privacy["epsilon"] = nullptr;
      privacy["accountant"] =
          "none: sampling with replacement has no standard accountant; the closed-form "
          "calibration of Lowy & Razaviyayn targets target_epsilon, uncertified";
    }
  } else {
    privacy["epsilon"] = nullptr;  // JSON has no infinity: not private
    privacy["delta"] = nullptr;
    privacy["accountant"] = "none: not private";
  }
  if (spec.record_level_dp) {
    int known = 0, reproducible = 0;
    for (const SiloPrivacyReport& silo : silo_reports) {
      known += silo.known ? 1 : 0;
      reproducible += silo.known && silo.reproducible_noise ? 1 : 0;
    }
    privacy["noise_seed"] =
        reproducible == 0 ? "each silo's own OS entropy: secret, not reproducible"
        : reproducible == known
            ? "derived from seed and each silo's id: reproducible, and recomputable by anyone "
              "holding this config (thread mode, or silos started with --reproducible-noise)"
            : "mixed: see silos.csv, column reproducible_noise";
  }
  summary["privacy"] = privacy;
  summary["timing"] = {{"load_seconds", report.load_seconds},
                       {"train_seconds", report.train_seconds},
                       {"eval_seconds", report.eval_seconds},
                       {"threads", pool->num_threads()}};
  FEDSILO_RETURN_IF_ERROR(WriteFileAtomically((out / "summary.json").string(), summary.dump(2) + "\n"));
  if (config.output.save_model) {
    FEDSILO_RETURN_IF_ERROR(WriteModel(out / "model.bin", output));
    // What the numbers in model.bin are, so that the file can be used without this code.
    const Dataset& train = experiment.data().train;
    nlohmann::json about;
    about["file"] = "model.bin";
    about["format"] = "the 8 bytes FEDSILO1, a little-endian uint64 count, then count "
                      "little-endian IEEE-754 doubles";
    about["parameters"] =
        average.count() > 0
            ? "the mean of the global models after each of the last " +
                  std::to_string(average.count()) + " rounds (algorithm.average_last)"
            : std::string("the global model after the last round");
    about["model"] = experiment.model->name();
    about["num_parameters"] = experiment.model->num_parameters();
    about["layout"] = experiment.model->ParameterLayout();
    about["features"] = train.feature_names;
    about["classes"] = train.class_names;
    if (train.has_groups()) about["groups"] = train.group_names;
    FEDSILO_RETURN_IF_ERROR(
        WriteFileAtomically((out / "model.json").string(), about.dump(2) + "\n"));
  }
  return report;
}

absl::StatusOr<RunReport> RunExperiment(const ExperimentConfig& config, const RunOptions& options) {
  FEDSILO_ASSIGN_OR_RETURN(PreparedExperiment experiment,
                           PrepareExperiment(config, true, options.data_cache));
  return RunPreparedExperiment(experiment, options);
}

}  // namespace fedsilo
