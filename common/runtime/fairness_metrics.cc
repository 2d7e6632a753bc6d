#include "common/runtime/fairness_metrics.h"

#include <algorithm>
#include <vector>

#include "common/base/check.h"

namespace fedsilo {
namespace {

// max_s - min_s of hits[s] / totals[s] over the groups with totals[s] > 0 (0 with fewer than 2).
double Gap(const std::vector<double>& hits, const std::vector<double>& totals) {
  double lo = 2.0, hi = -1.0;
  int groups = 0;
  for (size_t s = 0; s < totals.size(); ++s) {
    if (totals[s] <= 0.0) continue;
    const double rate = hits[s] / totals[s];
    lo = std::min(lo, rate);
    hi = std::max(hi, rate);
    ++groups;
  }
  return groups < 2 ? 0.0 : hi - lo;
}

}  // namespace

FairnessMetrics FairnessFromPredictions(std::span<const int> predicted, std::span<const int> label,
                                        std::span<const int> group, int num_classes,
                                        int num_groups) {
  FEDSILO_CHECK(predicted.size() == label.size() && label.size() == group.size(),
                "predictions, labels and groups differ in length");
  FairnessMetrics metrics;
  metrics.count = static_cast<int>(label.size());
  if (label.empty()) return metrics;
  const size_t m = static_cast<size_t>(num_classes), k = static_cast<size_t>(num_groups);
  // counts[(v * m + c) * k + s] = #{y = v, yhat = c, group s}.
  std::vector<double> counts(m * m * k, 0.0);
  int errors = 0;
  for (size_t i = 0; i < label.size(); ++i) {
    const int v = label[i], c = predicted[i], s = group[i];
    FEDSILO_CHECK(v >= 0 && v < num_classes && c >= 0 && c < num_classes && s >= 0 &&
                      s < num_groups,
                  "label, prediction or group out of range");
    counts[(static_cast<size_t>(v) * m + static_cast<size_t>(c)) * k + static_cast<size_t>(s)] +=
        1.0;
    errors += c != v;
  }
  metrics.test_error = static_cast<double>(errors) / static_cast<double>(label.size());
  auto at = [&](size_t v, size_t c, size_t s) { return counts[(v * m + c) * k + s]; };
  // Demographic parity: P(yhat = c | s).
  std::vector<double> group_totals(k, 0.0);
  for (size_t v = 0; v < m; ++v)
    for (size_t c = 0; c < m; ++c)
      for (size_t s = 0; s < k; ++s) group_totals[s] += at(v, c, s);
  for (size_t c = 0; c < m; ++c) {
    std::vector<double> hits(k, 0.0);
    for (size_t s = 0; s < k; ++s)
      for (size_t v = 0; v < m; ++v) hits[s] += at(v, c, s);
    metrics.dp_violation = std::max(metrics.dp_violation, Gap(hits, group_totals));
  }
  // Equalized odds and equal opportunity: P(yhat = c | y = v, s).
  for (size_t v = 0; v < m; ++v) {
    std::vector<double> totals(k, 0.0);
    for (size_t s = 0; s < k; ++s)
      for (size_t c = 0; c < m; ++c) totals[s] += at(v, c, s);
    for (size_t c = 0; c < m; ++c) {
      std::vector<double> hits(k, 0.0);
      for (size_t s = 0; s < k; ++s) hits[s] = at(v, c, s);
      const double gap = Gap(hits, totals);
      metrics.eo_violation = std::max(metrics.eo_violation, gap);
      if (v == 1 && c == 1) metrics.eopp_violation = gap;
    }
  }
  return metrics;
}

FairnessMetrics EvaluateFairness(const Model& model, const Vector& w, const Dataset& data,
                                 std::span<const int> rows) {
  FEDSILO_CHECK(data.has_groups(), "fairness metrics need a dataset with groups");
  std::vector<int> labels(rows.size()), groups(rows.size()), predicted(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    labels[i] = data.y[static_cast<size_t>(rows[i])];
    groups[i] = data.group[static_cast<size_t>(rows[i])];
  }
  Matrix proba;
  if (!rows.empty()) model.PredictBatchProba(w, Batch{&data, rows}, &proba);
  for (size_t i = 0; i < rows.size(); ++i) {
    Eigen::Index c;
    proba.row(static_cast<Eigen::Index>(i)).maxCoeff(&c);
    predicted[i] = static_cast<int>(c);
  }
  return FairnessFromPredictions(predicted, labels, groups, data.num_classes, data.num_groups);
}

}  // namespace fedsilo
