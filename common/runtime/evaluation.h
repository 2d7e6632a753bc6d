// Evaluation of a parameter vector on some rows of a dataset: mean loss and accuracy.
//
// Rows are processed in fixed chunks, in parallel on the pool when one is given, and the partial
// sums are added in chunk order, so the result does not depend on the number of threads.
// In thread mode the simulation harness uses it for the coordinator's held-out test set, the
// pooled training loss and per-silo test accuracy (simulation-side metrics: no silo sends them).
#pragma once

#include <span>

#include "common/base/thread_pool.h"
#include "common/data/dataset.h"
#include "common/model/model.h"

namespace fedsilo {

struct EvalResult {
  double loss = 0.0;
  double accuracy = 0.0;
  int count = 0;
};

EvalResult Evaluate(const Model& model, const Vector& w, const Dataset& data,
                    std::span<const int> rows, ThreadPool* pool);

}  // namespace fedsilo
