#include "common/runtime/partition_export.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <span>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/data/partition.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;

constexpr char kLabelColumn[] = "label";
constexpr char kGroupColumn[] = "group";

// A feature name can head a column when the CSV reader gives it back unchanged and it cannot be
// confused with another column: non-empty, no surrounding blanks or control characters, distinct,
// and not `label` or `group`.
bool UsableNames(const std::vector<std::string>& names, int dim) {
  if (static_cast<int>(names.size()) != dim) return false;
  std::set<std::string> seen = {kLabelColumn, kGroupColumn};
  for (const std::string& name : names) {
    if (name.empty() || name.front() == ' ' || name.front() == '\t' || name.back() == ' ' ||
        name.back() == '\t') {
      return false;
    }
    for (char c : name) {
      if (static_cast<unsigned char>(c) < 0x20) return false;
    }
    if (!seen.insert(name).second) return false;
  }
  return true;
}

// RFC 4180: a field with a delimiter or a quote is quoted, inner quotes doubled.
void AppendField(const std::string& text, std::string* out) {
  if (text.find_first_of(",\"") == std::string::npos) {
    out->append(text);
    return;
  }
  out->push_back('"');
  for (char c : text) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

// Shortest text that reads back as exactly `value` ("0.1", "-0", "1e-300").
void AppendNumber(double value, std::string* out) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, end);
}

absl::Status Rename(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::rename(from, to, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", to.string(), ": ", error.message()));
  }
  return absl::OkStatus();
}

absl::Status WriteText(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    if (!out) return absl::PermissionDeniedError("cannot write " + tmp.string());
  }
  return Rename(tmp, path);
}

// Writes rows `rows` of `data`: the features, the label id and (with groups) the group id.
absl::Status WriteRows(const fs::path& path, const std::string& header, const Dataset& data,
                       std::span<const int> rows, bool with_groups, const char* split) {
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream out(tmp, std::ios::binary);
  if (!out) return absl::PermissionDeniedError("cannot write " + tmp.string());
  std::string buffer = header;
  for (const int r : rows) {
    for (int j = 0; j < data.dim(); ++j) {
      const double v = data.x(r, j);
      if (!std::isfinite(v)) {
        out.close();
        std::error_code ignored;
        fs::remove(tmp, ignored);
        return absl::InvalidArgumentError(absl::StrCat(
            "partition export: feature ", j, " of ", split, " record ", r, " is not finite (", v,
            "); the CSV reader accepts finite numbers only"));
      }
      AppendNumber(v, &buffer);
      buffer.push_back(',');
    }
    absl::StrAppend(&buffer, data.y[static_cast<size_t>(r)]);
    if (with_groups) absl::StrAppend(&buffer, ",", data.group[static_cast<size_t>(r)]);
    buffer.push_back('\n');
    if (buffer.size() > (1u << 20)) {
      out << buffer;
      buffer.clear();
    }
  }
  out << buffer;
  out.close();
  if (!out) return absl::PermissionDeniedError("cannot write " + tmp.string());
  return Rename(tmp, path);
}

// "0", "1", ..., "n-1".
std::vector<std::string> Ids(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) ids.push_back(absl::StrCat(i));
  return ids;
}

// The experiment's config with a `data` section that reads one silo's two files.
ExperimentConfig SiloConfig(const ExperimentConfig& config, const TrainTest& data) {
  ExperimentConfig silo = config;
  DataConfig& d = silo.data;
  d = DataConfig();
  d.dataset = "csv";
  d.csv.train = "train.csv";  // relative: resolved against the directory of silo.yaml
  d.csv.test = "test.csv";
  d.csv.label = kLabelColumn;
  d.csv.standardize = false;
  d.csv.classes = Ids(data.train.num_classes);
  if (data.train.has_groups()) {
    d.sensitive = kGroupColumn;
    d.csv.drop = {kGroupColumn};
    d.csv.groups = Ids(data.train.num_groups);
  }
  d.seed = silo.seed;
  silo.source_path.clear();
  return silo;
}

absl::Status CheckOutDir(const fs::path& dir) {
  std::error_code error;
  const fs::file_status status = fs::status(dir, error);
  if (!fs::exists(status)) return absl::OkStatus();
  if (!fs::is_directory(status)) {
    return absl::FailedPreconditionError(
        absl::StrCat("--out ", dir.string(), ": exists and is not a directory"));
  }
  if (!fs::is_empty(dir, error) || error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--out ", dir.string(),
        ": the directory is not empty; choose a new one (files of an older partition would be "
        "mixed with the new ones)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PartitionExportReport> ExportPartition(const ExperimentConfig& config,
                                                      const std::string& out_dir) {
  const fs::path out(out_dir);
  FEDSILO_RETURN_IF_ERROR(CheckOutDir(out));
  FEDSILO_ASSIGN_OR_RETURN(PreparedExperiment experiment, PrepareExperiment(config));
  const TrainTest& data = experiment.data();
  const bool with_groups = data.train.has_groups();
  if (with_groups && data.test.size() > 0 && !data.test.has_groups()) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition export: '", data.name, "' has groups in the train split only"));
  }

  PartitionExportReport report;
  report.out_dir = out_dir;
  report.silos = static_cast<int>(experiment.shards.size());
  report.columns = UsableNames(data.train.feature_names, data.train.dim())
                       ? data.train.feature_names
                       : std::vector<std::string>();
  if (report.columns.empty()) {
    for (int j = 0; j < data.train.dim(); ++j) report.columns.push_back(absl::StrCat("x", j));
  }
  report.columns.push_back(kLabelColumn);
  if (with_groups) report.columns.push_back(kGroupColumn);
  std::string header;
  for (size_t c = 0; c < report.columns.size(); ++c) {
    if (c > 0) header.push_back(',');
    AppendField(report.columns[c], &header);
  }
  header.push_back('\n');

  std::error_code error;
  fs::create_directories(out, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", out.string(), ": ", error.message()));
  }
  // Silos with their own files join by name, so the run needs a roster: the config's, or
  // silo0 .. silo<N-1> (the names launch_local.sh and the README use).
  report.roster = config.network.silos;
  for (int i = static_cast<int>(report.roster.size()); i < report.silos; ++i) {
    report.roster.push_back(absl::StrCat("silo", i));
  }
  ExperimentConfig silo_config = SiloConfig(config, data);
  silo_config.network.silos = report.roster;
  const std::string config_yaml = ExperimentConfigToYaml(silo_config);
  const std::string source = config.source_path.empty() ? "a config" : config.source_path;
  ExperimentConfig coordinator_config = config;
  coordinator_config.network.silos = report.roster;
  FEDSILO_RETURN_IF_ERROR(WriteText(
      out / "coordinator.yaml",
      absl::StrCat("# The coordinator's config for silos that hold the files of this partition, "
                   "written by `fedsilo partition`\n# from ", source,
                   ": the experiment as it is, with the roster network.silos naming silo i's "
                   "process\n# (`fedsilo silo --name <network.silos[i]> --data silo_<i>/train.csv "
                   "--config silo_<i>/silo.yaml`).\n",
                   ExperimentConfigToYaml(coordinator_config))));
  for (size_t i = 0; i < experiment.shards.size(); ++i) {
    const SiloShard& shard = experiment.shards[i];
    const fs::path dir = out / absl::StrCat("silo_", i);
    fs::create_directories(dir, error);
    if (error) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", dir.string(), ": ", error.message()));
    }
    FEDSILO_RETURN_IF_ERROR(
        WriteRows(dir / "train.csv", header, data.train, shard.train, with_groups, "training"));
    FEDSILO_RETURN_IF_ERROR(
        WriteRows(dir / "test.csv", header, data.test, shard.test, with_groups, "test"));
    report.train_rows += static_cast<long long>(shard.train.size());
    report.test_rows += static_cast<long long>(shard.test.size());
    FEDSILO_RETURN_IF_ERROR(WriteText(
        dir / "silo.yaml",
        absl::StrCat("# Silo ", i, " of ", experiment.shards.size(), " (its process joins as --name ",
                     report.roster[i], "), written by `fedsilo partition` from ", source,
                     ".\n# The data section reads train.csv and test.csv beside this file: "
                     "preprocessed numbers\n# (standardize: false) with fixed class and group "
                     "ids. Every other key is the experiment's.\n",
                     config_yaml)));
  }
  report.summary = PartitionSummary(data, experiment.shards);
  FEDSILO_RETURN_IF_ERROR(WriteText(out / "summary.txt", report.summary));
  return report;
}

}  // namespace fedsilo
