// ShufflerLinkTransport (the coordinator's end of the shuffler link) against a hand-written
// shuffler: a real gRPC server on 127.0.0.1 and the generated stub, plaintext. Checks what the
// coordinator does with what a shuffler, or a second peer, could get wrong: a second link, a batch
// for another round, a batch that accounts for fewer reports than tasks, no shuffler at all; and
// that behind an UnsealingTransport the sealed reports of a batch open to what the silos sealed.
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>

#include "common/transport/sealed_report.h"
#include "common/transport/shuffling_transport.h"
#include "common/transport/unsealing_transport.h"
#include "fedsilo/v1/fedsilo.grpc.pb.h"
#include "server/shuffler_link.h"

namespace fedsilo {
namespace {

using Stream = grpc::ClientReaderWriter<v1::ShufflerMessage, v1::LinkMessage>;

ShufflerLinkOptions Options() {
  ShufflerLinkOptions options;
  options.num_silos = 3;
  options.experiment_yaml = "seed: 3\n";
  options.num_parameters = 2;
  options.round_timeout_seconds = 1;
  options.join_timeout_seconds = 1;
  return options;
}

std::vector<SiloTask> Tasks(int round) {
  auto global = std::make_shared<const Vector>(Vector::Constant(2, 0.25 * round));
  return {SiloTask{round, 0, global}, SiloTask{round, 1, global}, SiloTask{round, 2, global}};
}

class ShufflerLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    link_ = std::make_unique<ShufflerLinkTransport>(Options());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(link_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    for (auto& [context, stream] : shufflers_) context->TryCancel();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  // A hand-written shuffler: opens Rounds and says hello; returns its stream.
  Stream* Connect() {
    auto context = std::make_unique<grpc::ClientContext>();
    auto stub = v1::ShufflerLink::NewStub(channel_);
    std::unique_ptr<Stream> stream = stub->Rounds(context.get());
    v1::ShufflerMessage hello;
    hello.mutable_hello()->set_protocol_version(1);
    stream->Write(hello);
    shufflers_.emplace_back(std::move(context), std::move(stream));
    return shufflers_.back().second.get();
  }
  Stream* ConnectAndJoin() {
    Stream* stream = Connect();
    v1::LinkMessage welcome;
    EXPECT_TRUE(stream->Read(&welcome) && welcome.has_welcome());
    EXPECT_EQ(welcome.welcome().experiment_yaml(), "seed: 3\n");
    EXPECT_EQ(welcome.welcome().num_silos(), 3u);
    v1::ShufflerMessage joined;
    joined.mutable_joined()->set_ready_silos(3);
    stream->Write(joined);
    EXPECT_TRUE(link_->WaitForShuffler(3, 5).ok());
    return stream;
  }

  std::unique_ptr<ShufflerLinkTransport> link_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  int port_ = 0;
  std::vector<std::pair<std::unique_ptr<grpc::ClientContext>, std::unique_ptr<Stream>>> shufflers_;
};

TEST_F(ShufflerLinkTest, NoShufflerMeansEveryTaskFailsUnavailableAndWaitingNamesIt) {
  const absl::Status waited = link_->WaitForShuffler(1, 0.2);
  EXPECT_TRUE(absl::IsDeadlineExceeded(waited)) << waited;
  EXPECT_NE(waited.message().find("the shuffler did not connect"), std::string::npos);
  const RoundResults results = link_->Train(Tasks(1));
  EXPECT_TRUE(results.updates.empty());
  ASSERT_EQ(results.failures.size(), 3u);
  for (const SiloFailure& failure : results.failures) {
    EXPECT_EQ(failure.silo_id, -1);
    EXPECT_TRUE(absl::IsUnavailable(failure.status)) << failure.status;
  }
  EXPECT_TRUE(link_->HidesSenders());
}

TEST_F(ShufflerLinkTest, ASecondLinkIsRefused) {
  ConnectAndJoin();
  Stream* second = Connect();
  v1::LinkMessage message;
  EXPECT_FALSE(second->Read(&message));
  const grpc::Status status = second->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_NE(status.error_message().find("already connected"), std::string::npos);
}

// Round 1: the shuffler first sends a batch for another round (discarded), then the real one,
// which holds two sealed reports and one failure; behind UnsealingTransport the reports open to
// the values sealed here. Round 2: a batch accounting for 1 of 3 tasks gets 2 DataLoss failures.
TEST_F(ShufflerLinkTest, BatchesOfOtherRoundsAreDiscardedAndShortBatchesCompleted) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  const ReportPublicKey public_key = keys->public_key();
  UnsealingTransport edge(link_.get(), std::move(keys).value());
  Stream* shuffler = ConnectAndJoin();

  std::future<RoundResults> round1 = std::async(std::launch::async, [&] { return edge.Train(Tasks(1)); });
  v1::LinkMessage request;
  ASSERT_TRUE(shuffler->Read(&request) && request.has_round());
  EXPECT_EQ(request.round().round(), 1u);
  EXPECT_EQ(request.round().silo_ids_size(), 3);
  EXPECT_EQ(request.round().global_parameters().values(0), 0.25);
  v1::ShufflerMessage stale;
  stale.mutable_batch()->set_round(7);
  stale.mutable_batch()->add_sealed_reports("forged");
  ASSERT_TRUE(shuffler->Write(stale));
  v1::ShufflerMessage batch;
  batch.mutable_batch()->set_round(1);
  for (double value : {3.0, -1.5}) {
    ReportPayload payload{1, 1.0, Vector::Constant(2, value)};
    auto sealed = SealReport(payload, public_key);
    ASSERT_TRUE(sealed.ok());
    batch.mutable_batch()->add_sealed_reports(std::string(sealed->begin(), sealed->end()));
  }
  batch.mutable_batch()->add_failure_codes(static_cast<int>(absl::StatusCode::kDeadlineExceeded));
  (*batch.mutable_batch()->mutable_privacy())[2].set_noisy_queries(5);
  ASSERT_TRUE(shuffler->Write(batch));
  const RoundResults first = round1.get();
  ASSERT_EQ(first.updates.size(), 2u);
  EXPECT_EQ(first.updates[0].delta, Vector::Constant(2, 3.0));
  EXPECT_EQ(first.updates[1].delta, Vector::Constant(2, -1.5));
  for (const SiloUpdate& update : first.updates) EXPECT_EQ(update.silo_id, -1);
  ASSERT_EQ(first.failures.size(), 1u);
  EXPECT_TRUE(absl::IsDeadlineExceeded(first.failures[0].status));
  EXPECT_EQ(first.failures[0].status.message(), kShuffledFailureMessage);
  EXPECT_EQ(edge.PrivacyReports()[2].noisy_queries, 5);

  std::future<RoundResults> round2 = std::async(std::launch::async, [&] { return edge.Train(Tasks(2)); });
  ASSERT_TRUE(shuffler->Read(&request) && request.has_round());
  EXPECT_EQ(request.round().round(), 2u);
  v1::ShufflerMessage short_batch;
  short_batch.mutable_batch()->set_round(2);
  short_batch.mutable_batch()->add_failure_codes(static_cast<int>(absl::StatusCode::kUnavailable));
  ASSERT_TRUE(shuffler->Write(short_batch));
  const RoundResults second = round2.get();
  EXPECT_TRUE(second.updates.empty());
  ASSERT_EQ(second.failures.size(), 3u);
  EXPECT_TRUE(absl::IsUnavailable(second.failures[0].status));
  EXPECT_TRUE(absl::IsDataLoss(second.failures[1].status));
  EXPECT_NE(second.failures[1].status.message().find("accounts for 1 of 3 tasks"), std::string::npos);
}

// The shuffler hangs up during a round: the round's tasks fail at once (Unavailable), without
// waiting for the round deadline.
TEST_F(ShufflerLinkTest, AShufflerThatDisconnectsMidRoundFailsTheRound) {
  Stream* shuffler = ConnectAndJoin();
  std::future<RoundResults> round = std::async(std::launch::async, [&] { return link_->Train(Tasks(1)); });
  v1::LinkMessage request;
  ASSERT_TRUE(shuffler->Read(&request) && request.has_round());
  shufflers_.back().first->TryCancel();
  const RoundResults results = round.get();
  ASSERT_EQ(results.failures.size(), 3u);
  EXPECT_TRUE(absl::IsUnavailable(results.failures[0].status)) << results.failures[0].status;
  EXPECT_NE(results.failures[0].status.message().find("disconnected during round 1"), std::string::npos);
}

}  // namespace
}  // namespace fedsilo
