#include "common/data/tabular.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

#include "common/base/huge_pages.h"

namespace fedsilo {
namespace {

constexpr char kMissingCategory[] = "missing";
constexpr int kMaxCategoricalGroups = 64;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::string ColumnList(const Table& table) { return absl::StrJoin(table.columns, ", "); }

absl::Status NotANumber(const Table& table, size_t row, size_t col) {
  return absl::InvalidArgumentError(absl::StrCat(table.source, ":", table.lines[row], ": column '",
                                                 table.columns[col],
                                                 "': expected a number, got '",
                                                 table.at(row, col), "'"));
}

// Median of a non-empty vector (average of the two middle values for an even count).
double Median(std::vector<double> values) {
  const size_t n = values.size();
  std::nth_element(values.begin(), values.begin() + n / 2, values.end());
  const double upper = values[n / 2];
  if (n % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + n / 2);
  return 0.5 * (lower + upper);
}

// Sorted distinct values; numeric order when every value is a number.
std::vector<std::string> SortedValues(const std::set<std::string>& values) {
  std::vector<std::string> out(values.begin(), values.end());
  std::vector<std::pair<double, std::string>> numeric;
  for (const std::string& v : out) {
    std::optional<double> d = ParseNumber(v);
    if (!d) return out;  // std::set order is lexicographic
    numeric.emplace_back(*d, v);
  }
  std::sort(numeric.begin(), numeric.end());
  for (size_t i = 0; i < out.size(); ++i) out[i] = numeric[i].second;
  return out;
}

// Where each column goes.
struct Plan {
  int label = -1;
  int sensitive = -1;
  std::vector<int> features;     // numeric and categorical columns, in table order
  std::vector<bool> categorical;  // per table column
};

absl::StatusOr<Plan> MakePlan(const Table& train, const Table& test, const TabularSpec& spec) {
  if (train.columns != test.columns) {
    return absl::InvalidArgumentError(absl::StrCat(
        test.source, ": the test columns (", ColumnList(test), ") differ from the train columns (",
        ColumnList(train), ") of ", train.source));
  }
  if (!spec.classes.empty() && !spec.positive.empty()) {
    return absl::InvalidArgumentError(
        "data.classes and data.positive exclude each other: classes lists every label value, "
        "positive makes the task binary");
  }
  if (!spec.classes.empty() && spec.classes.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("data.classes: needs at least two classes, got ",
                                                   spec.classes.size()));
  }
  if (!spec.groups.empty() && spec.sensitive.kind != SensitiveRule::Kind::kCategorical) {
    return absl::InvalidArgumentError(
        "data.groups: needs a categorical sensitive column (data.sensitive: COLUMN); a threshold "
        "rule always gives two groups");
  }
  if (spec.groups.size() > static_cast<size_t>(kMaxCategoricalGroups)) {
    return absl::InvalidArgumentError(absl::StrCat("data.groups: at most ", kMaxCategoricalGroups,
                                                   " groups, got ", spec.groups.size()));
  }
  for (const auto* list : {&spec.classes, &spec.groups}) {
    std::set<std::string> seen;
    for (const std::string& value : *list) {
      if (!seen.insert(value).second) {
        return absl::InvalidArgumentError(absl::StrCat(list == &spec.classes ? "data.classes"
                                                                             : "data.groups",
                                                       ": '", value, "' is listed twice"));
      }
    }
  }
  Plan plan;
  plan.label = train.ColumnIndex(spec.label);
  if (spec.label.empty() || plan.label < 0) {
    return absl::InvalidArgumentError(absl::StrCat(train.source, ": label column '", spec.label,
                                                   "' not found; columns are: ",
                                                   ColumnList(train)));
  }
  for (const auto* list : {&spec.categorical, &spec.drop}) {
    for (const std::string& name : *list) {
      if (train.ColumnIndex(name) < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(train.source, ": column '", name, "' (listed in ",
                         list == &spec.drop ? "drop" : "categorical",
                         ") not found; columns are: ", ColumnList(train)));
      }
    }
  }
  if (spec.sensitive.kind != SensitiveRule::Kind::kNone) {
    plan.sensitive = train.ColumnIndex(spec.sensitive.column);
    if (plan.sensitive < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(train.source, ": sensitive column '", spec.sensitive.column,
                       "' not found; columns are: ", ColumnList(train)));
    }
    if (plan.sensitive == plan.label) {
      return absl::InvalidArgumentError(absl::StrCat(
          train.source, ": column '", spec.label, "' cannot be both the label and sensitive"));
    }
  }
  plan.categorical.assign(train.cols(), false);
  for (size_t c = 0; c < train.cols(); ++c) {
    const std::string& name = train.columns[c];
    if (static_cast<int>(c) == plan.label || Contains(spec.drop, name)) continue;
    plan.categorical[c] = Contains(spec.categorical, name);
    plan.features.push_back(static_cast<int>(c));
  }
  return plan;
}

// Rows that survive the missing-value policy.
std::vector<size_t> KeptRows(const Table& table, const Plan& plan, MissingPolicy missing) {
  std::vector<size_t> kept;
  kept.reserve(table.rows());
  for (size_t r = 0; r < table.rows(); ++r) {
    if (IsMissing(table.at(r, plan.label))) continue;
    bool ok = true;
    if (missing == MissingPolicy::kDrop) {
      for (int c : plan.features) ok = ok && !IsMissing(table.at(r, c));
      if (plan.sensitive >= 0) ok = ok && !IsMissing(table.at(r, plan.sensitive));
    }
    if (ok) kept.push_back(r);
  }
  return kept;
}

// Numeric values of column `col` at rows `kept` (NaN where missing).
absl::StatusOr<std::vector<double>> NumericColumn(const Table& table, const std::vector<size_t>& kept,
                                                  size_t col) {
  std::vector<double> out(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) {
    const std::string& cell = table.at(kept[i], col);
    if (IsMissing(cell)) {
      out[i] = kNaN;
      continue;
    }
    std::optional<double> v = ParseNumber(cell);
    if (!v) return NotANumber(table, kept[i], col);
    out[i] = *v;
  }
  return out;
}

struct MeanStd {
  double mean = 0.0;
  double scale = 1.0;  // std, or 1 for a constant column
};

MeanStd TrainMeanStd(const std::vector<double>& values) {
  double sum = 0.0;
  size_t count = 0;
  for (double v : values) {
    if (!std::isnan(v)) {
      sum += v;
      ++count;
    }
  }
  MeanStd out;
  if (count == 0) return out;
  out.mean = sum / static_cast<double>(count);
  double sq = 0.0;
  for (double v : values) {
    if (!std::isnan(v)) sq += (v - out.mean) * (v - out.mean);
  }
  const double sd = std::sqrt(sq / static_cast<double>(count));
  if (sd > 1e-12 * std::max(1.0, std::fabs(out.mean))) out.scale = sd;
  return out;
}

struct Split {
  const Table* table;
  std::vector<size_t> kept;
  Dataset* out;
};

absl::Status BuildFeatures(const Plan& plan, bool standardize, std::vector<Split>& splits) {
  const Table& train_table = *splits[0].table;
  // Per feature column: its one-hot categories or its numeric values and statistics.
  struct Column {
    size_t col;
    size_t offset;
    bool categorical;
    std::map<std::string, int, std::less<>> categories;
    MeanStd stats;
    std::vector<std::vector<double>> values;  // per split (numeric only)
  };
  std::vector<Column> columns;
  std::vector<std::string> names;
  size_t dim = 0;
  for (int c : plan.features) {
    Column column;
    column.col = static_cast<size_t>(c);
    column.offset = dim;
    column.categorical = plan.categorical[column.col];
    const std::string& name = train_table.columns[column.col];
    if (column.categorical) {
      std::set<std::string> seen;
      for (size_t r : splits[0].kept) {
        const std::string& cell = train_table.at(r, column.col);
        seen.insert(IsMissing(cell) ? std::string(kMissingCategory) : cell);
        if (seen.size() > kMaxCategoricalLevels) {  // before a one-hot block of that width exists
          return absl::InvalidArgumentError(absl::StrCat(
              train_table.source, ": categorical column '", name, "' has more than ",
              kMaxCategoricalLevels, " distinct values (one-hot encoding would add a feature for "
              "each); is it an identifier or a number? drop it (data.drop) or make it numeric"));
        }
      }
      int index = 0;
      for (const std::string& value : seen) {
        column.categories.emplace(value, index++);
        names.push_back(absl::StrCat(name, "=", value));
      }
      dim += seen.size();
    } else {
      for (const Split& split : splits) {
        FEDSILO_ASSIGN_OR_RETURN(std::vector<double> values,
                                 NumericColumn(*split.table, split.kept, column.col));
        column.values.push_back(std::move(values));
      }
      column.stats = TrainMeanStd(column.values[0]);
      if (standardize && !(std::isfinite(column.stats.mean) && std::isfinite(column.stats.scale))) {
        return absl::InvalidArgumentError(absl::StrCat(
            train_table.source, ": column '", name, "': its values are too large to standardize "
            "(their mean or standard deviation overflows a double); rescale the column, or drop it "
            "(data.drop)"));
      }
      names.push_back(name);
      dim += 1;
    }
    columns.push_back(std::move(column));
  }
  for (size_t s = 0; s < splits.size(); ++s) {
    const Split& split = splits[s];
    Dataset& ds = *split.out;
    const size_t n = split.kept.size();
    ds.x.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(dim));
    AdviseHugePages(ds.x.data(), static_cast<size_t>(ds.x.size()) * sizeof(double));
    ds.x.setZero();
    ds.feature_names = names;
    for (const Column& column : columns) {
      if (column.categorical) {
        for (size_t i = 0; i < n; ++i) {
          const std::string& cell = split.table->at(split.kept[i], column.col);
          auto it = IsMissing(cell) ? column.categories.find(std::string_view(kMissingCategory))
                                    : column.categories.find(cell);
          if (it != column.categories.end()) {
            ds.x(static_cast<Eigen::Index>(i),
                 static_cast<Eigen::Index>(column.offset + it->second)) = 1.0;
          }
        }
      } else {
        const std::vector<double>& values = column.values[s];
        for (size_t i = 0; i < n; ++i) {
          const double v = std::isnan(values[i]) ? column.stats.mean : values[i];
          ds.x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(column.offset)) =
              standardize ? (v - column.stats.mean) / column.stats.scale : v;
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status BuildLabels(const Plan& plan, const TabularSpec& spec, std::vector<Split>& splits) {
  const size_t col = static_cast<size_t>(plan.label);
  const Table& train_table = *splits[0].table;
  const std::string& label_name = train_table.columns[col];
  std::set<std::string> values;
  for (const Split& split : splits) {
    for (size_t r : split.kept) values.insert(split.table->at(r, col));
  }
  std::vector<std::string> class_names;
  std::map<std::string, int, std::less<>> class_of;
  if (!spec.classes.empty()) {
    class_names = spec.classes;
    for (size_t k = 0; k < class_names.size(); ++k) {
      class_of.emplace(class_names[k], static_cast<int>(k));
    }
    for (const Split& split : splits) {
      for (size_t r : split.kept) {
        if (class_of.count(split.table->at(r, col)) == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              split.table->source, ":", split.table->lines[r], ": column '", label_name,
              "': label '", split.table->at(r, col), "' is not one of data.classes (",
              absl::StrJoin(class_names, ", "), ")"));
        }
      }
    }
  } else if (!spec.positive.empty()) {
    bool in_train = false;
    for (size_t r : splits[0].kept) in_train = in_train || train_table.at(r, col) == spec.positive;
    if (!in_train) {
      return absl::InvalidArgumentError(absl::StrCat(
          train_table.source, ": column '", label_name, "': the positive label '", spec.positive,
          "' does not occur in the training data; values are: ", absl::StrJoin(values, ", ")));
    }
    values.erase(spec.positive);
    class_names = {values.size() == 1 ? *values.begin() : "not " + spec.positive, spec.positive};
  } else {
    class_names = SortedValues(values);
    if (class_names.size() < 2) {
      return absl::InvalidArgumentError(absl::StrCat(train_table.source, ": label column '",
                                                     label_name, "' has fewer than two classes"));
    }
    for (size_t k = 0; k < class_names.size(); ++k) {
      class_of.emplace(class_names[k], static_cast<int>(k));
    }
  }
  for (Split& split : splits) {
    Dataset& ds = *split.out;
    ds.num_classes = static_cast<int>(class_names.size());
    ds.class_names = class_names;
    ds.y.resize(split.kept.size());
    for (size_t i = 0; i < split.kept.size(); ++i) {
      const std::string& cell = split.table->at(split.kept[i], col);
      ds.y[i] = spec.positive.empty() ? class_of.find(cell)->second
                                      : static_cast<int>(cell == spec.positive);
    }
  }
  return absl::OkStatus();
}

absl::Status BuildGroups(const Plan& plan, const TabularSpec& spec, std::vector<Split>& splits) {
  if (plan.sensitive < 0) return absl::OkStatus();
  const size_t col = static_cast<size_t>(plan.sensitive);
  const Table& train_table = *splits[0].table;
  const std::string& name = train_table.columns[col];
  std::vector<std::string> group_names;
  std::vector<std::vector<int>> groups(splits.size());
  if (spec.sensitive.kind == SensitiveRule::Kind::kCategorical && !spec.groups.empty()) {
    group_names = spec.groups;
    for (size_t s = 0; s < splits.size(); ++s) {
      for (size_t r : splits[s].kept) {
        const std::string& cell = splits[s].table->at(r, col);
        const std::string value = IsMissing(cell) ? std::string(kMissingCategory) : cell;
        const auto it = std::find(group_names.begin(), group_names.end(), value);
        if (it == group_names.end()) {
          return absl::InvalidArgumentError(absl::StrCat(
              splits[s].table->source, ":", splits[s].table->lines[r], ": sensitive column '",
              name, "': value '", value, "' is not one of data.groups (",
              absl::StrJoin(group_names, ", "), ")"));
        }
        groups[s].push_back(static_cast<int>(it - group_names.begin()));
      }
    }
  } else if (spec.sensitive.kind == SensitiveRule::Kind::kCategorical) {
    std::set<std::string> values;
    for (const Split& split : splits) {
      for (size_t r : split.kept) {
        const std::string& cell = split.table->at(r, col);
        values.insert(IsMissing(cell) ? std::string(kMissingCategory) : cell);
      }
    }
    if (values.size() > static_cast<size_t>(kMaxCategoricalGroups)) {
      return absl::InvalidArgumentError(absl::StrCat(
          train_table.source, ": sensitive column '", name, "' has ", values.size(),
          " distinct values; a numeric attribute needs a rule such as '", name, ">median' or '",
          name, ">VALUE'"));
    }
    group_names.assign(values.begin(), values.end());
    for (size_t s = 0; s < splits.size(); ++s) {
      for (size_t r : splits[s].kept) {
        const std::string& cell = splits[s].table->at(r, col);
        const std::string value = IsMissing(cell) ? std::string(kMissingCategory) : cell;
        groups[s].push_back(static_cast<int>(
            std::lower_bound(group_names.begin(), group_names.end(), value) -
            group_names.begin()));
      }
    }
  } else {
    std::vector<std::vector<double>> values;
    for (const Split& split : splits) {
      FEDSILO_ASSIGN_OR_RETURN(std::vector<double> v, NumericColumn(*split.table, split.kept, col));
      values.push_back(std::move(v));
    }
    std::vector<double> present;
    for (double v : values[0]) {
      if (!std::isnan(v)) present.push_back(v);
    }
    if (present.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          train_table.source, ": sensitive column '", name, "' has no values in the training data"));
    }
    const double threshold = spec.sensitive.kind == SensitiveRule::Kind::kAboveTrainMedian
                                 ? Median(present)
                                 : spec.sensitive.threshold;
    double mean = 0.0;
    for (double v : present) mean += v;
    mean /= static_cast<double>(present.size());
    group_names = {absl::StrCat(name, "<=", threshold), absl::StrCat(name, ">", threshold)};
    for (size_t s = 0; s < splits.size(); ++s) {
      for (double v : values[s]) groups[s].push_back((std::isnan(v) ? mean : v) > threshold ? 1 : 0);
    }
  }
  for (size_t s = 0; s < splits.size(); ++s) {
    Dataset& ds = *splits[s].out;
    ds.group = std::move(groups[s]);
    ds.group_names = group_names;
    ds.num_groups = static_cast<int>(group_names.size());
  }
  return absl::OkStatus();
}

}  // namespace

int Table::ColumnIndex(std::string_view name) const {
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] == name) return static_cast<int>(c);
  }
  return -1;
}

absl::StatusOr<Table> TableFromCsv(CsvRows rows, const std::string& source, bool header,
                                   std::vector<std::string> names) {
  Table table;
  table.source = source;
  size_t first = 0;
  if (header) {
    if (rows.num_rows() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(source, ": empty file (no header row)"));
    }
    std::map<std::string, int> seen;
    for (const std::string& name : rows.row(0)) {
      int& count = seen[name];
      table.columns.push_back(count == 0 ? name : absl::StrCat(name, ".", count));
      ++count;
    }
    first = 1;
  } else if (!names.empty()) {
    table.columns = std::move(names);
  } else if (rows.num_rows() > 0) {
    for (size_t c = 0; c < rows.row(0).size(); ++c) table.columns.push_back(absl::StrCat(c));
  }
  const size_t width = table.columns.size();
  table.cells.reserve((rows.num_rows() - first) * width);
  table.lines.reserve(rows.num_rows() - first);
  for (size_t r = first; r < rows.num_rows(); ++r) {
    const size_t begin = rows.row_begin[r], end = rows.row_begin[r + 1];
    if (end - begin != width) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", rows.line[r], ": expected ",
                                                     width, " fields, got ", end - begin));
    }
    for (size_t i = begin; i < end; ++i) table.cells.push_back(std::move(rows.fields[i]));
    table.lines.push_back(rows.line[r]);
  }
  return table;
}

Table SelectRows(const Table& table, std::span<const size_t> keep) {
  Table out;
  out.source = table.source;
  out.columns = table.columns;
  out.cells.reserve(keep.size() * table.cols());
  out.lines.reserve(keep.size());
  for (size_t r : keep) {
    for (size_t c = 0; c < table.cols(); ++c) out.cells.push_back(table.at(r, c));
    out.lines.push_back(table.lines[r]);
  }
  return out;
}

absl::Status AddColumn(Table* table, const std::string& name, std::vector<std::string> values) {
  if (values.size() != table->rows()) {
    return absl::InvalidArgumentError(absl::StrCat("AddColumn '", name, "': ", values.size(),
                                                   " values for ", table->rows(), " rows"));
  }
  const size_t width = table->cols();
  std::vector<std::string> cells;
  cells.reserve(table->cells.size() + values.size());
  for (size_t r = 0; r < table->rows(); ++r) {
    for (size_t c = 0; c < width; ++c) cells.push_back(std::move(table->cells[r * width + c]));
    cells.push_back(std::move(values[r]));
  }
  table->cells = std::move(cells);
  table->columns.push_back(name);
  return absl::OkStatus();
}

bool IsMissing(std::string_view value) { return value.empty() || value == "?"; }

std::optional<double> ParseNumber(std::string_view value) {
  bool plus = false;
  if (!value.empty() && value.front() == '+') {
    value.remove_prefix(1);
    plus = true;
  }
  if (value.empty() || (plus && value.front() == '-')) return std::nullopt;
  double out = 0.0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || ptr != value.data() + value.size() || !std::isfinite(out)) {
    return std::nullopt;
  }
  return out;
}

absl::StatusOr<SensitiveRule> ParseSensitiveRule(std::string_view text) {
  SensitiveRule rule;
  if (text.empty() || text == "none") return rule;
  const size_t gt = text.find('>');
  if (gt == std::string_view::npos) {
    rule.kind = SensitiveRule::Kind::kCategorical;
    rule.column = std::string(text);
    return rule;
  }
  rule.column = std::string(text.substr(0, gt));
  const std::string_view rest = text.substr(gt + 1);
  if (rule.column.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("sensitive: missing column name in '", std::string(text),
                                                   "'; expected 'column', 'column>VALUE' or "
                                                   "'column>median'"));
  }
  if (rest == "median") {
    rule.kind = SensitiveRule::Kind::kAboveTrainMedian;
    return rule;
  }
  std::optional<double> threshold = ParseNumber(rest);
  if (!threshold) {
    return absl::InvalidArgumentError(absl::StrCat("sensitive: expected a number or 'median' after "
                                                   "'>' in '", std::string(text), "'"));
  }
  rule.kind = SensitiveRule::Kind::kAbove;
  rule.threshold = *threshold;
  return rule;
}

absl::StatusOr<TrainTest> TabularToDatasets(const Table& train, const Table& test,
                                            const TabularSpec& spec) {
  FEDSILO_ASSIGN_OR_RETURN(Plan plan, MakePlan(train, test, spec));
  TrainTest result;
  std::vector<Split> splits = {{&train, KeptRows(train, plan, spec.missing), &result.train},
                               {&test, KeptRows(test, plan, spec.missing), &result.test}};
  for (const Split& split : splits) {
    // An empty test table is an empty test split; a test table whose rows were all dropped is
    // still an error (it is almost certainly not what the user meant).
    const bool empty_test = split.out == &result.test && split.table->rows() == 0;
    if (split.kept.empty() && !empty_test) {
      return absl::InvalidArgumentError(absl::StrCat(
          split.table->source, ": no ", split.out == &result.train ? "training" : "test",
          " rows left (", split.table->rows(), " rows read; rows with a missing label",
          spec.missing == MissingPolicy::kDrop ? " or feature are dropped)" : " are dropped)"));
    }
  }
  FEDSILO_RETURN_IF_ERROR(BuildFeatures(plan, spec.standardize, splits));
  FEDSILO_RETURN_IF_ERROR(BuildLabels(plan, spec, splits));
  FEDSILO_RETURN_IF_ERROR(BuildGroups(plan, spec, splits));
  return result;
}

}  // namespace fedsilo
