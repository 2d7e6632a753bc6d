#include "common/data/data_schema.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/binary_record.h"
#include "common/data/csv_loader.h"
#include "common/data/csv_reader.h"
#include "yaml-cpp/yaml.h"

namespace fedsilo {
namespace {

absl::Status Bad(const std::string& source, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", problem));
}

absl::StatusOr<std::vector<std::string>> Strings(const YAML::Node& node, const std::string& source,
                                                 const std::string& what) {
  if (!node.IsSequence()) return Bad(source, what + ": expected a list of values");
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const YAML::Node& item : node) {
    if (!item.IsScalar()) return Bad(source, what + ": expected plain values");
    if (!seen.insert(item.Scalar()).second) {
      return Bad(source, what + ": '" + item.Scalar() + "' is listed twice");
    }
    out.push_back(item.Scalar());
  }
  if (out.empty()) return Bad(source, what + ": the list is empty");
  return out;
}

// The schema column a file column stands for.
std::string SchemaName(const SchemaMapping& mapping, const std::string& file_column) {
  const auto it = mapping.columns.find(file_column);
  return it == mapping.columns.end() ? file_column : it->second;
}

// A file value in the schema's spelling.
const std::string& SchemaValue(const SchemaMapping& mapping, const std::string& column,
                               const std::string& value) {
  const auto by_column = mapping.values.find(column);
  if (by_column == mapping.values.end()) return value;
  const auto it = by_column->second.find(value);
  return it == by_column->second.end() ? value : it->second;
}

std::optional<int> IndexOf(const std::vector<std::string>& list, const std::string& value) {
  const auto it = std::find(list.begin(), list.end(), value);
  if (it == list.end()) return std::nullopt;
  return static_cast<int>(it - list.begin());
}

}  // namespace

absl::StatusOr<DataSchema> ParseDataSchema(std::string_view yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return Bad(source, absl::StrCat("invalid YAML: ", e.msg));
  }
  if (!root.IsMap()) return Bad(source, "expected a map (features, label, ...)");
  for (const auto& entry : root) {
    const std::string key = entry.first.Scalar();
    if (key != "features" && key != "label" && key != "sensitive" && key != "missing") {
      return Bad(source, "unknown key '" + key + "' (features, label, sensitive, missing)");
    }
  }
  DataSchema schema;
  try {
    const YAML::Node features = root["features"];
    if (!features || !features.IsSequence() || features.size() == 0) {
      return Bad(source, "features: expected a non-empty list of columns");
    }
    std::set<std::string> names;
    for (const YAML::Node& node : features) {
      SchemaFeature feature;
      if (!node.IsMap() || !node["name"] || !node["type"]) {
        return Bad(source, "features: every column needs a name and a type");
      }
      feature.name = node["name"].Scalar();
      const std::string what = "features: '" + feature.name + "'";
      if (!names.insert(feature.name).second) return Bad(source, what + " is listed twice");
      const std::string type = node["type"].Scalar();
      if (type == "numeric") {
        if (node["center"]) feature.center = node["center"].as<double>();
        if (node["scale"]) feature.scale = node["scale"].as<double>();
        if (!std::isfinite(feature.center) || !(feature.scale > 0.0) ||
            !std::isfinite(feature.scale)) {
          return Bad(source, what + ": center must be finite and scale finite and > 0");
        }
      } else if (type == "categorical") {
        feature.categorical = true;
        if (!node["levels"]) return Bad(source, what + ": a categorical column lists its levels");
        FEDSILO_ASSIGN_OR_RETURN(feature.levels, Strings(node["levels"], source, what + " levels"));
        if (feature.levels.size() > kMaxCategoricalLevels) {  // each level is a one-hot feature
          return Bad(source, absl::StrCat(what, ": ", feature.levels.size(),
                                          " levels, more than the ", kMaxCategoricalLevels,
                                          " a categorical column may have (one-hot encoding adds "
                                          "a feature for each); is it an identifier or a number?"));
        }
        const std::string unseen = node["unseen"] ? node["unseen"].Scalar() : "error";
        if (unseen != "error") {
          if (!IndexOf(feature.levels, unseen)) {
            return Bad(source, what + ": unseen: '" + unseen + "' is not one of its levels");
          }
          feature.unseen = unseen;
        }
      } else {
        return Bad(source, what + ": type must be numeric or categorical, got '" + type + "'");
      }
      schema.features.push_back(std::move(feature));
    }
    const YAML::Node label = root["label"];
    if (!label || !label.IsMap() || !label["name"] || !label["classes"]) {
      return Bad(source, "label: expected {name: COLUMN, classes: [...]}");
    }
    schema.label = label["name"].Scalar();
    FEDSILO_ASSIGN_OR_RETURN(schema.classes, Strings(label["classes"], source, "label classes"));
    if (schema.classes.size() < 2) return Bad(source, "label classes: at least two are needed");
    if (names.count(schema.label) > 0) return Bad(source, "label: '" + schema.label + "' is also a feature");
    if (const YAML::Node sensitive = root["sensitive"]) {
      if (!sensitive.IsMap() || !sensitive["name"] || !sensitive["groups"]) {
        return Bad(source, "sensitive: expected {name: COLUMN, groups: [...]}");
      }
      schema.sensitive = sensitive["name"].Scalar();
      FEDSILO_ASSIGN_OR_RETURN(schema.groups,
                               Strings(sensitive["groups"], source, "sensitive groups"));
    }
    if (const YAML::Node missing = root["missing"]) {
      if (missing["markers"]) {
        schema.missing_markers.clear();
        for (const YAML::Node& marker : missing["markers"]) {
          schema.missing_markers.push_back(marker.Scalar());
        }
      }
      const std::string policy = missing["policy"] ? missing["policy"].Scalar() : "drop";
      if (policy != "drop" && policy != "error") {
        return Bad(source, "missing: policy must be drop or error, got '" + policy + "'");
      }
      schema.drop_missing = policy == "drop";
    }
  } catch (const YAML::Exception& e) {
    return Bad(source, absl::StrCat("malformed value: ", e.msg));
  }
  return schema;
}

absl::StatusOr<DataSchema> LoadDataSchema(const std::string& path) {
  FEDSILO_ASSIGN_OR_RETURN(const std::string text, ReadWholeFile(path));
  return ParseDataSchema(text, path);
}

absl::StatusOr<SchemaMapping> ParseSchemaMapping(const std::vector<std::string>& rename,
                                                 const std::vector<std::string>& recode) {
  SchemaMapping mapping;
  for (const std::string& entry : rename) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
      return absl::InvalidArgumentError("data.rename: expected file_column=schema_column, got '" +
                                        entry + "'");
    }
    if (!mapping.columns.emplace(entry.substr(0, eq), entry.substr(eq + 1)).second) {
      return absl::InvalidArgumentError("data.rename: '" + entry.substr(0, eq) +
                                        "' is renamed twice");
    }
  }
  for (const std::string& entry : recode) {
    const size_t colon = entry.find(':');
    const size_t eq = entry.find('=', colon == std::string::npos ? 0 : colon);
    if (colon == std::string::npos || colon == 0 || eq == std::string::npos) {
      return absl::InvalidArgumentError(
          "data.recode: expected schema_column:file_value=schema_value, got '" + entry + "'");
    }
    auto& values = mapping.values[entry.substr(0, colon)];
    const std::string from = entry.substr(colon + 1, eq - colon - 1);
    if (!values.emplace(from, entry.substr(eq + 1)).second) {
      return absl::InvalidArgumentError("data.recode: '" + entry.substr(0, colon) + ":" + from +
                                        "' is recoded twice");
    }
  }
  return mapping;
}

absl::StatusOr<DataSchema> SchemaFromReference(const DataConfig& config) {
  const CsvSchema& csv = config.csv;
  if (config.dataset != "csv" || csv.train.empty() || csv.label.empty()) {
    return absl::InvalidArgumentError(
        "schema: the config must describe a csv file (data.dataset: csv, data.train, data.label)");
  }
  FEDSILO_ASSIGN_OR_RETURN(CsvOptions options, CsvOptionsForDelimiter(csv.delimiter));
  FEDSILO_ASSIGN_OR_RETURN(CsvRows rows, ReadCsvFile(csv.train, options));
  FEDSILO_ASSIGN_OR_RETURN(const Table table, TableFromCsv(std::move(rows), csv.train, csv.header));
  DataSchema schema;
  const auto contains = [](const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
  };
  auto distinct = [&](size_t c) {
    std::set<std::string> values;
    for (size_t r = 0; r < table.rows(); ++r) {
      if (!IsMissing(table.at(r, c))) values.insert(table.at(r, c));
    }
    return std::vector<std::string>(values.begin(), values.end());
  };
  std::optional<size_t> label_col;
  for (size_t c = 0; c < table.cols(); ++c) {
    const std::string& name = table.columns[c];
    if (name == csv.label) {
      label_col = c;
      continue;
    }
    if (name == config.sensitive) {  // a group column; a feature too unless dropped
      schema.sensitive = name;
      schema.groups = csv.groups.empty() ? distinct(c) : csv.groups;
    }
    if (contains(csv.drop, name)) continue;
    SchemaFeature feature;
    feature.name = name;
    if (contains(csv.categorical, name)) {
      feature.categorical = true;
      feature.levels = distinct(c);
      if (feature.levels.empty()) return Bad(csv.train, "column '" + name + "' has no values");
      if (feature.levels.size() > kMaxCategoricalLevels) {
        return Bad(csv.train, absl::StrCat("categorical column '", name, "' has ",
                                           feature.levels.size(), " distinct values, more than ",
                                           kMaxCategoricalLevels, " (one-hot encoding would add a "
                                           "feature for each); drop it (data.drop) or make it "
                                           "numeric"));
      }
    } else if (csv.standardize) {
      double sum = 0.0, sq = 0.0;
      size_t count = 0;
      for (size_t r = 0; r < table.rows(); ++r) {
        if (IsMissing(table.at(r, c))) continue;
        const std::optional<double> v = ParseNumber(table.at(r, c));
        if (!v) {
          return Bad(absl::StrCat(csv.train, ":", table.lines[r]),
                     "column '" + name + "': expected a number, got '" + table.at(r, c) +
                         "' (list it in data.categorical or data.drop)");
        }
        sum += *v;
        ++count;
      }
      if (count > 0) {
        feature.center = sum / static_cast<double>(count);
        for (size_t r = 0; r < table.rows(); ++r) {
          if (const std::optional<double> v = ParseNumber(table.at(r, c))) {
            sq += (*v - feature.center) * (*v - feature.center);
          }
        }
        const double sd = std::sqrt(sq / static_cast<double>(count));
        if (sd > 0.0 && std::isfinite(sd)) feature.scale = sd;
      }
    }
    schema.features.push_back(std::move(feature));
  }
  if (!label_col) return Bad(csv.train, "no column named '" + csv.label + "' (data.label)");
  schema.label = csv.label;
  if (!csv.classes.empty()) {
    schema.classes = csv.classes;
  } else {
    schema.classes = distinct(*label_col);
    if (!csv.positive.empty()) {
      if (schema.classes.size() != 2 || !contains(schema.classes, csv.positive)) {
        return Bad(csv.train, "data.positive '" + csv.positive + "' with label values " +
                                  absl::StrJoin(schema.classes, ", ") +
                                  ": a schema lists its classes (data.classes)");
      }
      if (schema.classes[0] == csv.positive) std::swap(schema.classes[0], schema.classes[1]);
    }
  }
  if (schema.classes.size() < 2) return Bad(csv.train, "the label has fewer than two values");
  if (schema.features.empty()) return Bad(csv.train, "no feature columns are left");
  return schema;
}

std::string DataSchemaToYaml(const DataSchema& schema) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "features" << YAML::Value << YAML::BeginSeq;
  for (const SchemaFeature& f : schema.features) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name;
    if (f.categorical) {
      out << YAML::Key << "type" << YAML::Value << "categorical" << YAML::Key << "levels"
          << YAML::Value << YAML::Flow << f.levels << YAML::Key << "unseen" << YAML::Value
          << (f.unseen.empty() ? std::string("error") : f.unseen);
    } else {
      char center[40], scale[40];
      std::snprintf(center, sizeof(center), "%.17g", f.center);
      std::snprintf(scale, sizeof(scale), "%.17g", f.scale);
      out << YAML::Key << "type" << YAML::Value << "numeric" << YAML::Key << "center"
          << YAML::Value << center << YAML::Key << "scale" << YAML::Value << scale;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "label" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "name"
      << YAML::Value << schema.label << YAML::Key << "classes" << YAML::Value << YAML::Flow
      << schema.classes << YAML::EndMap;
  if (!schema.sensitive.empty()) {
    out << YAML::Key << "sensitive" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
        << "name" << YAML::Value << schema.sensitive << YAML::Key << "groups" << YAML::Value
        << YAML::Flow << schema.groups << YAML::EndMap;
  }
  out << YAML::Key << "missing" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
      << "markers" << YAML::Value << YAML::Flow << schema.missing_markers << YAML::Key << "policy"
      << YAML::Value << (schema.drop_missing ? "drop" : "error") << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string DataSchemaDigest(const DataSchema& schema) {
  std::string text = "fedsilo-schema-v1\n";
  for (const SchemaFeature& f : schema.features) {
    absl::StrAppend(&text, f.categorical ? "C " : "N ", f.name.size(), ":", f.name, " ");
    if (f.categorical) {
      for (const std::string& level : f.levels) absl::StrAppend(&text, level.size(), ":", level, " ");
      absl::StrAppend(&text, "unseen ", f.unseen.size(), ":", f.unseen);
    } else {
      char numbers[64];
      std::snprintf(numbers, sizeof(numbers), "%a %a", f.center, f.scale);  // exact
      absl::StrAppend(&text, numbers);
    }
    text += "\n";
  }
  absl::StrAppend(&text, "L ", schema.label.size(), ":", schema.label);
  for (const std::string& c : schema.classes) absl::StrAppend(&text, " ", c.size(), ":", c);
  absl::StrAppend(&text, "\nS ", schema.sensitive.size(), ":", schema.sensitive);
  for (const std::string& g : schema.groups) absl::StrAppend(&text, " ", g.size(), ":", g);
  absl::StrAppend(&text, "\nM ", schema.drop_missing ? "drop" : "error");
  std::vector<std::string> markers = schema.missing_markers;  // a set: their order means nothing
  std::sort(markers.begin(), markers.end());
  for (const std::string& m : markers) absl::StrAppend(&text, " ", m.size(), ":", m);
  unsigned char hash[16];
  crypto_generichash(hash, sizeof(hash), reinterpret_cast<const unsigned char*>(text.data()),
                     text.size(), nullptr, 0);
  std::string hex;
  for (unsigned char byte : hash) absl::StrAppend(&hex, absl::Hex(byte, absl::kZeroPad2));
  return hex;
}

absl::StatusOr<Dataset> ReadWithSchema(const Table& table, const DataSchema& schema,
                                       const SchemaMapping& mapping, SchemaReadReport* report) {
  // Where each schema column sits in the file.
  std::map<std::string, size_t> at;
  for (size_t c = 0; c < table.cols(); ++c) {
    const std::string name = SchemaName(mapping, table.columns[c]);
    if (!at.emplace(name, c).second) {
      return Bad(table.source, "two columns stand for the schema's '" + name + "'");
    }
  }
  auto column_of = [&](const std::string& name) -> absl::StatusOr<size_t> {
    const auto it = at.find(name);
    if (it == at.end()) {
      return Bad(table.source, "no column for the schema's '" + name + "' (columns: " +
                                   absl::StrJoin(table.columns, ", ") + ")");
    }
    return it->second;
  };
  std::vector<size_t> feature_cols;
  for (const SchemaFeature& f : schema.features) {
    FEDSILO_ASSIGN_OR_RETURN(size_t c, column_of(f.name));
    feature_cols.push_back(c);
  }
  FEDSILO_ASSIGN_OR_RETURN(const size_t label_col, column_of(schema.label));
  std::optional<size_t> sensitive_col;
  if (!schema.sensitive.empty()) {
    FEDSILO_ASSIGN_OR_RETURN(sensitive_col, column_of(schema.sensitive));
  }
  auto is_missing = [&](const std::string& value) {
    return std::find(schema.missing_markers.begin(), schema.missing_markers.end(), value) !=
           schema.missing_markers.end();
  };
  auto where = [&](size_t r, const std::string& column) {
    return absl::StrCat(table.source, ":", table.lines[r], ": column '", column, "'");
  };

  Dataset data;
  size_t dim = 0;
  for (const SchemaFeature& f : schema.features) {
    if (f.categorical) {
      for (const std::string& level : f.levels) data.feature_names.push_back(f.name + "=" + level);
      dim += f.levels.size();
    } else {
      data.feature_names.push_back(f.name);
      dim += 1;
    }
  }
  data.class_names = schema.classes;
  data.num_classes = static_cast<int>(schema.classes.size());
  if (sensitive_col) {
    data.group_names = schema.groups;
    data.num_groups = static_cast<int>(schema.groups.size());
  }
  SchemaReadReport local;
  SchemaReadReport& out = report != nullptr ? *report : local;
  out = SchemaReadReport();
  out.rows_read = table.rows();
  std::vector<std::vector<double>> rows;
  for (size_t r = 0; r < table.rows(); ++r) {
    // A missing value anywhere in the row's schema columns: drop the row, or refuse.
    std::optional<std::string> missing_in;
    for (size_t i = 0; i < schema.features.size() && !missing_in; ++i) {
      if (is_missing(table.at(r, feature_cols[i]))) missing_in = schema.features[i].name;
    }
    if (!missing_in && is_missing(table.at(r, label_col))) missing_in = schema.label;
    if (!missing_in && sensitive_col && is_missing(table.at(r, *sensitive_col))) {
      missing_in = schema.sensitive;
    }
    if (missing_in) {
      if (!schema.drop_missing) return Bad(where(r, *missing_in), "a missing value");
      ++out.rows_dropped;
      ++out.missing_by_column[*missing_in];
      continue;
    }
    std::vector<double> x(dim, 0.0);
    size_t offset = 0;
    for (size_t i = 0; i < schema.features.size(); ++i) {
      const SchemaFeature& f = schema.features[i];
      const std::string& raw = table.at(r, feature_cols[i]);
      if (f.categorical) {
        const std::string& value = SchemaValue(mapping, f.name, raw);
        std::optional<int> level = IndexOf(f.levels, value);
        if (!level && !f.unseen.empty()) level = IndexOf(f.levels, f.unseen);
        if (!level) {
          return Bad(where(r, f.name), "'" + raw + "' is not one of its levels (" +
                                           absl::StrJoin(f.levels, ", ") + ")");
        }
        x[offset + static_cast<size_t>(*level)] = 1.0;
        offset += f.levels.size();
      } else {
        const std::optional<double> number = ParseNumber(raw);
        if (!number) return Bad(where(r, f.name), "expected a number, got '" + raw + "'");
        const double v = (*number - f.center) / f.scale;
        if (!std::isfinite(v)) return Bad(where(r, f.name), "'" + raw + "' overflows its scaling");
        x[offset++] = v;
      }
    }
    const std::string& label = SchemaValue(mapping, schema.label, table.at(r, label_col));
    const std::optional<int> y = IndexOf(schema.classes, label);
    if (!y) {
      return Bad(where(r, schema.label), "'" + table.at(r, label_col) +
                                             "' is not one of the classes (" +
                                             absl::StrJoin(schema.classes, ", ") + ")");
    }
    data.y.push_back(*y);
    if (sensitive_col) {
      const std::string& g = SchemaValue(mapping, schema.sensitive, table.at(r, *sensitive_col));
      const std::optional<int> group = IndexOf(schema.groups, g);
      if (!group) {
        return Bad(where(r, schema.sensitive), "'" + table.at(r, *sensitive_col) +
                                                   "' is not one of the groups (" +
                                                   absl::StrJoin(schema.groups, ", ") + ")");
      }
      data.group.push_back(*group);
    }
    rows.push_back(std::move(x));
  }
  data.x.resize(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(dim));
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t j = 0; j < dim; ++j) {
      data.x(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = rows[r][j];
    }
  }
  return data;
}

}  // namespace fedsilo
