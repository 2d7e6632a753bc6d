#include "common/data/batch_sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

namespace fedsilo {
namespace {

// Pools up to this size mark their chosen records in a byte array, larger ones in a bitmap
// (BM_SampleBatchWithoutReplacement: bytes are faster for small pools, slower to scan for large
// ones).
constexpr size_t kBytePoolLimit = 1024;

}  // namespace

absl::StatusOr<Sampling> ParseSampling(const std::string& name) {
  if (name == "poisson") return Sampling::kPoisson;
  if (name == "without_replacement") return Sampling::kWithoutReplacement;
  if (name == "with_replacement") return Sampling::kWithReplacement;
  return absl::InvalidArgumentError("unknown sampling '" + name +
                                    "' (expected poisson, without_replacement or with_replacement)");
}

std::string SamplingName(Sampling sampling) {
  switch (sampling) {
    case Sampling::kPoisson: return "poisson";
    case Sampling::kWithoutReplacement: return "without_replacement";
    case Sampling::kWithReplacement: return "with_replacement";
  }
  return "unknown";
}

void SampleBatch(std::span<const int> pool, int batch, Sampling sampling, Rng& rng,
                 std::vector<int>* out) {
  out->clear();
  const size_t n = pool.size();
  if (n == 0 || batch <= 0) return;
  switch (sampling) {
    case Sampling::kPoisson: {
      const double q = std::min(1.0, static_cast<double>(batch) / static_cast<double>(n));
      if (q >= 1.0) {
        out->assign(pool.begin(), pool.end());
        return;
      }
      // Geometric skipping: the gap before the next included record is Geometric(q). Room for
      // the expected size and 4 standard deviations, so the vector rarely grows.
      out->reserve(static_cast<size_t>(batch + 4.0 * std::sqrt(static_cast<double>(batch)) + 8.0));
      const double log_1mq = std::log1p(-q);
      double position = -1.0;
      while (true) {
        position += 1.0 + std::floor(std::log(rng.UniformOpen()) / log_1mq);
        if (position >= static_cast<double>(n)) break;
        out->push_back(pool[static_cast<size_t>(position)]);
      }
      return;
    }
    case Sampling::kWithoutReplacement: {
      if (static_cast<size_t>(batch) >= n) {
        out->assign(pool.begin(), pool.end());
        return;
      }
      // Floyd's algorithm (Bentley and Floyd, "A sample of brilliance", CACM 1987): for j from
      // n - batch to n - 1, choose t uniform in [0, j], or j itself when t is already chosen.
      // Every subset of `batch` records is equally likely, from `batch` draws (selection
      // sampling drew one per record of the pool). The chosen records come out in pool order.
      const size_t wanted = static_cast<size_t>(batch);
      out->reserve(wanted);
      Rng local = rng;  // its state stays in registers: the marks' stores cannot alias it
      if (n <= kBytePoolLimit) {
        // One byte per record: a draw's test reads a byte that the previous draws' stores almost
        // never wrote, so the draws do not wait on each other (as they do on a bitmap's few
        // words). Read back in order, 64 at a time, clearing them.
        thread_local std::vector<uint8_t> marked;  // all zero between calls
        if (marked.size() < n + 64) marked.resize(n + 64, 0);
        uint8_t* mark = marked.data();
        for (size_t j = n - wanted; j < n; ++j) {
          // Mark t, or j when t is marked already. j is never marked before this step, so two
          // stores at addresses known from the draw alone do it: mark[j] = mark[t]; mark[t] = 1
          // (t == j included).
          const size_t t = static_cast<size_t>(local.UniformInt(j + 1));
          mark[j] = mark[t];
          mark[t] = 1;
        }
        rng = local;
        for (size_t start = 0; start < n; start += 64) {
          // The 64 marks from `start` as the bits of one word (each 8-byte group's low bits
          // gathered by a multiplication), then read like the bitmap below.
          uint64_t bits = 0;
          for (size_t group = 0; group < 8; ++group) {
            uint64_t bytes;
            std::memcpy(&bytes, mark + start + 8 * group, sizeof(bytes));
            bits |= ((bytes * 0x0102040810204080) >> 56) << (8 * group);
          }
          for (; bits != 0; bits &= bits - 1) {
            out->push_back(pool[start + static_cast<size_t>(std::countr_zero(bits))]);
          }
          std::memset(mark + start, 0, 64);
        }
        return;
      }
      const size_t words = (n + 63) / 64;
      thread_local std::vector<uint64_t> chosen;  // a bitmap over the pool, all zero between calls
      thread_local std::vector<size_t> picked;  // the chosen positions, for a large pool only
      if (chosen.size() < words) chosen.resize(words, 0);
      const bool small_pool = words <= 16 * wanted;  // then the bitmap is read in order
      picked.clear();
      for (size_t j = n - wanted; j < n; ++j) {
        const size_t t = static_cast<size_t>(local.UniformInt(j + 1));
        const size_t r = ((chosen[t >> 6] >> (t & 63)) & 1) != 0 ? j : t;
        chosen[r >> 6] |= uint64_t{1} << (r & 63);
        if (!small_pool) picked.push_back(r);
      }
      rng = local;
      if (small_pool) {  // read the bitmap in order, clearing it
        for (size_t word = 0; word < words; ++word) {
          for (uint64_t bits = chosen[word]; bits != 0; bits &= bits - 1) {
            out->push_back(pool[word * 64 + static_cast<size_t>(std::countr_zero(bits))]);
          }
          chosen[word] = 0;
        }
      } else {  // a large pool: sort the few chosen positions
        std::sort(picked.begin(), picked.end());
        for (size_t r : picked) {
          out->push_back(pool[r]);
          chosen[r >> 6] = 0;
        }
      }
      return;
    }
    case Sampling::kWithReplacement: {
      out->reserve(static_cast<size_t>(batch));
      for (int i = 0; i < batch; ++i) out->push_back(pool[rng.UniformInt(n)]);
      return;
    }
  }
}

}  // namespace fedsilo
