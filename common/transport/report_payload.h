// ReportPayload: what a silo's report carries in the shuffle model, and its byte encoding.
//
// A report is the round it answers, the aggregation weight and the privatized update vector. The
// encoding is fixed and platform-independent, little-endian throughout:
//   "FSR1", round int32, weight double, count uint64, count values (doubles).
// ParseReportPayload accepts exactly what SerializeReportPayload writes and answers anything else
// (wrong magic, truncated, trailing bytes) with InvalidArgument saying what is wrong; it never
// reads past the buffer. What the coordinator opens from a secure-sum session token is a payload
// too, with `share` set (sealed_report.h); it is never serialized. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <optional>

#include "common/algorithms/messages.h"
#include "common/base/eigen_types.h"
#include "common/base/status.h"

namespace fedsilo {

struct ReportPayload {
  int round = 0;
  double weight = 1.0;
  Vector values;
  // Set: a secure sum's coordinator share, derived from a session token (weight, values unused).
  std::optional<SumShare> share = std::nullopt;
};

std::vector<uint8_t> SerializeReportPayload(const ReportPayload& payload);
absl::StatusOr<ReportPayload> ParseReportPayload(std::span<const uint8_t> bytes);

}  // namespace fedsilo
