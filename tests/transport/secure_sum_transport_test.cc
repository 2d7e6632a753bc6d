// The shuffler and the coordinator's edge on secure-sum replies (a session token for the
// coordinator, one share for the shuffler), over a scripted inner transport: the shuffler's total
// is the sum of its shares modulo 2^bits computed here, malformed replies are dropped whole, a
// round below the silos' minimum forwards nothing, and the coordinator's edge derives each
// silo's share from its token and passes one total through and refuses two. Also the sealing
// session on its own: both ends derive the same uniform share, and only they can.
#include <memory>
#include <vector>

#include <gtest/gtest.h>

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

// Silo i's reply in round 1: the token of its session's derived share (whose values go to
// *coordinator_share when given), its shuffler share in the clear.
SiloUpdate Reply(int silo, const SealingSession& session, const SumShare& for_shuffler,
                 std::vector<uint64_t>* coordinator_share = nullptr) {
  SiloUpdate update;
  update.round = 1;
  update.silo_id = silo;
  auto derived = session.DeriveCoordinatorShare(1, for_shuffler);
  EXPECT_TRUE(derived.ok()) << derived.status();
  update.sealed.push_back(derived->token);
  if (coordinator_share != nullptr) *coordinator_share = derived->values;
  update.sum_shares.push_back(for_shuffler);
  return update;
}

std::vector<SealingSession> Sessions(const CoordinatorKeyPair& keys, int count) {
  std::vector<SealingSession> sessions;
  for (int i = 0; i < count; ++i) {
    auto session = SealingSession::Create(keys.public_key());
    EXPECT_TRUE(session.ok());
    sessions.push_back(std::move(*session));
  }
  return sessions;
}

TEST(SecureSumShuffleTest, ForwardsTheSumOfTheShufflerSharesLastAndDropsMalformedRepliesWhole) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  const std::vector<SealingSession> sessions = Sessions(*keys, 5);
  ScriptedTransport inner(5, 2);
  // Silos 0-2 well formed; silo 3 sends two shuffler shares; silo 4 a value >= 2^10.
  std::vector<std::vector<uint64_t>> derived(3);
  inner.next.updates = {Reply(0, sessions[0], Share({1000, 7}), &derived[0]),
                        Reply(1, sessions[1], Share({100, 1023}), &derived[1]),
                        Reply(2, sessions[2], Share({30, 20}), &derived[2])};
  SiloUpdate two = Reply(3, sessions[3], Share({1, 1}));
  two.sum_shares.push_back(Share({2, 2}));
  SiloUpdate big = Reply(4, sessions[4], Share({1024, 0}));
  inner.next.updates.push_back(two);
  inner.next.updates.push_back(big);
  ShufflingTransport shuffler(&inner, 7);
  const RoundResults out = shuffler.Train(Tasks(5));
  ASSERT_EQ(out.updates.size(), 4u);  // three tokens, then the total
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

  // The coordinator's edge derives the three silos' shares from their tokens and passes the
  // total on last.
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
  std::sort(derived.begin(), derived.end());
  EXPECT_EQ(coordinator_shares, derived);
  EXPECT_EQ(opened.updates.back().sum_shares[0].values, (std::vector<uint64_t>{106, 26}));
}

TEST(SecureSumShuffleTest, ARoundBelowTheSilosMinimumForwardsNoShareAndNoTotal) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  const std::vector<SealingSession> sessions = Sessions(*keys, 2);
  ScriptedTransport inner(3, 3);  // every silo needs 3 silos' shares in the sum
  inner.next.updates = {Reply(0, sessions[0], Share({3, 4})), Reply(1, sessions[1], Share({3, 4}))};
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

TEST(SealingSessionTest, BothEndsDeriveTheSameShareAndNothingElseOpensItsToken) {
  auto keys = CoordinatorKeyPair::Generate();
  auto other = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok() && other.ok());
  auto session = SealingSession::Create(keys->public_key());
  auto second_session = SealingSession::Create(keys->public_key());
  ASSERT_TRUE(session.ok() && second_session.ok());
  const SumShare like{40, 2, 4.5, 1e6, 0, std::vector<uint64_t>(100, 0)};
  auto derived = session->DeriveCoordinatorShare(3, like);
  ASSERT_TRUE(derived.ok()) << derived.status();
  ASSERT_EQ(derived->values.size(), 100u);
  EXPECT_EQ(derived->token.size(), 88u);
  EXPECT_EQ(std::string(derived->token.begin(), derived->token.begin() + 4), "FSD1");
  for (uint64_t v : derived->values) EXPECT_LT(v, uint64_t{1} << 40);
  for (int open = 0; open < 2; ++open) {  // the second from the coordinator's cache
    auto opened = keys->Open(derived->token);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->round, 3);
    ASSERT_TRUE(opened->share.has_value());
    EXPECT_EQ(opened->share->bits, 40);
    EXPECT_EQ(opened->share->shares, 2);
    EXPECT_EQ(opened->share->scale, 4.5);
    EXPECT_EQ(opened->share->range, 1e6);
    EXPECT_EQ(opened->share->silos, 0);
    EXPECT_EQ(opened->share->values, derived->values);
  }
  // The same round again: the same token and share (a silo re-sending); another round or
  // another session: another share.
  auto again = session->DeriveCoordinatorShare(3, like);
  auto next = session->DeriveCoordinatorShare(4, like);
  auto elsewhere = second_session->DeriveCoordinatorShare(3, like);
  ASSERT_TRUE(again.ok() && next.ok() && elsewhere.ok());
  EXPECT_EQ(again->token, derived->token);
  EXPECT_EQ(again->values, derived->values);
  EXPECT_NE(next->values, derived->values);
  EXPECT_NE(elsewhere->values, derived->values);
  // Another coordinator key, or any altered byte (the round, the length, the tag), is refused.
  EXPECT_TRUE(absl::IsDataLoss(other->Open(derived->token).status()));
  for (size_t at : {size_t{36}, size_t{64}, size_t{87}}) {
    std::vector<uint8_t> altered = derived->token;
    altered[at] ^= 1;
    EXPECT_TRUE(absl::IsDataLoss(keys->Open(altered).status())) << at;
  }
  // A share that cannot be derived is refused before anything is made.
  EXPECT_TRUE(absl::IsInvalidArgument(
      session->DeriveCoordinatorShare(1, SumShare{63, 2, 1.0, 1.0, 0, {0}}).status()));
}

// The derived share is uniform on [0, 2^10): over 8,000 values (one round of one session), the top
// 3 bits in 8 equal bins, chi-square with 7 degrees of freedom below 24.32 (p = 0.001); and so is
// the shuffler's share of a constant sum (the sum minus the share).
TEST(SealingSessionTest, TheDerivedShareIsUniform) {
  auto keys = CoordinatorKeyPair::Generate();
  ASSERT_TRUE(keys.ok());
  auto session = SealingSession::Create(keys->public_key());
  ASSERT_TRUE(session.ok());
  auto derived = session->DeriveCoordinatorShare(1, Share(std::vector<uint64_t>(8000, 0)));
  ASSERT_TRUE(derived.ok());
  for (uint64_t offset : {uint64_t{0}, uint64_t{700}}) {
    std::vector<double> bins(8, 0.0);
    for (uint64_t v : derived->values) bins[((offset - v) & 1023) >> 7] += 1.0;
    double chi2 = 0.0;
    for (double count : bins) chi2 += (count - 1000.0) * (count - 1000.0) / 1000.0;
    EXPECT_LT(chi2, 24.32) << offset;
  }
}

}  // namespace
}  // namespace fedsilo
