#include "common/runtime/loaded_data_cache.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/data/loader_registry.h"
#include "common/data/sparse_rows.h"
#include "common/runtime/config_parser.h"

namespace fedsilo {
namespace {

// Every key of the data section, and the seed.
std::string DataKey(const DataConfig& config) {
  ExperimentConfig probe;
  probe.data = config;
  return absl::StrCat("data\n", ExperimentConfigToYaml(probe), "\nseed: ", config.seed);
}

// Every key of the data and partition sections, the seed and whether the nonzeros are indexed.
std::string SiloDataKey(const ExperimentConfig& config, bool index_nonzeros) {
  ExperimentConfig probe;
  probe.data = config.data;
  probe.partition = config.partition;
  return absl::StrCat("silo data\n", ExperimentConfigToYaml(probe), "\nseed: ", config.seed,
                      "\nindex_nonzeros: ", index_nonzeros);
}

size_t BytesOf(const Dataset& data) {
  size_t bytes = sizeof(double) * static_cast<size_t>(data.x.size()) +
                 sizeof(int) * (data.y.size() + data.group.size());
  if (data.nonzeros != nullptr) bytes += data.nonzeros->bytes();
  return bytes;
}

size_t BytesOf(const TrainTest& data) { return BytesOf(data.train) + BytesOf(data.test); }

}  // namespace

absl::StatusOr<std::shared_ptr<const TrainTest>> LoadedDataCache::Load(const DataConfig& config) {
  FEDSILO_ASSIGN_OR_RETURN(Value value,
                           GetOrMake(DataKey(config), [&]() -> absl::StatusOr<Made> {
                             {
                               std::lock_guard<std::mutex> lock(mu_);
                               ++loads_;
                             }
                             FEDSILO_ASSIGN_OR_RETURN(TrainTest data, LoadData(config));
                             auto shared = std::make_shared<const TrainTest>(std::move(data));
                             const size_t bytes = BytesOf(*shared);
                             return Made{std::move(shared), bytes};
                           }));
  return std::static_pointer_cast<const TrainTest>(value);
}

absl::StatusOr<std::shared_ptr<const SiloData>> LoadedDataCache::LoadSiloData(
    const ExperimentConfig& config, const TrainTest& loaded, bool index_nonzeros) {
  FEDSILO_ASSIGN_OR_RETURN(
      Value value,
      GetOrMake(SiloDataKey(config, index_nonzeros), [&]() -> absl::StatusOr<Made> {
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++layouts_;
        }
        FEDSILO_ASSIGN_OR_RETURN(SiloData made,
                                 MakeSiloData(loaded, config.partition, config.data.validation,
                                              config.seed, index_nonzeros));
        auto shared = std::make_shared<const SiloData>(std::move(made));
        const size_t bytes = BytesOf(shared->data);
        return Made{std::move(shared), bytes};
      }));
  return std::static_pointer_cast<const SiloData>(value);
}

absl::StatusOr<LoadedDataCache::Value> LoadedDataCache::GetOrMake(
    const std::string& key, const std::function<absl::StatusOr<Made>()>& make) {
  std::promise<absl::StatusOr<Value>> promise;
  Pending pending;
  bool mine = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      uses_.splice(uses_.begin(), uses_, it->second.use);
      pending = it->second.value;
    } else {
      uses_.push_front(key);
      pending = promise.get_future().share();
      entries_.emplace(key, Entry{pending, 0, uses_.begin()});
      mine = true;
    }
  }
  if (!mine) return pending.get();
  absl::StatusOr<Made> made = make();
  const absl::StatusOr<Value> result =
      made.ok() ? absl::StatusOr<Value>(made->value) : absl::StatusOr<Value>(made.status());
  promise.set_value(result);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    if (!made.ok() || made->bytes > max_bytes_ / 4) {  // not kept: the next call makes it again
      uses_.erase(it->second.use);
      entries_.erase(it);
    } else {
      it->second.bytes = std::max<size_t>(made->bytes, 1);
      bytes_ += it->second.bytes;
      DropOldLocked(key);
    }
  }
  return result;
}

void LoadedDataCache::DropOldLocked(const std::string& keep) {
  // From the least recently used; entries still being made (0 bytes) and `keep` stay.
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

int LoadedDataCache::layouts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return layouts_;
}

}  // namespace fedsilo
