#include "common/data/csv_loader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <span>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/rng.h"
#include "common/data/data_schema.h"
#include "common/data/csv_reader.h"

namespace fedsilo {

absl::StatusOr<CsvOptions> CsvOptionsForDelimiter(const std::string& delimiter) {
  CsvOptions options;
  if (delimiter == "\t" || delimiter == "\\t" || delimiter == "tab") {
    options.delimiter = '\t';
  } else if (delimiter == " " || delimiter == "space" || delimiter == "whitespace") {
    options.delimiter = ' ';
    options.merge_delimiters = true;
  } else if (delimiter.size() == 1 && delimiter != "\"" && delimiter != "\n" &&
             delimiter != "\r") {
    options.delimiter = delimiter[0];
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("data.csv.delimiter: expected one character, \"tab\" or \"space\", got '",
                     delimiter, "'"));
  }
  return options;
}

absl::StatusOr<TableSplit> HoldOutSplit(const Table& table, double test_fraction, uint64_t seed) {
  if (!(test_fraction > 0.0 && test_fraction < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(table.source, ": test_fraction must be in (0, 1), got ", test_fraction));
  }
  const size_t n = table.rows();
  if (n < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        table.source, ": ", n, " data rows; at least 2 are needed to hold out a test split"));
  }
  size_t n_test = static_cast<size_t>(std::llround(static_cast<double>(n) * test_fraction));
  n_test = std::clamp<size_t>(n_test, 1, n - 1);
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  Rng rng(seed);
  rng.Shuffle(std::span<size_t>(order));
  TableSplit split;
  split.test = SelectRows(table, std::span<const size_t>(order.data(), n_test));
  split.train = SelectRows(table, std::span<const size_t>(order.data() + n_test, n - n_test));
  return split;
}

absl::StatusOr<TrainTest> LoadCsvData(const DataConfig& config) {
  const CsvSchema& schema = config.csv;
  if (schema.train.empty()) {
    return absl::InvalidArgumentError("data.csv.train: a training file is required for "
                                      "dataset 'csv'");
  }
  if (schema.label.empty() && schema.schema.empty()) {
    return absl::InvalidArgumentError("data.csv.label: the label column is required for "
                                      "dataset 'csv'");
  }
  FEDSILO_ASSIGN_OR_RETURN(CsvOptions options, CsvOptionsForDelimiter(schema.delimiter));
  FEDSILO_ASSIGN_OR_RETURN(CsvRows train_rows, ReadCsvFile(schema.train, options));
  FEDSILO_ASSIGN_OR_RETURN(Table train_table,
                           TableFromCsv(std::move(train_rows), schema.train, schema.header));
  Table test_table;
  if (!schema.test.empty()) {
    FEDSILO_ASSIGN_OR_RETURN(CsvRows test_rows, ReadCsvFile(schema.test, options));
    std::vector<std::string> names;
    if (!schema.header) names = train_table.columns;
    FEDSILO_ASSIGN_OR_RETURN(test_table, TableFromCsv(std::move(test_rows), schema.test,
                                                      schema.header, std::move(names)));
  } else if (schema.test_fraction == 0.0) {
    const std::vector<size_t> none;
    test_table = SelectRows(train_table, none);  // every record trains; no test split
  } else {
    FEDSILO_ASSIGN_OR_RETURN(
        TableSplit split,
        HoldOutSplit(train_table, schema.test_fraction, DeriveSeed(config.seed, "test-split")));
    train_table = std::move(split.train);
    test_table = std::move(split.test);
  }
  if (!schema.schema.empty()) {
    FEDSILO_ASSIGN_OR_RETURN(const DataSchema data_schema, LoadDataSchema(schema.schema));
    FEDSILO_ASSIGN_OR_RETURN(const SchemaMapping mapping,
                             ParseSchemaMapping(schema.rename, schema.recode));
    TrainTest data;
    FEDSILO_ASSIGN_OR_RETURN(data.train, ReadWithSchema(train_table, data_schema, mapping));
    FEDSILO_ASSIGN_OR_RETURN(data.test, ReadWithSchema(test_table, data_schema, mapping));
    if (data.train.size() == 0) {
      return absl::InvalidArgumentError(schema.train + ": no training rows left");
    }
    data.name = std::filesystem::path(schema.train).filename().string();
    return data;
  }
  TabularSpec spec;
  spec.label = schema.label;
  spec.positive = schema.positive;
  spec.categorical = schema.categorical;
  spec.drop = schema.drop;
  spec.missing = config.missing;
  spec.standardize = schema.standardize;
  spec.classes = schema.classes;
  spec.groups = schema.groups;
  FEDSILO_ASSIGN_OR_RETURN(spec.sensitive, ParseSensitiveRule(config.sensitive));
  FEDSILO_ASSIGN_OR_RETURN(TrainTest data, TabularToDatasets(train_table, test_table, spec));
  data.name = std::filesystem::path(schema.train).filename().string();
  return data;
}

}  // namespace fedsilo
