// SiloData: a run's pooled data cut into silos and laid out for training, the way
// PrepareExperiment trains on it: PartitionData (seeded with DeriveSeed(seed, "partition")),
// HoldOutValidation (DeriveSeed(seed, "validation")), LayOutBySilo, and with index_nonzeros the
// index of nonzero features of both splits (sparse_rows.h; for models that read it, after the
// layout). The same inputs give the same SiloData, so a sweep's points that share them can share
// one (LoadedDataCache::LoadSiloData).
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/status.h"
#include "common/data/dataset.h"
#include "common/data/partition.h"

namespace fedsilo {

struct SiloData {
  TrainTest data;
  std::vector<SiloShard> shards;
};

// Errors: the partition's (InvalidArgument for a scheme the data cannot take) and the layout's.
absl::StatusOr<SiloData> MakeSiloData(TrainTest data, const PartitionConfig& partition,
                                      double validation, uint64_t seed, bool index_nonzeros);

}  // namespace fedsilo
