// Tabular preprocessing: a table of string cells (Table) and its conversion, driven by a
// TabularSpec, into train/test Datasets.
//
// TabularToDatasets learns every statistic on the TRAIN table only and applies it to both:
//  * label: binary when `positive` is set (value == positive -> class 1), else multiclass with
//    the sorted distinct values of both splits (numeric order when all are numbers), or, when
//    `classes` is given, class k = classes[k] (a value not listed is an error naming the row);
//  * categorical columns: one-hot over the sorted categories seen in train (feature names
//    "column=value"); a test category unseen in train encodes as all zeros; more than
//    kMaxCategoricalLevels categories is an error naming the column, raised before any one-hot
//    block is allocated;
//  * every other column that is not dropped is numeric, standardized with the train mean and
//    population std (a constant column is only centered), or used as read when `standardize`
//    is false (missing numeric values are then imputed with the train mean, unstandardized); a
//    column whose mean or deviation overflows (values near 1e308) is an error naming it;
//  * missing values ('?' or empty): kDrop drops the row; kImpute uses the train mean (numeric)
//    or a category named "missing" (categorical). Rows with a missing label are always dropped;
//  * sensitive attribute (optional) -> Dataset::group: a categorical column (groups = sorted
//    distinct values of both splits), or a threshold on a numeric column ("col>0.5", or
//    "col>median" for the train median), groups {"col<=t", "col>t"}. With `groups` given (a
//    categorical column only), group g = groups[g]. The sensitive column stays a feature unless
//    it is listed in `drop`;
//  * fixed `classes` and `groups` let files that each hold part of a dataset (one silo's share,
//    possibly missing some classes or groups) agree on ids with every other part;
//  * a test table with no rows gives an empty test split (a silo may hold no test records); a
//    train table must keep at least one row.
// Called by csv_loader and presets. Pure functions; thread-safe.
// Errors (InvalidArgument) name the file, the 1-based line and the column, e.g.
//   "adult.data:17: column 'age': expected a number, got 'abc'".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/data/csv_reader.h"
#include "common/data/data_config.h"
#include "common/data/dataset.h"

namespace fedsilo {

// Most distinct values a categorical column may have (each becomes a one-hot feature).
inline constexpr size_t kMaxCategoricalLevels = 1000;

// A rectangular table of string cells read from one file.
struct Table {
  std::string source;                // the file it came from (for messages)
  std::vector<std::string> columns;  // column names
  std::vector<std::string> cells;    // row-major: rows() x columns.size()
  std::vector<int> lines;            // 1-based source line of each row

  size_t rows() const { return lines.size(); }
  size_t cols() const { return columns.size(); }
  const std::string& at(size_t r, size_t c) const { return cells[r * columns.size() + c]; }
  std::string& at(size_t r, size_t c) { return cells[r * columns.size() + c]; }
  // Index of the first column named `name`, or -1.
  int ColumnIndex(std::string_view name) const;
};

// Builds a Table from tokenized rows. With `header`, the first row names the columns (a repeated
// name gets a suffix: the second "x" becomes "x.1", as pandas does). Without it, the columns are
// `names` if given, else "0", "1", ... Every row must have as many fields as there are columns.
absl::StatusOr<Table> TableFromCsv(CsvRows rows, const std::string& source, bool header,
                                   std::vector<std::string> names = {});

// The rows `keep` of `table`, in that order.
Table SelectRows(const Table& table, std::span<const size_t> keep);

// Appends a column (values.size() must equal table->rows()).
absl::Status AddColumn(Table* table, const std::string& name, std::vector<std::string> values);

// '?' or empty.
bool IsMissing(std::string_view value);
// A finite number ("1", "-2.5e3", "+4"), or nullopt.
std::optional<double> ParseNumber(std::string_view value);

struct SensitiveRule {
  enum class Kind { kNone, kCategorical, kAbove, kAboveTrainMedian };
  Kind kind = Kind::kNone;
  std::string column;
  double threshold = 0.0;  // kAbove
};

// "" or "none" -> no attribute; "col" -> categorical; "col>0.5" / "col>median" -> threshold.
absl::StatusOr<SensitiveRule> ParseSensitiveRule(std::string_view text);

struct TabularSpec {
  std::string label;
  std::string positive;                  // empty: multiclass
  std::vector<std::string> categorical;
  std::vector<std::string> drop;
  SensitiveRule sensitive;
  MissingPolicy missing = MissingPolicy::kDrop;
  bool standardize = true;               // false: numeric columns are used as read
  std::vector<std::string> classes;      // non-empty: the label values, in class order
  std::vector<std::string> groups;       // non-empty: the sensitive values, in group order
};

// Converts train and test tables (same columns) into Datasets; statistics from train only.
absl::StatusOr<TrainTest> TabularToDatasets(const Table& train, const Table& test,
                                            const TabularSpec& spec);

}  // namespace fedsilo
