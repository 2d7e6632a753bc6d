// LoadedDataCache against a loader that counts its calls: one load per data section and seed,
// whatever the number of callers (also concurrent ones), errors not kept, the least recently used
// data dropped past the byte budget, one silo layout per data, partition, seed and index; and a
// sweep whose points share data loads it once per seed, with each point's result the same as its
// run on its own.
#include "common/runtime/loaded_data_cache.h"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/base/rng.h"
#include "common/data/loader_registry.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"
#include "common/runtime/sweep.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;

std::atomic<int> calls{0};

// 300 records of a logistic problem drawn from the seed (so another seed is other data), 60 of
// them the test split; seed 99 fails. Each call waits 20 ms, so that concurrent callers overlap.
void RegisterCountingLoader() {
  RegisterDataLoader("cache-test-counting",
                     [](const DataConfig& config) -> absl::StatusOr<TrainTest> {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (config.seed == 99) return absl::DataLossError("seed 99 is a broken file");
    Rng rng(config.seed + 1);
    TrainTest data;
    for (Dataset* split : {&data.train, &data.test}) {
      const int n = split == &data.train ? 240 : 60;
      split->x.resize(n, 2);
      for (int i = 0; i < n; ++i) {
        split->x(i, 0) = rng.Normal();
        split->x(i, 1) = rng.Normal();
        split->y.push_back(split->x(i, 0) - 0.5 * split->x(i, 1) + 0.3 * rng.Normal() > 0 ? 1 : 0);
      }
      split->num_classes = 2;
    }
    return data;
  });
}

DataConfig Config(unsigned long long seed) {
  RegisterCountingLoader();
  DataConfig config;
  config.dataset = "cache-test-counting";
  config.dir = "/unused";
  config.seed = seed;
  return config;
}

TEST(LoadedDataCacheTest, LoadsEachDataSectionAndSeedOnce) {
  LoadedDataCache cache;
  const int before = calls;
  auto a = cache.Load(Config(1));
  auto again = cache.Load(Config(1));
  ASSERT_TRUE(a.ok() && again.ok()) << a.status();
  EXPECT_EQ(a->get(), again->get());  // the same data, shared
  EXPECT_EQ(calls - before, 1);
  // What a direct load gives.
  auto direct = LoadData(Config(1));
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ((*a)->train.x, direct->train.x);
  EXPECT_EQ((*a)->test.y, direct->test.y);
  // Another seed, or another key of the data section, is other data.
  auto other_seed = cache.Load(Config(2));
  DataConfig fewer = Config(1);
  fewer.max_train = 100;
  auto other_key = cache.Load(fewer);
  ASSERT_TRUE(other_seed.ok() && other_key.ok());
  EXPECT_NE((*other_seed)->train.x, (*a)->train.x);
  EXPECT_EQ((*other_key)->train.size(), 100);
  EXPECT_EQ(cache.loads(), 3);
  EXPECT_EQ(calls - before, 4);  // 3 through the cache, 1 direct
}

TEST(LoadedDataCacheTest, ConcurrentCallersWaitForOneLoad) {
  LoadedDataCache cache;
  const int before = calls;
  std::vector<std::thread> threads;
  std::vector<const TrainTest*> seen(8, nullptr);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto data = cache.Load(Config(3));
      if (data.ok()) seen[static_cast<size_t>(t)] = data->get();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(calls - before, 1);
  for (const TrainTest* data : seen) EXPECT_EQ(data, seen[0]);
  EXPECT_NE(seen[0], nullptr);
}

TEST(LoadedDataCacheTest, ErrorsAreReturnedAndNotKept) {
  LoadedDataCache cache;
  const int before = calls;
  auto first = cache.Load(Config(99));
  auto second = cache.Load(Config(99));
  EXPECT_TRUE(absl::IsDataLoss(first.status())) << first.status();
  EXPECT_TRUE(absl::IsDataLoss(second.status()));
  EXPECT_EQ(calls - before, 2);  // tried again
}

TEST(LoadedDataCacheTest, PastTheBudgetTheLeastRecentlyUsedIsDropped) {
  // 300 records x 2 features: 4.8 KB of features and 1.2 KB of labels an entry (6 KB); a budget
  // of 30 KB keeps entries up to 7.5 KB, and room for 5.
  LoadedDataCache cache(30000);
  const int before = calls;
  std::vector<std::shared_ptr<const TrainTest>> held;
  for (unsigned long long seed : {4, 5, 6, 7, 8, 9}) held.push_back(*cache.Load(Config(seed)));
  EXPECT_EQ(calls - before, 6);
  // Seed 4 was dropped for seed 9 (least recently used); 5 to 9 are still kept.
  for (unsigned long long seed : {5, 6, 7, 8, 9}) ASSERT_TRUE(cache.Load(Config(seed)).ok());
  EXPECT_EQ(calls - before, 6);
  auto four = cache.Load(Config(4));  // loaded again; drops 5, now the least recently used
  ASSERT_TRUE(four.ok());
  EXPECT_NE(four->get(), held[0].get());  // a new load; the old data lives on with its holder
  EXPECT_EQ((*four)->train.x, held[0]->train.x);
  EXPECT_EQ(calls - before, 7);
  ASSERT_TRUE(cache.Load(Config(6)).ok());
  EXPECT_EQ(calls - before, 7);
  ASSERT_TRUE(cache.Load(Config(5)).ok());
  EXPECT_EQ(calls - before, 8);
}

TEST(LoadedDataCacheTest, DataLargerThanAQuarterOfTheBudgetIsNotKept) {
  LoadedDataCache cache(20000);  // 6 KB entries > 5 KB: none kept
  const int before = calls;
  auto a = cache.Load(Config(4));
  auto a_again = cache.Load(Config(4));
  ASSERT_TRUE(a.ok() && a_again.ok());
  EXPECT_NE(a->get(), a_again->get());
  EXPECT_EQ((*a)->train.x, (*a_again)->train.x);
  EXPECT_EQ(calls - before, 2);
}

// The silo data of a config: made once per data section, partition section, seed and
// index_nonzeros (other sections, such as the algorithm's, do not matter), from one load of the
// data, and equal to MakeSiloData run on a direct load.
TEST(LoadedDataCacheTest, SiloDataIsMadeOncePerDataPartitionSeedAndIndex) {
  LoadedDataCache cache;
  const int before = calls;
  ExperimentConfig config;
  config.seed = 11;
  config.data = Config(11);
  config.partition.scheme = "iid";
  config.partition.silos = 4;
  config.data.validation = 0.25;
  // As PrepareExperiment calls it: with the data loaded through the same cache.
  const auto silo_data = [&](const ExperimentConfig& c, bool index_nonzeros) {
    auto loaded = cache.Load(c.data);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return cache.LoadSiloData(c, **loaded, index_nonzeros);
  };
  auto a = silo_data(config, false);
  ExperimentConfig other_algorithm = config;
  other_algorithm.algorithm.lr = 0.123;
  auto again = silo_data(other_algorithm, false);
  ASSERT_TRUE(a.ok() && again.ok()) << a.status();
  EXPECT_EQ(a->get(), again->get());
  EXPECT_EQ(cache.layouts(), 1);

  auto direct = MakeSiloData(*LoadData(config.data), config.partition, config.data.validation,
                             config.seed, false);
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ((*a)->data.train.x, direct->data.train.x);
  EXPECT_EQ((*a)->data.train.y, direct->data.train.y);
  ASSERT_EQ((*a)->shards.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*a)->shards[i].train, direct->shards[i].train);
    EXPECT_EQ((*a)->shards[i].validation, direct->shards[i].validation);
    EXPECT_FALSE((*a)->shards[i].validation.empty());
  }
  EXPECT_EQ((*a)->data.train.nonzeros, nullptr);

  // Another partition, validation fraction, seed or index: other silo data; the data section
  // and seed of the first three are the same, so the data is loaded once for them.
  ExperimentConfig more_silos = config;
  more_silos.partition.silos = 6;
  ExperimentConfig no_validation = config;
  no_validation.data.validation = 0.0;
  ExperimentConfig other_seed = config;
  other_seed.seed = 12;
  other_seed.data.seed = 12;
  auto six = silo_data(more_silos, false);
  auto whole = silo_data(no_validation, false);
  auto indexed = silo_data(config, true);
  auto reseeded = silo_data(other_seed, false);
  ASSERT_TRUE(six.ok() && whole.ok() && indexed.ok() && reseeded.ok());
  EXPECT_EQ((*six)->shards.size(), 6u);
  EXPECT_TRUE((*whole)->shards[0].validation.empty());
  EXPECT_NE(indexed->get(), a->get());  // (this dense data gets no index: IndexNonzeros' rule)
  EXPECT_EQ((*indexed)->data.train.x, (*a)->data.train.x);
  EXPECT_NE((*reseeded)->data.train.x, (*a)->data.train.x);
  EXPECT_EQ(cache.layouts(), 5);
  EXPECT_EQ(cache.loads(), 3);  // seed 11's data section twice (validation is one of its keys)
  EXPECT_EQ(calls - before, 4);  // 3 through the cache, 1 direct
}

// PrepareExperiment through the cache: two configs that differ only in the algorithm share one
// laid-out TrainTest (no copy), equal to what PrepareExperiment without the cache lays out.
TEST(LoadedDataCacheTest, PreparedExperimentsShareTheirLaidOutData) {
  RegisterCountingLoader();  // before the config names it
  auto config = ParseExperimentConfig(
      "seed: 3\n"
      "data: {dataset: cache-test-counting, dir: /unused, validation: 0.2}\n"
      "partition: {scheme: iid, silos: 3}\n"
      "model: {type: logistic}\n"
      "algorithm: {name: fedavg, rounds: 2, batch_size: 8, lr: 0.3}\n",
      "test config", {});
  ASSERT_TRUE(config.ok()) << config.status();
  ExperimentConfig other = *config;
  other.algorithm.lr = 0.1;
  LoadedDataCache cache;
  auto a = PrepareExperiment(*config, true, &cache);
  auto b = PrepareExperiment(other, true, &cache);
  auto alone = PrepareExperiment(*config);
  ASSERT_TRUE(a.ok() && b.ok() && alone.ok()) << a.status();
  EXPECT_EQ(a->shared_data.get(), b->shared_data.get());
  EXPECT_NE(a->shared_data.get(), alone->shared_data.get());
  EXPECT_EQ(a->data().train.x, alone->data().train.x);
  EXPECT_EQ(a->data().test.y, alone->data().test.y);
  ASSERT_EQ(a->shards.size(), alone->shards.size());
  for (size_t i = 0; i < a->shards.size(); ++i) {
    EXPECT_EQ(a->shards[i].train, alone->shards[i].train);
    EXPECT_EQ(a->shards[i].validation, alone->shards[i].validation);
  }
  EXPECT_EQ(cache.layouts(), 1);
}

// Data too large to be kept (a budget of 20 KB keeps nothing of 6 KB and more) is still loaded
// once for a point: PrepareExperiment lays out the data it loaded.
TEST(LoadedDataCacheTest, DataTooLargeToKeepIsLoadedOncePerPoint) {
  RegisterCountingLoader();
  auto config = ParseExperimentConfig(
      "seed: 4\n"
      "data: {dataset: cache-test-counting, dir: /unused}\n"
      "partition: {scheme: iid, silos: 3}\n"
      "model: {type: logistic}\n"
      "algorithm: {name: fedavg, rounds: 2, batch_size: 8, lr: 0.3}\n",
      "test config", {});
  ASSERT_TRUE(config.ok()) << config.status();
  LoadedDataCache cache(20000);
  const int before = calls;
  ASSERT_TRUE(PrepareExperiment(*config, true, &cache).ok());
  EXPECT_EQ(calls - before, 1);
  ASSERT_TRUE(PrepareExperiment(*config, true, &cache).ok());
  EXPECT_EQ(calls - before, 2);  // not kept: the next point loads again, once
}

// A sweep of 2 step sizes x 2 seeds loads its data twice (once a seed), and each point's result
// is that of the same config run alone.
TEST(LoadedDataCacheTest, ASweepLoadsItsDataOncePerSeed) {
  RegisterCountingLoader();
  const fs::path dir = testing::FreshTempDir("loaded_data_cache_sweep");
  testing::WriteFile(dir / "config.yaml",
                     "seed: 1\n"
                     "data: {dataset: cache-test-counting, dir: /unused}\n"
                     "partition: {scheme: iid, silos: 3}\n"
                     "model: {type: logistic}\n"
                     "algorithm: {name: fedavg, rounds: 5, batch_size: 16, lr: 0.3, "
                     "personalize_steps: 0}\n"
                     "output: {eval_every: 5, save_model: false}\n");
  const int before = calls;
  RunOptions options;
  options.out_dir = (dir / "sweep").string();
  options.quiet = true;
  options.threads = 2;
  auto axes = ParseSweepAxes({"algorithm.lr=0.1,0.3", "seed=1,2"});
  ASSERT_TRUE(axes.ok());
  SweepOptions sweep;
  sweep.jobs = 2;
  auto table = RunSweep((dir / "config.yaml").string(), {}, *axes, options, sweep);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(calls - before, 2);
  // Point 3 (lr 0.3, seed 2) run alone, without the cache.
  auto config = LoadExperimentConfig((dir / "config.yaml").string(),
                                     {"algorithm.lr=0.3", "seed=2"});
  ASSERT_TRUE(config.ok()) << config.status();
  RunOptions alone = options;
  alone.out_dir = (dir / "alone").string();
  auto report = RunExperiment(*config, alone);
  ASSERT_TRUE(report.ok()) << report.status();
  const auto point =
      nlohmann::json::parse(testing::ReadFile(dir / "sweep" / "point_3" / "summary.json"));
  EXPECT_EQ(point["final"]["test_accuracy"].get<double>(), report->final_test.accuracy);
  EXPECT_EQ(point["final"]["test_loss"].get<double>(), report->final_test.loss);
  EXPECT_GT(report->final_test.accuracy, 0.7);  // it trained: not a comparison of two zeros
}

}  // namespace
}  // namespace fedsilo
