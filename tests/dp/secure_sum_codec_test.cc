// Secure summation with distributed Skellam noise against independent values: the range and the
// bits worked out by hand; the decoded sum equal, exactly, to the silos' rounded sums plus their
// noise recomputed here from copies of their generators, over many random rounds; shares that do
// not depend on the input and are uniform (chi-square); wraps and lost shares refused.
#include "common/dp/secure_sum_codec.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/dp/conditional_rounding.h"
#include "common/dp/skellam_noise.h"

namespace fedsilo {
namespace {

TEST(SecureSumRangeTest, MatchesTheBoundWorkedByHand) {
  // 10 records of bound 5, noise variance 100, 10 coordinates, 1 round, p = 20 e^-9:
  // L = ln(2 * 10 / p) = 9, t = 3 + sqrt(9 + 1800) = 45.5321; range = 50 + t.
  auto range = SumRange(10, 5.0, 100.0, 10, 1, 20.0 * std::exp(-9.0));
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_NEAR(*range, 50.0 + 3.0 + std::sqrt(1809.0), 1e-9);
  // 4 * 95.53 = 382.1 needs 2^(bits - 1) = 512: 10 bits.
  auto bits = ModulusBitsFor(*range);
  ASSERT_TRUE(bits.ok());
  EXPECT_EQ(*bits, 10);
  EXPECT_EQ(*ModulusBitsFor(0.0), 1);
  EXPECT_FALSE(ModulusBitsFor(1e30).ok());
  EXPECT_FALSE(SumRange(10, -1.0, 1.0, 10, 1, 0.1).ok());
  EXPECT_FALSE(SumRange(10, 1.0, 1.0, 0, 1, 0.1).ok());
  EXPECT_FALSE(SumRange(10, 1.0, 1.0, 10, 1, 1.0).ok());
}

// n x d records of L2 norm at most 1.
Matrix ClippedRecords(int n, int d, Rng& rng) {
  Matrix x(n, d);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) x(i, j) = rng.Normal();
    x.row(i) /= std::max(1.0, x.row(i).norm());
  }
  return x;
}

TEST(SecureSumCodecTest, DecodesExactlyTheRoundedSumsPlusTheNoiseOverManyRounds) {
  constexpr int kSilos = 5, kRecords = 8, kDim = 6, kShares = 3;
  constexpr double kScale = 100.0, kVariance = 50.0;
  const double bound = *RoundingNormBound(kScale, kDim, 1e-3);
  const double range = *SumRange(kSilos * kRecords, bound, kSilos * kVariance, kDim, 1, 1e-9);
  const SecureSumParams params{kScale, bound, *ModulusBitsFor(range), kShares};
  Rng data(1);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<std::vector<uint64_t>> shares;
    std::vector<int64_t> expected(kDim, 0);
    for (int s = 0; s < kSilos; ++s) {
      const Matrix records = ClippedRecords(kRecords, kDim, data);
      Rng noise(100 * trial + s), share(7000 + 100 * trial + s);
      // The same draws, made here independently of the codec: round each record, add the noise.
      Rng replay = noise;
      std::vector<int64_t> sum(kDim, 0), rounded(kDim);
      for (int r = 0; r < kRecords; ++r) {
        std::vector<double> scaled(kDim);
        for (int j = 0; j < kDim; ++j) scaled[j] = kScale * records(r, j);
        ASSERT_TRUE(ConditionallyRound(scaled, bound, replay, rounded).ok());
        for (int j = 0; j < kDim; ++j) sum[j] += rounded[j];
      }
      ASSERT_TRUE(AddSkellamNoise(sum, kVariance, replay).ok());
      for (int j = 0; j < kDim; ++j) expected[j] += sum[j];
      auto silo = EncodeSiloSum(records, params, kVariance, noise, share);
      ASSERT_TRUE(silo.ok()) << silo.status();
      ASSERT_EQ(silo->size(), static_cast<size_t>(kShares));
      for (auto& one : *silo) shares.push_back(std::move(one));
    }
    auto decoded = DecodeRoundSum(shares, params, range);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    for (int j = 0; j < kDim; ++j) {
      EXPECT_EQ((*decoded)[j], static_cast<double>(expected[j]) / kScale) << trial << " " << j;
    }
  }
}

TEST(SecureSumCodecTest, SharesDoNotDependOnTheInputAndAreUniform) {
  const SecureSumParams params{10.0, *RoundingNormBound(10.0, 4000, 1e-6), 20, 2};
  Rng data(2);
  const Matrix a = ClippedRecords(4, 4000, data), b = ClippedRecords(4, 4000, data);
  Rng noise_a(3), noise_b(4), share_a(5), share_b(5);  // the same share generator
  auto from_a = EncodeSiloSum(a, params, 5.0, noise_a, share_a);
  auto from_b = EncodeSiloSum(b, params, 5.0, noise_b, share_b);
  ASSERT_TRUE(from_a.ok() && from_b.ok()) << from_a.status() << from_b.status();
  EXPECT_EQ((*from_a)[0], (*from_b)[0]);  // the first share: the same draws whatever the input
  EXPECT_NE((*from_a)[1], (*from_b)[1]);
  // Each share, the last included, uniform on [0, 2^20): its top 3 bits in 8 equal bins, chi-square
  // with 7 degrees of freedom below 24.32 (p = 0.001).
  for (const auto& share : *from_a) {
    std::vector<double> bins(8, 0.0);
    for (uint64_t v : share) {
      ASSERT_LT(v, uint64_t{1} << 20);
      bins[v >> 17] += 1.0;
    }
    double chi2 = 0.0;
    for (double count : bins) chi2 += (count - 500.0) * (count - 500.0) / 500.0;
    EXPECT_LT(chi2, 24.32);
  }
}

TEST(SecureSumCodecTest, RefusesAWrappedSumAndALostShare) {
  // One coordinate, records of exactly 1 at scale 100 (rounding leaves 100), no noise. The range
  // of one record (100 + the zero-noise tail) gives 10 bits: residues mod 1024, centered at 512.
  const double bound = 100.0;
  const double range = *SumRange(1, bound, 0.0, 1, 1, 1e-9);
  const SecureSumParams params{100.0, bound, *ModulusBitsFor(range), 2};
  ASSERT_EQ(params.bits, 10);
  Rng noise(8), share(9);
  // Six records sum to 600, past 512: it wraps to -424, outside +-range: refused, not returned.
  auto wrapped = EncodeSiloSum(Matrix::Ones(6, 1), params, 0.0, noise, share);
  ASSERT_TRUE(wrapped.ok());
  const auto too_many = DecodeRoundSum(*wrapped, params, range);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kDataLoss) << too_many.status();
  // A lost share leaves a uniform residue: here (seeded) outside the range, refused.
  const double wide_range = *SumRange(3, bound, 0.0, 1, 1, 1e-9);
  const SecureSumParams wide{100.0, bound, 40, 3};
  auto three = EncodeSiloSum(Matrix::Ones(3, 1), wide, 0.0, noise, share);
  ASSERT_TRUE(three.ok());
  auto whole = DecodeRoundSum(*three, wide, wide_range);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ((*whole)[0], 3.0);
  three->pop_back();
  EXPECT_EQ(DecodeRoundSum(*three, wide, wide_range).status().code(), absl::StatusCode::kDataLoss);
  // A record that cannot be rounded within the bound is an error, not a larger contribution.
  const SecureSumParams tight{100.0, 50.0, 20, 2};
  EXPECT_EQ(EncodeSiloSum(Matrix::Ones(1, 1), tight, 0.0, noise, share).status().code(),
            absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace fedsilo
