#include "common/metrics/csv_table.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <fstream>

namespace fedsilo {

CsvTable::CsvTable(std::FILE* file, std::string path, size_t columns)
    : file_(file), path_(std::move(path)), columns_(columns) {}

CsvTable::CsvTable(CsvTable&& other) noexcept
    : file_(other.file_), path_(std::move(other.path_)), columns_(other.columns_) {
  other.file_ = nullptr;
}

CsvTable::~CsvTable() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::StatusOr<CsvTable> CsvTable::Create(const std::string& path,
                                          std::vector<std::string> header) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return absl::PermissionDeniedError("cannot write " + path + ": " + std::strerror(errno));
  }
  CsvTable table(file, path, header.size());
  std::vector<Cell> cells(header.begin(), header.end());
  FEDSILO_RETURN_IF_ERROR(table.AddRow(cells));
  return table;
}

absl::StatusOr<CsvTable> CsvTable::Continue(const std::string& path,
                                            std::vector<std::string> header,
                                            long long keep_through) {
  std::ifstream in(path);
  if (!in) return absl::FailedPreconditionError("cannot continue " + path + ": it does not exist");
  std::string expected;
  for (size_t i = 0; i < header.size(); ++i) expected += (i > 0 ? "," : "") + header[i];
  std::string line;
  std::getline(in, line);
  if (line != expected) {
    return absl::FailedPreconditionError("cannot continue " + path +
                                         ": its header differs from this run's");
  }
  std::string kept = line + "\n";
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    char* end = nullptr;
    const long long first = std::strtoll(line.c_str(), &end, 10);
    if (end == line.c_str() || first > keep_through) break;
    kept += line + "\n";
  }
  in.close();
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return absl::PermissionDeniedError("cannot write " + path + ": " + std::strerror(errno));
  }
  if (std::fputs(kept.c_str(), file) < 0 || std::fflush(file) != 0) {
    std::fclose(file);
    return absl::DataLossError("cannot write " + path + ": " + std::strerror(errno));
  }
  return CsvTable(file, path, header.size());
}

std::string CsvTable::FormatNumber(double value) {
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (std::isnan(value)) return "nan";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.10g", value);
  return buffer;
}

absl::Status CsvTable::AddRow(const std::vector<Cell>& cells) {
  if (cells.size() != columns_) {
    return absl::InternalError("CSV row with " + std::to_string(cells.size()) + " cells for " +
                               std::to_string(columns_) + " columns in " + path_);
  }
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += ',';
    if (const auto* d = std::get_if<double>(&cells[i])) {
      line += FormatNumber(*d);
    } else if (const auto* n = std::get_if<long long>(&cells[i])) {
      line += std::to_string(*n);
    } else {
      line += std::get<std::string>(cells[i]);
    }
  }
  line += '\n';
  if (std::fputs(line.c_str(), file_) < 0 || std::fflush(file_) != 0) {
    return absl::DataLossError("cannot write " + path_ + ": " + std::strerror(errno));
  }
  return absl::OkStatus();
}

}  // namespace fedsilo
