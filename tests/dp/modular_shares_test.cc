// SplitIntoShares / AddShare / DecodeCentered: the decoded sum of every share of every party is the
// exact sum of their values (in any order of the shares), a sum that leaves the range wraps by
// exactly 2^bits, and any shares - 1 shares are uniform whatever the value (chi-square).
#include "common/dp/modular_shares.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

TEST(ModularSharesTest, TheDecodedSumOfAllSharesIsTheExactSum) {
  Rng rng(7);
  for (int bits : {4, 8, 33, 62}) {
    for (int shares : {1, 2, 5}) {
      const int parties = 6, dim = 50;
      // Values small enough that the sum of the parties stays in [-2^(bits-1), 2^(bits-1)).
      const int64_t bound = (int64_t{1} << (bits - 1)) / parties;
      std::vector<int64_t> exact(dim, 0);
      std::vector<std::vector<uint64_t>> messages;
      for (int p = 0; p < parties; ++p) {
        std::vector<int64_t> values(dim);
        for (auto& v : values) {
          v = static_cast<int64_t>(rng.UniformInt(2 * static_cast<uint64_t>(bound))) - bound;
        }
        for (int i = 0; i < dim; ++i) exact[i] += values[i];
        auto split = SplitIntoShares(values, bits, shares, rng);
        ASSERT_TRUE(split.ok()) << split.status();
        ASSERT_EQ(split->size(), static_cast<size_t>(shares));
        for (auto& share : *split) messages.push_back(std::move(share));
      }
      rng.Shuffle(std::span(messages));  // the shuffler's order
      std::vector<uint64_t> sum(dim, 0);
      for (const auto& message : messages) ASSERT_TRUE(AddShare(sum, message, bits).ok());
      auto decoded = DecodeCentered(sum, bits);
      ASSERT_TRUE(decoded.ok());
      EXPECT_EQ(*decoded, exact) << bits << " bits, " << shares << " shares";
    }
  }
}

TEST(ModularSharesTest, ASumOutsideTheRangeWrapsByTwoToTheBits) {
  Rng rng(1);
  std::vector<uint64_t> sum(3, 0);
  for (const std::vector<int64_t>& values :
       {std::vector<int64_t>{100, -100, 127}, std::vector<int64_t>{100, -29, 1}}) {
    auto split = SplitIntoShares(values, 8, 3, rng);
    ASSERT_TRUE(split.ok());
    for (const auto& share : *split) ASSERT_TRUE(AddShare(sum, share, 8).ok());
  }
  auto decoded = DecodeCentered(sum, 8);
  ASSERT_TRUE(decoded.ok());
  // 200 - 256, -129 + 256, 128 - 256.
  EXPECT_EQ(*decoded, (std::vector<int64_t>{-56, 127, -128}));
}

// With 3 shares of 4 bits, the pair (share 0, share 1) of one coordinate is uniform on 16 x 16
// cells for a value of 0 and for a value of 11: Pearson's statistic below the chi-square quantile
// of probability 1 - 1e-6 at 255 degrees of freedom (Wilson-Hilferty).
TEST(ModularSharesTest, AnyButOneShareIsUniformWhateverTheValue) {
  for (int64_t value : {int64_t{0}, int64_t{11}}) {
    Rng rng(31);
    const int draws = 256 * 200;
    std::vector<int> cells(256, 0), last_given_first(256, 0);
    for (int t = 0; t < draws; ++t) {
      auto split = SplitIntoShares(std::vector<int64_t>{value}, 4, 3, rng);
      ASSERT_TRUE(split.ok());
      ++cells[(*split)[0][0] * 16 + (*split)[1][0]];
      ++last_given_first[(*split)[0][0] * 16 + (*split)[2][0]];
    }
    const double df = 255, h = 2.0 / (9.0 * df);
    const double critical = df * std::pow(1 - h + 4.753 * std::sqrt(h), 3);
    for (const auto* table : {&cells, &last_given_first}) {
      double chi = 0;
      for (int c : *table) chi += (c - 200.0) * (c - 200.0) / 200.0;
      EXPECT_LT(chi, critical) << "value " << value;
    }
  }
}

TEST(ModularSharesTest, RefusesWhatIsNotAResidueOrAShape) {
  Rng rng(1);
  const std::vector<int64_t> values = {1, 2};
  EXPECT_FALSE(SplitIntoShares(values, 0, 2, rng).ok());
  EXPECT_FALSE(SplitIntoShares(values, 63, 2, rng).ok());
  EXPECT_FALSE(SplitIntoShares(values, 8, 0, rng).ok());
  std::vector<uint64_t> sum = {0, 0};
  EXPECT_FALSE(AddShare(sum, std::vector<uint64_t>{1}, 8).ok());
  EXPECT_FALSE(AddShare(sum, std::vector<uint64_t>{256, 0}, 8).ok());
  EXPECT_EQ(sum, (std::vector<uint64_t>{0, 0}));
  EXPECT_FALSE(DecodeCentered(std::vector<uint64_t>{256}, 8).ok());
}

}  // namespace
}  // namespace fedsilo
