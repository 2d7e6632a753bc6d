// The shuffler and the coordinator's edge on secure-sum replies (one sealed share for the
// coordinator, one share for the shuffler), over a scripted inner transport: the shuffler's total
// is the sum of its shares modulo 2^bits computed here, malformed replies are dropped whole, a
// round below the silos' minimum forwards nothing, and the coordinator's edge passes one total
// through and refuses two. Also the share payload and the sealing session on their own.
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "common/transport/report_payload.h"
#include "common/transport/sealed_report.h"
#include "common/transport/shuffling_transport.h"
#include "common/transport/unsealing_transport.h"

namespace fedsilo {
namespace {

constexpr int kBits = 10;

SumShare Share(std::vector<uint64_t> values, int64_t silos = 0) {
  return SumShare{kBits, 2, 4.0, 100.0, silos, std::move(values)};
}

// Returns the scripted round and states, for every silo, a secure-sum silo's privacy report.
class ScriptedTransport : public Transport {
 public:
  ScriptedTransport(int silos, int64_t min_silos) : reports_(static_cast<size_t>(silos)) {
    for (SiloPrivacyReport& report : reports_) {
      report.known = true;
      report.record_level_dp = true;
      report.secure_sum = true;
      report.min_shuffled_reports = min_silos;
      report.clip = 1.0;
    }
  }
  RoundResults Train(const std::vector<SiloTask>&) override { return next; }
  int num_silos() const override { return static_cast<int>(reports_.size()); }
  std::vector<SiloPrivacyReport> PrivacyReports() const override { return reports_; }
  RoundResults next;

 private:
  std::vector<SiloPrivacyReport> reports_;
};

std::vector<SiloTask> Tasks(int silos) {
  std::vector<SiloTask> tasks;
  for (int i = 0; i < silos; ++i) tasks.push_back(SiloTask{1, i, nullptr});
  return tasks;
}

// Silo i's reply: its coordinator share sealed in a session, its shuffler share in the clear.
SiloUpdate Reply(int silo, const SealingSession& session, const SumShare& for_coordinator,
                 const SumShare& for_shuffler) {
  SiloUpdate update;
  update.round = 1;
  update.silo_id = silo;
  auto sealed = session.Seal(ReportPayload{1, 1.0, Vector(), for_coordinator});
  EXPECT_TRUE(sealed.ok());
  update.sealed.push_back(*sealed);
  update.sum_shares.push_back(for_shuffler);
  return update;
}

TEST(SecureSumShuffleTest, ForwardsTheSumOfTheShufflerSharesLastAndDropsMalformedRepliesWhole) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  auto session = SealingSession::Create(keys->public_key());
  ASSERT_TRUE(session.ok());
  ScriptedTransport inner(5, 2);
  // Silos 0-2 well formed; silo 3 sends two shuffler shares; silo 4 a value >= 2^10.
  inner.next.updates = {Reply(0, *session, Share({1, 2}), Share({1000, 7})),
                        Reply(1, *session, Share({3, 4}), Share({100, 1023})),
                        Reply(2, *session, Share({5, 6}), Share({30, 20}))};
  SiloUpdate two = Reply(3, *session, Share({0, 0}), Share({1, 1}));
  two.sum_shares.push_back(Share({2, 2}));
  SiloUpdate big = Reply(4, *session, Share({0, 0}), Share({1024, 0}));
  inner.next.updates.push_back(two);
  inner.next.updates.push_back(big);
  ShufflingTransport shuffler(&inner, 7);
  const RoundResults out = shuffler.Train(Tasks(5));
  ASSERT_EQ(out.updates.size(), 4u);  // three sealed shares, then the total
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.updates[i].silo_id, -1);
    EXPECT_EQ(out.updates[i].sealed.size(), 1u);
    EXPECT_TRUE(out.updates[i].sum_shares.empty());
  }
  const SiloUpdate& total = out.updates.back();
  EXPECT_TRUE(total.sealed.empty());
  ASSERT_EQ(total.sum_shares.size(), 1u);
  EXPECT_EQ(total.sum_shares[0].silos, 3);
  // (1000 + 100 + 30) mod 1024 = 106; (7 + 1023 + 20) mod 1024 = 26.
  EXPECT_EQ(total.sum_shares[0].values, (std::vector<uint64_t>{106, 26}));
  ASSERT_EQ(out.failures.size(), 2u);
  for (const SiloFailure& failure : out.failures) {
    EXPECT_TRUE(absl::IsDataLoss(failure.status)) << failure.status;
    EXPECT_EQ(failure.silo_id, -1);  // the shuffler hides who failed
  }

  // The coordinator's edge opens the three session seals and passes the total on last.
  ScriptedTransport again(5, 2);
  again.next = out;
  UnsealingTransport edge(&again, std::move(*keys));
  const RoundResults opened = edge.Train(Tasks(5));
  ASSERT_EQ(opened.updates.size(), 4u);
  std::vector<std::vector<uint64_t>> coordinator_shares;
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(opened.updates[i].sum_shares.size(), 1u);
    EXPECT_EQ(opened.updates[i].sum_shares[0].silos, 0);
    coordinator_shares.push_back(opened.updates[i].sum_shares[0].values);
  }
  std::sort(coordinator_shares.begin(), coordinator_shares.end());
  EXPECT_EQ(coordinator_shares,
            (std::vector<std::vector<uint64_t>>{{1, 2}, {3, 4}, {5, 6}}));
  EXPECT_EQ(opened.updates.back().sum_shares[0].values, (std::vector<uint64_t>{106, 26}));
}

TEST(SecureSumShuffleTest, ARoundBelowTheSilosMinimumForwardsNoShareAndNoTotal) {
  auto keys = CoordinatorKeyPair::Generate();
  auto session = SealingSession::Create(keys->public_key());
  ASSERT_TRUE(keys.ok() && session.ok());
  ScriptedTransport inner(3, 3);  // every silo needs 3 silos' shares in the sum
  inner.next.updates = {Reply(0, *session, Share({1, 2}), Share({3, 4})),
                        Reply(1, *session, Share({1, 2}), Share({3, 4}))};
  inner.next.failures = {SiloFailure{2, absl::UnavailableError("gone")}};
  ShufflingTransport shuffler(&inner, 7);
  const RoundResults out = shuffler.Train(Tasks(3));
  EXPECT_TRUE(out.updates.empty());
  ASSERT_EQ(out.failures.size(), 3u);
  EXPECT_TRUE(absl::IsFailedPrecondition(out.failures[0].status)) << out.failures[0].status;
}

TEST(SecureSumShuffleTest, TheCoordinatorsEdgeRefusesARoundWithTwoTotals) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  ScriptedTransport inner(2, 1);
  SiloUpdate total;
  total.round = 1;
  total.sum_shares.push_back(Share({1, 1}, 2));
  inner.next.updates = {total, total};
  UnsealingTransport edge(&inner, std::move(*keys));
  const RoundResults out = edge.Train(Tasks(2));
  EXPECT_TRUE(out.updates.empty());
  ASSERT_FALSE(out.failures.empty());
  EXPECT_TRUE(absl::IsDataLoss(out.failures[0].status));
  EXPECT_NE(out.failures[0].status.message().find("2 secure-sum totals"), std::string::npos)
      << out.failures[0].status;
}

TEST(SharePayloadTest, RoundTripsAndRefusesValuesBeyondTheModulus) {
  const ReportPayload payload{7, 1.0, Vector(), Share({0, 1023, 512})};
  const std::vector<uint8_t> bytes = SerializeReportPayload(payload);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 4), "FSS1");
  auto parsed = ParseReportPayload(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_TRUE(parsed->share.has_value());
  EXPECT_EQ(parsed->round, 7);
  EXPECT_EQ(parsed->share->bits, kBits);
  EXPECT_EQ(parsed->share->shares, 2);
  EXPECT_EQ(parsed->share->scale, 4.0);
  EXPECT_EQ(parsed->share->range, 100.0);
  EXPECT_EQ(parsed->share->values, (std::vector<uint64_t>{0, 1023, 512}));
  // 1024 does not fit in 10 bits; a truncated payload and trailing bytes are refused too.
  std::vector<uint8_t> big = SerializeReportPayload(ReportPayload{7, 1.0, Vector(), Share({1024})});
  EXPECT_TRUE(absl::IsInvalidArgument(ParseReportPayload(big).status()));
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 1);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseReportPayload(cut).status()));
  std::vector<uint8_t> longer = bytes;
  longer.push_back(0);
  EXPECT_TRUE(absl::IsInvalidArgument(ParseReportPayload(longer).status()));
}

TEST(SealingSessionTest, OpensOnlyWithTheCoordinatorsKeyAndNeverRepeatsACiphertext) {
  auto keys = CoordinatorKeyPair::Generate();
  auto other = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok() && other.ok());
  auto session = SealingSession::Create(keys->public_key());
  ASSERT_TRUE(session.ok());
  const ReportPayload payload{3, 1.0, Vector(), Share({5, 6})};
  auto first = session->Seal(payload);
  auto second = session->Seal(payload);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second);  // fresh nonces
  EXPECT_EQ(std::string(first->begin(), first->begin() + 4), "FSX1");
  for (const auto& sealed : {*first, *second}) {  // the second from the coordinator's cache
    auto opened = keys->Open(sealed);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->share->values, (std::vector<uint64_t>{5, 6}));
  }
  EXPECT_TRUE(absl::IsDataLoss(other->Open(*first).status()));
  std::vector<uint8_t> flipped = *first;
  flipped.back() ^= 1;
  EXPECT_TRUE(absl::IsDataLoss(keys->Open(flipped).status()));
}

}  // namespace
}  // namespace fedsilo
