// HoldOutValidation: moves floor(fraction * n) of each silo's n training records into its
// validation list (data.validation), chosen uniformly with a stream of `seed` per silo, keeping
// at least one record for training. Both lists end sorted. fraction = 0 leaves every shard as
// it is. The split happens before anything trains, so no validation record is ever trained on.
#pragma once

#include <cstdint>
#include <vector>

#include "common/data/partition.h"

namespace fedsilo {

void HoldOutValidation(std::vector<SiloShard>* shards, double fraction, uint64_t seed);

}  // namespace fedsilo
