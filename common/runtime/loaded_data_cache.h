// LoadedDataCache: a sweep's memo of loaded datasets, so that the points of a grid that read the
// same data load it once instead of once each (loading and preprocessing, e.g. MNIST's PCA, is
// a quarter to a half of a short run).
//
// Load(config) returns what LoadData(config) returns, from the memo when a config with the same
// data section (every `data` key, as ExperimentConfigToYaml writes them) and the same seed (a
// loader may draw its test split with it) was loaded before. Two threads asking for the same data
// at once wait for one load. Loaded data is immutable and shared; a caller that changes it copies
// it first (PrepareExperiment does). Errors are returned, not kept: the next Load tries again.
// When the kept data exceed `max_bytes` the least recently used entries are dropped (their
// holders keep them alive), and data larger than a quarter of it is not kept at all (raw MNIST,
// 440 MB, with the default 1 GiB: a sweep over seeds would only cycle through it). Thread-safe.
#pragma once

#include <cstddef>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/base/status.h"
#include "common/data/data_config.h"
#include "common/data/dataset.h"

namespace fedsilo {

class LoadedDataCache {
 public:
  explicit LoadedDataCache(size_t max_bytes = size_t{1} << 30) : max_bytes_(max_bytes) {}

  absl::StatusOr<std::shared_ptr<const TrainTest>> Load(const DataConfig& config);

  int loads() const;  // how many times LoadData ran (for tests and reports)

 private:
  using Loaded = std::shared_future<absl::StatusOr<std::shared_ptr<const TrainTest>>>;
  struct Entry {
    Loaded data;
    size_t bytes = 0;  // 0 until loaded
    std::list<std::string>::iterator use;  // position in uses_ (front = most recent)
  };
  void DropOldLocked(const std::string& keep);

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> uses_;
  size_t bytes_ = 0;
  int loads_ = 0;
};

}  // namespace fedsilo
