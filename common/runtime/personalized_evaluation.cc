#include "common/runtime/personalized_evaluation.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/base/rng.h"
#include "common/data/batch_sampler.h"
#include "common/runtime/evaluation.h"

namespace fedsilo {

Vector PersonalizeModel(const Model& model, const Vector& global, const Dataset& train,
                        const std::vector<int>& train_rows, const PersonalizationOptions& options,
                        int round, int silo) {
  Vector w = global;
  if (train_rows.empty()) return w;
  Rng rng(DeriveSeed(options.seed, "personalize", static_cast<uint64_t>(round),
                     static_cast<uint64_t>(silo)));
  std::vector<int> batch;
  Vector grad;
  for (int step = 0; step < options.steps; ++step) {
    SampleBatch(train_rows, options.batch_size, Sampling::kWithoutReplacement, rng, &batch);
    model.Gradient(w, Batch{&train, batch}, &grad);
    w.noalias() -= options.step_size * grad;
  }
  return w;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double position = p * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(values.size() - 1, below + 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

PersonalizedResult EvaluatePersonalized(const Model& model, const Vector& global,
                                        const TrainTest& data, const std::vector<SiloShard>& shards,
                                        const PersonalizationOptions& options, int round,
                                        ThreadPool* pool) {
  PersonalizedResult result;
  const int silos = static_cast<int>(shards.size());
  result.accuracy.assign(shards.size(), std::numeric_limits<double>::quiet_NaN());
  auto run_silo = [&](int s) {
    const SiloShard& shard = shards[static_cast<size_t>(s)];
    if (shard.test.empty()) return;
    const Vector adapted = PersonalizeModel(model, global, data.train, shard.train, options, round, s);
    result.accuracy[static_cast<size_t>(s)] =
        Evaluate(model, adapted, data.test, shard.test, nullptr).accuracy;
  };
  if (pool != nullptr) {
    pool->ParallelFor(silos, run_silo);
  } else {
    for (int s = 0; s < silos; ++s) run_silo(s);
  }
  std::vector<double> evaluated;
  for (double a : result.accuracy) {
    if (!std::isnan(a)) evaluated.push_back(a);
  }
  result.silos_evaluated = static_cast<int>(evaluated.size());
  if (evaluated.empty()) {  // nothing to report: NaN, never a made-up 0
    result.mean = result.min = result.p10 = result.median = std::numeric_limits<double>::quiet_NaN();
    return result;
  }
  double sum = 0.0;
  for (double a : evaluated) sum += a;  // silo order: independent of the thread count
  result.mean = sum / static_cast<double>(evaluated.size());
  result.min = *std::min_element(evaluated.begin(), evaluated.end());
  result.p10 = Percentile(evaluated, 0.10);
  result.median = Percentile(evaluated, 0.50);
  return result;
}

}  // namespace fedsilo
