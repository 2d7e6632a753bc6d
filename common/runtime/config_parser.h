// Config parsing: YAML experiment file (+ --set overrides) -> validated ExperimentConfig, and back.
//
// Strict: an unknown key, a value of the wrong type, or an out-of-range value is an
// InvalidArgument whose message names the file, the key path and its line, e.g.
//   "exp.yaml:12: algorithm.lr: expected a number, got 'fast'".
// Overrides are "key.path=value" strings applied to the YAML tree before validation
// (value parsed as YAML, so lists work: model.hidden=[80,60]). Cross-field checks refuse what
// would run but not as written: a privacy section (or privacy.* override) beside a non-private
// algorithm (it would be ignored; the message names the private variant), network.min_replies
// above the silos asked per round (no round could reach quorum), network timeouts above 1e7 s.
// Pure functions; thread-safe.
#pragma once

#include <optional>
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

// The first key, in the order of docs/config.md, of the named sections ("" = the top-level keys
// such as seed) where two configs differ, with both values as YAML text; nothing when they agree.
struct ConfigDifference {
  std::string key;    // "algorithm.lr"
  std::string first;  // its value in the first config
  std::string second;
};
std::optional<ConfigDifference> FirstConfigDifference(const ExperimentConfig& first,
                                                      const ExperimentConfig& second,
                                                      const std::vector<std::string>& sections);

// The resolved config as YAML (every key, defaults included; the privacy section only for a
// private algorithm, since the parser refuses one beside a non-private algorithm); parsing it
// gives the same config.
std::string ExperimentConfigToYaml(const ExperimentConfig& config);

}  // namespace fedsilo
