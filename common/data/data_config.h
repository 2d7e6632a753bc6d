// DataConfig: what to load and how to preprocess it (the `data` section of an experiment file).
// Plain values; parsed and validated by runtime/config_parser, consumed by data/loader_registry.
#pragma once

#include <string>
#include <vector>

namespace fedsilo {

enum class MissingPolicy { kDrop, kImpute };  // rows with '?'/empty: drop them, or impute
                                              // (numeric: train mean, categorical: own category)

// Schema of a user's CSV file(s) (`data.dataset: csv`).
struct CsvSchema {
  std::string train;              // path (the config parser resolves relative paths against
                                  // the experiment file's directory)
  std::string test;               // optional; when empty, test_fraction of train is held out
  double test_fraction = 0.2;     // 0: no test split (every record trains)
  std::string label;              // label column name (or 0-based index when header is false)
  std::string positive;           // if set, label == positive -> class 1, else class 0
  std::vector<std::string> categorical;  // columns to one-hot encode
  std::vector<std::string> drop;         // columns to ignore
  bool header = true;
  std::string delimiter = ",";
  bool standardize = true;        // false: numeric columns are used as read (already preprocessed)
  std::vector<std::string> classes;  // non-empty: the label values in class order (fixes the
                                     // class ids even when a file lacks some classes)
  std::vector<std::string> groups;   // non-empty: the sensitive column's values in group order
  // A shared data schema (common/data/data_schema.h): when set, the file is read by it (columns by
  // name, fixed levels, public scaling) and label, categorical, drop, standardize, classes and
  // groups above are not used; rename and recode are this file's own spelling of the schema:
  // "file_column=schema_column" and "schema_column:file_value=schema_value".
  std::string schema;
  std::vector<std::string> rename;
  std::vector<std::string> recode;
};

struct DataConfig {
  std::string dataset = "mnist";  // preset name, "csv", or a name registered by a user
  std::string dir;                // resolved data directory (see ResolveDataDir)
  CsvSchema csv;
  std::string sensitive;          // sensitive attribute: a CSV column, or a preset's option
                                  // (adult: sex|race|sex_race, compas: race|sex, german: sex|age)
  std::string label_map;          // "" or "parity" (class c -> c % 2; keeps the original in fine_label)
  int pca = 0;                    // > 0: project features on this many principal components
  MissingPolicy missing = MissingPolicy::kDrop;
  int max_train = 0;              // > 0: keep only the first max_train training records (quick runs)
  // > 0: each silo holds out this fraction of its training records as validation records
  // (seeded, never trained on); the run reports the pooled validation loss and accuracy.
  double validation = 0.0;
  unsigned long long seed = 0;    // for the held-out split (copied from the experiment seed)
};

}  // namespace fedsilo
