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

// A peer's secure-sum share: round trip, and every malformed field refused with the message's
// name, never read past (a hostile silo or shuffler controls all of it).
TEST(WireTest, SumShareRoundTripsAndAHostileOneIsRefused) {
  const SumShare share{10, 2, 4.5, 100.0, 0, {0, 1023, 7}};
  v1::SumShare proto;
  wire::ToProto(share, &proto);
  const absl::StatusOr<SumShare> back = wire::FromProto(proto, 3, "the update");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->bits, 10);
  EXPECT_EQ(back->shares, 2);
  EXPECT_EQ(back->scale, 4.5);
  EXPECT_EQ(back->range, 100.0);
  EXPECT_EQ(back->silos, 0);
  EXPECT_EQ(back->values, share.values);
  const auto refused = [](v1::SumShare bad, const char* why) {
    const absl::StatusOr<SumShare> out = wire::FromProto(bad, 3, "the update");
    EXPECT_TRUE(absl::IsInvalidArgument(out.status())) << why;
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("the update")) << why;
  };
  v1::SumShare big = proto;
  big.set_values(1, 1024);  // not below 2^10
  refused(big, "a value at 2^bits");
  v1::SumShare short_one = proto;
  short_one.mutable_values()->RemoveLast();
  refused(short_one, "two values for three parameters");
  for (int bits : {0, 63, -5}) {
    v1::SumShare wrong_bits = proto;
    wrong_bits.set_bits(bits);
    refused(wrong_bits, "bits outside [1, 62]");
  }
  v1::SumShare negative = proto;
  negative.set_silos(-1);
  refused(negative, "a negative silo count");
  for (double scale : {0.0, -1.0, std::numeric_limits<double>::infinity(),
                       std::numeric_limits<double>::quiet_NaN()}) {
    v1::SumShare bad_scale = proto;
    bad_scale.set_scale(scale);
    refused(bad_scale, "a scale that is not positive and finite");
    v1::SumShare bad_range = proto;
    bad_range.set_range(scale);
    refused(bad_range, "a range that is not positive and finite");
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
