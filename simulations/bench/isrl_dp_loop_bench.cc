// The issue-2 speed target on real data: UCI Adult, logistic regression, 100 IID silos, batch 64,
// 200 rounds, ISRL-DP (simulations/configs/adult_isrl_dp.yaml).
//   BM_AdultIsrlDpTrainingLoop/T  the whole round loop with T silo threads (data loading and
//                                 evaluation excluded: the run's own train_seconds);
//   BM_AdultIsrlDpKernelFloor     only the per-query kernels of the same run, in the same order on
//                                 the same rows: batch sampling, per-record clipped gradient sum,
//                                 Gaussian noise (20,000 queries, one thread). The loop's overhead
//                                 over this floor is what the runtime adds.
// And issue 14's MNIST workload: BM_MnistMlpIsrlDpTrainingLoop/T.
// Needs ../shared/data (or FEDSILO_DATA); skipped with a message otherwise.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <span>
#include <string>

#include <benchmark/benchmark.h>

#include "common/base/rng.h"
#include "common/data/batch_sampler.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"
#include "common/runtime/silo_privacy.h"

namespace fedsilo {
namespace {

// The experiment of a config under simulations/configs, prepared once (data loaded, shards cut).
const PreparedExperiment* Prepared(const std::string& config_name, std::string* error) {
  static std::map<std::string, absl::StatusOr<PreparedExperiment>> cache;
  auto it = cache.find(config_name);
  if (it == cache.end()) {
    auto config = LoadExperimentConfig(
        std::string(FEDSILO_SOURCE_DIR) + "/simulations/configs/" + config_name,
        {"output.eval_every=1000000", "output.save_model=false"});
    it = cache.emplace(config_name, config.ok() ? PrepareExperiment(*config)
                                                : absl::StatusOr<PreparedExperiment>(config.status()))
             .first;
  }
  if (!it->second.ok()) {
    *error = std::string(it->second.status().message());
    return nullptr;
  }
  return &it->second.value();
}

const PreparedExperiment* Adult(std::string* error) { return Prepared("adult_isrl_dp.yaml", error); }

// The round loop of a prepared experiment with `threads` silo threads; its train_seconds.
void TrainingLoop(benchmark::State& state, const PreparedExperiment* experiment,
                  const std::string& error, const char* out_name) {
  if (experiment == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  RunOptions options;
  options.quiet = true;
  options.threads = static_cast<int>(state.range(0));
  options.out_dir = (std::filesystem::temp_directory_path() / out_name).string();
  for (auto _ : state) {
    auto report = RunPreparedExperiment(*experiment, options);
    if (!report.ok()) {
      state.SkipWithError(std::string(report.status().message()).c_str());
      return;
    }
    state.SetIterationTime(report->train_seconds);
    state.counters["test_accuracy"] = report->final_test.accuracy;
  }
}

void BM_AdultIsrlDpTrainingLoop(benchmark::State& state) {
  std::string error;
  TrainingLoop(state, Adult(&error), error, "fedsilo_bench_adult");
}
BENCHMARK(BM_AdultIsrlDpTrainingLoop)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);

// Issue 14's MNIST workload (simulations/configs/bench_mnist_mlp_isrl_dp.yaml): ISRL-DP FedAvg,
// MLP 784-80-60-10 ELU, 20 silos x 5 local steps x batch 64, 20 rounds.
void BM_MnistMlpIsrlDpTrainingLoop(benchmark::State& state) {
  std::string error;
  TrainingLoop(state, Prepared("bench_mnist_mlp_isrl_dp.yaml", &error), error,
               "fedsilo_bench_mnist_mlp");
}
BENCHMARK(BM_MnistMlpIsrlDpTrainingLoop)->Arg(1)->Arg(2)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_AdultIsrlDpKernelFloor(benchmark::State& state) {
  std::string error;
  const PreparedExperiment* experiment = Adult(&error);
  if (experiment == nullptr) {
    state.SkipWithError(error.c_str());
    return;
  }
  const ExperimentConfig& config = experiment->config;
  std::vector<OracleSettings> settings;
  for (const SiloShard& shard : experiment->shards) {
    settings.push_back(PlanSiloPrivacy(config.privacy, config.algorithm, true, 1,
                                       static_cast<int64_t>(shard.train.size()))
                           ->oracle);
  }
  const Model& model = *experiment->model;
  Rng init(1);
  const Vector w = Vector::Constant(model.num_parameters(), 0.01);
  std::vector<int> batch;
  Vector grad, noise_draws;
  for (auto _ : state) {
    for (int round = 1; round <= config.algorithm.rounds; ++round) {
      for (size_t s = 0; s < experiment->shards.size(); ++s) {
        Rng sampling(DeriveSeed(7, "batch", round, s)), noise(DeriveSeed(7, "noise", round, s));
        SampleBatch(experiment->shards[s].train, settings[s].batch_size, settings[s].sampling,
                    sampling, &batch);
        model.ClippedGradientSum(w, Batch{&experiment->data().train, batch}, settings[s].clip, &grad);
        noise_draws.resize(grad.size());
        noise.FillNormal(std::span<double>(noise_draws.data(), noise_draws.size()),
                         settings[s].noise_std_sum);
        grad += noise_draws;
        grad /= static_cast<double>(settings[s].batch_size);
        benchmark::DoNotOptimize(grad.data());
      }
    }
  }
  state.counters["queries"] =
      static_cast<double>(config.algorithm.rounds) * static_cast<double>(experiment->shards.size());
}
BENCHMARK(BM_AdultIsrlDpKernelFloor)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fedsilo
