// SummarizeSiloJournal (`fedsilo journal`): the ledger's spent epsilon against published and
// independently computed accountant values, and the cases it must refuse.
#include "common/runtime/journal_summary.h"

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

SiloJournal JournalOf(std::vector<DpEvent> ledger) {
  SiloJournal journal;
  journal.run_id = "run-7";
  journal.last_round = 12;
  journal.ledger = std::move(ledger);
  return journal;
}

TEST(JournalSummaryTest, ListsTheLedgerWithoutADelta) {
  auto summary = SummarizeSiloJournal(
      JournalOf({{Subsampling::kPoissonReplaceOne, 0.04, 1.5, 1000},
                 {Subsampling::kWithoutReplacement, 0.1, 2.0, 5}}),
      std::nullopt);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_EQ((*summary)["run_id"], "run-7");
  EXPECT_EQ((*summary)["last_round"], 12);
  EXPECT_EQ((*summary)["noisy_queries"], 1005);
  ASSERT_EQ((*summary)["events"].size(), 2u);
  EXPECT_EQ((*summary)["events"][0]["sampler"], "poisson");
  EXPECT_EQ((*summary)["events"][1]["sampler"], "without_replacement");
  EXPECT_EQ((*summary)["events"][1]["count"], 5);
  EXPECT_FALSE(summary->contains("epsilon"));
}

// Opacus RDPAccountant (shared/reference/dp_test_vectors.md): q 0.04, z 1.5, 2250 add/remove
// steps, delta 1e-5 -> 7.32911117143 at order 3.9. Split over two entries, as a ledger that a
// restart interrupted holds it.
TEST(JournalSummaryTest, EpsilonMatchesOpacusGoldenValue) {
  auto summary = SummarizeSiloJournal(JournalOf({{Subsampling::kPoisson, 0.04, 1.5, 1000},
                                                 {Subsampling::kPoisson, 0.04, 1.5, 1250}}),
                                      1e-5);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_NEAR((*summary)["epsilon"].get<double>(), 7.32911117143, 1e-4 * 7.33);
  EXPECT_DOUBLE_EQ((*summary)["rdp_order"].get<double>(), 3.9);
}

// What a silo records (replace-one, its size public): 18.0673867537642 at order 2.5, computed
// with mpmath (the script in tests/dp/poisson_replace_one_test.cc).
TEST(JournalSummaryTest, EpsilonOfASilosReplaceOneLedger) {
  auto summary =
      SummarizeSiloJournal(JournalOf({{Subsampling::kPoissonReplaceOne, 0.04, 1.5, 2250}}), 1e-5);
  ASSERT_TRUE(summary.ok()) << summary.status();
  EXPECT_NEAR((*summary)["epsilon"].get<double>(), 18.0673867537642, 1e-8);
}

TEST(JournalSummaryTest, RefusesWhatItCannotAccount) {
  auto mixed = SummarizeSiloJournal(JournalOf({{Subsampling::kPoisson, 0.04, 1.5, 10},
                                               {Subsampling::kPoissonReplaceOne, 0.04, 1.5, 10}}),
                                    1e-5);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.status().message().find("cannot be accounted"), std::string::npos);
  auto with_replacement = SummarizeSiloJournal(
      JournalOf({{Subsampling::kWithReplacement, 0.04, 1.5, 10}}), 1e-5);
  EXPECT_FALSE(with_replacement.ok());
  for (double delta : {0.0, 1.0, -1e-5}) {
    auto bad = SummarizeSiloJournal(JournalOf({}), delta);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(JournalSummaryTest, NoiseFreeOrShuffleModelLedgersHaveNoNumber) {
  auto noise_free = SummarizeSiloJournal(JournalOf({{Subsampling::kNone, 1.0, 0.0, 1}}), 1e-5);
  ASSERT_TRUE(noise_free.ok()) << noise_free.status();
  EXPECT_TRUE((*noise_free)["epsilon"].is_null());
  EXPECT_NE((*noise_free)["epsilon_note"].get<std::string>().find("infinite"), std::string::npos);
  SiloJournal shuffled = JournalOf({});
  shuffled.shuffled_rounds = 4;
  auto shuffle = SummarizeSiloJournal(shuffled, 1e-5);
  ASSERT_TRUE(shuffle.ok()) << shuffle.status();
  EXPECT_TRUE((*shuffle)["epsilon"].is_null());
  EXPECT_EQ((*shuffle)["shuffled_rounds"], 4);
}

}  // namespace
}  // namespace fedsilo
