// proto/fedsilo/v1/wire: the decoding checks every peer message goes through, and the loopback
// test that decides where plaintext is allowed.
#include <limits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fedsilo/v1/wire.h"

namespace fedsilo {
namespace {

using ::testing::HasSubstr;

v1::DenseVector Dense(std::initializer_list<double> values) {
  v1::DenseVector out;
  out.mutable_values()->Add(values.begin(), values.end());
  return out;
}

TEST(WireTest, DenseVectorRoundTripsAndIsChecked) {
  Vector v(3);
  v << 1.5, -2.0, 1e-300;
  v1::DenseVector dense;
  wire::ToProto(v, &dense);
  const absl::StatusOr<Vector> back = wire::FromProto(dense, 3, "x");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, v);
  EXPECT_TRUE(wire::FromProto(dense, -1, "x").ok());  // any size

  const absl::Status size = wire::FromProto(dense, 4, "the update").status();
  EXPECT_TRUE(absl::IsInvalidArgument(size));
  EXPECT_EQ(size.message(), "the update has 3 values, expected 4");
  for (const double bad : {std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()}) {
    const absl::Status status = wire::FromProto(Dense({0.0, bad}), 2, "the update").status();
    EXPECT_TRUE(absl::IsInvalidArgument(status));
    EXPECT_EQ(status.message(), "the update has a non-finite value at index 1");
  }
}

TEST(WireTest, LoopbackAddresses) {
  for (const char* address : {"127.0.0.1:50051", "127.0.0.1:0", "127.1.2.3:80", "localhost:50051",
                              "[::1]:50051", "::1", "127.0.0.1", "localhost",
                              "[0:0:0:0:0:0:0:1]:1"}) {
    EXPECT_TRUE(wire::IsLoopbackAddress(address)) << address;
  }
}

TEST(WireTest, EverythingElseIsNotLoopback) {
  for (const char* address :
       {"0.0.0.0:50051", "10.0.0.1:50051", "192.168.1.5:1", "[::]:50051", ":50051", "",
        "coordinator:50051", "example.org:443", "[2001:db8::1]:50051",
        // Host names that merely start like a loopback address resolve wherever their DNS says.
        "127.0.0.1.example.org:50051", "127.evil.example:50051", "localhost.example.org:50051",
        "127.0.0.1:50051,10.0.0.1:50051",
        // gRPC target URIs are not parsed: refused rather than guessed.
        "ipv4:127.0.0.1:50051", "dns:///127.0.0.1:50051", "unix:/tmp/socket"}) {
    EXPECT_FALSE(wire::IsLoopbackAddress(address)) << address;
  }
}

}  // namespace
}  // namespace fedsilo
