// The `csv` data loader: a user's CSV file(s) described by a CsvSchema (data.csv.*), turned into
// train/test Datasets by tabular.h (one-hot, standardization, missing values, sensitive group).
//
// The test split is data.csv.test when given, else a held-out fraction of the train file chosen
// with Rng(DeriveSeed(config.seed, "test-split")), or none when test_fraction is 0. Without a header, columns are named by their
// 0-based index ("0", "1", ...), so `label: "4"` means the fifth field. config.sensitive is a
// column ("sex"), or a threshold rule ("age>25", "income>median"); see ParseSensitiveRule.
// Paths are used as given (the config parser already resolved relative ones).
// Called through the loader registry (LoadData) and by the presets for HoldOutSplit.
// Pure functions; thread-safe. Errors: NotFound for a missing file, InvalidArgument naming the
// file, line and column for malformed content or a bad schema.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "common/data/data_config.h"
#include "common/data/dataset.h"
#include "common/data/tabular.h"

namespace fedsilo {

absl::StatusOr<TrainTest> LoadCsvData(const DataConfig& config);

struct TableSplit {
  Table train;
  Table test;
};

// Holds out round(n * test_fraction) rows (at least 1, at most n - 1) as the test split, chosen
// by a seeded Fisher-Yates shuffle. Both splits keep the shuffled order (so "the first k training
// rows" is a random subset). InvalidArgument if test_fraction is not in (0, 1) or n < 2.
absl::StatusOr<TableSplit> HoldOutSplit(const Table& table, double test_fraction, uint64_t seed);

// "," ";" "|" or any single character; "\t" / "tab"; " " / "space" / "whitespace" (runs of
// spaces or tabs separate fields).
absl::StatusOr<CsvOptions> CsvOptionsForDelimiter(const std::string& delimiter);

}  // namespace fedsilo
