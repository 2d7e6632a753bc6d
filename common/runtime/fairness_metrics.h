// Group-fairness metrics of hard predictions (simulation-side: the harness computes them on the
// test split; no silo sends them).
//
// With yhat the predicted class (argmax of PredictProba), y the label and s the group:
//   test_error     = P(yhat != y);
//   dp_violation   = max over classes c of [max_s P(yhat = c | s) - min_s P(yhat = c | s)]
//                    (binary: the gap in P(yhat = 1 | s));
//   eo_violation   = max over labels v and classes c of the gap over s of P(yhat = c | y = v, s)
//                    (binary: max of the TPR gap and the FPR gap);
//   eopp_violation = the gap over s of P(yhat = 1 | y = 1, s) (the TPR gap).
// A gap is taken over the groups that have at least one record in the conditioning event; with
// fewer than two such groups it is 0. Pure functions, thread-safe.
#pragma once

#include <span>

#include "common/base/eigen_types.h"
#include "common/data/dataset.h"
#include "common/model/model.h"

namespace fedsilo {

struct FairnessMetrics {
  double test_error = 0.0;
  double dp_violation = 0.0;
  double eo_violation = 0.0;
  double eopp_violation = 0.0;
  int count = 0;
};

// From predicted classes, labels and groups (equal lengths; ids in range).
FairnessMetrics FairnessFromPredictions(std::span<const int> predicted, std::span<const int> label,
                                        std::span<const int> group, int num_classes,
                                        int num_groups);

// The model's hard predictions at w on `rows` of `data` (which must have groups).
FairnessMetrics EvaluateFairness(const Model& model, const Vector& w, const Dataset& data,
                                 std::span<const int> rows);

}  // namespace fedsilo
