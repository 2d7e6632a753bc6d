#include "common/dp/shuffle_ledger.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "common/dp/shuffle_calibration.h"

namespace fedsilo {
namespace {

// The calibrated plan fits exactly: R rounds are accepted, round R + 1 is refused and not
// recorded; the spent epsilon equals advanced composition written out here.
TEST(ShuffleLedgerTest, CountsRoundsAndRefusesPastTheCalibratedBudget) {
  const int rounds = 8;
  const double epsilon = 1.0, delta = 1e-5;
  auto cal = CalibrateShuffleEps0(500, rounds, epsilon, delta, 1e-3);
  ASSERT_TRUE(cal.ok()) << cal.status();
  auto ledger = ShuffleLedger::Create({epsilon, delta, cal->delta_slack});
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  const ApproxDpEvent round{cal->round_epsilon, cal->round_delta, 1};
  for (int r = 0; r < rounds; ++r) {
    ASSERT_TRUE(ledger->Charge(round).ok()) << r;
    EXPECT_EQ(ledger->rounds(), r + 1);
  }
  ASSERT_EQ(ledger->events().size(), 1u);  // merged
  const double e = cal->round_epsilon;
  const double by_hand = std::min(
      std::sqrt(2.0 * rounds * std::log(1.0 / cal->delta_slack)) * e +
          rounds * e * (std::exp(e) - 1.0),
      rounds * e);
  EXPECT_NEAR(ledger->spent().epsilon, by_hand, 1e-12);
  EXPECT_LE(ledger->spent().epsilon, epsilon);
  const absl::Status refused = ledger->Charge(round);
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_NE(refused.message().find("round 9"), std::string::npos) << refused;
  EXPECT_EQ(ledger->rounds(), rounds);
  EXPECT_NEAR(ledger->spent().epsilon, by_hand, 1e-12);
}

// With a negligible per-round delta, epsilon is the binding limit.
TEST(ShuffleLedgerTest, RefusesOnEpsilon) {
  auto ledger = ShuffleLedger::Create({1.0, 1e-5, 5e-6});
  ASSERT_TRUE(ledger.ok());
  const ApproxDpEvent round{0.3, 0.0, 1};
  // Advanced composition exceeds basic at these values, so the spent epsilon is k * 0.3.
  ASSERT_TRUE(ledger->Charge(round).ok());
  ASSERT_TRUE(ledger->Charge(round).ok());
  ASSERT_TRUE(ledger->Charge(round).ok());
  EXPECT_NEAR(ledger->spent().epsilon, 0.9, 1e-12);
  const absl::Status refused = ledger->Charge(round);
  EXPECT_TRUE(absl::IsResourceExhausted(refused)) << refused;
  EXPECT_NE(refused.message().find("epsilon"), std::string::npos);
  EXPECT_EQ(ledger->rounds(), 3);
}

TEST(ShuffleLedgerTest, RefusesBadBudgetsAndCounts) {
  EXPECT_TRUE(absl::IsInvalidArgument(ShuffleLedger::Create({0.0, 1e-5, 5e-6}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ShuffleLedger::Create({1.0, 1.0, 0.5}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ShuffleLedger::Create({1.0, 1e-5, 1e-5}).status()));
  auto ledger = ShuffleLedger::Create({1.0, 1e-5, 5e-6});
  ASSERT_TRUE(ledger.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ledger->Charge({0.1, 0.0, 2})));
  EXPECT_EQ(ledger->rounds(), 0);
}

}  // namespace
}  // namespace fedsilo
