// CSV tokenizer: text -> rows of string fields, nothing more (no types, no header semantics).
//
// Handles "\n" and "\r\n" line ends, blank (or whitespace-only) lines, a trailing empty line, a
// configurable one-character delimiter, spaces around fields (trimmed, so UCI's ", " separators
// work), and RFC 4180 quoted fields ("a, b", "say ""hi""", newlines inside quotes). For
// whitespace-separated files set merge_delimiters so runs of the delimiter count as one.
// Called by the tabular loaders (csv_loader, presets) and usable on its own.
// Pure functions; thread-safe. Errors are values: NotFound for a file that cannot be opened,
// InvalidArgument "<file>:<line>: <problem>" (1-based physical line) for malformed text such as
// an unterminated quote.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

struct CsvOptions {
  char delimiter = ',';
  bool merge_delimiters = false;  // runs of the delimiter separate two fields (use with ' ')
  int skip_lines = 0;             // physical lines to skip at the top (e.g. adult.test's line 1)
};

// All rows of one file. Fields are stored row after row in one vector (one allocation per long
// field at most); `row(r)` views the fields of row r.
struct CsvRows {
  std::vector<std::string> fields;
  std::vector<size_t> row_begin = {0};  // row r is fields[row_begin[r], row_begin[r + 1])
  std::vector<int> line;                // 1-based line on which row r starts

  size_t num_rows() const { return line.size(); }
  std::span<const std::string> row(size_t r) const {
    return std::span<const std::string>(fields.data() + row_begin[r],
                                         row_begin[r + 1] - row_begin[r]);
  }
};

// Tokenizes `text`; `source` names it in error messages (usually the file path).
absl::StatusOr<CsvRows> ParseCsv(std::string_view text, const std::string& source,
                                 const CsvOptions& options = {});

// Reads the whole file at `path` and tokenizes it.
absl::StatusOr<CsvRows> ReadCsvFile(const std::string& path, const CsvOptions& options = {});

// Reads a whole file into a string (NotFound if it cannot be opened).
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace fedsilo
