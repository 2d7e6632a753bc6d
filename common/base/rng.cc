#include "common/base/rng.h"

#include <bit>
#include <cmath>
#include <random>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "common/base/check.h"
#include "common/base/poisson_sampler.h"

namespace fedsilo {
namespace {
inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// The ziggurat's layers for the unnormalized density f(x) = exp(-x^2 / 2): 256 layers of equal
// area v, x[0] = v / f(r) (the base layer, whose overhang is the tail beyond r), x[1] = r,
// f(x[i + 1]) = f(x[i]) + v / x[i], x[256] = 0; ratio[i] = x[i + 1] / x[i]. Constants r and v
// from Marsaglia and Tsang (2000) for 256 layers.
struct ZigguratTables {
  static constexpr int kLayers = 256;
  static constexpr double kR = 3.6541528853610088;
  static constexpr double kV = 4.92867323399e-3;
  double x[kLayers + 1];
  double ratio[kLayers];

  ZigguratTables() {
    double f = std::exp(-0.5 * kR * kR);
    x[0] = kV / f;
    x[1] = kR;
    x[kLayers] = 0.0;
    for (int i = 2; i < kLayers; ++i) {
      x[i] = std::sqrt(-2.0 * std::log(kV / x[i - 1] + f));
      f = std::exp(-0.5 * x[i] * x[i]);
    }
    for (int i = 0; i < kLayers; ++i) ratio[i] = x[i + 1] / x[i];
  }
};

const ZigguratTables& Ziggurat() {
  static const ZigguratTables tables;
  return tables;
}
}  // namespace

uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t DeriveSeed(uint64_t root, std::string_view purpose, uint64_t a, uint64_t b) {
  // FNV-1a over the purpose string, then chained mixing of every component.
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : purpose) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  uint64_t x = Mix64(root ^ 0x5851f42d4c957f2dULL);
  x = Mix64(x ^ h);
  x = Mix64(x ^ a);
  x = Mix64(x ^ Mix64(b + 0x2545f4914f6cdd1dULL));
  return x;
}

uint64_t SeedFromOsEntropy() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ static_cast<uint64_t>(device());
}

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) {
    x += 0x9e3779b97f4a7c15ULL;
    s = Mix64(x);
  }
}

double Rng::UniformOpen() {
  return (static_cast<double>(NextU64() >> 11) + 0.5) * 0x1.0p-53;
}

double Rng::Normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * Uniform() - 1.0;
    v = 2.0 * Uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  cached_normal_ = v * factor;
  has_cached_normal_ = true;
  return u * factor;
}

void Rng::FillNormal(std::span<double> out, double stddev) {
  const ZigguratTables& z = Ziggurat();
  // This generator's state in locals (the same xoshiro256** steps as NextU64), so that the
  // compiler keeps it in registers; written back at the end.
  uint64_t s0 = s_[0], s1 = s_[1], s2 = s_[2], s3 = s_[3];
  const auto next = [&]() {
    const uint64_t result = Rotl(s1 * 5, 7) * 9;
    const uint64_t t = s1 << 17;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = Rotl(s3, 45);
    return result;
  };
  const auto uniform_open = [&]() {
    return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53;
  };
  // One ziggurat draw whose first attempt is `bits`; later attempts, the wedge and the tail use
  // this generator.
  const auto draw = [&](uint64_t bits) {
    while (true) {
      const int layer = static_cast<int>(bits & 0xff);
      const double u = 2.0 * (static_cast<double>(bits >> 11) * 0x1.0p-53) - 1.0;  // [-1, 1)
      if (std::fabs(u) < z.ratio[layer]) return u * z.x[layer];  // inside the layer's rectangle
      if (layer == 0) {  // the tail beyond r (Marsaglia 1964)
        double t, y;
        do {
          t = std::log(uniform_open()) / ZigguratTables::kR;
          y = std::log(uniform_open());
        } while (-2.0 * y < t * t);
        return u < 0.0 ? t - ZigguratTables::kR : ZigguratTables::kR - t;
      }
      // The wedge between f(x[layer]) and f(x[layer + 1]): accept under the density.
      const double candidate = u * z.x[layer];
      const double sq = candidate * candidate;
      const double f0 = std::exp(-0.5 * (z.x[layer] * z.x[layer] - sq));
      const double f1 = std::exp(-0.5 * (z.x[layer + 1] * z.x[layer + 1] - sq));
      if (f1 + uniform_open() * (f0 - f1) < 1.0) return candidate;
      bits = next();
    }
  };
  size_t i = 0;
  constexpr int kLanes = 8;
  if (out.size() >= 64) {
    // Long fills: eight xoshiro256** lanes, seeded from this generator (SplitMix-mixed), draw
    // the first attempts side by side, which the compiler vectorizes. The ~0.7% of attempts
    // outside their rectangle are only noted here (position and bits) and finished one by one
    // afterwards, in position order, as above: the same values as finishing each at once (the
    // lanes never use this generator), without a hard-to-predict branch in the vector loop.
    alignas(64) uint64_t l0[kLanes], l1[kLanes], l2[kLanes], l3[kLanes], bits[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      l0[l] = Mix64(next());
      l1[l] = Mix64(next());
      l2[l] = Mix64(next());
      l3[l] = Mix64(next());
    }
    constexpr size_t kPending = 256;  // finished when full, so the memory stays bounded
    size_t pending_at[kPending];
    uint64_t pending_bits[kPending];
    size_t pending = 0;
    const auto finish_pending = [&] {
      for (size_t p = 0; p < pending; ++p) out[pending_at[p]] = stddev * draw(pending_bits[p]);
      pending = 0;
    };
    // Notes the lanes of the block at `at` set in `outside` (their attempts in `bits`).
    const auto note_outside = [&](unsigned outside, size_t at) {
      for (; outside != 0; outside &= outside - 1) {
        const int l = std::countr_zero(outside);
        pending_at[pending] = at + static_cast<size_t>(l);
        pending_bits[pending] = bits[l];
        if (++pending == kPending) finish_pending();
      }
    };
#if defined(__AVX512F__) && defined(__AVX512DQ__)
    // The same lanes and arithmetic in AVX-512 registers, with the tables read by gathers (the
    // compiler's version of the loop below loads them one value at a time): bit for bit the same
    // values (the rounding steps are the same: u is exact, then two products).
    {
      __m512i v0 = _mm512_load_si512(l0), v1 = _mm512_load_si512(l1), v2 = _mm512_load_si512(l2),
              v3 = _mm512_load_si512(l3);
      const __m512i low_byte = _mm512_set1_epi64(0xff);
      const __m512d scale = _mm512_set1_pd(0x1.0p-53), sigma = _mm512_set1_pd(stddev);
      const __m512d two = _mm512_set1_pd(2.0), one = _mm512_set1_pd(1.0);
      for (; i + kLanes <= out.size(); i += kLanes) {
        const __m512i times5 = _mm512_add_epi64(_mm512_slli_epi64(v1, 2), v1);
        const __m512i rotated = _mm512_rol_epi64(times5, 7);
        const __m512i b = _mm512_add_epi64(_mm512_slli_epi64(rotated, 3), rotated);
        const __m512i t = _mm512_slli_epi64(v1, 17);
        v2 = _mm512_xor_si512(v2, v0);
        v3 = _mm512_xor_si512(v3, v1);
        v1 = _mm512_xor_si512(v1, v2);
        v0 = _mm512_xor_si512(v0, v3);
        v2 = _mm512_xor_si512(v2, t);
        v3 = _mm512_rol_epi64(v3, 45);
        const __m512i layer = _mm512_and_si512(b, low_byte);
        const __m512d u = _mm512_sub_pd(
            _mm512_mul_pd(two, _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_srli_epi64(b, 11)), scale)),
            one);
        const __m512d x = _mm512_i64gather_pd(layer, z.x, 8);
        const __m512d ratio = _mm512_i64gather_pd(layer, z.ratio, 8);
        _mm512_storeu_pd(out.data() + i, _mm512_mul_pd(sigma, _mm512_mul_pd(u, x)));
        const unsigned outside = _mm512_cmp_pd_mask(_mm512_abs_pd(u), ratio, _CMP_GE_OQ);
        if (outside != 0) {
          _mm512_store_si512(bits, b);
          note_outside(outside, i);
        }
      }
    }
#endif
    for (; i + kLanes <= out.size(); i += kLanes) {
#pragma omp simd
      for (int l = 0; l < kLanes; ++l) {
        bits[l] = Rotl(l1[l] * 5, 7) * 9;
        const uint64_t t = l1[l] << 17;
        l2[l] ^= l0[l];
        l3[l] ^= l1[l];
        l1[l] ^= l2[l];
        l0[l] ^= l3[l];
        l2[l] ^= t;
        l3[l] = Rotl(l3[l], 45);
      }
      unsigned outside = 0;
      double* block = out.data() + i;
#pragma omp simd reduction(| : outside)
      for (int l = 0; l < kLanes; ++l) {
        const uint64_t layer = bits[l] & 0xff;
        const double u =
            2.0 * (static_cast<double>(static_cast<int64_t>(bits[l] >> 11)) * 0x1.0p-53) - 1.0;
        block[l] = stddev * (u * z.x[layer]);
        outside |= static_cast<unsigned>(std::fabs(u) >= z.ratio[layer]) << l;
      }
      note_outside(outside, i);
    }
    finish_pending();
  }
  for (; i < out.size(); ++i) out[i] = stddev * draw(next());
  s_[0] = s0;
  s_[1] = s1;
  s_[2] = s2;
  s_[3] = s3;
}

int64_t Rng::Poisson(double mean) { return PoissonSampler(mean)(*this); }

double Rng::Gamma(double shape) {
  if (shape < 1.0) {
    // Boost: Gamma(a) = Gamma(a + 1) * U^(1/a).
    return Gamma(shape + 1.0) * std::pow(UniformOpen(), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  while (true) {
    double x, v;
    do {
      x = Normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = UniformOpen();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace fedsilo
