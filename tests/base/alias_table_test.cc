// AliasTable and ExactBernoulli against their defining probabilities: index frequencies within
// binomial tolerance of w_i / sum(w) (a zero weight never drawn); trial frequencies of p; a
// probability far below 2^-64 is not 0 and is decided, almost always, by one word.
#include "common/base/alias_table.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

TEST(AliasTableTest, DrawsEachIndexWithItsWeightsShare) {
  const std::vector<double> weights = {1.0, 2.0, 0.0, 3.0, 4.0, 0.5};
  const AliasTable table(weights);
  ASSERT_EQ(table.size(), weights.size());
  Rng rng(4);
  constexpr int kDraws = 200000;
  std::vector<int> counts(weights.size(), 0);
  for (int i = 0; i < kDraws; ++i) ++counts[table(rng)];
  const double total = 10.5;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double p = weights[i] / total;
    EXPECT_NEAR(counts[i], kDraws * p, 5.0 * std::sqrt(kDraws * p * (1 - p)) + 1e-9) << i;
  }
  EXPECT_EQ(counts[2], 0);
  const AliasTable one(std::vector<double>{7.0});
  EXPECT_EQ(one(rng), 0u);
}

TEST(ExactBernoulliTest, SucceedsWithItsProbability) {
  Rng rng(5);
  constexpr int kDraws = 200000;
  for (double p : {0.0, 0.3, 0.999, std::ldexp(1.0, -10)}) {
    const ExactBernoulli trial(p);
    int hits = 0;
    for (int i = 0; i < kDraws; ++i) hits += trial(rng) ? 1 : 0;
    EXPECT_NEAR(hits, kDraws * p, 5.0 * std::sqrt(kDraws * p * (1 - p)) + 1e-9) << p;
  }
  // 2^-100: never seen, and each trial reads one word (the leading digit is 0, and a word equal
  // to it has probability 2^-64): the generator moves by exactly one draw.
  const ExactBernoulli tiny(std::ldexp(1.0, -100));
  Rng a(6), b(6);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_FALSE(tiny(a));
    b.NextU64();
  }
  EXPECT_EQ(a.NextU64(), b.NextU64());
}

}  // namespace
}  // namespace fedsilo
