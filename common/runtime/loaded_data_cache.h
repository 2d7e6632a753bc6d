// LoadedDataCache: a sweep's memo of loaded datasets and of their silo layouts, so that the
// points of a grid that read the same data load it once instead of once each (loading and
// preprocessing, e.g. MNIST's PCA, is a quarter to a half of a short run), and the points that
// also cut it the same way partition, lay out and index it once.
//
// Load(config) returns what LoadData(config) returns, from the memo when a config with the same
// data section (every `data` key, as ExperimentConfigToYaml writes them) and the same seed (a
// loader may draw its test split with it) was loaded before. LoadSiloData(config, loaded,
// index_nonzeros) returns what MakeSiloData (silo_data.h) makes of `loaded`, which must be what
// Load(config.data) returned (the caller holds it, so data too large to be kept is not loaded
// twice), from the memo when the data section, the partition section, the seed and
// index_nonzeros are the same. Two threads asking for the same entry at once wait for one load.
// Entries are immutable and shared (PrepareExperiment's runs read the same SiloData); a caller
// that would change one copies it first. Errors are returned, not kept: the next
// call tries again. When the kept entries exceed `max_bytes` the least recently used are dropped
// (their holders keep them alive), and an entry larger than a quarter of it is not kept at all
// (raw MNIST, 440 MB, with the default 1 GiB: a sweep over seeds would only cycle through it).
// Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/base/status.h"
#include "common/data/data_config.h"
#include "common/data/dataset.h"
#include "common/runtime/experiment_config.h"
#include "common/runtime/silo_data.h"

namespace fedsilo {

class LoadedDataCache {
 public:
  explicit LoadedDataCache(size_t max_bytes = size_t{1} << 30) : max_bytes_(max_bytes) {}

  absl::StatusOr<std::shared_ptr<const TrainTest>> Load(const DataConfig& config);
  absl::StatusOr<std::shared_ptr<const SiloData>> LoadSiloData(const ExperimentConfig& config,
                                                               const TrainTest& loaded,
                                                               bool index_nonzeros);

  int loads() const;    // how many times LoadData ran (for tests and reports)
  int layouts() const;  // how many times MakeSiloData ran

 private:
  using Value = std::shared_ptr<const void>;
  struct Made {
    Value value;
    size_t bytes = 0;
  };
  using Pending = std::shared_future<absl::StatusOr<Value>>;
  struct Entry {
    Pending value;
    size_t bytes = 0;  // 0 until made
    std::list<std::string>::iterator use;  // position in uses_ (front = most recent)
  };
  // The entry under key, made by `make` (which runs without the lock) when there is none.
  absl::StatusOr<Value> GetOrMake(const std::string& key,
                                  const std::function<absl::StatusOr<Made>()>& make);
  void DropOldLocked(const std::string& keep);

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> uses_;
  size_t bytes_ = 0;
  int loads_ = 0;
  int layouts_ = 0;
};

}  // namespace fedsilo
