// ReportPayload: what a silo's report carries in the shuffle model, and its byte encoding.
//
// A report is the round it answers, the aggregation weight and the privatized update vector. The
// encoding is fixed and platform-independent: the 4 bytes "FSR1", the round as a little-endian
// int32, the weight and the value count (little-endian IEEE double, uint64), then the values as
// little-endian doubles. ParseReportPayload accepts exactly what SerializeReportPayload writes and
// answers anything else (wrong magic, truncated, trailing bytes) with InvalidArgument saying what
// is wrong; it never reads past the buffer. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/status.h"

namespace fedsilo {

struct ReportPayload {
  int round = 0;
  double weight = 1.0;
  Vector values;
};

std::vector<uint8_t> SerializeReportPayload(const ReportPayload& payload);
absl::StatusOr<ReportPayload> ParseReportPayload(std::span<const uint8_t> bytes);

}  // namespace fedsilo
