// SharedByKey<T>(key, make): a process-wide memo of immutable objects built from a double key
// (e.g. a sampler's table for one variance): the most recent 8 keys asked for and what make(key)
// gave for each, a refusal (nullptr) included, so each is built once however many threads and
// silos ask. One memo per T, behind a mutex held while building (a second caller waits for the
// first's object rather than building its own). Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

template <typename T>
std::shared_ptr<const T> SharedByKey(double key, absl::StatusOr<T> (*make)(double)) {
  static std::mutex mutex;
  static std::vector<std::pair<double, std::shared_ptr<const T>>> recent;  // newest last
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& [seen, object] : recent) {
    if (seen == key) return object;
  }
  absl::StatusOr<T> made = make(key);
  if (recent.size() == 8) recent.erase(recent.begin());
  recent.emplace_back(key, made.ok() ? std::make_shared<const T>(std::move(made).value())
                                     : nullptr);
  return recent.back().second;
}

}  // namespace fedsilo
