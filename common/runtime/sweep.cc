#include "common/runtime/sweep.h"

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

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

absl::StatusOr<std::string> RunSweep(const std::string& config_path,
                                     const std::vector<std::string>& overrides,
                                     const std::vector<SweepAxis>& axes,
                                     const RunOptions& options) {
  if (options.out_dir.empty()) return absl::InvalidArgumentError("sweep: --out is required");
  if (axes.empty()) return absl::InvalidArgumentError("sweep: give at least one --set-list");
  const std::filesystem::path out(options.out_dir);
  std::error_code error;
  if (std::filesystem::exists(out, error) &&
      (!std::filesystem::is_directory(out, error) || !std::filesystem::is_empty(out, error))) {
    return absl::FailedPreconditionError(
        "sweep: --out " + out.string() + " exists and is not an empty directory; choose a new "
        "one (an older sweep's points and table would be mixed with this one's)");
  }
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
  std::filesystem::create_directories(out, error);
  if (error) {
    return absl::PermissionDeniedError("cannot create " + out.string() + ": " + error.message());
  }
  std::vector<std::string> header;
  for (const SweepAxis& axis : axes) header.push_back(axis.key);
  for (const char* column :
       {"rounds_completed", "test_accuracy", "test_loss", "epsilon", "test_error", "dp_violation",
        "eo_violation", "eopp_violation"}) {
    header.emplace_back(column);
  }
  const std::string table_path = (out / "sweep.csv").string();
  FEDSILO_ASSIGN_OR_RETURN(CsvTable table, CsvTable::Create(table_path, header));
  for (size_t i = 0; i < points.size(); ++i) {
    const ExperimentConfig& config = configs[i];
    RunOptions run = options;
    run.out_dir = (out / ("point_" + std::to_string(i))).string();
    FEDSILO_ASSIGN_OR_RETURN(RunReport report, RunExperiment(config, run));
    std::vector<CsvTable::Cell> row;
    for (const std::string& assignment : points[i]) {
      row.emplace_back(assignment.substr(assignment.find('=') + 1));
    }
    row.emplace_back(static_cast<long long>(report.rounds_completed));
    row.emplace_back(report.final_test.accuracy);
    row.emplace_back(report.final_test.loss);
    row.emplace_back(report.epsilon);
    for (const double value : {report.final_fairness.test_error, report.final_fairness.dp_violation,
                               report.final_fairness.eo_violation,
                               report.final_fairness.eopp_violation}) {
      if (report.reports_fairness) {
        row.emplace_back(value);
      } else {
        row.emplace_back(std::string());
      }
    }
    FEDSILO_RETURN_IF_ERROR(table.AddRow(row));
  }
  return table_path;
}

}  // namespace fedsilo
