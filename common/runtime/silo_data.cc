#include "common/runtime/silo_data.h"

#include <utility>

#include "common/base/rng.h"
#include "common/data/silo_layout.h"
#include "common/data/sparse_rows.h"
#include "common/data/validation_split.h"

namespace fedsilo {

absl::StatusOr<SiloData> MakeSiloData(TrainTest data, const PartitionConfig& partition,
                                      double validation, uint64_t seed, bool index_nonzeros) {
  SiloData out;
  out.data = std::move(data);
  FEDSILO_ASSIGN_OR_RETURN(out.shards,
                           PartitionData(out.data, partition, DeriveSeed(seed, "partition")));
  HoldOutValidation(&out.shards, validation, DeriveSeed(seed, "validation"));
  FEDSILO_RETURN_IF_ERROR(LayOutBySilo(&out.data.train, &out.shards));
  if (index_nonzeros) {  // after the layout: x is final now
    out.data.train.nonzeros = IndexNonzeros(out.data.train.x);
    out.data.test.nonzeros = IndexNonzeros(out.data.test.x);
  }
  return out;
}

}  // namespace fedsilo
