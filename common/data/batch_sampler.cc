#include "common/data/batch_sampler.h"

#include <cmath>

namespace fedsilo {

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
      // Geometric skipping: the gap before the next included record is Geometric(q).
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
      // Knuth's selection sampling (Algorithm S): exactly `batch` records, in pool order.
      // Branch-free: every record is written at the next free place and kept when chosen (the
      // choice is a coin that a branch would mispredict about one time in five).
      const size_t wanted = static_cast<size_t>(batch);
      out->resize(wanted);
      size_t taken = 0;
      for (size_t i = 0; i < n && taken < wanted; ++i) {
        const bool take = rng.UniformInt(n - i) < wanted - taken;
        (*out)[taken] = pool[i];
        taken += take ? 1 : 0;
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
