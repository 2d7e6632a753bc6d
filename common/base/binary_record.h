// Binary record: a small self-checking file format for state that must survive a crash
// (coordinator checkpoints, silo journals). A record is a magic string, little-endian fields in
// the order they were put, and a 64-bit FNV-1a checksum of everything before it.
// BinaryRecordReader checks the magic and the checksum up front and every read against the end,
// so a torn, truncated or edited file is reported (DataLoss naming the file), never half-read.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "common/base/eigen_types.h"
#include "common/base/status.h"

namespace fedsilo {

uint64_t Fnv1a64(const void* data, size_t size, uint64_t hash = 1469598103934665603ull);

class BinaryRecordWriter {
 public:
  explicit BinaryRecordWriter(const std::string& magic) : bytes_(magic) {}
  template <typename T>
  void Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(value));
  }
  void PutString(const std::string& text);  // size, then bytes
  void PutVector(const Vector& values);     // size, then doubles
  // The finished record (checksum appended).
  std::string Finish() const;

 private:
  std::string bytes_;
};

class BinaryRecordReader {
 public:
  // DataLoss when the magic or the checksum is wrong.
  static absl::StatusOr<BinaryRecordReader> Open(std::string bytes, const std::string& magic,
                                                 const std::string& what);
  template <typename T>
  absl::Status Get(T* value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (end_ - offset_ < sizeof(T)) return Truncated();
    std::memcpy(value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return absl::OkStatus();
  }
  absl::Status GetString(std::string* text);
  absl::Status GetVector(Vector* values);
  // DataLoss unless every byte was read.
  absl::Status ExpectEnd() const;

 private:
  BinaryRecordReader(std::string bytes, size_t offset, size_t end, std::string what)
      : bytes_(std::move(bytes)), offset_(offset), end_(end), what_(std::move(what)) {}
  absl::Status Truncated() const;
  std::string bytes_;
  size_t offset_;
  size_t end_;        // where the checksum starts
  std::string what_;  // "checkpoint runs/x/checkpoint.bin", for messages
};

// Reads a whole file: NotFound naming it only when it does not exist; any other failure to open
// or read it (a directory, no permission, an I/O error) is another error naming the path and the
// reason, so a caller never mistakes an unreadable file for an absent one.
absl::StatusOr<std::string> ReadWholeFile(const std::string& path);
// Atomically replaces `path` with `bytes` (temporary file in the same directory, fsync, rename,
// fsync of the directory).
absl::Status WriteFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace fedsilo
