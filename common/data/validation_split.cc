#include "common/data/validation_split.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "common/base/rng.h"

namespace fedsilo {

void HoldOutValidation(std::vector<SiloShard>* shards, double fraction, uint64_t seed) {
  if (fraction <= 0.0) return;
  for (size_t s = 0; s < shards->size(); ++s) {
    SiloShard& shard = (*shards)[s];
    const size_t n = shard.train.size();
    const size_t wanted = static_cast<size_t>(std::floor(fraction * static_cast<double>(n)));
    const size_t held = std::min(wanted, n > 0 ? n - 1 : 0);
    if (held == 0) continue;
    Rng rng(DeriveSeed(seed, "validation", s));
    rng.Shuffle(std::span<int>(shard.train));
    shard.validation.assign(shard.train.end() - static_cast<std::ptrdiff_t>(held),
                            shard.train.end());
    shard.train.resize(n - held);
    std::sort(shard.train.begin(), shard.train.end());
    std::sort(shard.validation.begin(), shard.validation.end());
  }
}

}  // namespace fedsilo
