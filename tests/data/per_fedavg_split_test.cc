// per_fedavg_split: exact class counts per silo (type A: a of each of classes 0-4; type B: a/2 of
// one low class and 2a of one high class), the largest feasible a computed by hand, the test
// split's own a, no record used twice, and the errors.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/data/partition.h"

namespace fedsilo {
namespace {

using ::testing::HasSubstr;

Dataset PerClass(int count) {
  Dataset d;
  for (int c = 0; c < 10; ++c) d.y.insert(d.y.end(), static_cast<size_t>(count), c);
  d.num_classes = 10;
  d.x = Matrix::Zero(static_cast<Eigen::Index>(d.y.size()), 1);
  return d;
}

std::map<int, int> Histogram(const Dataset& d, const std::vector<int>& rows) {
  std::map<int, int> counts;
  for (int r : rows) ++counts[d.y[static_cast<size_t>(r)]];
  return counts;
}

// Type-B silo j holds class j mod 5 and class 5 + ((j + j / 5) mod 5).
void ExpectSplit(const Dataset& d, const std::vector<SiloShard>& shards, bool train, int a) {
  const int silos = static_cast<int>(shards.size()), type_a = (silos + 1) / 2;
  std::set<int> seen;
  for (int s = 0; s < silos; ++s) {
    const std::vector<int>& rows = train ? shards[s].train : shards[s].test;
    for (int r : rows) EXPECT_TRUE(seen.insert(r).second) << "record " << r << " used twice";
    std::map<int, int> expected;
    if (s < type_a) {
      for (int c = 0; c < 5; ++c) expected[c] = a;
    } else {
      const int j = s - type_a;
      expected[j % 5] = a / 2;
      expected[5 + (j + j / 5) % 5] = 2 * a;
    }
    EXPECT_EQ(Histogram(d, rows), expected) << "silo " << s << (train ? " train" : " test");
  }
}

TEST(PerFedAvgSplitTest, ClassCountsMatchThePaperConstruction) {
  TrainTest data;
  data.train = PerClass(300);
  data.test = PerClass(60);
  PartitionConfig config;
  config.scheme = "per_fedavg_split";
  config.silos = 10;
  config.per_class = 21;
  auto shards = PartitionData(data, config, 1);
  ASSERT_TRUE(shards.ok()) << shards.status();
  ExpectSplit(data.train, *shards, true, 21);
  // Test: each low class serves 5 type-A silos (5a) and one type-B silo (a/2): 5a + a/2 <= 60
  // gives a = 11 (55 + 5 = 60), below per_class = 21.
  ExpectSplit(data.test, *shards, false, 11);
}

TEST(PerFedAvgSplitTest, LargestFeasibleAByDefaultAndAllPairsWith50Silos) {
  TrainTest data;
  data.train = PerClass(300);
  data.test = PerClass(60);
  PartitionConfig config;
  config.scheme = "per_fedavg_split";
  config.silos = 10;
  auto shards = PartitionData(data, config, 1);
  ASSERT_TRUE(shards.ok()) << shards.status();
  // 5a + floor(a/2) <= 300: a = 54 (270 + 27 = 297; a = 55 gives 302).
  ExpectSplit(data.train, *shards, true, 54);

  data.train = PerClass(2000);
  data.test = PerClass(400);
  config.silos = 50;
  config.per_class = 40;
  shards = PartitionData(data, config, 2);
  ASSERT_TRUE(shards.ok()) << shards.status();
  ExpectSplit(data.train, *shards, true, 40);
  std::set<std::pair<int, int>> pairs;
  for (int s = 25; s < 50; ++s) {
    const auto h = Histogram(data.train, (*shards)[s].train);
    pairs.insert({h.begin()->first, h.rbegin()->first});
  }
  EXPECT_EQ(pairs.size(), 25u);  // every (low, high) pair once
}

TEST(PerFedAvgSplitTest, TooLargePerClassIsAnErrorNamingTheLimit) {
  TrainTest data;
  data.train = PerClass(300);
  data.test = PerClass(60);
  PartitionConfig config;
  config.scheme = "per_fedavg_split";
  config.silos = 10;
  config.per_class = 55;
  auto shards = PartitionData(data, config, 1);
  ASSERT_FALSE(shards.ok());
  EXPECT_THAT(shards.status().message(), HasSubstr("2 <= per_class <= 54"));
}

}  // namespace
}  // namespace fedsilo
