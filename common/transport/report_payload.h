// ReportPayload: what a silo's report carries in the shuffle model, and its byte encoding.
//
// A report is the round it answers, the aggregation weight and the privatized update vector, or
// (secure-sum algorithms) the round and one additive share of a silo's sum. The encoding is fixed
// and platform-independent, little-endian throughout:
//   "FSR1", round int32, weight double, count uint64, count values (doubles);
//   "FSS1", round int32, bits int32, shares int32, scale double, range double, count uint64,
//           count values (uint64, each below 2^bits).
// ParseReportPayload accepts exactly what SerializeReportPayload writes and answers anything else
// (wrong magic, truncated, trailing bytes, a share value at or above 2^bits, bits outside
// [1, 62]) with InvalidArgument saying what is wrong; it never reads past the buffer. Pure
// functions, thread-safe.
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
  std::optional<SumShare> share = std::nullopt;  // set: a share payload (weight, values unused)
};

std::vector<uint8_t> SerializeReportPayload(const ReportPayload& payload);
absl::StatusOr<ReportPayload> ParseReportPayload(std::span<const uint8_t> bytes);

}  // namespace fedsilo
