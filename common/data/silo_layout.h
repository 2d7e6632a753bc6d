// LayOutBySilo: permutes the pooled training records in place so that each silo's records are
// contiguous (silo 0's first, then silo 1's, ...; records no silo trains on go last), and
// rewrites the silos' index lists (train and validation) to match. A silo's k-th record stays
// its k-th record, so every result is unchanged; only memory locality improves (a silo's batches
// then come from one small region instead of the whole pooled matrix). Done once, before
// training, with O(one row) extra memory. When some record belongs to two silos the layout is
// left as it is (it is only an optimization).
// InvalidArgument for a row index outside the dataset. Not thread-safe.
#pragma once

#include <vector>

#include "common/base/status.h"
#include "common/data/dataset.h"
#include "common/data/partition.h"

namespace fedsilo {

absl::Status LayOutBySilo(Dataset* train, std::vector<SiloShard>* shards);

}  // namespace fedsilo
