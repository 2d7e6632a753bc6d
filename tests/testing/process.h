// Test helpers that run the real fedsilo binary in a child process and read its run directory.
// Header-only; used by the CLI and integration tests.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace fedsilo::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs COMMAND with /bin/sh from the source directory; stdout and stderr together.
inline ProcessResult RunShell(const std::string& command) {
  ProcessResult result;
  FILE* pipe = popen(("cd '" FEDSILO_SOURCE_DIR "' && " + command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t read;
  while ((read = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), read);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs `fedsilo ARGS` (ARGS is passed to /bin/sh as is) from the source directory.
inline ProcessResult RunFedsilo(const std::string& args) {
  std::string command = "'";
  command.append(FEDSILO_BINARY_PATH).append("' ").append(args);
  return RunShell(command);
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The rows of one of fedsilo's own CSV tables (no quoting), split at commas; the header row goes
// to *header when given, not to the result.
inline std::vector<std::vector<std::string>> ReadCsvRows(const std::filesystem::path& path,
                                                         std::string* header = nullptr) {
  std::stringstream lines(ReadFile(path));
  std::string line;
  std::getline(lines, line);
  if (header != nullptr) *header = line;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(lines, line)) {
    std::vector<std::string>& cells = rows.emplace_back();
    std::stringstream cell_stream(line);
    for (std::string cell; std::getline(cell_stream, cell, ',');) cells.push_back(cell);
  }
  return rows;
}

inline void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// A fresh, empty temporary directory for one test.
inline std::filesystem::path FreshTempDir(const std::string& name) {
  // The process id keeps two test runs on one machine (two checkouts) out of each other's way.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("fedsilo_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string SharedDataDir() { return std::string(FEDSILO_SOURCE_DIR) + "/../shared/data"; }

}  // namespace fedsilo::testing
