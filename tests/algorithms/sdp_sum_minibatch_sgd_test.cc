// The secure-sum coordinator against sums worked by hand: shares built here from known integer
// sums decode to their total, the step is -lr * total / (scale * batch * silos), and every way
// the round's shares can fail to form whole silos is DataLoss, never a step.
#include "common/algorithms/sdp_sum_minibatch_sgd.h"

#include <vector>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

constexpr int kBits = 16;
constexpr uint64_t kMask = (uint64_t{1} << kBits) - 1;

SiloUpdate ShareUpdate(std::vector<uint64_t> values, int64_t silos) {
  SiloUpdate update;
  update.round = 1;
  update.silo_id = -1;
  update.sum_shares.push_back(SumShare{kBits, 2, 4.0, 1000.0, silos, std::move(values)});
  return update;
}

// Silo sums v1 = (10, -3), v2 = (5, 7): coordinator shares c1, c2 (arbitrary), shuffler shares
// v - c mod 2^16, and the shuffler's total of those.
RoundResults Round(int64_t total_silos = 2) {
  const std::vector<int64_t> v1 = {10, -3}, v2 = {5, 7};
  const std::vector<uint64_t> c1 = {40000, 123}, c2 = {7, 65535};
  std::vector<uint64_t> total(2);
  for (size_t j = 0; j < 2; ++j) {
    const uint64_t s1 = (static_cast<uint64_t>(v1[j]) - c1[j]) & kMask;
    const uint64_t s2 = (static_cast<uint64_t>(v2[j]) - c2[j]) & kMask;
    total[j] = (s1 + s2) & kMask;
  }
  RoundResults results;
  results.updates = {ShareUpdate(c2, 0), ShareUpdate(c1, 0), ShareUpdate(total, total_silos)};
  return results;
}

TEST(SdpSumCoordinatorTest, StepsAlongTheDecodedSumOverTheExpectedRecords) {
  SdpSumMinibatchSgdCoordinator coordinator(0.5, 8, ServerOptimizerOptions{.lr = 1.0});
  Vector global = Vector::Constant(2, 1.0);
  ASSERT_TRUE(coordinator.Aggregate(1, Round(), &global).ok());
  // Sum (15, 4) in integer units, / scale 4 = (3.75, 1); step -0.5 / (8 * 2) times that.
  EXPECT_DOUBLE_EQ(global[0], 1.0 - 0.5 / 16.0 * 3.75);
  EXPECT_DOUBLE_EQ(global[1], 1.0 - 0.5 / 16.0 * 1.0);
}

// Silos that clipped block by block equalized their blocks (block b times clip_0 / clip_b): the
// decoded sum's blocks are scaled back before the step. Blocks {1 value at 0.5, 1 value at 2}: the
// second coordinate of the sum, 4 / 4 = 1 equalized, is 1 * 2 / 0.5 = 4 in real units.
TEST(SdpSumCoordinatorTest, BlockClippedSumsAreScaledBackBeforeTheStep) {
  SdpSumMinibatchSgdCoordinator coordinator(0.5, 8, ServerOptimizerOptions{.lr = 1.0},
                                            {ClipBlock{1, 0.5}, ClipBlock{1, 2.0}});
  Vector global = Vector::Constant(2, 1.0);
  ASSERT_TRUE(coordinator.Aggregate(1, Round(), &global).ok());
  EXPECT_DOUBLE_EQ(global[0], 1.0 - 0.5 / 16.0 * 3.75);
  EXPECT_DOUBLE_EQ(global[1], 1.0 - 0.5 / 16.0 * 4.0);
  // Blocks that do not cover the sum are refused before any step.
  SdpSumMinibatchSgdCoordinator wrong(0.5, 8, ServerOptimizerOptions{.lr = 1.0},
                                      {ClipBlock{1, 0.5}, ClipBlock{2, 2.0}});
  Vector unchanged = Vector::Constant(2, 1.0);
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong.Aggregate(1, Round(), &unchanged)));
  EXPECT_EQ(unchanged, Vector::Constant(2, 1.0));
}

TEST(SdpSumCoordinatorTest, SharesThatDoNotFormWholeSilosAreDataLoss) {
  SdpSumMinibatchSgdCoordinator coordinator(0.5, 8, ServerOptimizerOptions{.lr = 1.0});
  Vector global = Vector::Constant(2, 1.0);
  // The total claims 3 silos' shuffler shares for 2 coordinator shares.
  EXPECT_TRUE(absl::IsDataLoss(coordinator.Aggregate(1, Round(3), &global)));
  // No total at all.
  RoundResults no_total = Round();
  no_total.updates.pop_back();
  EXPECT_TRUE(absl::IsDataLoss(coordinator.Aggregate(1, no_total, &global)));
  // A share of another modulus.
  RoundResults mixed = Round();
  mixed.updates[0].sum_shares[0].bits = 17;
  EXPECT_TRUE(absl::IsDataLoss(coordinator.Aggregate(1, mixed, &global)));
  // A lost coordinator share: what is left would decode to v1 + v2 - c2 = (8, 5) mod 2^16, inside
  // the range; the count catches it (1 coordinator share against a total of 2 silos).
  RoundResults lost = Round();
  lost.updates.erase(lost.updates.begin());
  EXPECT_TRUE(absl::IsDataLoss(coordinator.Aggregate(1, lost, &global)));
  // A forged total of the right count: the sum decodes to (15 + 30000, 4), outside +-1000.
  RoundResults forged = Round();
  forged.updates.back().sum_shares[0].values[0] =
      (forged.updates.back().sum_shares[0].values[0] + 30000) & kMask;
  const absl::Status wrapped = coordinator.Aggregate(1, forged, &global);
  EXPECT_TRUE(absl::IsDataLoss(wrapped)) << wrapped;
  EXPECT_NE(wrapped.message().find("round 1: "), std::string::npos) << wrapped;
  EXPECT_NE(wrapped.message().find("outside"), std::string::npos) << wrapped;
  // Nothing arrived.
  RoundResults empty;
  empty.failures = {SiloFailure{-1, absl::UnavailableError("gone")}};
  EXPECT_TRUE(absl::IsUnavailable(coordinator.Aggregate(1, empty, &global)));
  EXPECT_EQ(global, Vector::Constant(2, 1.0));  // no step was taken
}

}  // namespace
}  // namespace fedsilo
