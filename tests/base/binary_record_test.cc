// BinaryRecordWriter / BinaryRecordReader (common/base/binary_record.h): fields read back as they
// were put, an empty vector included (found by fuzzing: its read passed a null pointer to
// memcpy, undefined behaviour that UBSan reports), and damage is DataLoss.
#include "common/base/binary_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace fedsilo {
namespace {

TEST(BinaryRecordTest, AnEmptyVectorReadsBackEmptyAndTheNextFieldIsIntact) {
  BinaryRecordWriter writer("TESTREC1");
  writer.PutVector(Vector());
  writer.Put<int32_t>(7);
  Vector three(3);
  three << 1.5, -2.0, 0.25;
  writer.PutVector(three);
  const std::string bytes = writer.Finish();
  // magic 8 + size 8 + int 4 + size 8 + 3 doubles 24 + checksum 8
  ASSERT_EQ(bytes.size(), 60u);

  absl::StatusOr<BinaryRecordReader> reader = BinaryRecordReader::Open(bytes, "TESTREC1", "test");
  ASSERT_TRUE(reader.ok()) << reader.status();
  Vector empty(2);  // a reader must shrink what it is given
  ASSERT_TRUE(reader->GetVector(&empty).ok());
  EXPECT_EQ(empty.size(), 0);
  int32_t seven = 0;
  ASSERT_TRUE(reader->Get(&seven).ok());
  EXPECT_EQ(seven, 7);
  Vector back;
  ASSERT_TRUE(reader->GetVector(&back).ok());
  ASSERT_EQ(back.size(), 3);
  EXPECT_EQ(back[0], 1.5);
  EXPECT_EQ(back[1], -2.0);
  EXPECT_EQ(back[2], 0.25);
  EXPECT_TRUE(reader->ExpectEnd().ok());
}

TEST(BinaryRecordTest, AVectorLongerThanTheRecordIsDataLoss) {
  BinaryRecordWriter writer("TESTREC1");
  writer.Put<uint64_t>(uint64_t{1} << 61);  // a size field claiming 2^61 doubles, none follow
  absl::StatusOr<BinaryRecordReader> reader =
      BinaryRecordReader::Open(writer.Finish(), "TESTREC1", "record t");
  ASSERT_TRUE(reader.ok()) << reader.status();
  Vector values;
  const absl::Status status = reader->GetVector(&values);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("record t is corrupt: a field runs past the end"));
}

}  // namespace
}  // namespace fedsilo
