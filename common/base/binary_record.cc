#include "common/base/binary_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace fedsilo {

uint64_t Fnv1a64(const void* data, size_t size, uint64_t hash) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

void BinaryRecordWriter::PutString(const std::string& text) {
  Put<uint64_t>(text.size());
  bytes_ += text;
}

void BinaryRecordWriter::PutVector(const Vector& values) {
  Put<uint64_t>(static_cast<uint64_t>(values.size()));
  bytes_.append(reinterpret_cast<const char*>(values.data()),
                sizeof(double) * static_cast<size_t>(values.size()));
}

std::string BinaryRecordWriter::Finish() const {
  std::string record = bytes_;
  const uint64_t checksum = Fnv1a64(bytes_.data(), bytes_.size());
  record.append(reinterpret_cast<const char*>(&checksum), sizeof(checksum));
  return record;
}

absl::StatusOr<BinaryRecordReader> BinaryRecordReader::Open(std::string bytes,
                                                            const std::string& magic,
                                                            const std::string& what) {
  if (bytes.size() < magic.size() + sizeof(uint64_t) || bytes.compare(0, magic.size(), magic) != 0) {
    return absl::DataLossError(what + " is corrupt: not a " + magic + " file");
  }
  const size_t end = bytes.size() - sizeof(uint64_t);
  uint64_t checksum = 0;
  std::memcpy(&checksum, bytes.data() + end, sizeof(checksum));
  if (checksum != Fnv1a64(bytes.data(), end)) {
    return absl::DataLossError(what + " is corrupt: checksum mismatch (torn or edited file)");
  }
  return BinaryRecordReader(std::move(bytes), magic.size(), end, what);
}

absl::Status BinaryRecordReader::GetString(std::string* text) {
  uint64_t size = 0;
  FEDSILO_RETURN_IF_ERROR(Get(&size));
  if (end_ - offset_ < size) return Truncated();
  text->assign(bytes_, offset_, size);
  offset_ += size;
  return absl::OkStatus();
}

absl::Status BinaryRecordReader::GetVector(Vector* values) {
  uint64_t size = 0;
  FEDSILO_RETURN_IF_ERROR(Get(&size));
  if ((end_ - offset_) / sizeof(double) < size) return Truncated();
  values->resize(static_cast<Eigen::Index>(size));
  // An empty Vector's data() is null, and memcpy's pointers must not be, even for 0 bytes.
  if (size > 0) std::memcpy(values->data(), bytes_.data() + offset_, sizeof(double) * size);
  offset_ += sizeof(double) * size;
  return absl::OkStatus();
}

absl::Status BinaryRecordReader::ExpectEnd() const {
  if (offset_ != end_) return absl::DataLossError(what_ + " is corrupt: trailing bytes");
  return absl::OkStatus();
}

absl::Status BinaryRecordReader::Truncated() const {
  return absl::DataLossError(what_ + " is corrupt: a field runs past the end");
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const std::string reason = std::strerror(errno);
    if (errno == ENOENT) return absl::NotFoundError("no file " + path);
    return absl::PermissionDeniedError("cannot open " + path + ": " + reason);
  }
  std::string bytes;
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string reason = std::strerror(errno);
      ::close(fd);
      return absl::DataLossError("cannot read " + path + ": " + reason);
    }
    bytes.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return bytes;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::PermissionDeniedError("cannot write " + tmp + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string reason = std::strerror(errno);
      ::close(fd);
      return absl::DataLossError("cannot write " + tmp + ": " + reason);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    return absl::DataLossError("cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::DataLossError("cannot replace " + path + ": " + std::strerror(errno));
  }
  // The rename is durable only once the directory entry is: fsync the directory too.
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    const std::string reason = std::strerror(errno);
    if (dir_fd >= 0) ::close(dir_fd);
    return absl::DataLossError("cannot sync the directory of " + path + ": " + reason);
  }
  ::close(dir_fd);
  return absl::OkStatus();
}

}  // namespace fedsilo
