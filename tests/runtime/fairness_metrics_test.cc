// Fairness metrics against confusion tables worked out by hand.
#include "common/runtime/fairness_metrics.h"

#include <vector>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

TEST(FairnessMetricsTest, BinaryHandComputedConfusionTables) {
  // Group 0 (y, yhat): (1,1) (1,1) (1,0) (0,0) (0,1): P(yhat=1) = 3/5, TPR 2/3, FPR 1/2.
  // Group 1:           (1,1) (1,0) (0,0) (0,0):       P(yhat=1) = 1/4, TPR 1/2, FPR 0.
  const std::vector<int> y = {1, 1, 1, 0, 0, 1, 1, 0, 0};
  const std::vector<int> yhat = {1, 1, 0, 0, 1, 1, 0, 0, 0};
  const std::vector<int> s = {0, 0, 0, 0, 0, 1, 1, 1, 1};
  const FairnessMetrics m = FairnessFromPredictions(yhat, y, s, 2, 2);
  EXPECT_DOUBLE_EQ(m.test_error, 3.0 / 9.0);
  EXPECT_DOUBLE_EQ(m.dp_violation, 3.0 / 5.0 - 1.0 / 4.0);
  EXPECT_DOUBLE_EQ(m.eopp_violation, 2.0 / 3.0 - 1.0 / 2.0);
  EXPECT_DOUBLE_EQ(m.eo_violation, 0.5);  // max(TPR gap 1/6, FPR gap 1/2)
  EXPECT_EQ(m.count, 9);
}

TEST(FairnessMetricsTest, MulticlassTakesTheWorstClassAndSkipsEmptyGroups) {
  // Group 0 predicts 0, 1, 2, 2 (P = 1/4, 1/4, 1/2); group 1 predicts 0, 0 (P = 1, 0, 0);
  // group 2 has no record. Labels equal predictions: no error, no odds gap.
  const std::vector<int> yhat = {0, 1, 2, 2, 0, 0};
  const std::vector<int> s = {0, 0, 0, 0, 1, 1};
  const FairnessMetrics m = FairnessFromPredictions(yhat, yhat, s, 3, 3);
  EXPECT_DOUBLE_EQ(m.dp_violation, 0.75);
  EXPECT_DOUBLE_EQ(m.test_error, 0.0);
  EXPECT_DOUBLE_EQ(m.eo_violation, 0.0);
  // A single group has no gap.
  const std::vector<int> one = {0, 0, 0, 0, 0, 0};
  EXPECT_DOUBLE_EQ(FairnessFromPredictions(yhat, yhat, one, 3, 1).dp_violation, 0.0);
}

}  // namespace
}  // namespace fedsilo
