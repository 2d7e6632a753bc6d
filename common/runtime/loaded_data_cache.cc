#include "common/runtime/loaded_data_cache.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/data/loader_registry.h"
#include "common/runtime/config_parser.h"

namespace fedsilo {
namespace {

// Every key of the data section, and the seed.
std::string KeyOf(const DataConfig& config) {
  ExperimentConfig probe;
  probe.data = config;
  return absl::StrCat(ExperimentConfigToYaml(probe), "\nseed: ", config.seed);
}

size_t BytesOf(const Dataset& data) {
  return sizeof(double) * static_cast<size_t>(data.x.size()) +
         sizeof(int) * (data.y.size() + data.group.size());
}

}  // namespace

absl::StatusOr<std::shared_ptr<const TrainTest>> LoadedDataCache::Load(const DataConfig& config) {
  const std::string key = KeyOf(config);
  std::promise<absl::StatusOr<std::shared_ptr<const TrainTest>>> promise;
  Loaded loaded;
  bool mine = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      uses_.splice(uses_.begin(), uses_, it->second.use);
      loaded = it->second.data;
    } else {
      uses_.push_front(key);
      loaded = promise.get_future().share();
      entries_.emplace(key, Entry{loaded, 0, uses_.begin()});
      mine = true;
      ++loads_;
    }
  }
  if (!mine) return loaded.get();
  absl::StatusOr<TrainTest> data = LoadData(config);
  absl::StatusOr<std::shared_ptr<const TrainTest>> result =
      data.ok() ? absl::StatusOr<std::shared_ptr<const TrainTest>>(
                      std::make_shared<const TrainTest>(std::move(*data)))
                : absl::StatusOr<std::shared_ptr<const TrainTest>>(data.status());
  promise.set_value(result);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    const size_t bytes =
        result.ok() ? BytesOf((*result)->train) + BytesOf((*result)->test) : 0;
    if (!result.ok() || bytes > max_bytes_ / 4) {  // not kept: the next Load loads again
      uses_.erase(it->second.use);
      entries_.erase(it);
    } else {
      it->second.bytes = std::max<size_t>(bytes, 1);
      bytes_ += it->second.bytes;
      DropOldLocked(key);
    }
  }
  return result;
}

void LoadedDataCache::DropOldLocked(const std::string& keep) {
  // From the least recently used; entries still loading (0 bytes) and `keep` stay.
  for (auto use = uses_.end(); bytes_ > max_bytes_ && use != uses_.begin();) {
    --use;
    if (*use == keep) continue;
    auto it = entries_.find(*use);
    if (it == entries_.end() || it->second.bytes == 0) continue;
    bytes_ -= it->second.bytes;
    entries_.erase(it);
    use = uses_.erase(use);
  }
}

int LoadedDataCache::loads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loads_;
}

}  // namespace fedsilo
