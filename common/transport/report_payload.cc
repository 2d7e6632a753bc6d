#include "common/transport/report_payload.h"

#include <bit>
#include <cstring>
#include <string>

namespace fedsilo {
namespace {

constexpr uint8_t kMagic[4] = {'F', 'S', 'R', '1'};
constexpr size_t kHeaderBytes = 4 + 4 + 8 + 8;

// Writes `v` little-endian at out[*at .. *at + 8) and advances *at.
void PutU64(uint64_t v, std::vector<uint8_t>* out, size_t* at) {
  for (int i = 0; i < 8; ++i) (*out)[(*at)++] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

std::vector<uint8_t> SerializeReportPayload(const ReportPayload& payload) {
  // Sized once and written by index (no growing inserts).
  std::vector<uint8_t> out(kHeaderBytes + 8 * static_cast<size_t>(payload.values.size()));
  size_t at = 0;
  for (uint8_t byte : kMagic) out[at++] = byte;
  const uint32_t round = static_cast<uint32_t>(payload.round);
  for (int i = 0; i < 4; ++i) out[at++] = static_cast<uint8_t>(round >> (8 * i));
  PutU64(std::bit_cast<uint64_t>(payload.weight), &out, &at);
  PutU64(static_cast<uint64_t>(payload.values.size()), &out, &at);
  for (Eigen::Index i = 0; i < payload.values.size(); ++i) {
    PutU64(std::bit_cast<uint64_t>(payload.values[i]), &out, &at);
  }
  return out;
}

absl::StatusOr<ReportPayload> ParseReportPayload(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderBytes) {
    return absl::InvalidArgumentError("report payload of " + std::to_string(bytes.size()) +
                                      " bytes is shorter than its " +
                                      std::to_string(kHeaderBytes) + "-byte header");
  }
  if (std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return absl::InvalidArgumentError("report payload does not start with FSR1");
  }
  ReportPayload payload;
  uint32_t round = 0;
  for (int i = 0; i < 4; ++i) round |= static_cast<uint32_t>(bytes[4 + i]) << (8 * i);
  payload.round = static_cast<int>(round);
  payload.weight = std::bit_cast<double>(GetU64(bytes.data() + 8));
  const uint64_t count = GetU64(bytes.data() + 16);
  const size_t body = bytes.size() - kHeaderBytes;
  if (body % 8 != 0 || count != body / 8) {
    return absl::InvalidArgumentError("report payload declares " + std::to_string(count) +
                                      " values but carries " + std::to_string(body) +
                                      " bytes after its header");
  }
  payload.values.resize(static_cast<Eigen::Index>(count));
  for (uint64_t i = 0; i < count; ++i) {
    payload.values[static_cast<Eigen::Index>(i)] =
        std::bit_cast<double>(GetU64(bytes.data() + kHeaderBytes + 8 * i));
  }
  return payload;
}

}  // namespace fedsilo
