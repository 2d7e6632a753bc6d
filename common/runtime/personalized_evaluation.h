// Personalized evaluation (Per-FedAvg's metric, usable with every algorithm): each silo adapts
// the current global model with `steps` SGD steps of size `step_size` on its own training rows,
// then tests the adapted model on its own test rows.
//
// Batches: each step uses `batch_size` of the silo's training records drawn without replacement
// (all of them when the silo has fewer), from a generator derived from (seed, "personalize",
// round, silo), so results are reproducible and independent of the thread count. The adaptation
// is local (in a deployment it never leaves the silo and spends no privacy budget: it is not a
// training query); in thread mode the harness runs it on the pooled data, like silos.csv.
// The global model is read only, never changed. Silos with no test rows are left out of the
// statistics. Evaluates silos in parallel on the pool when one is given (nullptr: inline).
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/thread_pool.h"
#include "common/data/dataset.h"
#include "common/data/partition.h"
#include "common/model/model.h"

namespace fedsilo {

struct PersonalizationOptions {
  int steps = 1;
  double step_size = 0.01;
  int batch_size = 32;
  uint64_t seed = 0;
};

struct PersonalizedResult {
  std::vector<double> accuracy;  // per silo; NaN for a silo with no test rows
  int silos_evaluated = 0;       // silos with test rows
  double mean = 0.0;             // over evaluated silos, unweighted (NaN, as the three below,
                                 // when no silo has test rows)
  double min = 0.0;
  double p10 = 0.0;              // 10th percentile (linear interpolation between order statistics)
  double median = 0.0;
};

// The adapted model of one silo (exposed for tests).
Vector PersonalizeModel(const Model& model, const Vector& global, const Dataset& train,
                        const std::vector<int>& train_rows, const PersonalizationOptions& options,
                        int round, int silo);

PersonalizedResult EvaluatePersonalized(const Model& model, const Vector& global,
                                        const TrainTest& data, const std::vector<SiloShard>& shards,
                                        const PersonalizationOptions& options, int round,
                                        ThreadPool* pool);

// Percentile p in [0, 1] of `values` by linear interpolation (numpy's default); 0 when empty.
double Percentile(std::vector<double> values, double p);

}  // namespace fedsilo
