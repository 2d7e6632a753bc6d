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

// A secure-sum share. FromProto refuses (InvalidArgument naming `what`) bits outside [1, 62], a
// value at or above 2^bits, a length other than expected_size, silos < 0, a scale or range that
// is not positive and finite.
void ToProto(const SumShare& share, v1::SumShare* out);
absl::StatusOr<SumShare> FromProto(const v1::SumShare& share, int64_t expected_size,
                                   const std::string& what);

// Whether HOST:PORT names this machine: a literal address in 127.0.0.0/8, ::1 (also [::1]:PORT),
// or localhost. Plaintext is allowed only there. Other host names (127.0.0.1.example.org) and gRPC
// target URIs (ipv4:..., dns:///...) are not loopback.
bool IsLoopbackAddress(const std::string& host_port);

}  // namespace fedsilo::wire
