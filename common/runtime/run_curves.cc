#include "common/runtime/run_curves.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/binary_record.h"
#include "common/data/csv_reader.h"
#include "common/metrics/csv_table.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;

// One run: its config flattened to "section.key" -> value, and its metrics by round.
struct RunTable {
  std::string dir;
  std::map<std::string, std::string> config;
  // Points by position: round -> (x, y); with x_key one point, at the key's value.
  std::map<double, std::pair<double, double>> xy;
  int last_round = 0;  // of the last finite y
};

void Flatten(const YAML::Node& node, const std::string& prefix,
             std::map<std::string, std::string>* out) {
  if (node.IsMap()) {
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      Flatten(entry.second, prefix.empty() ? key : prefix + "." + key, out);
    }
    return;
  }
  YAML::Emitter emitter;
  emitter << YAML::Flow << node;
  (*out)[prefix] = emitter.c_str();
}

absl::StatusOr<double> Number(const std::string& text, const std::string& where) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": '", text, "' is not a number"));
  }
  return value;
}

absl::StatusOr<RunTable> ReadRun(const std::string& dir, const CurveOptions& options) {
  RunTable run;
  run.dir = dir;
  const std::string config_path = (fs::path(dir) / "config.yaml").string();
  try {
    Flatten(YAML::LoadFile(config_path), "", &run.config);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(config_path, ": ", e.what()));
  }
  const std::string metrics_path = (fs::path(dir) / "metrics.csv").string();
  FEDSILO_ASSIGN_OR_RETURN(const CsvRows rows, ReadCsvFile(metrics_path));
  if (rows.num_rows() == 0) return absl::InvalidArgumentError(metrics_path + ": empty");
  const auto header = rows.row(0);
  const auto column = [&](const std::string& name) -> absl::StatusOr<size_t> {
    const auto found = std::find(header.begin(), header.end(), name);
    if (found == header.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          metrics_path, " has no column '", name, "' (it has: ", absl::StrJoin(header, ", "),
          ")"));
    }
    return static_cast<size_t>(found - header.begin());
  };
  FEDSILO_ASSIGN_OR_RETURN(const size_t round_column, column("round"));
  const bool x_from_config = !options.x_key.empty();
  FEDSILO_ASSIGN_OR_RETURN(const size_t x_column,
                           x_from_config ? round_column : column(options.x));
  // y = 1 - <name>_accuracy for a <name>_error column metrics.csv does not have.
  constexpr std::string_view kError = "_error";
  const bool derived_error =
      std::find(header.begin(), header.end(), options.y) == header.end() &&
      options.y.size() > kError.size() && options.y.ends_with(kError);
  FEDSILO_ASSIGN_OR_RETURN(
      const size_t y_column,
      column(derived_error ? options.y.substr(0, options.y.size() - kError.size()) + "_accuracy"
                           : options.y));
  for (size_t r = 1; r < rows.num_rows(); ++r) {
    const auto row = rows.row(r);
    const std::string where = absl::StrCat(metrics_path, ":", rows.line[r]);
    if (row.size() != header.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", row.size(), " fields, the header has ", header.size()));
    }
    FEDSILO_ASSIGN_OR_RETURN(const double round, Number(row[round_column], where));
    FEDSILO_ASSIGN_OR_RETURN(const double x, Number(row[x_column], where));
    FEDSILO_ASSIGN_OR_RETURN(double y, Number(row[y_column], where));
    if (derived_error) y = 1.0 - y;
    if (!std::isfinite(y) || !std::isfinite(x)) continue;
    run.xy[static_cast<int>(round)] = {x, y};
    run.last_round = static_cast<int>(round);
  }
  if (x_from_config) {
    const auto value = run.config.find(options.x_key);
    if (value == run.config.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(config_path, " has no key '", options.x_key, "' (--x-key)"));
    }
    FEDSILO_ASSIGN_OR_RETURN(const double x, Number(value->second, config_path + ": " +
                                                                       options.x_key));
    if (run.xy.empty()) return run;  // no finite y: the curve's check names it
    const double y = run.xy.rbegin()->second.second;
    run.xy = {{x, {x, y}}};
  }
  return run;
}

// The run directories a path stands for: itself, or a sweep's point_* folders in point order.
absl::StatusOr<std::vector<std::string>> RunDirs(const std::string& dir) {
  if (fs::exists(fs::path(dir) / "metrics.csv")) return std::vector<std::string>{dir};
  std::vector<std::pair<int, std::string>> points;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("point_", 0) == 0 &&
        fs::exists(entry.path() / "metrics.csv")) {
      points.emplace_back(std::atoi(name.c_str() + 6), entry.path().string());
    }
  }
  if (points.empty()) {
    return absl::NotFoundError(dir + ": neither a run directory (metrics.csv) nor a sweep's "
                                     "folder (point_*/metrics.csv)");
  }
  std::sort(points.begin(), points.end());
  std::vector<std::string> dirs;
  for (auto& point : points) dirs.push_back(std::move(point.second));
  return dirs;
}

bool SetsCurvesApart(const std::string& key, const CurveOptions& options) {
  if (!options.curve_by.empty()) {
    return std::find(options.curve_by.begin(), options.curve_by.end(), key) !=
           options.curve_by.end();
  }
  return key != "seed" && key.rfind("output.", 0) != 0 && key != options.x_key;
}

std::string GnuplotQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') quoted += '\'';
    if (c != '\n') quoted += c;
  }
  return quoted + "'";
}

// RFC 4180: quoted when it holds a comma, a quote or a newline.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

double StudentT975(int degrees) {
  static constexpr double kTable[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                      2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                      2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                      2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (degrees < 1) return std::nan("");
  return degrees <= 30 ? kTable[degrees - 1] : 1.96;
}

absl::StatusOr<std::vector<Curve>> LoadCurves(const std::vector<std::string>& dirs,
                                              const CurveOptions& options) {
  std::vector<RunTable> runs;
  for (const std::string& dir : dirs) {
    FEDSILO_ASSIGN_OR_RETURN(const std::vector<std::string> run_dirs, RunDirs(dir));
    for (const std::string& run_dir : run_dirs) {
      FEDSILO_ASSIGN_OR_RETURN(RunTable run, ReadRun(run_dir, options));
      runs.push_back(std::move(run));
    }
  }
  for (const std::string& filter : options.where) {
    const size_t equals = filter.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError("--where " + filter + ": expected key=value");
    }
    const std::string key = filter.substr(0, equals);
    const std::string value = filter.substr(equals + 1);
    // Numbers compare as numbers (a config writes epsilon 1 as "1.0"), anything else as text.
    const auto same = [](const std::string& a, const std::string& b) {
      if (a == b) return true;
      char* end_a = nullptr;
      char* end_b = nullptr;
      const double x = std::strtod(a.c_str(), &end_a);
      const double y = std::strtod(b.c_str(), &end_b);
      return !a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0' && x == y;
    };
    std::erase_if(runs, [&](const RunTable& run) {
      const auto found = run.config.find(key);
      return found == run.config.end() || !same(found->second, value);
    });
    if (runs.empty()) {
      return absl::InvalidArgumentError("no run matches --where " + filter);
    }
  }
  if (runs.empty()) return absl::InvalidArgumentError("no run to plot");
  // The keys whose values differ between runs (seed and output.* aside) set curves apart.
  std::set<std::string> keys;
  for (const RunTable& run : runs) {
    for (const auto& [key, value] : run.config) keys.insert(key);
  }
  for (const std::string& key : options.curve_by) {
    if (!keys.contains(key)) {
      return absl::InvalidArgumentError("--curve-by " + key + ": no run's config has this key");
    }
  }
  std::vector<std::string> apart;
  for (const std::string& key : keys) {
    if (!SetsCurvesApart(key, options)) continue;
    const auto value_of = [&](const RunTable& run) {
      const auto found = run.config.find(key);
      return found == run.config.end() ? std::string("(unset)") : found->second;
    };
    const std::string first = value_of(runs.front());
    if (std::any_of(runs.begin(), runs.end(),
                    [&](const RunTable& run) { return value_of(run) != first; })) {
      apart.push_back(key);
    }
  }
  std::vector<Curve> curves;
  std::map<std::string, size_t> by_label;
  std::vector<std::vector<const RunTable*>> members;
  for (const RunTable& run : runs) {
    std::vector<std::string> parts;
    for (const std::string& key : apart) {
      const auto found = run.config.find(key);
      parts.push_back(key + "=" + (found == run.config.end() ? "(unset)" : found->second));
    }
    std::string label = absl::StrJoin(parts, ", ");
    if (label.empty()) {
      const auto algorithm = run.config.find("algorithm.name");
      label = algorithm == run.config.end() ? run.dir : algorithm->second;
    }
    auto [slot, added] = by_label.emplace(label, curves.size());
    if (added) {
      curves.push_back(Curve{label, {}, {}});
      members.emplace_back();
    }
    curves[slot->second].run_dirs.push_back(run.dir);
    members[slot->second].push_back(&run);
  }
  for (size_t c = 0; c < curves.size(); ++c) {
    std::set<double> positions;  // rounds, or the x_key's values
    for (const RunTable* run : members[c]) {
      for (const auto& [position, xy] : run->xy) positions.insert(position);
    }
    for (double position : positions) {
      std::vector<std::pair<double, double>> values;
      int round = options.x_key.empty() ? static_cast<int>(position) : 0;
      for (const RunTable* run : members[c]) {
        const auto found = run->xy.find(position);
        if (found == run->xy.end()) continue;
        values.push_back(found->second);
        if (!options.x_key.empty()) round = std::max(round, run->last_round);
      }
      const double n = static_cast<double>(values.size());
      double x = 0.0;
      double y = 0.0;
      for (const auto& [vx, vy] : values) {
        x += vx;
        y += vy;
      }
      x /= n;
      y /= n;
      double spread = 0.0;
      if (values.size() >= 2 && options.band != CurveBand::kNone) {
        double squares = 0.0;
        for (const auto& value : values) squares += (value.second - y) * (value.second - y);
        const double std = std::sqrt(squares / (n - 1.0));
        spread = options.band == CurveBand::kStd
                     ? std
                     : StudentT975(static_cast<int>(values.size()) - 1) * std / std::sqrt(n);
      }
      curves[c].points.push_back(
          CurvePoint{round, x, y, y - spread, y + spread, static_cast<int>(values.size())});
    }
    if (curves[c].points.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no finite value of '", options.y, "' (with a finite x) in the runs of ",
          curves[c].label, " (",
          absl::StrJoin(curves[c].run_dirs, ", "), "); a run that is not private has epsilon inf"));
    }
  }
  return curves;
}

absl::Status PlotCurves(const std::vector<Curve>& curves, const PlotOptions& options) {
  const fs::path out(options.out);
  const std::string extension = out.extension().string();
  if (extension != ".png" && extension != ".svg") {
    return absl::InvalidArgumentError("--out " + options.out + ": a .png or .svg file");
  }
  if (options.width < 100 || options.height < 100 || options.width > 10000 ||
      options.height > 10000) {
    return absl::InvalidArgumentError("a plot is 100 to 10000 pixels wide and high");
  }
  fs::path stem = out;
  stem.replace_extension();
  const std::string table_path = stem.string() + ".csv";
  const std::string script_path = stem.string() + ".gp";
  std::string table = "label,x,y,low,high,runs\n";
  std::string script = absl::StrCat(
      "set terminal ", extension == ".png" ? "pngcairo" : "svg", " size ", options.width, ",",
      options.height, " noenhanced font 'sans,11'",
      extension == ".svg" ? " background '#ffffff'" : "",
      "\nset output ", GnuplotQuote(options.out), "\nset datafile separator ','\n",
      "set grid\nset key below\n", "set xlabel ", GnuplotQuote(options.x_label), "\nset ylabel ",
      GnuplotQuote(options.y_label), "\n");
  if (!options.title.empty()) script += "set title " + GnuplotQuote(options.title) + "\n";
  if (options.log_x) {
    for (const Curve& curve : curves) {
      for (const CurvePoint& point : curve.points) {
        if (!(point.x > 0)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "--log-x: ", curve.label, " has a point at x = ", point.x, " (it must be > 0)"));
        }
      }
    }
    script += "set logscale x\n";
  }
  static constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                            "#9467bd", "#8c564b", "#e377c2", "#17becf"};
  std::vector<std::string> plots;
  for (size_t c = 0; c < curves.size(); ++c) {
    const Curve& curve = curves[c];
    const std::string block = absl::StrCat("$curve", c);
    script += block + " << EOD\n";
    const std::string quoted_label = CsvField(curve.label);
    for (const CurvePoint& point : curve.points) {
      const std::string numbers = absl::StrCat(
          CsvTable::FormatNumber(point.x), ",", CsvTable::FormatNumber(point.y), ",",
          CsvTable::FormatNumber(point.low), ",", CsvTable::FormatNumber(point.high));
      absl::StrAppend(&table, quoted_label, ",", numbers, ",", point.runs, "\n");
      absl::StrAppend(&script, numbers, "\n");
    }
    script += "EOD\n";
    const std::string color = GnuplotQuote(kColors[c % std::size(kColors)]);
    const bool band = std::any_of(curve.points.begin(), curve.points.end(),
                                  [](const CurvePoint& p) { return p.high > p.low; });
    if (band) {
      plots.push_back(absl::StrCat(block, " using 1:3:4 with filledcurves fillcolor rgb ", color,
                                   " fillstyle transparent solid 0.2 noborder notitle"));
    }
    const int runs = static_cast<int>(curve.run_dirs.size());
    plots.push_back(absl::StrCat(
        block, " using 1:2 with linespoints linecolor rgb ", color,
        " linewidth 2 pointtype 7 pointsize 0.6 title ",
        GnuplotQuote(runs > 1 ? absl::StrCat(curve.label, " (", runs, " runs)") : curve.label)));
  }
  for (size_t r = 0; r < options.references.size(); ++r) {
    const std::string& reference = options.references[r];
    const size_t equals = reference.rfind('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError("--reference " + reference + ": expected label=number");
    }
    const std::string label = reference.substr(0, equals);
    FEDSILO_ASSIGN_OR_RETURN(const double y,
                             Number(reference.substr(equals + 1), "--reference " + label));
    if (!std::isfinite(y)) {
      return absl::InvalidArgumentError("--reference " + reference + ": not a finite number");
    }
    const std::string number = CsvTable::FormatNumber(y);
    plots.push_back(absl::StrCat(number, " with lines dashtype 2 linewidth 2 linecolor rgb ",
                                 GnuplotQuote(kColors[(curves.size() + r) % std::size(kColors)]),
                                 " title ", GnuplotQuote(label)));
    // In the table a reference is a row without x.
    absl::StrAppend(&table, CsvField(label), ",,", number, ",", number, ",", number, ",0\n");
  }
  script += "plot " + absl::StrJoin(plots, ", \\\n     ") + "\n";
  FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(table_path, table));
  FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(script_path, script));
  const std::string log = stem.string() + ".gnuplot.log";
  const std::string command =
      "gnuplot " + ShellQuote(script_path) + " >" + ShellQuote(log) + " 2>&1";
  const int status = std::system(command.c_str());
  if (status != 0) {
    absl::StatusOr<std::string> output = ReadFileToString(log);
    return absl::UnavailableError(absl::StrCat(
        "gnuplot failed on ", script_path, " (is gnuplot installed? apt-get install gnuplot-nox): ",
        output.ok() ? *output : std::string("no output")));
  }
  std::error_code removed;
  fs::remove(log, removed);
  return absl::OkStatus();
}

}  // namespace fedsilo
