// Secure summation with distributed Skellam noise against independent values: the range and the
// bits worked out by hand; the decoded sum equal, exactly, to the silos' rounded sums plus their
// noise recomputed here from copies of their generators, over many random rounds, whatever the
// shares they are split into; a decoded sum whose mean over many rounds is the true sum
// (rounding and noise unbiased); wraps and lost shares refused.
#include "common/dp/secure_sum_codec.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "common/dp/modular_shares.h"
#include "common/dp/randomized_rounding.h"
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

// A residue vector split into `shares` additive shares: shares - 1 uniform masks and the rest.
std::vector<std::vector<uint64_t>> Split(std::vector<uint64_t> residues, int bits, int shares,
                                         Rng& rng) {
  std::vector<std::vector<uint64_t>> out;
  for (int s = 0; s + 1 < shares; ++s) {
    std::vector<uint64_t> mask(residues.size());
    for (uint64_t& m : mask) m = rng.NextU64() >> (64 - bits);
    EXPECT_TRUE(SubtractShare(residues, mask, bits).ok());
    out.push_back(std::move(mask));
  }
  out.push_back(std::move(residues));
  return out;
}

// The sum of n random d-dimensional records, each of L2 norm at most 1.
Vector ClippedSum(int n, int d, Rng& rng) {
  Vector sum = Vector::Zero(d);
  for (int i = 0; i < n; ++i) {
    Vector x(d);
    for (int j = 0; j < d; ++j) x[j] = rng.Normal();
    sum += x / std::max(1.0, x.norm());
  }
  return sum;
}

TEST(SecureSumCodecTest, DecodesExactlyTheRoundedSumsPlusTheNoiseOverManyRounds) {
  constexpr int kSilos = 5, kRecords = 8, kDim = 6, kShares = 3;
  constexpr double kScale = 100.0, kVariance = 50.0;
  const double bound = kScale + std::sqrt(kDim);
  const double range = *SumRange(kSilos * kRecords, bound, kSilos * kVariance, kDim, 1, 1e-9);
  const SecureSumParams params{kScale, bound, *ModulusBitsFor(range), kShares};
  Rng data(1);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<std::vector<uint64_t>> shares;
    std::vector<int64_t> expected(kDim, 0);
    for (int s = 0; s < kSilos; ++s) {
      const Vector sum = ClippedSum(kRecords, kDim, data);
      Rng noise(100 * trial + s), share(7000 + 100 * trial + s);
      // The same draws, made here independently of the codec: round the scaled sum, add noise.
      Rng replay = noise;
      std::vector<double> scaled(kDim);
      for (int j = 0; j < kDim; ++j) scaled[j] = kScale * sum[j];
      std::vector<int64_t> rounded(kDim);
      ASSERT_TRUE(RandomizedRound(scaled, 1.0, replay, rounded).ok());
      ASSERT_TRUE(AddSkellamNoise(rounded, kVariance, replay).ok());
      for (int j = 0; j < kDim; ++j) expected[j] += rounded[j];
      auto silo = EncodeSiloSum(sum, params, kVariance, noise);
      ASSERT_TRUE(silo.ok()) << silo.status();
      for (auto& one : Split(*silo, params.bits, kShares, share)) shares.push_back(std::move(one));
    }
    auto decoded = DecodeRoundSum(shares, params, range);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    for (int j = 0; j < kDim; ++j) {
      EXPECT_EQ((*decoded)[j], static_cast<double>(expected[j]) / kScale) << trial << " " << j;
    }
  }
}

TEST(SecureSumCodecTest, TheDecodedSumIsUnbiased) {
  // Three silos with fixed sums, 4000 rounds: the mean decoded sum is the true sum within 5
  // standard errors of the noise (variance 3 * 40 / scale^2) and the rounding (<= 3/4 / scale^2).
  constexpr int kDim = 4, kRounds = 4000;
  constexpr double kScale = 7.0, kVariance = 40.0;
  const SecureSumParams params{kScale, kScale + 2.0, 30, 2};
  const Vector sums[3] = {Vector::Constant(kDim, 0.31), Vector::Constant(kDim, -1.234),
                          Vector::LinSpaced(kDim, -2.0, 2.0)};
  const Vector truth = sums[0] + sums[1] + sums[2];
  Vector mean = Vector::Zero(kDim);
  Rng noise(21), share(22);
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::vector<uint64_t>> shares;
    for (const Vector& sum : sums) {
      auto silo = EncodeSiloSum(sum, params, kVariance, noise);
      ASSERT_TRUE(silo.ok()) << silo.status();
      for (auto& one : Split(*silo, params.bits, 2, share)) shares.push_back(std::move(one));
    }
    auto decoded = DecodeRoundSum(shares, params, 1e6);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    mean += *decoded / kRounds;
  }
  const double se = std::sqrt((3.0 * kVariance + 0.75) / (kScale * kScale) / kRounds);
  for (int j = 0; j < kDim; ++j) EXPECT_NEAR(mean[j], truth[j], 5.0 * se) << j;
}

TEST(SecureSumCodecTest, RefusesAWrappedSumAndALostShare) {
  // One coordinate, sums of records of exactly 1 at scale 100 (rounding leaves them), no noise.
  // The range of one record (100 + the zero-noise tail) gives 10 bits: residues mod 1024,
  // centered at 512.
  const double bound = 100.0;
  const double range = *SumRange(1, bound, 0.0, 1, 1, 1e-9);
  const SecureSumParams params{100.0, bound, *ModulusBitsFor(range), 2};
  ASSERT_EQ(params.bits, 10);
  Rng noise(8), share(9);
  // Six records sum to 600, past 512: it wraps to -424, outside +-range: refused, not returned.
  auto wrapped = EncodeSiloSum(Vector::Constant(1, 6.0), params, 0.0, noise);
  ASSERT_TRUE(wrapped.ok());
  const auto too_many = DecodeRoundSum(Split(*wrapped, params.bits, 2, share), params, range);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kDataLoss) << too_many.status();
  // A lost share leaves a uniform residue: here (seeded) outside the range, refused.
  const double wide_range = *SumRange(3, bound, 0.0, 1, 1, 1e-9);
  const SecureSumParams wide{100.0, bound, 40, 3};
  auto encoded = EncodeSiloSum(Vector::Constant(1, 3.0), wide, 0.0, noise);
  ASSERT_TRUE(encoded.ok());
  std::vector<std::vector<uint64_t>> three = Split(*encoded, wide.bits, 3, share);
  auto whole = DecodeRoundSum(three, wide, wide_range);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ((*whole)[0], 3.0);
  three.pop_back();
  EXPECT_EQ(DecodeRoundSum(three, wide, wide_range).status().code(), absl::StatusCode::kDataLoss);
  // A scaled sum beyond what doubles hold exactly, or not finite, is refused.
  EXPECT_EQ(EncodeSiloSum(Vector::Constant(1, 1e15), params, 0.0, noise).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeSiloSum(Vector::Constant(1, std::nan("")), params, 0.0, noise)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fedsilo
