// ReduceToResidues / AddShare / SubtractShare / DecodeCentered: parties' values split into uniform
// masks and their complements decode, added in any order, to the exact sum of the values; a sum
// that leaves the range wraps by exactly 2^bits; a complement v - m is uniform whatever v
// (chi-square).
#include "common/dp/modular_shares.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "common/base/rng.h"

namespace fedsilo {
namespace {

// A uniform mask on [0, 2^bits) of length n.
std::vector<uint64_t> UniformMask(size_t n, int bits, Rng& rng) {
  std::vector<uint64_t> mask(n);
  for (uint64_t& m : mask) m = rng.NextU64() >> (64 - bits);
  return mask;
}

// Integers as residues mod 2^bits, through ReduceToResidues.
std::vector<uint64_t> AsResidues(const std::vector<int64_t>& values, int bits) {
  std::vector<uint64_t> out(values.begin(), values.end());  // two's complement
  EXPECT_TRUE(ReduceToResidues(out, bits).ok());
  return out;
}

TEST(ModularSharesTest, TheDecodedSumOfAllSharesIsTheExactSum) {
  Rng rng(7);
  for (int bits : {4, 8, 33, 62}) {
    for (int masks : {0, 1, 4}) {
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
        std::vector<uint64_t> last = AsResidues(values, bits);
        for (int m = 0; m < masks; ++m) {
          messages.push_back(UniformMask(dim, bits, rng));
          ASSERT_TRUE(SubtractShare(last, messages.back(), bits).ok());
        }
        messages.push_back(last);
      }
      rng.Shuffle(std::span(messages));  // the shuffler's order
      std::vector<uint64_t> sum(dim, 0);
      for (const auto& message : messages) ASSERT_TRUE(AddShare(sum, message, bits).ok());
      auto decoded = DecodeCentered(sum, bits);
      ASSERT_TRUE(decoded.ok());
      EXPECT_EQ(*decoded, exact) << bits << " bits, " << masks << " masks";
    }
  }
}

TEST(ModularSharesTest, ResiduesAreTheValuesModTwoToTheBits) {
  EXPECT_EQ(AsResidues({0, 5, -1, -256, 300}, 8), (std::vector<uint64_t>{0, 5, 255, 0, 44}));
}

TEST(ModularSharesTest, ASumOutsideTheRangeWrapsByTwoToTheBits) {
  std::vector<uint64_t> sum(3, 0);
  for (const std::vector<int64_t>& values :
       {std::vector<int64_t>{100, -100, 127}, std::vector<int64_t>{100, -29, 1}}) {
    ASSERT_TRUE(AddShare(sum, AsResidues(values, 8), 8).ok());
  }
  auto decoded = DecodeCentered(sum, 8);
  ASSERT_TRUE(decoded.ok());
  // 200 - 256, -129 + 256, 128 - 256.
  EXPECT_EQ(*decoded, (std::vector<int64_t>{-56, 127, -128}));
}

// With 4 bits, the complement v - m of a uniform mask m is uniform on 16 values for v = 0 and for
// v = 11, and the pair (m, v - m) is uniform on the 16 cells of the line m + c = v: Pearson's
// statistic below the chi-square quantile of probability 1 - 1e-6 at 15 degrees of freedom.
TEST(ModularSharesTest, TheComplementOfAUniformMaskIsUniformWhateverTheValue) {
  for (int64_t value : {int64_t{0}, int64_t{11}}) {
    Rng rng(31);
    const int draws = 16 * 2000;
    std::vector<int> cells(16, 0);
    for (int t = 0; t < draws; ++t) {
      std::vector<uint64_t> complement = AsResidues({value}, 4);
      const std::vector<uint64_t> mask = UniformMask(1, 4, rng);
      ASSERT_TRUE(SubtractShare(complement, mask, 4).ok());
      ASSERT_EQ((mask[0] + complement[0]) & 15u, static_cast<uint64_t>(value) & 15u);
      ++cells[complement[0]];
    }
    double chi = 0;
    for (int c : cells) chi += (c - 2000.0) * (c - 2000.0) / 2000.0;
    EXPECT_LT(chi, 57.35) << "value " << value;  // chi-square(15) at 1 - 1e-6 (Wilson-Hilferty)
  }
}

TEST(ModularSharesTest, RefusesWhatIsNotAResidueOrAShape) {
  std::vector<uint64_t> values = {1, 2};
  EXPECT_FALSE(ReduceToResidues(values, 0).ok());
  EXPECT_FALSE(ReduceToResidues(values, 63).ok());
  std::vector<uint64_t> sum = {0, 0};
  EXPECT_FALSE(AddShare(sum, std::vector<uint64_t>{1}, 8).ok());
  EXPECT_FALSE(AddShare(sum, std::vector<uint64_t>{256, 0}, 8).ok());
  EXPECT_FALSE(SubtractShare(sum, std::vector<uint64_t>{256, 0}, 8).ok());
  EXPECT_FALSE(SubtractShare(sum, std::vector<uint64_t>{1, 0}, 70).ok());
  EXPECT_EQ(sum, (std::vector<uint64_t>{0, 0}));
  EXPECT_FALSE(DecodeCentered(std::vector<uint64_t>{256}, 8).ok());
}

}  // namespace
}  // namespace fedsilo
