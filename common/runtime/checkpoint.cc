#include "common/runtime/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace fedsilo {
namespace {

constexpr char kMagic[] = "FEDSILOCKPT1";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;

uint64_t Fnv1a(const std::string& bytes) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

template <typename T>
void Put(std::string* out, T value) {
  out->append(reinterpret_cast<const char*>(&value), sizeof(value));
}

class Reader {
 public:
  Reader(const std::string& bytes, size_t offset) : bytes_(bytes), offset_(offset) {}
  template <typename T>
  bool Get(T* value) {
    if (bytes_.size() - offset_ < sizeof(T)) return false;
    std::memcpy(value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  bool GetBytes(size_t size, void* out) {
    if (bytes_.size() - offset_ < size) return false;
    std::memcpy(out, bytes_.data() + offset_, size);
    offset_ += size;
    return true;
  }
  size_t offset() const { return offset_; }

 private:
  const std::string& bytes_;
  size_t offset_;
};

}  // namespace

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
  return absl::OkStatus();
}

absl::Status WriteCheckpoint(const std::string& path, const Checkpoint& checkpoint) {
  std::string bytes(kMagic, kMagicSize);
  Put<int32_t>(&bytes, checkpoint.round);
  Put<int32_t>(&bytes, checkpoint.skipped_rounds);
  Put<uint64_t>(&bytes, checkpoint.eligible.size());
  for (int silo : checkpoint.eligible) Put<int32_t>(&bytes, silo);
  Put<uint64_t>(&bytes, static_cast<uint64_t>(checkpoint.global.size()));
  bytes.append(reinterpret_cast<const char*>(checkpoint.global.data()),
               sizeof(double) * static_cast<size_t>(checkpoint.global.size()));
  Put<uint64_t>(&bytes, checkpoint.config_yaml.size());
  bytes += checkpoint.config_yaml;
  Put<uint64_t>(&bytes, Fnv1a(bytes));
  return WriteFileAtomically(path, bytes);
}

absl::StatusOr<Checkpoint> ReadCheckpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("no checkpoint at " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();
  const auto corrupt = [&](const std::string& what) {
    return absl::DataLossError("checkpoint " + path + " is corrupt: " + what);
  };
  if (bytes.size() < kMagicSize + sizeof(uint64_t) || bytes.compare(0, kMagicSize, kMagic) != 0) {
    return corrupt("not a fedsilo checkpoint");
  }
  const std::string body = bytes.substr(0, bytes.size() - sizeof(uint64_t));
  uint64_t checksum = 0;
  std::memcpy(&checksum, bytes.data() + body.size(), sizeof(checksum));
  if (checksum != Fnv1a(body)) return corrupt("checksum mismatch");
  Reader reader(body, kMagicSize);
  Checkpoint checkpoint;
  int32_t round = 0, skipped = 0;
  uint64_t count = 0;
  if (!reader.Get(&round) || !reader.Get(&skipped) || !reader.Get(&count) ||
      count > body.size() / sizeof(int32_t)) {
    return corrupt("bad header");
  }
  checkpoint.round = round;
  checkpoint.skipped_rounds = skipped;
  for (uint64_t i = 0; i < count; ++i) {
    int32_t silo = 0;
    if (!reader.Get(&silo)) return corrupt("truncated silo list");
    checkpoint.eligible.push_back(silo);
  }
  uint64_t size = 0;
  if (!reader.Get(&size) || size > body.size() / sizeof(double)) return corrupt("bad vector size");
  checkpoint.global.resize(static_cast<Eigen::Index>(size));
  if (!reader.GetBytes(sizeof(double) * size, checkpoint.global.data())) {
    return corrupt("truncated parameters");
  }
  uint64_t text = 0;
  if (!reader.Get(&text) || text != body.size() - reader.offset()) return corrupt("bad config");
  checkpoint.config_yaml = body.substr(reader.offset());
  return checkpoint;
}

}  // namespace fedsilo
