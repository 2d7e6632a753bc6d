// CsvTable: writes a CSV file with a fixed header, one row at a time, flushed after each row so a
// run that is stopped keeps every finished row. Numbers are printed with 10 significant digits
// ("inf" for infinity), so identical values give identical bytes. Not thread-safe.
#pragma once

#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

class CsvTable {
 public:
  using Cell = std::variant<double, long long, std::string>;

  static absl::StatusOr<CsvTable> Create(const std::string& path, std::vector<std::string> header);
  // Continues an existing table written with the same header: keeps the rows whose first cell
  // (an integer, e.g. the round) is at most `keep_through` and appends after them. A missing
  // file, or one with another header, is FailedPrecondition.
  static absl::StatusOr<CsvTable> Continue(const std::string& path, std::vector<std::string> header,
                                           long long keep_through);
  CsvTable(CsvTable&& other) noexcept;
  CsvTable& operator=(CsvTable&&) = delete;
  ~CsvTable();

  absl::Status AddRow(const std::vector<Cell>& cells);

  static std::string FormatNumber(double value);

 private:
  CsvTable(std::FILE* file, std::string path, size_t columns);
  std::FILE* file_;
  std::string path_;
  size_t columns_;
};

}  // namespace fedsilo
