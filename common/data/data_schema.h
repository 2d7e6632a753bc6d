// DataSchema: one description of a tabular dataset that every silo's own file is read by, so that
// silos whose raw files differ in column order or in how they spell a category still produce the
// same features, classes and groups (issue 13). Unlike the `csv` loader's statistics learned per
// file (tabular.h), everything here is fixed in the schema: the feature columns in model order,
// each numeric column's public centre and scale, each categorical column's full list of levels
// (one-hot in that order) and what an unseen level does, the label's classes, the sensitive
// column's groups and the missing-value markers. A SchemaMapping is one silo's own spelling:
// its file's column names and category values mapped onto the schema's.
//
// Format (YAML):
//   features:
//     - {name: age, type: numeric, center: 38.6, scale: 13.6}   # (x - center) / scale
//     - {name: hours, type: numeric}                           # used as read
//     - {name: sex, type: categorical, levels: [Female, Male], unseen: error}
//     - {name: job, type: categorical, levels: [a, b, other], unseen: other}
//   label: {name: income, classes: ["<=50K", ">50K"]}
//   sensitive: {name: sex, groups: [Female, Male]}              # optional
//   missing: {markers: ["?", ""], policy: drop}                 # drop | error
//
// A `csv` config reads its files by a schema when data.schema names one (csv_loader.h), with the
// mapping from data.rename and data.recode. A categorical column has at most kMaxCategoricalLevels
// levels (tabular.h; each is a one-hot feature): a schema listing more, or a reference file with
// more distinct values, is refused before any feature exists. Pure functions; thread-safe.
// Errors (InvalidArgument) name the source, and for data the file, line, column and value.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/data/data_config.h"
#include "common/data/dataset.h"
#include "common/data/tabular.h"

namespace fedsilo {

struct SchemaFeature {
  std::string name;
  bool categorical = false;
  double center = 0.0;               // numeric: (x - center) / scale
  double scale = 1.0;
  std::vector<std::string> levels;   // categorical: one-hot order
  std::string unseen;                // categorical: "" = an unseen level is an error; else the
                                     // listed level it counts as
};

struct DataSchema {
  std::vector<SchemaFeature> features;
  std::string label;
  std::vector<std::string> classes;
  std::string sensitive;             // "" = none
  std::vector<std::string> groups;
  std::vector<std::string> missing_markers = {"", "?"};
  bool drop_missing = true;          // false: a missing value is an error
};

// One silo's spelling of the schema: its file's column names and category values.
struct SchemaMapping {
  std::map<std::string, std::string> columns;  // file column -> schema column
  std::map<std::string, std::map<std::string, std::string>> values;  // schema column ->
                                                                     // {file value -> schema value}
};

// What reading a file did (fedsilo check-data prints it).
struct SchemaReadReport {
  size_t rows_read = 0;
  size_t rows_dropped = 0;
  std::map<std::string, size_t> missing_by_column;  // rows dropped for each schema column
};

absl::StatusOr<DataSchema> ParseDataSchema(std::string_view yaml_text, const std::string& source);
// Reads and parses a schema file (NotFound naming it when absent).
absl::StatusOr<DataSchema> LoadDataSchema(const std::string& path);

// A mapping from the config's lists: rename "file_column=schema_column", recode
// "schema_column:file_value=schema_value". InvalidArgument naming a malformed entry.
absl::StatusOr<SchemaMapping> ParseSchemaMapping(const std::vector<std::string>& rename,
                                                 const std::vector<std::string>& recode);

// A first schema from a `csv` data config and its reference file (data.train, e.g. a public
// sample), for a researcher to edit: every column but the label and data.drop is a feature in file
// order; data.categorical columns list their sorted distinct values (unseen: error); numeric
// columns get the reference's mean and standard deviation as centre and scale when
// data.standardize, else none; the label's classes are data.classes, or its sorted distinct
// values ([other, positive] with data.positive); a sensitive column lists data.groups or its
// sorted distinct values. InvalidArgument when the file does not fit the config.
absl::StatusOr<DataSchema> SchemaFromReference(const DataConfig& config);
// The schema as YAML that ParseDataSchema reads back to the same schema (and digest).
std::string DataSchemaToYaml(const DataSchema& schema);

// A digest of everything that decides the features (hex, 16 bytes of BLAKE2b over a canonical
// text): two schemas with the same digest read every file alike.
std::string DataSchemaDigest(const DataSchema& schema);

// Reads `table` (one silo's file) by the schema: columns by name (any order; unknown columns are
// ignored), values through `mapping`, features in schema order. Rows with a missing value are
// dropped (counted in *report) or refused, as the schema says.
absl::StatusOr<Dataset> ReadWithSchema(const Table& table, const DataSchema& schema,
                                       const SchemaMapping& mapping,
                                       SchemaReadReport* report = nullptr);

}  // namespace fedsilo
