// Data loading: presets for the public datasets, the schema-driven CSV loader, and the registry
// that lets users plug in their own loader by name.
//
// LoadData resolves config.dataset: a registered name (built in: adult, compas, german, obesity,
// communities, wdbc, mnist, csv) -> a loader returning raw train/test Datasets, then applies the
// shared preprocessing (label map, PCA). Errors name the file, row and column at fault. The test
// split may come back empty (a silo's own test file may hold no records); the training split
// never does.
// Registration happens at start-up, before runs; lookups are thread-safe afterwards.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/data/data_config.h"
#include "common/data/dataset.h"

namespace fedsilo {

using DataLoader = std::function<absl::StatusOr<TrainTest>(const DataConfig& config)>;

void RegisterDataLoader(const std::string& name, DataLoader loader);
std::vector<std::string> RegisteredDataLoaderNames();

// Loads and preprocesses the dataset named by config.dataset.
absl::StatusOr<TrainTest> LoadData(const DataConfig& config);

// The data directory, as an absolute path: `configured` if non-empty, else $FEDSILO_DATA, else
// ../shared/data if it exists (relative to the working directory), else ./data.
std::string ResolveDataDir(const std::string& configured);

}  // namespace fedsilo
