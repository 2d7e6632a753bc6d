#include "common/runtime/round_loop.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>

#include <gtest/gtest.h>

#include "common/algorithms/fedavg.h"
#include "common/base/thread_pool.h"
#include "common/runtime/in_process_transport.h"
#include "common/runtime/silo_runtime.h"
#include "tests/algorithms/test_models.h"

namespace fedsilo {
namespace {

using testing::LineDataset;
using testing::QuadraticModel;

// Builds `num_silos` silos over contiguous blocks of `data`, each running local SGD.
struct Federation {
  Federation(const Dataset* data, const Model* model, int num_silos, int local_steps, double lr,
             OracleSettings settings, int threads)
      : pool(threads) {
    auto program = std::make_shared<LocalSgdSiloProgram>(local_steps, lr);
    const int n = data->size();
    for (int s = 0; s < num_silos; ++s) {
      SiloRuntimeOptions options;
      options.silo_id = s;
      options.model = model;
      options.data = data;
      for (int r = s * n / num_silos; r < (s + 1) * n / num_silos; ++r) options.train_rows.push_back(r);
      options.program = program;
      options.privacy.oracle = settings;
      options.private_seed = DeriveSeed(99, "silo", s);
      options.weight = static_cast<double>(options.train_rows.size());
      silos.push_back(std::make_unique<SiloRuntime>(std::move(options)));
      pointers.push_back(silos.back().get());
    }
    transport = std::make_unique<InProcessTransport>(pointers, &pool);
  }
  ThreadPool pool;
  std::vector<std::unique_ptr<SiloRuntime>> silos;
  std::vector<SiloRuntime*> pointers;
  std::unique_ptr<InProcessTransport> transport;
};

TEST(RoundLoopTest, OneSiloFullBatchIsCentralizedGradientDescent) {
  const Dataset data = LineDataset(12, 2);
  const QuadraticModel model(2);
  OracleSettings settings;
  settings.batch_size = 12;
  Federation federation(&data, &model, 1, 1, 0.25, settings, 1);
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  Vector w(2);
  w << 3.0, -1.0;
  const Vector w0 = w;
  RoundLoopOptions options;
  options.rounds = 6;
  auto outcome = RunFederated(coordinator, *federation.transport, options, &w, nullptr);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->rounds_completed, 6);
  const Vector mean = data.x.colwise().mean().transpose();
  for (int j = 0; j < 2; ++j) {
    EXPECT_NEAR(w[j], mean[j] + std::pow(0.75, 6) * (w0[j] - mean[j]), 1e-12);
  }
}

TEST(RoundLoopTest, EqualSizeSilosFullBatchOneStepEqualsCentralizedGradient) {
  // With equal silos, one full-batch step each and size weighting, the average of the silo
  // gradients is the pooled gradient: FedAvg = minibatch SGD = gradient descent on all data.
  const Dataset data = LineDataset(40, 3);
  const QuadraticModel model(3);
  OracleSettings settings;
  settings.batch_size = 1000;
  Federation federation(&data, &model, 4, 1, 0.5, settings, 2);
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  Vector w = Vector::Constant(3, 2.0);
  const Vector w0 = w;
  RoundLoopOptions options;
  options.rounds = 3;
  ASSERT_TRUE(RunFederated(coordinator, *federation.transport, options, &w, nullptr).ok());
  const Vector mean = data.x.colwise().mean().transpose();
  for (int j = 0; j < 3; ++j) {
    EXPECT_NEAR(w[j], mean[j] + std::pow(0.5, 3) * (w0[j] - mean[j]), 1e-12);
  }
}

TEST(RoundLoopTest, SameSeedSameParametersWithOneOrTwoThreads) {
  const Dataset data = LineDataset(200, 4);
  const QuadraticModel model(4);
  OracleSettings settings;
  settings.batch_size = 7;
  settings.record_level_dp = true;
  settings.clip = 0.3;
  settings.noise_std_sum = 0.5;
  Vector results[2];
  for (int threads : {1, 2}) {
    Federation federation(&data, &model, 10, 3, 0.1, settings, threads);
    FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
    Vector w = Vector::Zero(4);
    RoundLoopOptions options;
    options.rounds = 15;
    options.silos_per_round = 4;
    options.seed = 5;
    ASSERT_TRUE(RunFederated(coordinator, *federation.transport, options, &w, nullptr).ok());
    results[threads - 1] = w;
  }
  EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), sizeof(double) * 4), 0);
}

TEST(RoundLoopTest, SiloSamplingIsUniformAndDeterministic) {
  std::vector<int> eligible(20);
  std::iota(eligible.begin(), eligible.end(), 0);
  std::vector<int> counts(20, 0);
  const int rounds = 20000;
  for (int round = 1; round <= rounds; ++round) {
    const auto sampled = SampleSilos(eligible, 5, 77, round);
    ASSERT_EQ(sampled.size(), 5u);
    ASSERT_TRUE(std::is_sorted(sampled.begin(), sampled.end()));
    ASSERT_EQ(std::adjacent_find(sampled.begin(), sampled.end()), sampled.end());
    for (int s : sampled) counts[s]++;
  }
  // Each silo is chosen with probability 1/4: binomial(20000, 0.25), sd ~ 61.
  for (int c : counts) EXPECT_NEAR(c, rounds / 4, 5 * 61.3);
  EXPECT_EQ(SampleSilos(eligible, 5, 77, 3), SampleSilos(eligible, 5, 77, 3));
  EXPECT_NE(SampleSilos(eligible, 5, 77, 3), SampleSilos(eligible, 5, 78, 3));
}

// Fault-injecting decorator: the chosen silos fail with `status` instead of answering
// (ResourceExhausted: budget spent; Unavailable: a crashed process).
class FailingTransport : public Transport {
 public:
  FailingTransport(Transport* inner, std::vector<int> failing, absl::Status status)
      : inner_(inner), failing_(std::move(failing)), status_(std::move(status)) {}
  RoundResults Train(const std::vector<SiloTask>& tasks) override {
    std::vector<SiloTask> forwarded;
    std::vector<SiloFailure> failed;
    for (const SiloTask& task : tasks) {
      if (std::find(failing_.begin(), failing_.end(), task.silo_id) != failing_.end()) {
        failed.push_back({task.silo_id, status_});
        ++failures_;
      } else {
        forwarded.push_back(task);
      }
    }
    RoundResults results = inner_->Train(forwarded);
    results.failures.insert(results.failures.end(), failed.begin(), failed.end());
    return results;
  }
  int num_silos() const override { return inner_->num_silos(); }
  std::vector<SiloPrivacyReport> PrivacyReports() const override {
    return inner_->PrivacyReports();
  }
  int failures_ = 0;

 private:
  Transport* inner_;
  std::vector<int> failing_;
  absl::Status status_;
};

FailingTransport ExhaustingTransport(Transport* inner, std::vector<int> exhausted) {
  return FailingTransport(inner, std::move(exhausted), absl::ResourceExhaustedError("budget spent"));
}

TEST(RoundLoopTest, SilosOutOfBudgetLeaveSamplingAndTheRunStopsCleanly) {
  const Dataset data = LineDataset(40, 2);
  const QuadraticModel model(2);
  OracleSettings settings;
  settings.batch_size = 5;
  Federation federation(&data, &model, 4, 1, 0.1, settings, 1);
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  {
    FailingTransport transport = ExhaustingTransport(federation.transport.get(), {1});
    Vector w = Vector::Zero(2);
    RoundLoopOptions options;
    options.rounds = 10;
    options.silos_per_round = 3;
    auto outcome = RunFederated(coordinator, transport, options, &w, nullptr);
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->rounds_completed, 10);  // three silos remain for three slots
    EXPECT_LE(transport.failures_, 1);         // asked at most once, then never again
  }
  {
    FailingTransport transport = ExhaustingTransport(federation.transport.get(), {0, 2});
    Vector w = Vector::Zero(2);
    RoundLoopOptions options;
    options.rounds = 50;
    options.silos_per_round = 3;
    auto outcome = RunFederated(coordinator, transport, options, &w, nullptr);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_LT(outcome->rounds_completed, 50);
    EXPECT_NE(outcome->stop_reason.find("can still serve"), std::string::npos);
  }
}

// Records what the loop tells its observer.
class RecordingObserver : public RoundObserver {
 public:
  absl::Status OnRoundEnd(const RoundState& state) override {
    rounds.push_back(state.round);
    aggregated.push_back(state.aggregated);
    eligible = state.eligible;
    return absl::OkStatus();
  }
  std::vector<int> rounds;
  std::vector<bool> aggregated;
  std::vector<int> eligible;
};

TEST(RoundLoopTest, MissingRepliesAreLeftOutAndBelowQuorumTheModelStays) {
  const Dataset data = LineDataset(40, 2);
  const QuadraticModel model(2);
  OracleSettings settings;
  settings.batch_size = 10;
  Federation federation(&data, &model, 4, 1, 0.1, settings, 1);
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  // Silo 3 is dead: a round averages silos 0-2 only, i.e. equals a federation of those three.
  FailingTransport dropping(federation.transport.get(), {3}, absl::UnavailableError("silo is gone"));
  Vector w = Vector::Zero(2);
  RoundLoopOptions options;
  options.rounds = 1;
  ASSERT_TRUE(RunFederated(coordinator, dropping, options, &w, nullptr).ok());
  Vector expected = Vector::Zero(2);
  {
    // A fresh federation (a silo never answers a round twice) asked round 1 by silos 0-2 only.
    Federation again(&data, &model, 4, 1, 0.1, settings, 1);
    std::vector<SiloTask> tasks;
    auto global = std::make_shared<const Vector>(Vector::Zero(2));
    for (int s = 0; s < 3; ++s) tasks.push_back(SiloTask{1, s, global});
    RoundResults three = again.transport->Train(tasks);
    ASSERT_EQ(three.updates.size(), 3u);
    ASSERT_TRUE(coordinator.Aggregate(1, three, &expected).ok());
  }
  EXPECT_EQ(w, expected);
  // Quorum 4 with one silo dead: no round is aggregated, the model stays where it was.
  const Vector before = w;
  options.rounds = 3;
  options.first_round = 2;
  options.min_replies = 4;
  RecordingObserver observer;
  auto outcome = RunFederated(coordinator, dropping, options, &w, &observer);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->rounds_completed, 3);
  EXPECT_EQ(observer.rounds, (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(observer.aggregated, (std::vector<bool>{false, false, false}));
  EXPECT_EQ(w, before);
}

// A run split in two (rounds 1-4, then 5-10 from the state the observer saw) ends where the
// uninterrupted run ends, bit for bit: the basis of --resume.
TEST(RoundLoopTest, ContinuingFromARoundStateEqualsAnUninterruptedRun) {
  const Dataset data = LineDataset(60, 2);
  const QuadraticModel model(2);
  OracleSettings settings;
  settings.batch_size = 4;
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  RoundLoopOptions options;
  options.rounds = 10;
  options.silos_per_round = 3;
  options.seed = 17;
  Vector whole = Vector::Ones(2);
  {
    Federation federation(&data, &model, 6, 2, 0.1, settings, 2);
    FailingTransport transport = ExhaustingTransport(federation.transport.get(), {4});
    ASSERT_TRUE(RunFederated(coordinator, transport, options, &whole, nullptr).ok());
  }
  Federation federation(&data, &model, 6, 2, 0.1, settings, 2);
  FailingTransport transport = ExhaustingTransport(federation.transport.get(), {4});
  Vector split = Vector::Ones(2);
  RecordingObserver first;
  options.rounds = 4;
  ASSERT_TRUE(RunFederated(coordinator, transport, options, &split, &first).ok());
  options.first_round = 5;
  options.rounds = 6;
  options.eligible = first.eligible;
  ASSERT_TRUE(RunFederated(coordinator, transport, options, &split, nullptr).ok());
  EXPECT_EQ(split, whole);
  EXPECT_NE(split, Vector::Ones(2));
}

// A transport whose replies the test writes: round r gets script(r, tasks).
class ScriptedTransport : public Transport {
 public:
  using Script = std::function<RoundResults(int round, const std::vector<SiloTask>& tasks)>;
  ScriptedTransport(int silos, Script script) : silos_(silos), script_(std::move(script)) {}
  RoundResults Train(const std::vector<SiloTask>& tasks) override {
    return script_(tasks.front().round, tasks);
  }
  int num_silos() const override { return silos_; }
  std::vector<SiloPrivacyReport> PrivacyReports() const override {
    return std::vector<SiloPrivacyReport>(static_cast<size_t>(silos_));
  }

 private:
  int silos_;
  Script script_;
};

SiloUpdate UpdateOf(const SiloTask& task, Vector delta, double weight) {
  SiloUpdate update;
  update.round = task.round;
  update.silo_id = task.silo_id;
  update.delta = std::move(delta);
  update.weight = weight;
  return update;
}

// Finite replies whose step overflows (server_lr 2 x mean delta 1.7e308) give a non-finite model:
// it is never applied, the round counts as not aggregated, and the next round's finite replies are.
TEST(RoundLoopTest, NonFiniteAggregateIsNeverApplied) {
  ScriptedTransport transport(2, [](int round, const std::vector<SiloTask>& tasks) {
    RoundResults results;
    for (const SiloTask& task : tasks) {
      results.updates.push_back(round == 1 ? UpdateOf(task, Vector::Constant(2, 1.7e308), 1.0)
                                           : UpdateOf(task, Vector::Constant(2, 0.25), 1.0));
    }
    return results;
  });
  FedAvgCoordinator coordinator(Weighting::kBySize, 2.0);
  Vector w = Vector::Constant(2, 1.0);
  RoundLoopOptions options;
  options.rounds = 2;
  auto outcome = RunFederated(coordinator, transport, options, &w, nullptr);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->rounds_completed, 2);
  EXPECT_EQ(outcome->non_finite_rounds, 1);
  EXPECT_TRUE(outcome->stop_reason.empty());
  EXPECT_DOUBLE_EQ(w[0], 1.5);  // round 1 left w at 1; round 2 added 2 x the mean delta 0.25
  EXPECT_DOUBLE_EQ(w[1], 1.5);
}

// When every silo asked refuses (not a timeout), no later round can reach quorum: the loop stops
// at once and names the refusal; a round of timeouts alone does not stop it.
TEST(RoundLoopTest, RoundOfRefusalsOnlyStopsWithTheReason) {
  int rounds_seen = 0;
  ScriptedTransport transport(3, [&](int round, const std::vector<SiloTask>& tasks) {
    ++rounds_seen;
    RoundResults results;
    for (const SiloTask& task : tasks) {
      results.failures.push_back(SiloFailure{
          task.silo_id, round == 1 ? absl::DeadlineExceededError("late")
                                   : absl::FailedPreconditionError("already answered round 2")});
    }
    return results;
  });
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  Vector w = Vector::Constant(2, 1.0);
  RoundLoopOptions options;
  options.rounds = 10;
  auto outcome = RunFederated(coordinator, transport, options, &w, nullptr);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(rounds_seen, 2);
  EXPECT_EQ(outcome->rounds_completed, 1);
  EXPECT_NE(outcome->stop_reason.find("stopped in round 2: every silo asked (3) refused"),
            std::string::npos) << outcome->stop_reason;
  EXPECT_NE(outcome->stop_reason.find("already answered round 2"), std::string::npos);
  EXPECT_DOUBLE_EQ(w[0], 1.0);
}

// A shuffler's failures carry no silo (id -1) and a discarded shuffled round can come from one late
// silo: such rounds never stop the loop.
TEST(RoundLoopTest, AnonymousFailuresNeverStopTheLoop) {
  int rounds_seen = 0;
  ScriptedTransport transport(2, [&](int, const std::vector<SiloTask>& tasks) {
    ++rounds_seen;
    RoundResults results;
    results.failures.assign(tasks.size(),
                            SiloFailure{-1, absl::FailedPreconditionError("too few reports")});
    return results;
  });
  FedAvgCoordinator coordinator(Weighting::kBySize, 1.0);
  Vector w = Vector::Constant(2, 1.0);
  RoundLoopOptions options;
  options.rounds = 4;
  auto outcome = RunFederated(coordinator, transport, options, &w, nullptr);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(rounds_seen, 4);
  EXPECT_EQ(outcome->rounds_completed, 4);
  EXPECT_TRUE(outcome->stop_reason.empty()) << outcome->stop_reason;
}

}  // namespace
}  // namespace fedsilo
