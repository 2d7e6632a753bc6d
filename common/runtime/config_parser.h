// Config parsing: YAML experiment file (+ --set overrides) -> validated ExperimentConfig, and back.
//
// Strict: an unknown key, a value of the wrong type, or an out-of-range value is an
// InvalidArgument whose message names the file, the key path and its line, e.g.
//   "exp.yaml:12: algorithm.lr: expected a number, got 'fast'".
// Overrides are "key.path=value" strings applied to the YAML tree before validation
// (value parsed as YAML, so lists work: model.hidden=[80,60]). Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/runtime/experiment_config.h"

namespace fedsilo {

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::string& path,
                                                      const std::vector<std::string>& overrides);

absl::StatusOr<ExperimentConfig> ParseExperimentConfig(const std::string& yaml_text,
                                                       const std::string& source_name,
                                                       const std::vector<std::string>& overrides);

// The resolved config as YAML (every key, defaults included); parsing it gives the same config.
std::string ExperimentConfigToYaml(const ExperimentConfig& config);

}  // namespace fedsilo
