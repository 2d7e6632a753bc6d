// Preset loaders for the public tabular datasets (see docs/datasets.md for sources, licences,
// the exact preprocessing and row counts): adult, compas, german, obesity, communities, wdbc.
//
// Each reads <config.dir>/<name>/<files>, applies the dataset's documented cleaning, then the
// shared tabular preprocessing (tabular.h) with config.missing. Datasets without an official
// test file hold out 20% with Rng(DeriveSeed(config.seed, "test-split")), as the csv loader does.
// config.sensitive picks a preset option ("" = the preset's default, "none" = no attribute):
//   adult: sex (default) | race (White vs non-White) | sex_race (4 groups)
//   compas: race (Caucasian vs non-Caucasian, default) | sex
//   german: sex (default; A92/A95 female) | age (age > 25)
//   obesity: gender (default)      communities: race (racepctblack > train median, default)
//   wdbc: none
// Called through the loader registry. Pure functions; thread-safe.
// Errors: NotFound naming the full path of a missing file (and data.dir / FEDSILO_DATA);
// InvalidArgument for an unknown sensitive option (listing the allowed ones) or malformed content
// (file, line, column).
#pragma once

#include "common/base/status.h"
#include "common/data/data_config.h"
#include "common/data/dataset.h"

namespace fedsilo {

absl::StatusOr<TrainTest> LoadAdult(const DataConfig& config);
absl::StatusOr<TrainTest> LoadCompas(const DataConfig& config);
absl::StatusOr<TrainTest> LoadGerman(const DataConfig& config);
absl::StatusOr<TrainTest> LoadObesity(const DataConfig& config);
absl::StatusOr<TrainTest> LoadCommunities(const DataConfig& config);
absl::StatusOr<TrainTest> LoadWdbc(const DataConfig& config);

}  // namespace fedsilo
