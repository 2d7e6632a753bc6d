// NetworkTransport against hand-written silos: a real gRPC server on 127.0.0.1 and real channels
// (the generated stub), plaintext. Each test checks what the coordinator does with what a silo
// could get wrong or forge: admission, validation of replies, replays, deadlines, disconnects and
// message size. The expected updates are the literal vectors the test silos send.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "common/transport/sealed_report.h"
#include "common/transport/shuffling_transport.h"
#include "common/transport/unsealing_transport.h"
#include "server/network_transport.h"
#include "tests/server/test_silo.h"

namespace fedsilo {
namespace {

using ::testing::HasSubstr;
using testing::TestCoordinator;
using testing::TestSilo;

constexpr int kParameters = 4;
const std::vector<std::string> kRoster = {"silo-a", "silo-b", "silo-c"};

NetworkTransportOptions Options(double round_timeout_seconds = 10) {
  NetworkTransportOptions options;
  options.num_silos = 3;
  options.roster = kRoster;
  options.experiment_yaml = "seed: 7\n";
  options.num_parameters = kParameters;
  options.round_timeout_seconds = round_timeout_seconds;
  options.join_timeout_seconds = 5;
  options.min_replies = 1;
  return options;
}

// The shuffler's side of a shuffle-model run: 1 to 3 sealed reports per update, no clear delta.
NetworkTransportOptions SealedOptions() {
  NetworkTransportOptions options = Options();
  options.max_sealed_reports = 3;
  return options;
}

std::shared_ptr<grpc::Channel> Channel(const TestCoordinator& coordinator) {
  grpc::ChannelArguments arguments;
  arguments.SetMaxSendMessageSize(-1);  // the coordinator's limit is the one under test
  return grpc::CreateCustomChannel(coordinator.address(), grpc::InsecureChannelCredentials(),
                                   arguments);
}

// The honest update of silo `id` in `round`: values nobody else computes.
std::vector<double> HonestDelta(int id, int round) {
  return {1.0 + id, -0.5 * round, 0.25 * id * round, 1e-3 * (id + 1)};
}
double HonestWeight(int id) { return 10.0 * (id + 1); }

std::vector<double> ToStd(const Vector& v) { return std::vector<double>(v.data(), v.data() + v.size()); }

std::vector<SiloTask> Tasks(int round, std::vector<int> ids = {0, 1, 2}) {
  auto global = std::make_shared<const Vector>(Vector::Constant(kParameters, 0.5 * round));
  std::vector<SiloTask> tasks;
  for (int id : ids) tasks.push_back(SiloTask{round, id, global});
  return tasks;
}

// How many times `needle` occurs in `text`.
size_t Occurrences(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

std::future<RoundResults> StartRound(NetworkTransport& transport, std::vector<SiloTask> tasks) {
  return std::async(std::launch::async,
                    [&transport, tasks = std::move(tasks)] { return transport.Train(tasks); });
}

// Fixture: a coordinator (plaintext, 127.0.0.1) and up to three joined silos.
class NetworkTransportTest : public ::testing::Test {
 protected:
  void Start(NetworkTransportOptions options = Options(), int max_receive_bytes = 4 << 20) {
    coordinator_ = std::make_unique<TestCoordinator>(std::move(options),
                                                     grpc::InsecureServerCredentials(),
                                                     max_receive_bytes);
    ASSERT_TRUE(coordinator_->started());
  }
  void TearDown() override {
    silos_.clear();  // drop the connections first, so the server stops at once
    coordinator_.reset();
  }
  NetworkTransport& transport() { return coordinator_->transport(); }
  std::unique_ptr<TestSilo> NewSilo() { return std::make_unique<TestSilo>(Channel(*coordinator_)); }

  // Joins silos silo-a, silo-b, silo-c as ids 0, 1, 2 and waits until the coordinator counts them.
  void JoinAll() {
    for (int id = 0; id < 3; ++id) {
      silos_.push_back(NewSilo());
      const auto welcome = silos_.back()->Join(kRoster[static_cast<size_t>(id)], kParameters);
      ASSERT_TRUE(welcome.has_value()) << kRoster[static_cast<size_t>(id)];
      ASSERT_EQ(welcome->silo_id(), static_cast<uint32_t>(id));
    }
    ASSERT_TRUE(transport().WaitForSilos(3, 5).ok());
  }
  // Silo `id` reads its task of `round` and checks it carries the round's parameters.
  void ExpectTask(int id, int round) {
    const auto task = silos_[static_cast<size_t>(id)]->ReadTask();
    ASSERT_TRUE(task.has_value()) << "silo " << id << " got no task";
    EXPECT_EQ(task->round(), static_cast<uint32_t>(round));
    EXPECT_THAT(std::vector<double>(task->global_parameters().values().begin(),
                                    task->global_parameters().values().end()),
                ::testing::ElementsAre(0.5 * round, 0.5 * round, 0.5 * round, 0.5 * round));
  }
  void AnswerHonestly(int id, int round) {
    ASSERT_TRUE(silos_[static_cast<size_t>(id)]->SendUpdate(
        static_cast<uint32_t>(round), HonestDelta(id, round), HonestWeight(id)));
  }
  // A round in which every silo answers honestly; its results.
  RoundResults HonestRound(int round) {
    auto results = StartRound(transport(), Tasks(round));
    for (int id = 0; id < 3; ++id) {
      ExpectTask(id, round);
      AnswerHonestly(id, round);
    }
    return results.get();
  }
  // Checks that `results` holds the honest updates of exactly `ids`, in that (ascending) order.
  static void ExpectHonestUpdates(const RoundResults& results, int round, std::vector<int> ids) {
    ASSERT_EQ(results.updates.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      const SiloUpdate& update = results.updates[i];
      EXPECT_EQ(update.silo_id, ids[i]);
      EXPECT_EQ(update.round, round);
      EXPECT_EQ(ToStd(update.delta), HonestDelta(ids[i], round)) << "silo " << ids[i];
      EXPECT_EQ(update.weight, HonestWeight(ids[i]));
    }
  }
  // The failure of silo `id` in `results` (its status), or OK when it has none.
  static absl::Status FailureOf(const RoundResults& results, int id) {
    for (const SiloFailure& failure : results.failures) {
      if (failure.silo_id == id) return failure.status;
    }
    return absl::OkStatus();
  }

  std::unique_ptr<TestCoordinator> coordinator_;
  std::vector<std::unique_ptr<TestSilo>> silos_;
};

TEST_F(NetworkTransportTest, WelcomeAndUpdatesInAscendingSiloIdWhateverTheArrivalOrder) {
  Start();
  testing::ScopedLogCapture capture;
  silos_.push_back(NewSilo());
  ASSERT_TRUE(silos_[0]->Hello("silo-a"));
  const auto first = silos_[0]->Read();
  ASSERT_TRUE(first.has_value() && first->has_welcome());
  EXPECT_EQ(first->welcome().protocol_version(), 1u);
  EXPECT_EQ(first->welcome().silo_id(), 0u);
  EXPECT_EQ(first->welcome().num_silos(), 3u);
  EXPECT_EQ(first->welcome().num_parameters(), static_cast<uint64_t>(kParameters));
  EXPECT_EQ(first->welcome().experiment_yaml(), "seed: 7\n");
  ASSERT_TRUE(silos_[0]->Ready(kParameters));
  // Roster order, not joining order, gives the ids.
  for (const int id : {2, 1}) {
    auto silo = NewSilo();
    const auto welcome = silo->Join(kRoster[static_cast<size_t>(id)], kParameters);
    ASSERT_TRUE(welcome.has_value());
    EXPECT_EQ(welcome->silo_id(), static_cast<uint32_t>(id));
    silos_.resize(3);
    silos_[static_cast<size_t>(id)] = std::move(silo);
  }
  ASSERT_TRUE(transport().WaitForSilos(3, 5).ok());

  auto results = StartRound(transport(), Tasks(1));
  for (const int id : {2, 1, 0}) ExpectTask(id, 1);
  for (const int id : {2, 1, 0}) {  // answers arrive in reverse silo order
    ASSERT_TRUE(silos_[static_cast<size_t>(id)]->SendUpdate(1, HonestDelta(id, 1), HonestWeight(id),
                                                             /*noisy_queries=*/10 + id));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  const RoundResults round = results.get();
  EXPECT_TRUE(round.failures.empty());
  ExpectHonestUpdates(round, 1, {0, 1, 2});
  // Each silo's privacy report is the one sent with its update.
  const std::vector<SiloPrivacyReport> reports = transport().PrivacyReports();
  ASSERT_EQ(reports.size(), 3u);
  for (int id = 0; id < 3; ++id) {
    EXPECT_TRUE(reports[static_cast<size_t>(id)].known);
    EXPECT_EQ(reports[static_cast<size_t>(id)].noisy_queries, 10 + id);
  }
  const NetworkTraffic traffic = transport().traffic();
  EXPECT_GT(traffic.bytes_sent, 3u * kParameters * sizeof(double));
  EXPECT_GT(traffic.bytes_received, 3u * kParameters * sizeof(double));
}

TEST_F(NetworkTransportTest, WrongProtocolVersionIsFailedPreconditionNamingTheVersion) {
  Start();
  testing::ScopedLogCapture capture;
  auto silo = NewSilo();
  ASSERT_TRUE(silo->Hello("silo-a", -1, /*version=*/2));
  EXPECT_FALSE(silo->Read().has_value());
  const grpc::Status status = silo->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("protocol version 2"));
  EXPECT_THAT(status.error_message(), HasSubstr("speaks version 1"));
  EXPECT_TRUE(capture.log().WaitFor("protocol version 2")) << capture.log().All();
  EXPECT_FALSE(transport().WaitForSilos(1, 0.05).ok());
}

TEST_F(NetworkTransportTest, NameNotInTheRosterIsPermissionDenied) {
  Start();
  testing::ScopedLogCapture capture;
  auto silo = NewSilo();
  ASSERT_TRUE(silo->Hello("mallory"));
  const grpc::Status status = silo->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("'mallory' is not in this run's roster"));
  EXPECT_TRUE(capture.log().WaitFor("'mallory' is not in this run's roster"));
  // A Hello without a name, and a first message that is not a Hello.
  auto nameless = NewSilo();
  ASSERT_TRUE(nameless->Hello(""));
  EXPECT_EQ(nameless->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto rude = NewSilo();
  ASSERT_TRUE(rude->Ready(kParameters));
  const grpc::Status no_hello = rude->Finish();
  EXPECT_EQ(no_hello.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(no_hello.error_message(), HasSubstr("must start with Hello"));
}

TEST_F(NetworkTransportTest, ShardOutOfRangeIsInvalidArgument) {
  NetworkTransportOptions options = Options();
  options.roster.clear();  // ids are shard indices
  Start(options);
  for (const int shard : {3, 1000}) {
    auto silo = NewSilo();
    ASSERT_TRUE(silo->Hello("silo-x", shard));
    const grpc::Status status = silo->Finish();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << shard;
    EXPECT_THAT(status.error_message(), HasSubstr("[0, 3)"));
    EXPECT_THAT(status.error_message(), HasSubstr("got " + std::to_string(shard)));
  }
  // A silo with its own data (no shard) needs a roster: the message says where to get one.
  auto own_data = NewSilo();
  ASSERT_TRUE(own_data->Hello("silo-x", -1));
  const grpc::Status no_roster = own_data->Finish();
  EXPECT_EQ(no_roster.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(no_roster.error_message(),
              HasSubstr("this run has no roster to give it an id: list the silos' names in the "
                        "coordinator's network.silos (`fedsilo partition` writes coordinator.yaml "
                        "with one), or start each silo with --shard I"));
  auto good = NewSilo();
  const auto welcome = good->Join("silo-x", kParameters, /*shard=*/2);
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(welcome->silo_id(), 2u);
}

TEST_F(NetworkTransportTest, ShardThatDisagreesWithTheRosterIsInvalidArgument) {
  Start();
  auto silo = NewSilo();
  ASSERT_TRUE(silo->Hello("silo-b", /*shard=*/0));
  const grpc::Status status = silo->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("asks for shard 0 but the roster gives it id 1"));
}

TEST_F(NetworkTransportTest, SecondSessionForTheSameSiloIsAlreadyExistsAndTheFirstKeepsWorking) {
  Start();
  JoinAll();
  testing::ScopedLogCapture capture;
  auto impostor = NewSilo();
  ASSERT_TRUE(impostor->Hello("silo-b"));
  const grpc::Status status = impostor->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_THAT(status.error_message(), HasSubstr("silo 1 (silo-b) is already connected"));
  EXPECT_TRUE(capture.log().WaitFor("already connected"));
  const RoundResults round = HonestRound(1);
  EXPECT_TRUE(round.failures.empty());
  ExpectHonestUpdates(round, 1, {0, 1, 2});
}

TEST_F(NetworkTransportTest, ReadyWithTheWrongNumberOfParametersIsRejected) {
  Start();
  testing::ScopedLogCapture capture;
  auto silo = NewSilo();
  ASSERT_TRUE(silo->Hello("silo-a"));
  ASSERT_TRUE(silo->Read().has_value());  // Welcome
  ASSERT_TRUE(silo->Ready(kParameters + 1));
  const grpc::Status status = silo->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("silo 0 (silo-a) built a model with 5 parameters"));
  EXPECT_THAT(status.error_message(), HasSubstr("this run's model has 4"));
  EXPECT_TRUE(capture.log().WaitFor("built a model with 5 parameters"));
  // Not counted as ready, and its slot is free again: the corrected silo joins.
  EXPECT_FALSE(transport().WaitForSilos(1, 0.05).ok());
  auto corrected = NewSilo();
  ASSERT_TRUE(corrected->Join("silo-a", kParameters).has_value());
  EXPECT_TRUE(transport().WaitForSilos(1, 5).ok());
}

TEST_F(NetworkTransportTest, NonFiniteUpdateFailsThatSiloOnlyAndTheOthersAreUnchanged) {
  Start();
  JoinAll();
  testing::ScopedLogCapture capture;
  const double bad_values[] = {std::numeric_limits<double>::quiet_NaN(),
                               std::numeric_limits<double>::infinity(),
                               -std::numeric_limits<double>::infinity()};
  int round = 0;
  for (const double bad : bad_values) {
    ++round;
    auto results = StartRound(transport(), Tasks(round));
    for (int id = 0; id < 3; ++id) ExpectTask(id, round);
    AnswerHonestly(0, round);
    std::vector<double> poisoned = HonestDelta(1, round);
    poisoned[2] = bad;
    ASSERT_TRUE(silos_[1]->SendUpdate(static_cast<uint32_t>(round), poisoned, HonestWeight(1)));
    AnswerHonestly(2, round);
    const RoundResults results_of_round = results.get();
    ExpectHonestUpdates(results_of_round, round, {0, 2});
    ASSERT_EQ(results_of_round.failures.size(), 1u);
    const absl::Status failure = FailureOf(results_of_round, 1);
    EXPECT_TRUE(absl::IsInvalidArgument(failure)) << failure;
    EXPECT_THAT(std::string(failure.message()), HasSubstr("silo 1 (silo-b)"));
    EXPECT_THAT(std::string(failure.message()), HasSubstr("non-finite value at index 2"));
  }
  EXPECT_TRUE(capture.log().Contains("silo 1 (silo-b) failed round 1")) << capture.log().All();
  // The silo stays connected and serves the next round.
  const RoundResults next = HonestRound(round + 1);
  EXPECT_TRUE(next.failures.empty());
  ExpectHonestUpdates(next, round + 1, {0, 1, 2});
}

TEST_F(NetworkTransportTest, WrongVectorSizeOrBadWeightIsInvalidArgument) {
  Start();
  JoinAll();
  auto results = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  ASSERT_TRUE(silos_[0]->SendUpdate(1, {1.0, 2.0, 3.0}, HonestWeight(0)));
  AnswerHonestly(1, 1);
  ASSERT_TRUE(silos_[2]->SendUpdate(1, HonestDelta(2, 1), 0.0));
  const RoundResults round = results.get();
  ExpectHonestUpdates(round, 1, {1});
  const absl::Status short_vector = FailureOf(round, 0);
  EXPECT_TRUE(absl::IsInvalidArgument(short_vector)) << short_vector;
  EXPECT_THAT(std::string(short_vector.message()), HasSubstr("has 3 values, expected 4"));
  const absl::Status zero_weight = FailureOf(round, 2);
  EXPECT_TRUE(absl::IsInvalidArgument(zero_weight)) << zero_weight;
  EXPECT_THAT(std::string(zero_weight.message()), HasSubstr("has weight 0"));

  // Too long, negative weight, non-finite weight.
  auto second = StartRound(transport(), Tasks(2));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 2);
  ASSERT_TRUE(silos_[0]->SendUpdate(2, {1, 2, 3, 4, 5}, HonestWeight(0)));
  ASSERT_TRUE(silos_[1]->SendUpdate(2, HonestDelta(1, 2), -1.0));
  ASSERT_TRUE(silos_[2]->SendUpdate(2, HonestDelta(2, 2), std::numeric_limits<double>::quiet_NaN()));
  const RoundResults round2 = second.get();
  EXPECT_TRUE(round2.updates.empty());
  ASSERT_EQ(round2.failures.size(), 3u);
  EXPECT_THAT(std::string(FailureOf(round2, 0).message()), HasSubstr("has 5 values, expected 4"));
  EXPECT_THAT(std::string(FailureOf(round2, 1).message()), HasSubstr("has weight -1"));
  EXPECT_THAT(std::string(FailureOf(round2, 2).message()), HasSubstr("has weight nan"));
}

TEST_F(NetworkTransportTest, RefusalBecomesThatSilosFailureWithItsCode) {
  Start();
  JoinAll();
  auto results = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  AnswerHonestly(0, 1);
  ASSERT_TRUE(silos_[1]->SendRefusal(1, static_cast<int>(absl::StatusCode::kResourceExhausted),
                                     "privacy budget spent"));
  ASSERT_TRUE(silos_[2]->SendRefusal(1, 0, "a refusal that claims OK"));
  const RoundResults round = results.get();
  ExpectHonestUpdates(round, 1, {0});
  EXPECT_EQ(FailureOf(round, 1), absl::ResourceExhaustedError("privacy budget spent"));
  EXPECT_EQ(FailureOf(round, 2), absl::UnknownError("a refusal that claims OK"));
}

TEST_F(NetworkTransportTest, ReplayedUpdateOfAnOldRoundIsDiscarded) {
  Start();
  JoinAll();
  testing::ScopedLogCapture capture;
  const RoundResults round1 = HonestRound(1);
  ExpectHonestUpdates(round1, 1, {0, 1, 2});

  // Between rounds: a replay of round 1 is discarded (nothing is in flight).
  AnswerHonestly(0, 1);
  ASSERT_TRUE(capture.log().WaitFor("discarded a reply from silo 0 (silo-a) for round 1"));

  // Round 2: silo 0 replays its round-1 update, then a poisoned "round 1" update and an update
  // for a future round, before its honest answer. Only the honest answer counts.
  auto results = StartRound(transport(), Tasks(2));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 2);
  AnswerHonestly(0, 1);
  ASSERT_TRUE(silos_[0]->SendUpdate(1, {1e9, 1e9, 1e9, 1e9}, 1e9));
  ASSERT_TRUE(silos_[0]->SendUpdate(3, {-1e9, -1e9, -1e9, -1e9}, 1e9));
  ASSERT_TRUE(capture.log().WaitFor("for round 3: the round in flight is 2")) << capture.log().All();
  for (int id = 0; id < 3; ++id) AnswerHonestly(id, 2);
  const RoundResults round2 = results.get();
  EXPECT_TRUE(round2.failures.empty());
  ExpectHonestUpdates(round2, 2, {0, 1, 2});  // exactly the honest round
  EXPECT_TRUE(capture.log().Contains("for round 1: the round in flight is 2")) << capture.log().All();

  // A replay that is the only answer of silo 1 in round 3 does not count as its answer.
  auto third = StartRound(transport(), Tasks(3, {0, 1}));
  ExpectTask(0, 3);
  ExpectTask(1, 3);
  AnswerHonestly(0, 3);
  AnswerHonestly(1, 2);  // replay of round 2 instead of an answer
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  AnswerHonestly(1, 3);
  // Silo 2 was not asked in round 3: its unsolicited update is discarded.
  AnswerHonestly(2, 3);
  ASSERT_TRUE(capture.log().WaitFor(
      "discarded a reply from silo 2 (silo-c) for round 3: it was not asked this round"));
  const RoundResults round3 = third.get();
  EXPECT_TRUE(round3.failures.empty());
  ExpectHonestUpdates(round3, 3, {0, 1});
}

TEST_F(NetworkTransportTest, SecondHelloMidRoundEndsTheSessionAndFailsThatSilo) {
  Start();
  JoinAll();
  auto results = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  AnswerHonestly(0, 1);
  AnswerHonestly(2, 1);
  ASSERT_TRUE(silos_[1]->Hello("silo-a"));  // tries to become another silo mid-session
  const RoundResults round = results.get();
  ExpectHonestUpdates(round, 1, {0, 2});
  EXPECT_TRUE(absl::IsUnavailable(FailureOf(round, 1))) << FailureOf(round, 1);
  EXPECT_THAT(std::string(FailureOf(round, 1).message()),
              HasSubstr("during round 1: rejected: silo 1 (silo-b) sent a second Hello"));
  const grpc::Status status = silos_[1]->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("silo 1 (silo-b) sent a second Hello"));
}

TEST_F(NetworkTransportTest, SecondAnswerInTheSameRoundIsDiscarded) {
  Start();
  JoinAll();
  testing::ScopedLogCapture capture;
  auto results = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  AnswerHonestly(0, 1);
  ASSERT_TRUE(silos_[0]->SendUpdate(1, {7, 7, 7, 7}, 1e6));  // a second, different answer
  std::vector<double> poisoned = HonestDelta(0, 1);
  poisoned[0] = std::numeric_limits<double>::quiet_NaN();
  ASSERT_TRUE(silos_[0]->SendUpdate(1, poisoned, HonestWeight(0)));  // and an invalid one
  ASSERT_TRUE(silos_[0]->SendRefusal(1, static_cast<int>(absl::StatusCode::kInternal), "oops"));
  // The round is still in flight (silos 1 and 2 have not answered): wait until the three extra
  // messages have been seen and discarded.
  for (int seen = 0; seen < 50; ++seen) {
    const std::string log = capture.log().All();
    size_t count = 0;
    for (size_t at = log.find("it has already answered"); at != std::string::npos;
         at = log.find("it has already answered", at + 1)) {
      ++count;
    }
    if (count == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_THAT(capture.log().All(),
              HasSubstr("discarded a reply from silo 0 (silo-a) for round 1: it has already answered"));
  AnswerHonestly(1, 1);
  AnswerHonestly(2, 1);
  const RoundResults round = results.get();
  EXPECT_TRUE(round.failures.empty());
  ExpectHonestUpdates(round, 1, {0, 1, 2});
}

TEST_F(NetworkTransportTest, SiloThatNeverAnswersMissesTheDeadlineAndTheOthersAreKept) {
  Start(Options(/*round_timeout_seconds=*/0.5));
  JoinAll();
  testing::ScopedLogCapture capture;
  const auto start = std::chrono::steady_clock::now();
  auto results = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  AnswerHonestly(0, 1);
  AnswerHonestly(1, 1);  // silo 2 stays silent
  const RoundResults round = results.get();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(elapsed, 0.5);
  EXPECT_LT(elapsed, 3.0);
  ExpectHonestUpdates(round, 1, {0, 1});
  ASSERT_EQ(round.failures.size(), 1u);
  const absl::Status late = FailureOf(round, 2);
  EXPECT_TRUE(absl::IsDeadlineExceeded(late)) << late;
  EXPECT_THAT(std::string(late.message()), HasSubstr("silo 2 (silo-c) did not reply within 0.5 s in round 1"));
  EXPECT_TRUE(capture.log().Contains("silo 2 (silo-c) did not reply within 0.5 s"));

  // Its late answer is discarded, and it serves the next round.
  AnswerHonestly(2, 1);
  ASSERT_TRUE(capture.log().WaitFor("discarded a reply from silo 2 (silo-c) for round 1"));
  const RoundResults next = HonestRound(2);
  EXPECT_TRUE(next.failures.empty());
  ExpectHonestUpdates(next, 2, {0, 1, 2});
}

TEST_F(NetworkTransportTest, SiloThatDisconnectsMidRoundIsUnavailableAndCanRejoin) {
  Start(Options(/*round_timeout_seconds=*/30));
  JoinAll();
  testing::ScopedLogCapture capture;
  const auto start = std::chrono::steady_clock::now();
  auto results = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  AnswerHonestly(0, 1);
  AnswerHonestly(2, 1);
  silos_[1]->Cancel();  // silo 1 crashes with its task in hand
  const RoundResults round = results.get();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(elapsed, 10.0);  // the round ends when the silo is gone, not at the 30 s deadline
  ExpectHonestUpdates(round, 1, {0, 2});
  const absl::Status gone = FailureOf(round, 1);
  EXPECT_TRUE(absl::IsUnavailable(gone)) << gone;
  EXPECT_THAT(std::string(gone.message()), HasSubstr("silo 1 (silo-b)"));
  EXPECT_THAT(std::string(gone.message()),
              HasSubstr("during round 1: its stream ended"));
  EXPECT_TRUE(capture.log().Contains("silo 1 (silo-b) disconnected during round 1: its stream ended"))
      << capture.log().All();

  // Not connected in the next round...
  const RoundResults absent = [&] {
    auto pending = StartRound(transport(), Tasks(2));
    ExpectTask(0, 2);
    ExpectTask(2, 2);
    AnswerHonestly(0, 2);
    AnswerHonestly(2, 2);
    return pending.get();
  }();
  ExpectHonestUpdates(absent, 2, {0, 2});
  EXPECT_TRUE(absl::IsUnavailable(FailureOf(absent, 1)));
  EXPECT_THAT(std::string(FailureOf(absent, 1).message()), HasSubstr("silo 1 (silo-b) is not connected"));

  // ...then it reconnects under its name, gets its id back and serves round 3.
  silos_[1] = NewSilo();
  const auto welcome = silos_[1]->Join("silo-b", kParameters);
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(welcome->silo_id(), 1u);
  ASSERT_TRUE(transport().WaitForSilos(3, 5).ok());
  const RoundResults back = HonestRound(3);
  EXPECT_TRUE(back.failures.empty());
  ExpectHonestUpdates(back, 3, {0, 1, 2});

  // A silo that ends its session cleanly (half-close) mid-round is dropped at once too.
  auto fourth = StartRound(transport(), Tasks(4));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 4);
  AnswerHonestly(0, 4);
  AnswerHonestly(1, 4);
  EXPECT_TRUE(silos_[2]->Finish().ok());
  const RoundResults closed = fourth.get();
  ExpectHonestUpdates(closed, 4, {0, 1});
  EXPECT_THAT(std::string(FailureOf(closed, 2).message()),
              HasSubstr("silo 2 (silo-c) disconnected during round 4: its stream ended"));
}

TEST_F(NetworkTransportTest, OversizedMessageEndsThatSilosStreamOnly) {
  constexpr int kLimit = 64 * 1024;
  Start(Options(), kLimit);
  JoinAll();
  testing::ScopedLogCapture capture;
  auto results = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  AnswerHonestly(1, 1);
  AnswerHonestly(2, 1);
  // 10,000 doubles: about 80 KB, over the coordinator's 64 KiB limit.
  silos_[0]->SendUpdate(1, std::vector<double>(10000, 1.0), HonestWeight(0));
  const RoundResults round = results.get();
  ExpectHonestUpdates(round, 1, {1, 2});
  const absl::Status dropped = FailureOf(round, 0);
  EXPECT_FALSE(dropped.ok());
  EXPECT_THAT(std::string(dropped.message()), HasSubstr("silo 0 (silo-a)"));
  EXPECT_THAT(std::string(dropped.message()), HasSubstr("network.max_message_mb"));
  EXPECT_TRUE(capture.log().Contains("silo 0 (silo-a) disconnected during round 1: its stream "
                                     "ended"))
      << capture.log().All();
  // The silo learns the reason from gRPC: its stream ends with RESOURCE_EXHAUSTED.
  const grpc::Status status = silos_[0]->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("larger than max"));
  // The others go on.
  auto next = StartRound(transport(), Tasks(2, {1, 2}));
  ExpectTask(1, 2);
  ExpectTask(2, 2);
  AnswerHonestly(1, 2);
  AnswerHonestly(2, 2);
  const RoundResults round2 = next.get();
  EXPECT_TRUE(round2.failures.empty());
  ExpectHonestUpdates(round2, 2, {1, 2});
}

TEST_F(NetworkTransportTest, WaitForSilosNamesTheMissingOnes) {
  Start();
  auto silo = NewSilo();
  ASSERT_TRUE(silo->Join("silo-b", kParameters).has_value());
  EXPECT_TRUE(transport().WaitForSilos(1, 5).ok());
  const absl::Status missing = transport().WaitForSilos(3, 0.1);
  EXPECT_TRUE(absl::IsDeadlineExceeded(missing)) << missing;
  EXPECT_THAT(std::string(missing.message()), HasSubstr("only 1 of the 3 silos"));
  EXPECT_THAT(std::string(missing.message()), HasSubstr("silo 0 (silo-a), silo 2 (silo-c)"));
}

// Sealed reports over gRPC: the coordinator's NetworkTransport passes the sealed bytes on
// untouched; behind a ShufflingTransport and an UnsealingTransport the coordinator gets the silos'
// reports opened, in shuffled order, without their senders.
TEST_F(NetworkTransportTest, SealedReportsTravelOverGrpcAndOpenAfterTheShuffle) {
  Start(SealedOptions());
  JoinAll();
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok()) << keys.status();
  const ReportPublicKey public_key = keys->public_key();
  ShufflingTransport shuffler(&transport());
  UnsealingTransport edge(&shuffler, std::move(keys).value());
  EXPECT_TRUE(edge.HidesSenders());
  auto round = std::async(std::launch::async, [&edge] { return edge.Train(Tasks(1)); });
  std::vector<std::vector<double>> sent;
  for (int id = 0; id < 3; ++id) {
    ExpectTask(id, 1);
    ReportPayload payload;
    payload.round = 1;
    const std::vector<double> delta = HonestDelta(id, 1);
    payload.values = Eigen::Map<const Vector>(delta.data(), static_cast<Eigen::Index>(delta.size()));
    auto sealed = SealReport(payload, public_key);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    ASSERT_TRUE(silos_[static_cast<size_t>(id)]->SendSealed(1, *sealed));
    sent.push_back(delta);
  }
  const RoundResults results = round.get();
  EXPECT_TRUE(results.failures.empty());
  ASSERT_EQ(results.updates.size(), 3u);
  std::vector<std::vector<double>> seen;
  for (const SiloUpdate& update : results.updates) {
    EXPECT_EQ(update.silo_id, -1);
    EXPECT_EQ(update.round, 1);
    EXPECT_EQ(update.weight, 1.0);
    seen.push_back(ToStd(update.delta));
  }
  std::sort(seen.begin(), seen.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(seen, sent);
}

TEST_F(NetworkTransportTest, SealedReportWithAClearDeltaBesideItIsInvalidArgument) {
  Start(SealedOptions());
  JoinAll();
  auto round = StartRound(transport(), Tasks(1, {0}));
  ExpectTask(0, 1);
  ASSERT_TRUE(silos_[0]->SendSealed(1, {1, 2, 3}, HonestDelta(0, 1)));
  const RoundResults results = round.get();
  EXPECT_TRUE(results.updates.empty());
  const absl::Status status = FailureOf(results, 0);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("carries a delta in the clear; this run takes only sealed reports"));
}

TEST_F(NetworkTransportTest, SealedBytesArePassedOnUntouched) {
  Start(SealedOptions());
  JoinAll();
  auto round = StartRound(transport(), Tasks(1, {1}));
  ExpectTask(1, 1);
  const std::vector<uint8_t> bytes = {0, 255, 7, 0, 42};
  ASSERT_TRUE(silos_[1]->SendSealed(1, bytes));
  const RoundResults results = round.get();
  ASSERT_EQ(results.updates.size(), 1u);
  EXPECT_EQ(results.updates[0].silo_id, 1);
  EXPECT_EQ(results.updates[0].sealed, std::vector<SealedReport>{bytes});
  EXPECT_EQ(results.updates[0].delta.size(), 0);
}

// Per-record reports: one Update carrying several sealed reports arrives as one reply holding all
// of them, in the order sent (the shuffler splits them; ShufflingTransport).
TEST_F(NetworkTransportTest, SeveralSealedReportsInOneUpdateArePassedOnTogether) {
  Start(SealedOptions());
  JoinAll();
  auto round = StartRound(transport(), Tasks(1, {0}));
  ExpectTask(0, 1);
  const std::vector<SealedReport> reports = {{1, 2, 3}, {4, 5}, {6}};
  ASSERT_TRUE(silos_[0]->SendSealedReports(1, reports));
  const RoundResults results = round.get();
  ASSERT_EQ(results.updates.size(), 1u);
  EXPECT_EQ(results.updates[0].sealed, reports);
  EXPECT_TRUE(results.failures.empty());
}

// A plain run takes deltas in the clear only: sealed bytes (which the coordinator would pass on to
// an aggregator that cannot read them) fail that silo's reply, and the others are kept.
TEST_F(NetworkTransportTest, SealedBytesInAPlainRunFailThatSiloOnly) {
  Start();
  JoinAll();
  auto round = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  AnswerHonestly(0, 1);
  ASSERT_TRUE(silos_[1]->SendSealed(1, {1, 2, 3}));
  AnswerHonestly(2, 1);
  const RoundResults results = round.get();
  ExpectHonestUpdates(results, 1, {0, 2});
  const absl::Status status = FailureOf(results, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("carries sealed reports, but this run's updates travel in the clear"));
}

// The shuffler's side: a silo that sends more than its K reports (or none) fails alone; the
// others' reports go on.
TEST_F(NetworkTransportTest, MoreThanKSealedReportsFailThatSiloOnly) {
  Start(SealedOptions());
  JoinAll();
  auto round = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  ASSERT_TRUE(silos_[0]->SendSealedReports(1, {{1}, {2}, {3}}));
  ASSERT_TRUE(silos_[1]->SendSealedReports(1, {{1}, {2}, {3}, {4}}));
  ASSERT_TRUE(silos_[2]->SendSealedReports(1, {{7}}));
  const RoundResults results = round.get();
  ASSERT_EQ(results.updates.size(), 2u);
  EXPECT_EQ(results.updates[0].silo_id, 0);
  EXPECT_EQ(results.updates[1].silo_id, 2);
  const absl::Status status = FailureOf(results, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("carries 4 sealed reports; a silo sends 1 to 3 per round"));
}

// A weight above the record count the silo reported when it joined (100 for TestSilo) would let
// one silo outweigh all others: that reply fails, the others are aggregated.
TEST_F(NetworkTransportTest, WeightAboveTheReportedRecordCountFailsThatSiloOnly) {
  Start();
  JoinAll();
  auto round = StartRound(transport(), Tasks(1));
  for (int id = 0; id < 3; ++id) ExpectTask(id, 1);
  AnswerHonestly(0, 1);
  ASSERT_TRUE(silos_[1]->SendUpdate(1, HonestDelta(1, 1), 1e12));
  ASSERT_TRUE(silos_[2]->SendUpdate(1, HonestDelta(2, 1), 100.0));  // exactly its size: fine
  const RoundResults results = round.get();
  ASSERT_EQ(results.updates.size(), 2u);
  EXPECT_EQ(results.updates[0].silo_id, 0);
  EXPECT_EQ(results.updates[1].silo_id, 2);
  EXPECT_EQ(results.updates[1].weight, 100.0);
  const absl::Status status = FailureOf(results, 1);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("has weight 1e+12, more than the 100 records it reported when it joined"));
}

// Streams that never say Hello would pin one server thread each: the coordinator cancels each
// after network.hello_timeout_seconds (here 1 s), logs at most a few lines for all of them
// (rate-limited), and honest silos then join and serve as usual.
TEST_F(NetworkTransportTest, StreamsThatNeverSayHelloAreClosedAfterTheHelloTimeout) {
  NetworkTransportOptions options = Options();
  options.hello_timeout_seconds = 1;
  Start(options);
  testing::ScopedLogCapture capture;
  std::vector<std::unique_ptr<TestSilo>> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(NewSilo());
  const auto start = std::chrono::steady_clock::now();
  for (auto& stream : idle) {
    const grpc::Status status = stream->AwaitEnd();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(waited, 5.0);
  const std::string log = capture.log().All();
  const size_t lines = Occurrences(log, "that said no Hello");
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LE(lines, static_cast<size_t>(RateLimitedWarning::kBurst)) << log;
  EXPECT_THAT(log, HasSubstr("that said no Hello within 1 s"));
  JoinAll();
  const RoundResults round = HonestRound(1);
  EXPECT_TRUE(round.failures.empty());
  ExpectHonestUpdates(round, 1, {0, 1, 2});
}

// A flood of replayed replies is discarded, and logged as a few lines (the count of the others
// comes with the next line), not one line each.
TEST_F(NetworkTransportTest, RepeatedDiscardsAreLoggedOnceWithACount) {
  Start();
  JoinAll();
  testing::ScopedLogCapture capture;
  const RoundResults first = HonestRound(1);
  ASSERT_TRUE(first.failures.empty());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(silos_[0]->SendUpdate(1, HonestDelta(0, 1), HonestWeight(0)));
  }
  const RoundResults second = HonestRound(2);  // after the flood: the round still works
  EXPECT_TRUE(second.failures.empty());
  ExpectHonestUpdates(second, 2, {0, 1, 2});
  const std::string log = capture.log().All();
  const size_t lines = Occurrences(log, "discarded a reply");
  // kBurst lines in the first 10 s (a second burst only if the machine took over 10 s for this).
  EXPECT_GE(lines, static_cast<size_t>(RateLimitedWarning::kBurst)) << log;
  EXPECT_LE(lines, static_cast<size_t>(2 * RateLimitedWarning::kBurst)) << log;
}

// A message that does not decode (here a Hello whose name is not UTF-8, which proto3 refuses to
// parse) ends that stream and is logged; honest silos join as usual.
TEST_F(NetworkTransportTest, AnUndecodableMessageIsLoggedAndEndsOnlyThatStream) {
  Start();
  testing::ScopedLogCapture capture;
  std::unique_ptr<TestSilo> garbled = NewSilo();
  ASSERT_TRUE(garbled->Hello(std::string("\xff\xfe\xfd", 3)));
  garbled->AwaitEnd();
  EXPECT_TRUE(capture.log().WaitFor("ended before its Hello: the peer hung up or sent a "
                                    "message that does not decode"))
      << capture.log().All();
  JoinAll();
  const RoundResults round = HonestRound(1);
  EXPECT_TRUE(round.failures.empty());
}

}  // namespace
}  // namespace fedsilo
