#include "common/runtime/sweep.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

#include <nlohmann/json.hpp>

#include "common/base/binary_record.h"
#include "common/metrics/csv_table.h"
#include "common/runtime/config_parser.h"

namespace fedsilo {

absl::StatusOr<std::vector<SweepAxis>> ParseSweepAxes(const std::vector<std::string>& specs) {
  std::vector<SweepAxis> axes;
  std::set<std::string> keys;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError("--set-list " + spec +
                                        ": expected key.path=v1,v2,... (e.g. fairness.lambda=0,1)");
    }
    SweepAxis axis;
    axis.key = std::string(absl::StripAsciiWhitespace(absl::string_view(spec).substr(0, eq)));
    if (axis.key.empty()) return absl::InvalidArgumentError("--set-list " + spec + ": empty key");
    if (!keys.insert(axis.key).second) {
      return absl::InvalidArgumentError("--set-list " + axis.key + ": given twice");
    }
    for (absl::string_view value : absl::StrSplit(absl::string_view(spec).substr(eq + 1), ',')) {
      const std::string v(absl::StripAsciiWhitespace(value));
      if (v.empty()) {
        return absl::InvalidArgumentError("--set-list " + spec + ": empty value");
      }
      axis.values.push_back(v);
    }
    axes.push_back(std::move(axis));
  }
  return axes;
}

std::vector<std::vector<std::string>> SweepPoints(const std::vector<SweepAxis>& axes) {
  std::vector<std::vector<std::string>> points = {{}};
  for (const SweepAxis& axis : axes) {
    std::vector<std::vector<std::string>> next;
    for (const auto& point : points) {
      for (const std::string& value : axis.values) {
        next.push_back(point);
        next.back().push_back(axis.key + "=" + value);
      }
    }
    points = std::move(next);
  }
  return points;
}

namespace {

namespace fs = std::filesystem;

// The metrics of a sweep row after the axis values, in table order.
constexpr const char* kMetricColumns[] = {
    "rounds_completed", "test_accuracy", "test_loss",        "epsilon",
    "test_error",       "dp_violation",  "eo_violation",     "eopp_violation",
    "val_accuracy",     "val_loss",      "val_dp_violation", "val_eo_violation",
    "val_eopp_violation", "personalized_accuracy_mean", "personalized_accuracy_min",
    "personalized_accuracy_p10", "personalized_accuracy_median"};
constexpr int kFirstAveragedMetric = 1;  // rounds_completed is not averaged

// One finished point: its metrics in kMetricColumns order; NaN = empty cell.
struct PointResult {
  bool done = false;
  double metrics[std::size(kMetricColumns)] = {};
  double seconds = 0.0;
};

PointResult ResultOfReport(const RunReport& report) {
  PointResult result;
  result.done = true;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const FairnessMetrics& f = report.final_fairness;
  const FairnessMetrics& v = report.final_validation_fairness;
  const bool fair = report.reports_fairness;
  const bool validated = report.validation_records > 0;
  const PersonalizedResult& p = report.final_personalized;
  const bool personalized = p.silos_evaluated > 0;
  const double values[] = {static_cast<double>(report.rounds_completed),
                           report.final_test.accuracy,
                           report.final_test.loss,
                           report.epsilon,
                           fair ? f.test_error : nan, fair ? f.dp_violation : nan,
                           fair ? f.eo_violation : nan, fair ? f.eopp_violation : nan,
                           validated ? report.final_validation.accuracy : nan,
                           validated ? report.final_validation.loss : nan,
                           fair && validated ? v.dp_violation : nan,
                           fair && validated ? v.eo_violation : nan,
                           fair && validated ? v.eopp_violation : nan,
                           personalized ? p.mean : nan,
                           personalized ? p.min : nan,
                           personalized ? p.p10 : nan,
                           personalized ? p.median : nan};
  static_assert(std::size(values) == std::size(kMetricColumns));
  std::copy(std::begin(values), std::end(values), result.metrics);
  return result;
}

// A finished point's result from its summary.json (resume); DataLoss when the file is damaged.
absl::StatusOr<PointResult> ResultOfSummary(const fs::path& path) {
  std::ifstream in(path);
  const nlohmann::json summary = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (summary.is_discarded() || !summary.is_object() || !summary.contains("final") ||
      !summary["final"].is_object() || !summary.contains("privacy") ||
      !summary.contains("rounds_completed")) {
    return absl::DataLossError("sweep --resume: " + path.string() +
                               " is not a complete run summary; remove that point's folder");
  }
  const nlohmann::json& final = summary["final"];
  auto number = [](const nlohmann::json& object, const char* key, double absent) {
    return object.contains(key) && object[key].is_number() ? object[key].get<double>() : absent;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  PointResult result;
  result.done = true;
  const double values[] = {number(summary, "rounds_completed", nan),
                           number(final, "test_accuracy", nan),
                           number(final, "test_loss", nan),
                           // JSON has no infinity: a run that is not private writes null
                           number(summary["privacy"], "epsilon",
                                  std::numeric_limits<double>::infinity()),
                           number(final, "test_error", nan),
                           number(final, "dp_violation", nan),
                           number(final, "eo_violation", nan),
                           number(final, "eopp_violation", nan),
                           number(final, "val_accuracy", nan),
                           number(final, "val_loss", nan),
                           number(final, "val_dp_violation", nan),
                           number(final, "val_eo_violation", nan),
                           number(final, "val_eopp_violation", nan),
                           number(final, "personalized_accuracy_mean", nan),
                           number(final, "personalized_accuracy_min", nan),
                           number(final, "personalized_accuracy_p10", nan),
                           number(final, "personalized_accuracy_median", nan)};
  static_assert(std::size(values) == std::size(kMetricColumns));
  std::copy(std::begin(values), std::end(values), result.metrics);
  return result;
}

CsvTable::Cell MetricCell(double value) {
  if (std::isnan(value)) return std::string();
  return value;
}

std::string AxisValue(const std::string& assignment) {
  return assignment.substr(assignment.find('=') + 1);
}

// OUT/sweep.csv: one row per finished point, in point order.
absl::Status WriteSweepTable(const std::string& path, const std::vector<SweepAxis>& axes,
                             const std::vector<std::vector<std::string>>& points,
                             const std::vector<PointResult>& results) {
  std::vector<std::string> header;
  for (const SweepAxis& axis : axes) header.push_back(axis.key);
  header.insert(header.end(), std::begin(kMetricColumns), std::end(kMetricColumns));
  FEDSILO_ASSIGN_OR_RETURN(CsvTable table, CsvTable::Create(path, header));
  for (size_t i = 0; i < points.size(); ++i) {
    if (!results[i].done) continue;
    std::vector<CsvTable::Cell> row;
    for (const std::string& assignment : points[i]) row.emplace_back(AxisValue(assignment));
    row.emplace_back(static_cast<long long>(results[i].metrics[0]));
    for (size_t m = 1; m < std::size(kMetricColumns); ++m) {
      row.push_back(MetricCell(results[i].metrics[m]));
    }
    FEDSILO_RETURN_IF_ERROR(table.AddRow(row));
  }
  return absl::OkStatus();
}

// OUT/sweep_summary.csv: the finished points grouped by every axis but `seed` (groups in order of
// first appearance), with mean and sample standard deviation of each metric.
absl::Status WriteSummaryTable(const std::string& path, const std::vector<SweepAxis>& axes,
                               const std::vector<std::vector<std::string>>& points,
                               const std::vector<PointResult>& results) {
  std::vector<size_t> group_axes;
  for (size_t a = 0; a < axes.size(); ++a) {
    if (axes[a].key != "seed") group_axes.push_back(a);
  }
  std::vector<std::string> header;
  for (size_t a : group_axes) header.push_back(axes[a].key);
  header.emplace_back("runs");
  for (size_t m = kFirstAveragedMetric; m < std::size(kMetricColumns); ++m) {
    header.push_back(std::string(kMetricColumns[m]) + "_mean");
    header.push_back(std::string(kMetricColumns[m]) + "_std");
  }
  std::vector<std::vector<std::string>> keys;
  std::map<std::vector<std::string>, std::vector<size_t>> members;
  for (size_t i = 0; i < points.size(); ++i) {
    if (!results[i].done) continue;
    std::vector<std::string> key;
    for (size_t a : group_axes) key.push_back(AxisValue(points[i][a]));
    if (members[key].empty()) keys.push_back(key);
    members[key].push_back(i);
  }
  FEDSILO_ASSIGN_OR_RETURN(CsvTable table, CsvTable::Create(path, header));
  for (const std::vector<std::string>& key : keys) {
    const std::vector<size_t>& group = members[key];
    std::vector<CsvTable::Cell> row(key.begin(), key.end());
    row.emplace_back(static_cast<long long>(group.size()));
    for (size_t m = kFirstAveragedMetric; m < std::size(kMetricColumns); ++m) {
      double sum = 0.0;
      for (size_t i : group) sum += results[i].metrics[m];
      const double mean = sum / static_cast<double>(group.size());
      double squares = 0.0;
      for (size_t i : group) {
        const double deviation = results[i].metrics[m] - mean;
        squares += deviation * deviation;
      }
      const bool spread = group.size() > 1 && std::isfinite(mean);
      row.push_back(MetricCell(mean));
      row.push_back(MetricCell(spread ? std::sqrt(squares / (group.size() - 1.0))
                                      : std::numeric_limits<double>::quiet_NaN()));
    }
    FEDSILO_RETURN_IF_ERROR(table.AddRow(row));
  }
  return absl::OkStatus();
}

// The text of OUT/sweep_points.txt: per point, its index, its resolved config's digest and its
// assignments.
std::string GridRecord(const std::vector<std::vector<std::string>>& points,
                       const std::vector<ExperimentConfig>& configs) {
  std::string text;
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string yaml = ExperimentConfigToYaml(configs[i]);
    char digest[17];
    std::snprintf(digest, sizeof(digest), "%016llx",
                  static_cast<unsigned long long>(Fnv1a64(yaml.data(), yaml.size())));
    text += "point_" + std::to_string(i) + " " + digest + " " + absl::StrJoin(points[i], " ") +
            "\n";
  }
  return text;
}

}  // namespace

absl::StatusOr<std::string> RunSweep(const std::string& config_path,
                                     const std::vector<std::string>& overrides,
                                     const std::vector<SweepAxis>& axes,
                                     const RunOptions& run_options,
                                     const SweepOptions& sweep_options) {
  if (run_options.out_dir.empty()) return absl::InvalidArgumentError("sweep: --out is required");
  if (axes.empty()) return absl::InvalidArgumentError("sweep: give at least one --set-list");
  if (sweep_options.jobs < 1) return absl::InvalidArgumentError("sweep: --jobs must be at least 1");
  const fs::path out(run_options.out_dir);
  // Every point's config is checked before the first run: a bad value in the grid fails now, not
  // hours into the sweep.
  const std::vector<std::vector<std::string>> points = SweepPoints(axes);
  std::vector<ExperimentConfig> configs;
  for (size_t i = 0; i < points.size(); ++i) {
    std::vector<std::string> point_overrides = overrides;
    point_overrides.insert(point_overrides.end(), points[i].begin(), points[i].end());
    absl::StatusOr<ExperimentConfig> config = LoadExperimentConfig(config_path, point_overrides);
    if (!config.ok()) {
      return absl::Status(config.status().code(),
                          absl::StrCat("sweep point ", i, " (", absl::StrJoin(points[i], " "),
                                       "): ", config.status().message()));
    }
    configs.push_back(*std::move(config));
  }
  const std::string grid = GridRecord(points, configs);
  const fs::path grid_path = out / "sweep_points.txt";
  std::error_code error;
  const bool occupied =
      fs::exists(out, error) && (!fs::is_directory(out, error) || !fs::is_empty(out, error));
  if (sweep_options.resume) {
    if (!fs::exists(grid_path, error)) {
      return absl::FailedPreconditionError("sweep --resume: " + out.string() +
                                           " holds no sweep (no sweep_points.txt)");
    }
    FEDSILO_ASSIGN_OR_RETURN(const std::string recorded, ReadWholeFile(grid_path.string()));
    if (recorded != grid) {
      std::istringstream was(recorded), is(grid);
      std::string a, b;
      int line = 0;
      while (std::getline(was, a) && std::getline(is, b) && a == b) ++line;
      return absl::FailedPreconditionError(
          "sweep --resume: " + out.string() + " holds another grid (point " +
          std::to_string(line) + " differs in its values or resolved config; see " +
          grid_path.string() + "); resume with the same config, --set and --set-list, or start a "
          "new --out");
    }
  } else if (occupied) {
    return absl::FailedPreconditionError(
        "sweep: --out " + out.string() + " exists and is not an empty directory; choose a new "
        "one (an older sweep's points and table would be mixed with this one's), or continue "
        "that sweep with --resume");
  }
  fs::create_directories(out, error);
  if (error) {
    return absl::PermissionDeniedError("cannot create " + out.string() + ": " + error.message());
  }
  if (!sweep_options.resume) {
    FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(grid_path.string(), grid));
  }

  // Finished points are read back; an unfinished one's folder is cleared for its rerun.
  std::vector<PointResult> results(points.size());
  std::vector<size_t> pending;
  for (size_t i = 0; i < points.size(); ++i) {
    const fs::path dir = out / ("point_" + std::to_string(i));
    if (sweep_options.resume && fs::exists(dir / "summary.json", error)) {
      FEDSILO_ASSIGN_OR_RETURN(results[i], ResultOfSummary(dir / "summary.json"));
      continue;
    }
    if (fs::exists(dir, error)) fs::remove_all(dir, error);
    pending.push_back(i);
  }

  const int jobs =
      std::max(1, std::min<int>(sweep_options.jobs, static_cast<int>(pending.size())));
  RunOptions point_options = run_options;
  point_options.threads = std::max(1, WorkerThreads(run_options) / jobs);
  LoadedDataCache data_cache;  // points with the same data section and seed load it once
  if (point_options.data_cache == nullptr) point_options.data_cache = &data_cache;
  std::mutex mu;  // guards next, failed_at, failure, results, finished
  size_t next = 0;
  size_t failed_at = points.size();
  absl::Status failure;
  size_t finished = points.size() - pending.size();
  const auto start = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (;;) {
      size_t i;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next == pending.size() || failed_at < points.size()) return;
        i = pending[next++];
      }
      RunOptions run = point_options;
      run.out_dir = (out / ("point_" + std::to_string(i))).string();
      const auto point_start = std::chrono::steady_clock::now();
      absl::StatusOr<RunReport> report = RunExperiment(configs[i], run);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - point_start).count();
      std::lock_guard<std::mutex> lock(mu);
      if (!report.ok()) {
        if (i < failed_at) {
          failed_at = i;
          failure = absl::Status(
              report.status().code(),
              absl::StrCat("sweep point ", i, " (", absl::StrJoin(points[i], " "),
                           "): ", report.status().message()));
        }
        continue;
      }
      results[i] = ResultOfReport(*report);
      ++finished;
      if (sweep_options.progress) {
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const size_t done_here = finished - (points.size() - pending.size());
        const double left = elapsed / done_here * (points.size() - finished);
        std::fprintf(stderr,
                     "sweep: point %zu done (%s): test accuracy %.4f, %.1fs | %zu/%zu, "
                     "%.0fs left\n",
                     i, absl::StrJoin(points[i], " ").c_str(), report->final_test.accuracy,
                     seconds, finished, points.size(), left);
      }
    }
  };
  std::vector<std::thread> threads;
  for (int j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (std::thread& thread : threads) thread.join();

  const std::string table_path = (out / "sweep.csv").string();
  FEDSILO_RETURN_IF_ERROR(WriteSweepTable(table_path, axes, points, results));
  FEDSILO_RETURN_IF_ERROR(
      WriteSummaryTable((out / "sweep_summary.csv").string(), axes, points, results));
  if (!failure.ok()) return failure;
  return table_path;
}

}  // namespace fedsilo
