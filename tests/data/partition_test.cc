#include "common/data/partition.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/base/rng.h"

namespace fedsilo {
namespace {

using ::testing::HasSubstr;

// A synthetic split: labels given, features = [f0, age] with age ~ U(0, 100) (distinct values).
Dataset MakeSplit(std::vector<int> labels, int num_classes, uint64_t seed) {
  Dataset d;
  const int n = static_cast<int>(labels.size());
  d.y = std::move(labels);
  d.num_classes = num_classes;
  d.x.resize(n, 2);
  Rng rng(seed);
  for (int i = 0; i < n; ++i) {
    d.x(i, 0) = 1.0;
    d.x(i, 1) = 100.0 * rng.Uniform();
  }
  d.feature_names = {"f0", "age"};
  for (int c = 0; c < num_classes; ++c) d.class_names.push_back("class" + std::to_string(c));
  return d;
}

std::vector<int> CyclicLabels(int n, int num_classes) {
  std::vector<int> y(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) y[i] = i % num_classes;
  return y;
}

// Labels with class c appearing counts[c] times, in a scrambled order.
std::vector<int> LabelsWithCounts(const std::vector<int>& counts, uint64_t seed) {
  std::vector<int> y;
  for (size_t c = 0; c < counts.size(); ++c) y.insert(y.end(), counts[c], static_cast<int>(c));
  Rng rng(seed);
  rng.Shuffle(std::span<int>(y));
  return y;
}

TrainTest MakeData(int n_train, int n_test, int num_classes) {
  TrainTest data;
  data.name = "synthetic";
  data.train = MakeSplit(CyclicLabels(n_train, num_classes), num_classes, 1);
  data.test = MakeSplit(CyclicLabels(n_test, num_classes), num_classes, 2);
  return data;
}

PartitionConfig Config(const std::string& scheme, int silos) {
  PartitionConfig config;
  config.scheme = scheme;
  config.silos = silos;
  return config;
}

std::vector<SiloShard> PartitionOrDie(const TrainTest& data, const PartitionConfig& config,
                                      unsigned long long seed = 7) {
  auto shards = PartitionData(data, config, seed);
  EXPECT_TRUE(shards.ok()) << shards.status();
  if (!shards.ok()) return {};
  EXPECT_EQ(shards->size(), static_cast<size_t>(config.silos));
  return *std::move(shards);
}

// Every index in range and used by at most one silo; returns how many are used.
size_t CheckDisjoint(const std::vector<SiloShard>& shards, int n, bool train) {
  std::vector<int> seen(static_cast<size_t>(n), 0);
  size_t total = 0;
  for (const SiloShard& shard : shards) {
    for (int row : train ? shard.train : shard.test) {
      EXPECT_GE(row, 0);
      EXPECT_LT(row, n);
      if (row < 0 || row >= n) continue;
      EXPECT_EQ(seen[row]++, 0) << (train ? "train" : "test") << " row " << row << " used twice";
      ++total;
    }
  }
  return total;
}

void CheckCoversExactlyOnce(const std::vector<SiloShard>& shards, const TrainTest& data) {
  EXPECT_EQ(CheckDisjoint(shards, data.train.size(), true), static_cast<size_t>(data.train.size()));
  EXPECT_EQ(CheckDisjoint(shards, data.test.size(), false), static_cast<size_t>(data.test.size()));
}

std::vector<int> Histogram(const std::vector<int>& rows, const std::vector<int>& labels, int k) {
  std::vector<int> h(static_cast<size_t>(k), 0);
  for (int row : rows) ++h[labels[row]];
  return h;
}

std::set<int> LabelSet(const std::vector<int>& rows, const std::vector<int>& labels) {
  std::set<int> s;
  for (int row : rows) s.insert(labels[row]);
  return s;
}

// Mean over silos of the largest class share: ~1/K for iid-like label mixes, 1 for one class.
double MeanDominantShare(const std::vector<SiloShard>& shards, const Dataset& train) {
  double sum = 0;
  for (const SiloShard& shard : shards) {
    const std::vector<int> h = Histogram(shard.train, train.y, train.num_classes);
    sum += double(*std::max_element(h.begin(), h.end())) / shard.train.size();
  }
  return sum / shards.size();
}

// Mean over silos of the total-variation distance between the silo's and the global label mix.
double MeanTotalVariation(const std::vector<SiloShard>& shards, const Dataset& train) {
  const int k = train.num_classes;
  std::vector<double> global(k, 0.0);
  for (int label : train.y) global[label] += 1.0 / train.size();
  double sum = 0;
  for (const SiloShard& shard : shards) {
    const std::vector<int> h = Histogram(shard.train, train.y, k);
    double tv = 0;
    for (int c = 0; c < k; ++c) tv += std::abs(double(h[c]) / shard.train.size() - global[c]);
    sum += tv / 2;
  }
  return sum / shards.size();
}

// For label-skew schemes: silo s's test count of class c is T_c * (s's train count of c) / N_c
// up to rounding (< 1 away), so its test labels follow its train labels.
void CheckTestFollowsTrainLabels(const std::vector<SiloShard>& shards, const TrainTest& data) {
  const int k = data.train.num_classes;
  const std::vector<int> n_c = Histogram(AllRows(data.train), data.train.y, k);
  const std::vector<int> t_c = Histogram(AllRows(data.test), data.test.y, k);
  for (size_t s = 0; s < shards.size(); ++s) {
    const std::vector<int> train_h = Histogram(shards[s].train, data.train.y, k);
    const std::vector<int> test_h = Histogram(shards[s].test, data.test.y, k);
    for (int c = 0; c < k; ++c) {
      const double expected = double(t_c[c]) * train_h[c] / n_c[c];
      EXPECT_LT(std::abs(test_h[c] - expected), 1.0) << "silo " << s << " class " << c;
    }
  }
}

// ------------------------------------------------------------------ iid

TEST(PartitionTest, IidCoversEveryRecordOnceWithSizesWithinOne) {
  const TrainTest data = MakeData(1003, 257, 3);
  const auto shards = PartitionOrDie(data, Config("iid", 10));
  CheckCoversExactlyOnce(shards, data);
  for (const SiloShard& shard : shards) {
    EXPECT_GE(shard.train.size(), 100u);
    EXPECT_LE(shard.train.size(), 101u);
    EXPECT_GE(shard.test.size(), 25u);
    EXPECT_LE(shard.test.size(), 26u);
    EXPECT_TRUE(std::is_sorted(shard.train.begin(), shard.train.end()));
  }
}

TEST(PartitionTest, IidIsRandomNotContiguous) {
  const TrainTest data = MakeData(1000, 100, 2);
  const auto shards = PartitionOrDie(data, Config("iid", 4));
  // A contiguous split would give silo 0 exactly rows 0..249.
  EXPECT_GT(shards[0].train.back() - shards[0].train.front(), 250);
}

// contiguous: silo s holds the s-th block of the records in file order (floor(n s / k) ..), as
// silos holding consecutive parts of one file do.
TEST(PartitionTest, ContiguousGivesEachSiloItsBlockInFileOrder) {
  const TrainTest data = MakeData(10, 7, 2);
  const auto shards = PartitionOrDie(data, Config("contiguous", 3));
  EXPECT_EQ(shards[0].train, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(shards[1].train, (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(shards[2].train, (std::vector<int>{6, 7, 8, 9}));
  EXPECT_EQ(shards[0].test, (std::vector<int>{0, 1}));
  EXPECT_EQ(shards[1].test, (std::vector<int>{2, 3}));
  EXPECT_EQ(shards[2].test, (std::vector<int>{4, 5, 6}));
}

TEST(PartitionTest, OneSiloGetsEverything) {
  const TrainTest data = MakeData(50, 20, 2);
  const auto shards = PartitionOrDie(data, Config("iid", 1));
  EXPECT_EQ(shards[0].train, AllRows(data.train));
  EXPECT_EQ(shards[0].test, AllRows(data.test));
}

// ------------------------------------------------------------------ dirichlet

TEST(PartitionTest, DirichletHugeAlphaApproachesIidLabelMix) {
  const TrainTest data = MakeData(20000, 5000, 10);
  PartitionConfig config = Config("dirichlet", 10);
  config.alpha = 1e5;
  const auto shards = PartitionOrDie(data, config);
  CheckCoversExactlyOnce(shards, data);
  EXPECT_LT(MeanTotalVariation(shards, data.train), 0.03);
  EXPECT_LT(MeanDominantShare(shards, data.train), 0.13);
  for (const SiloShard& shard : shards) {
    EXPECT_NEAR(double(shard.train.size()), 2000.0, 100.0);
  }
  CheckTestFollowsTrainLabels(shards, data);
}

TEST(PartitionTest, DirichletTinyAlphaConcentratesLabels) {
  const TrainTest data = MakeData(20000, 5000, 10);
  PartitionConfig config = Config("dirichlet", 10);
  config.alpha = 0.01;
  const auto shards = PartitionOrDie(data, config);
  CheckCoversExactlyOnce(shards, data);
  for (const SiloShard& shard : shards) EXPECT_FALSE(shard.train.empty());
  EXPECT_GT(MeanDominantShare(shards, data.train), 0.6);  // iid: ~0.1
  EXPECT_GT(MeanTotalVariation(shards, data.train), 0.5);  // iid: ~0.01
  CheckTestFollowsTrainLabels(shards, data);
}

TEST(PartitionTest, DirichletSkewGrowsAsAlphaShrinks) {
  const TrainTest data = MakeData(20000, 1000, 10);
  double previous = 0.0;
  for (double alpha : {100.0, 1.0, 0.1}) {
    PartitionConfig config = Config("dirichlet", 20);
    config.alpha = alpha;
    const double tv = MeanTotalVariation(PartitionOrDie(data, config), data.train);
    EXPECT_GT(tv, previous) << "alpha " << alpha;
    previous = tv;
  }
}

TEST(PartitionTest, DirichletGivesEverySiloARecordEvenWhenDrawsLeaveSilosEmpty) {
  // 200 silos, 300 records, alpha 0.001: each class lands on ~one silo, so the fix must act.
  const TrainTest data = MakeData(300, 100, 3);
  PartitionConfig config = Config("dirichlet", 200);
  config.alpha = 0.001;
  const auto shards = PartitionOrDie(data, config);
  CheckCoversExactlyOnce(shards, data);
  for (const SiloShard& shard : shards) EXPECT_GE(shard.train.size(), 1u);
}

// ------------------------------------------------------------------ shards

TEST(PartitionTest, ShardsGiveExactlyKDistinctLabelsAndEqualSizes) {
  const TrainTest data = MakeData(6000, 1000, 10);  // 600 per class
  for (int k : {1, 2, 3}) {
    PartitionConfig config = Config("shards", 30);
    config.labels_per_silo = k;
    const auto shards = PartitionOrDie(data, config);
    CheckCoversExactlyOnce(shards, data);
    std::set<std::set<int>> combinations;
    for (const SiloShard& shard : shards) {
      const std::set<int> labels = LabelSet(shard.train, data.train.y);
      EXPECT_EQ(labels.size(), static_cast<size_t>(k));
      // 3k shards of 600 / (3k) records per class (rounded), k per silo: ~200 records.
      EXPECT_NEAR(double(shard.train.size()), 200.0, k);
      // Test labels are a subset of the train labels.
      for (int label : LabelSet(shard.test, data.test.y)) EXPECT_TRUE(labels.count(label));
      combinations.insert(labels);
    }
    // The assignment is randomized: label combinations are not a fixed pattern.
    if (k == 2) {
      EXPECT_GT(combinations.size(), 10u);
    }
    CheckTestFollowsTrainLabels(shards, data);
  }
}

TEST(PartitionTest, ShardsHandleUnbalancedClasses) {
  TrainTest data;
  data.name = "unbalanced";
  data.train = MakeSplit(LabelsWithCounts({50, 400, 120, 900, 75, 300}, 3), 6, 1);
  data.test = MakeSplit(LabelsWithCounts({10, 80, 30, 200, 15, 60}, 4), 6, 2);
  PartitionConfig config = Config("shards", 40);
  config.labels_per_silo = 3;
  const auto shards = PartitionOrDie(data, config);
  CheckCoversExactlyOnce(shards, data);
  for (const SiloShard& shard : shards) {
    EXPECT_EQ(LabelSet(shard.train, data.train.y).size(), 3u);
  }
}

TEST(PartitionTest, ShardsErrors) {
  const TrainTest data = MakeData(1000, 100, 10);
  PartitionConfig config = Config("shards", 10);
  config.labels_per_silo = 11;
  auto result = PartitionData(data, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("labels_per_silo = 11"));
  EXPECT_THAT(result.status().message(), HasSubstr("only 10 distinct labels"));

  config.labels_per_silo = 0;
  result = PartitionData(data, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("labels_per_silo = 0"));

  // 50 silos x 2 labels = 100 shards but 10 classes of 5 records can make only 50.
  const TrainTest tiny = MakeData(50, 10, 10);
  config = Config("shards", 50);
  config.labels_per_silo = 2;
  result = PartitionData(tiny, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("distinct labels"));
}

// ------------------------------------------------------------------ label_per_silo

TEST(PartitionTest, LabelPerSiloGivesSiloIClassIModK) {
  const TrainTest data = MakeData(2000, 500, 10);
  const auto shards = PartitionOrDie(data, Config("label_per_silo", 25));
  CheckCoversExactlyOnce(shards, data);
  for (int s = 0; s < 25; ++s) {
    EXPECT_EQ(LabelSet(shards[s].train, data.train.y), std::set<int>{s % 10}) << "silo " << s;
    for (int label : LabelSet(shards[s].test, data.test.y)) EXPECT_EQ(label, s % 10);
  }
  // Class 0 (200 records) is shared by silos 0, 10, 20: near-equal parts.
  EXPECT_NEAR(double(shards[0].train.size()), 200.0 / 3, 1.0);
  EXPECT_NEAR(double(shards[20].train.size()), 200.0 / 3, 1.0);
}

TEST(PartitionTest, LabelPerSiloErrors) {
  const TrainTest data = MakeData(1000, 100, 10);
  auto result = PartitionData(data, Config("label_per_silo", 5), 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(),
              HasSubstr("partition.silos >= the number of classes (10)"));
  EXPECT_THAT(result.status().message(), HasSubstr("partition.silos = 5"));

  // Class 9 has only 1 record but silos 9 and 19 hold it.
  TrainTest sparse;
  sparse.train = MakeSplit(LabelsWithCounts({10, 10, 10, 10, 10, 10, 10, 10, 10, 1}, 5), 10, 1);
  sparse.test = MakeSplit(CyclicLabels(20, 10), 10, 2);
  result = PartitionData(sparse, Config("label_per_silo", 20), 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("silo 19 with no train records"));
}

// ------------------------------------------------------------------ by_attribute

std::pair<double, double> Range(const std::vector<int>& rows, const Dataset& d, int column) {
  double lo = 1e300, hi = -1e300;
  for (int row : rows) lo = std::min(lo, d.x(row, column)), hi = std::max(hi, d.x(row, column));
  return {lo, hi};
}

double Mean(const std::vector<int>& rows, const Dataset& d, int column) {
  double sum = 0;
  for (int row : rows) sum += d.x(row, column);
  return sum / rows.size();
}

TEST(PartitionTest, ByAttributePureBlocksHaveOrderedNonOverlappingRanges) {
  const TrainTest data = MakeData(1000, 300, 2);
  PartitionConfig config = Config("by_attribute", 7);
  config.attribute = "age";
  config.h = 1.0;
  const auto shards = PartitionOrDie(data, config);
  CheckCoversExactlyOnce(shards, data);
  for (int s = 0; s + 1 < 7; ++s) {
    EXPECT_LT(Range(shards[s].train, data.train, 1).second,
              Range(shards[s + 1].train, data.train, 1).first);
    EXPECT_LT(Range(shards[s].test, data.test, 1).second,
              Range(shards[s + 1].test, data.test, 1).first);
  }
  for (const SiloShard& shard : shards) {
    EXPECT_GE(shard.train.size(), 142u);
    EXPECT_LE(shard.train.size(), 143u);
  }
}

TEST(PartitionTest, ByAttributeZeroHeterogeneityGivesSimilarMeans) {
  const TrainTest data = MakeData(2100, 300, 2);
  PartitionConfig config = Config("by_attribute", 7);
  config.attribute = "age";
  config.h = 0.0;
  const auto shards = PartitionOrDie(data, config);
  CheckCoversExactlyOnce(shards, data);
  const double global = Mean(AllRows(data.train), data.train, 1);
  // Each silo is a random 300 of U(0, 100): the mean's sd is 100 / sqrt(12 * 300) ~ 1.67.
  for (const SiloShard& shard : shards) EXPECT_NEAR(Mean(shard.train, data.train, 1), global, 8.0);

  config.h = 1.0;  // contrast: pure blocks spread the means over ~ (0, 100)
  const auto blocks = PartitionOrDie(data, config);
  EXPECT_LT(Mean(blocks.front().train, data.train, 1), global - 30);
  EXPECT_GT(Mean(blocks.back().train, data.train, 1), global + 30);
}

TEST(PartitionTest, ByAttributeIntermediateKeepsFractionHFromOwnBlock) {
  const TrainTest data = MakeData(1000, 200, 2);
  PartitionConfig config = Config("by_attribute", 4);
  config.attribute = "age";
  config.h = 0.6;
  const auto shards = PartitionOrDie(data, config);
  CheckCoversExactlyOnce(shards, data);
  // Independent block boundaries: the sorted ages, cut in 4 blocks of 250.
  std::vector<double> ages;
  for (int i = 0; i < 1000; ++i) ages.push_back(data.train.x(i, 1));
  std::sort(ages.begin(), ages.end());
  for (int s = 0; s < 4; ++s) {
    const double lo = ages[250 * s], hi = ages[250 * s + 249];
    int own = 0;
    for (int row : shards[s].train) own += data.train.x(row, 1) >= lo && data.train.x(row, 1) <= hi;
    EXPECT_EQ(shards[s].train.size(), 250u);
    EXPECT_GE(own, 150);  // round(0.6 * 250) kept, plus chance draws (expected ~ 25 more)
    EXPECT_LT(own, 200);
  }
}

TEST(PartitionTest, ByAttributeErrorsNameTheColumn) {
  TrainTest data = MakeData(100, 10, 2);
  PartitionConfig config = Config("by_attribute", 4);
  config.attribute = "height";
  auto result = PartitionData(data, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("'height'"));
  EXPECT_THAT(result.status().message(), HasSubstr("available: f0, age"));

  data.train.feature_names = {"race=White", "age"};
  config.attribute = "race";
  result = PartitionData(data, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("race=White"));

  config.attribute = "";
  result = PartitionData(data, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("needs partition.attribute"));

  config.attribute = "age";
  config.h = 1.5;
  result = PartitionData(data, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("partition.h = 1.5"));
  config.h = -0.1;
  EXPECT_FALSE(PartitionData(data, config, 1).ok());
}

// ------------------------------------------------------------------ even_odd_pairs

// MNIST-like: digit d appears per_digit + d times; y is the parity, fine_label the digit.
Dataset MakeDigits(int per_digit, uint64_t seed) {
  std::vector<int> counts;
  for (int d = 0; d < 10; ++d) counts.push_back(per_digit + d);
  std::vector<int> digits = LabelsWithCounts(counts, seed);
  std::vector<int> parity;
  for (int d : digits) parity.push_back(d % 2);
  Dataset data = MakeSplit(parity, 2, seed);
  data.fine_label = digits;
  return data;
}

std::set<int> PairOf(int silo) {
  const int t = silo % 25;
  return {2 * (t / 5), 2 * (t % 5) + 1};
}

TEST(PartitionTest, EvenOddPairsWithPOneGivesOnlyTheSilosTwoDigits) {
  TrainTest data;
  data.train = MakeDigits(100, 1);  // rarest digit: 100 -> balanced pool of 1000
  data.test = MakeDigits(20, 2);
  PartitionConfig config = Config("even_odd_pairs", 25);
  config.p = 1.0;
  const auto shards = PartitionOrDie(data, config);
  EXPECT_LE(CheckDisjoint(shards, data.train.size(), true), 1000u);
  CheckDisjoint(shards, data.test.size(), false);
  for (int s = 0; s < 25; ++s) {
    EXPECT_EQ(LabelSet(shards[s].train, data.train.fine_label), PairOf(s)) << "silo " << s;
    const std::vector<int> h = Histogram(shards[s].train, data.train.fine_label, 10);
    EXPECT_EQ(shards[s].train.size(), 40u);  // 0.4 * n_m
    EXPECT_EQ(h[*PairOf(s).begin()], 20);    // half even, half odd
    EXPECT_EQ(shards[s].test.size(), 8u);
    for (int digit : LabelSet(shards[s].test, data.test.fine_label)) {
      EXPECT_TRUE(PairOf(s).count(digit));
    }
  }
  // Cycling: silo 25 gets the pair of silo 0.
  config.silos = 30;
  const auto more = PartitionOrDie(data, config);
  EXPECT_EQ(LabelSet(more[25].train, data.train.fine_label), (std::set<int>{0, 1}));
  EXPECT_EQ(LabelSet(more[29].train, data.train.fine_label), (std::set<int>{0, 9}));
  CheckDisjoint(more, data.train.size(), true);
}

TEST(PartitionTest, EvenOddPairsMixesAFractionOneMinusPFromThePool) {
  TrainTest data;
  data.train = MakeDigits(200, 3);
  data.test = MakeDigits(20, 4);
  PartitionConfig config = Config("even_odd_pairs", 25);
  config.p = 0.5;
  const auto shards = PartitionOrDie(data, config);
  CheckDisjoint(shards, data.train.size(), true);
  int foreign = 0;
  for (int s = 0; s < 25; ++s) {
    ASSERT_EQ(shards[s].train.size(), 80u);
    int own = 0;
    for (int row : shards[s].train) own += PairOf(s).count(data.train.fine_label[row]);
    EXPECT_GE(own, 40);  // 40 from the pair, plus chance draws from the pool (~8 expected)
    foreign += 80 - own;
  }
  // The pool part (40 per silo) is ~80% foreign digits: ~800 in all.
  EXPECT_NEAR(foreign, 800, 120);

  config.p = 0.0;  // homogeneous: each silo's digit mix is the pool's
  const auto mixed = PartitionOrDie(data, config);
  for (const SiloShard& shard : mixed) {
    EXPECT_GE(LabelSet(shard.train, data.train.fine_label).size(), 7u);
  }
}

TEST(PartitionTest, EvenOddPairsUsesYWhenThereAreNoFineLabels) {
  TrainTest data;
  data.train = MakeSplit(CyclicLabels(1000, 10), 10, 1);
  data.test = MakeSplit(CyclicLabels(200, 10), 10, 2);
  PartitionConfig config = Config("even_odd_pairs", 25);
  config.p = 1.0;
  const auto shards = PartitionOrDie(data, config);
  for (int s = 0; s < 25; ++s) EXPECT_EQ(LabelSet(shards[s].train, data.train.y), PairOf(s));
}

TEST(PartitionTest, EvenOddPairsErrors) {
  TrainTest data;
  data.train = MakeDigits(30, 1);
  data.test = MakeDigits(5, 2);
  PartitionConfig config = Config("even_odd_pairs", 25);
  config.p = 1.2;
  auto result = PartitionData(data, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("partition.p = 1.2"));

  config.p = 0.5;
  TrainTest bad = data;
  bad.train.fine_label[3] = 12;
  result = PartitionData(bad, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("digit labels 0-9"));

  bad = data;
  for (int& d : bad.train.fine_label) d = d == 7 ? 6 : d;
  result = PartitionData(bad, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("digit 7 has no records"));

  // 300 silos, balanced pool of 10 x 30 records, p = 1: even m = 1 needs 60 records of each
  // even digit (60 silos per pair) -> no silo size fits.
  config.p = 1.0;
  config.silos = 300;
  result = PartitionData(data, config, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("no train records"));
}

// ------------------------------------------------------------------ all schemes

std::vector<PartitionConfig> AllSchemeConfigs(int silos) {
  std::vector<PartitionConfig> configs;
  for (const char* scheme : {"iid", "dirichlet", "shards", "label_per_silo", "by_attribute",
                             "even_odd_pairs"}) {
    PartitionConfig config = Config(scheme, silos);
    config.attribute = "age";
    config.h = 0.5;
    config.p = 0.7;
    configs.push_back(config);
  }
  return configs;
}

TEST(PartitionTest, EverySchemeIsDeterministicGivenTheSeed) {
  const TrainTest data = MakeData(3000, 600, 10);
  for (const PartitionConfig& config : AllSchemeConfigs(12)) {
    const auto a = PartitionOrDie(data, config, 11);
    const auto b = PartitionOrDie(data, config, 11);
    const auto c = PartitionOrDie(data, config, 12);
    bool any_train_differs = false;
    for (int s = 0; s < config.silos; ++s) {
      EXPECT_EQ(a[s].train, b[s].train) << config.scheme;
      EXPECT_EQ(a[s].test, b[s].test) << config.scheme;
      any_train_differs |= a[s].train != c[s].train;
    }
    EXPECT_TRUE(any_train_differs) << config.scheme;
    CheckDisjoint(a, data.train.size(), true);
    CheckDisjoint(a, data.test.size(), false);
    for (const SiloShard& shard : a) EXPECT_FALSE(shard.train.empty()) << config.scheme;
  }
}

TEST(PartitionTest, CommonErrors) {
  const TrainTest data = MakeData(300, 50, 3);
  auto result = PartitionData(data, Config("pathological", 3), 1);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), HasSubstr("unknown partition.scheme 'pathological'"));
  EXPECT_THAT(result.status().message(),
              HasSubstr("iid, dirichlet, shards, label_per_silo, by_attribute, even_odd_pairs"));

  result = PartitionData(data, Config("iid", 0), 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("partition.silos = 0"));

  for (const PartitionConfig& config : AllSchemeConfigs(500)) {
    result = PartitionData(data, config, 1);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().message(),
              "partition.silos = 500 but the training set has 300 records");
  }

  for (double alpha : {0.0, -1.0, std::nan("")}) {
    PartitionConfig config = Config("dirichlet", 3);
    config.alpha = alpha;
    result = PartitionData(data, config, 1);
    ASSERT_FALSE(result.ok()) << alpha;
    EXPECT_THAT(result.status().message(), HasSubstr("alpha > 0"));
  }

  TrainTest bad = data;
  bad.train.y[5] = 3;  // num_classes is 3
  result = PartitionData(bad, Config("dirichlet", 3), 1);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.status().message(), HasSubstr("train label 3 at row 5"));
}

TEST(PartitionTest, SixtyThousandRecordsIntoTenThousandSilosIsFast) {
  TrainTest data;
  data.name = "mnist-like";
  // MNIST's digit counts.
  data.train = MakeSplit(
      LabelsWithCounts({5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, 1), 10, 1);
  data.test = MakeSplit(
      LabelsWithCounts({980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, 2), 10, 2);
  for (const PartitionConfig& config : AllSchemeConfigs(10000)) {
    const auto start = std::chrono::steady_clock::now();
    const auto shards = PartitionOrDie(data, config);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 1.0) << config.scheme;
    CheckDisjoint(shards, data.train.size(), true);
    std::cout << config.scheme << ": " << seconds * 1000 << " ms\n";
  }
}

// ------------------------------------------------------------------ summary

TEST(PartitionTest, SummaryListsSilosSizesAndLabelHistograms) {
  const TrainTest data = MakeData(600, 100, 3);
  PartitionConfig config = Config("dirichlet", 5);
  config.alpha = 0.5;
  const auto shards = PartitionOrDie(data, config);
  const std::string summary = PartitionSummary(data, shards);
  EXPECT_THAT(summary, HasSubstr("5 silos"));
  std::istringstream lines(summary);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::vector<std::string> tokens;
    for (std::string t; cells >> t;) tokens.push_back(t);
    if (tokens.size() != 6 || !std::all_of(tokens[0].begin(), tokens[0].end(), ::isdigit)) continue;
    const int s = std::stoi(tokens[0]);
    ASSERT_LT(s, 5);
    const std::vector<int> h = Histogram(shards[s].train, data.train.y, 3);
    EXPECT_EQ(tokens[1], std::to_string(shards[s].train.size()));
    EXPECT_EQ(tokens[2], std::to_string(shards[s].test.size()));
    for (int c = 0; c < 3; ++c) EXPECT_EQ(tokens[3 + c], std::to_string(h[c]));
    ++rows;
  }
  EXPECT_EQ(rows, 5);
  EXPECT_THAT(summary, HasSubstr("min/median/max"));
}

TEST(PartitionTest, SummaryOfManySilosShowsFirstTenLastFiveAndStatistics) {
  const TrainTest data = MakeData(3000, 300, 4);
  const auto shards = PartitionOrDie(data, Config("iid", 30));
  const std::string summary = PartitionSummary(data, shards);
  std::istringstream lines(summary);
  std::string line;
  std::vector<int> silos_shown;
  bool ellipsis = false, stats = false;
  while (std::getline(lines, line)) {
    std::istringstream cells(line);
    std::string first;
    cells >> first;
    if (first == "...") ellipsis = true;
    if (first == "min/median/max") {
      stats = true;
      EXPECT_THAT(line, HasSubstr("n_train 100/100/100"));
      EXPECT_THAT(line, HasSubstr("n_test 10/10/10"));
    }
    if (!first.empty() && std::all_of(first.begin(), first.end(), ::isdigit)) {
      silos_shown.push_back(std::stoi(first));
    }
  }
  std::vector<int> expected = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 25, 26, 27, 28, 29};
  EXPECT_EQ(silos_shown, expected);
  EXPECT_TRUE(ellipsis);
  EXPECT_TRUE(stats);
}

}  // namespace
}  // namespace fedsilo
