// Rng: the only source of randomness in fedsilo, and DeriveSeed, which names every stream.
//
// Reproducibility contract: given the same seed, an Rng produces the same sequence on every
// platform and standard library (xoshiro256** core, our own uniform/normal/integer transforms;
// no std::*_distribution, no std::shuffle). Streams are never shared between threads: code that
// needs randomness receives an Rng& (or a seed) from its caller, derived with DeriveSeed from
// (root seed, purpose, indices). An Rng is not thread-safe; copy or derive one per thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace fedsilo {

// SplitMix64 finalizer: a bijective 64-bit mixer.
uint64_t Mix64(uint64_t x);

// Derives an independent seed for one purpose from a root seed and up to two indices
// (e.g. round and silo). Distinct (purpose, a, b) give unrelated streams.
uint64_t DeriveSeed(uint64_t root, std::string_view purpose, uint64_t a = 0, uint64_t b = 0);

// A seed from the operating system's entropy source (std::random_device / getrandom).
uint64_t SeedFromOsEntropy();

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // xoshiro256** (Blackman and Vigna). This, Uniform and UniformInt are inline, so a loop of
  // draws keeps the state in registers.
  uint64_t NextU64() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform double in [0, 1) with 53 random bits (inline, like NextU64).
  double Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }
  // Uniform double in (0, 1): never returns 0, safe for log().
  double UniformOpen();
  // Uniform integer in [0, n), unbiased (Lemire's method). n must be > 0.
  uint64_t UniformInt(uint64_t n) {
    // Lemire, "Fast random integer generation in an interval" (2019).
    __uint128_t m = static_cast<__uint128_t>(NextU64()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(NextU64()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  // Standard normal N(0, 1) (Marsaglia polar method; pairs are cached).
  double Normal();
  // Fills `out` with independent N(0, stddev^2) draws, by the ziggurat method (Marsaglia and
  // Tsang 2000, 256 layers, with Doornik's 2005 fix: layer and value from disjoint bits of one
  // 64-bit draw). A fill of 64 or more values draws from eight lanes seeded from this generator,
  // side by side (vectorized; with AVX-512, gathers read the tables), so the values depend on how
  // a fill is split into calls (not on the instruction set or anything else); about 1.3 ns a
  // value with AVX-512 on an AMD EPYC, against 7 for Normal() (BENCHMARKS.md). A
  // different sequence from repeated Normal() calls; it does not touch Normal()'s cached pair.
  void FillNormal(std::span<double> out, double stddev);
  // Gamma(shape, 1) (Marsaglia-Tsang), shape > 0. Used for Dirichlet partitions.
  double Gamma(double shape);
  // Poisson(mean), 0 <= mean <= kMaxPoissonMean (checked): the multiplication method below a mean
  // of 10, above it Hoermann's transformed rejection with squeeze (PTRS, "The transformed
  // rejection method for generating Poisson random variables", Insurance: Mathematics and
  // Economics 12, 1993), whose accepted values follow the Poisson pmf up to double rounding.
  // PoissonSampler (poisson_sampler.h) makes the same draws with the set-up done once.
  int64_t Poisson(double mean);
  static constexpr double kMaxPoissonMean = 1e15;
  // Fisher-Yates shuffle driven by UniformInt.
  template <typename T>
  void Shuffle(std::span<T> values) {
    for (size_t i = values.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(UniformInt(i));
      std::swap(values[i - 1], values[j]);
    }
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  uint64_t s_[4];
  bool has_cached_normal_ = false;
  double cached_normal_ = 0.0;
};

}  // namespace fedsilo
