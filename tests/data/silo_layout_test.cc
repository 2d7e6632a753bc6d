#include "common/data/silo_layout.h"

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

Dataset Numbered(int n) {
  Dataset data;
  data.x.resize(n, 3);
  for (int i = 0; i < n; ++i) data.x.row(i) << i, 10.0 * i, -i;
  for (int i = 0; i < n; ++i) data.y.push_back(i % 4);
  for (int i = 0; i < n; ++i) data.group.push_back(i % 3);
  data.num_classes = 4;
  data.num_groups = 3;
  return data;
}

TEST(SiloLayoutTest, EachSiloKeepsItsRecordsInOrderAndBecomesContiguous) {
  const Dataset original = Numbered(12);
  Dataset data = original;
  std::vector<SiloShard> shards(3);
  shards[0].train = {7, 2, 9};
  shards[1].train = {0, 11};
  shards[2].train = {5, 3, 8, 1};  // records 4, 6, 10 belong to no silo
  const std::vector<SiloShard> before = shards;
  ASSERT_TRUE(LayOutBySilo(&data, &shards).ok());
  int expected_position = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    ASSERT_EQ(shards[s].train.size(), before[s].train.size());
    for (size_t k = 0; k < shards[s].train.size(); ++k) {
      const int now = shards[s].train[k], was = before[s].train[k];
      EXPECT_EQ(now, expected_position++);  // contiguous, silo by silo
      EXPECT_EQ(data.x.row(now), original.x.row(was));
      EXPECT_EQ(data.y[now], original.y[was]);
      EXPECT_EQ(data.group[now], original.group[was]);
    }
  }
  // The unassigned records are kept (at the end): the multiset of rows is unchanged.
  std::vector<double> first_column;
  for (int i = 0; i < 12; ++i) first_column.push_back(data.x(i, 0));
  std::sort(first_column.begin(), first_column.end());
  for (int i = 0; i < 12; ++i) EXPECT_EQ(first_column[i], i);
}

TEST(SiloLayoutTest, ValidationRowsFollowTheirRecords) {
  const Dataset original = Numbered(12);
  Dataset data = original;
  std::vector<SiloShard> shards(2);
  shards[0].train = {7, 2};
  shards[0].validation = {9, 4};
  shards[1].train = {0, 11};
  shards[1].validation = {6};
  const std::vector<SiloShard> before = shards;
  ASSERT_TRUE(LayOutBySilo(&data, &shards).ok());
  for (size_t s = 0; s < shards.size(); ++s) {
    ASSERT_EQ(shards[s].validation.size(), before[s].validation.size());
    for (size_t k = 0; k < shards[s].validation.size(); ++k) {
      const int now = shards[s].validation[k], was = before[s].validation[k];
      EXPECT_GE(now, 4);  // after the 4 training records
      EXPECT_EQ(data.x.row(now), original.x.row(was));
      EXPECT_EQ(data.y[now], original.y[was]);
    }
  }
}

TEST(SiloLayoutTest, RecordInTwoSilosLeavesEverythingAsItWas) {
  const Dataset original = Numbered(5);
  Dataset data = original;
  std::vector<SiloShard> shards(2);
  shards[0].train = {3, 2};
  shards[1].train = {2, 4};
  ASSERT_TRUE(LayOutBySilo(&data, &shards).ok());
  EXPECT_EQ(data.x, original.x);
  EXPECT_EQ(data.y, original.y);
  EXPECT_EQ(shards[0].train, (std::vector<int>{3, 2}));
  EXPECT_EQ(shards[1].train, (std::vector<int>{2, 4}));
}

TEST(SiloLayoutTest, RowOutsideTheDatasetIsAnError) {
  Dataset data = Numbered(5);
  std::vector<SiloShard> shards(1);
  shards[0].train = {1, 7};
  const absl::Status status = LayOutBySilo(&data, &shards);
  EXPECT_TRUE(absl::IsInvalidArgument(status));
  EXPECT_NE(status.message().find("record 7"), absl::string_view::npos);
}

}  // namespace
}  // namespace fedsilo
