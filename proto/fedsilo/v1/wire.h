// Conversions between the wire types of fedsilo.proto and the domain structs of
// common/algorithms/messages.h, shared by the coordinator (server/) and the silo (silo/) edges.
// Decoding validates what a peer could get wrong or forge: sizes, finite values.
#pragma once

#include <cstdint>
#include <string>

#include "common/algorithms/messages.h"
#include "common/base/eigen_types.h"
#include "common/base/status.h"
#include "fedsilo/v1/fedsilo.pb.h"

namespace fedsilo::wire {

inline constexpr uint32_t kProtocolVersion = 1;

void ToProto(const Vector& values, v1::DenseVector* out);
// InvalidArgument naming `what` when the size differs from `expected_size` (>= 0) or a value is
// not finite.
absl::StatusOr<Vector> FromProto(const v1::DenseVector& values, int64_t expected_size,
                                 const std::string& what);

void ToProto(const SiloPrivacyReport& report, v1::PrivacyReport* out);
SiloPrivacyReport FromProto(const v1::PrivacyReport& report);

// Whether HOST:PORT names this machine (127.0.0.0/8, ::1, localhost): plaintext is allowed only
// there.
bool IsLoopbackAddress(const std::string& host_port);

}  // namespace fedsilo::wire
