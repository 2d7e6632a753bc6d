// Fuzz target: the experiment config parser, as `fedsilo run CONFIG --set ...` and a silo reading
// the coordinator's Welcome reach it (ParseExperimentConfig, common/runtime/config_parser.h).
// Input: YAML text, then optional `--set` override strings, separated by NUL bytes (neither a
// YAML file nor an argv string holds one): "yaml\0privacy.epsilon=2\0algorithm.lr=0.1".
// Contract checked: the parser returns a config or an error, never crashes or hangs; and a config
// it accepts survives the documented round trip (ExperimentConfigToYaml, parsed again, gives
// the same config), else the target aborts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"

#include "common/runtime/config_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> pieces = absl::StrSplit(input, '\0');  // NUL-separated parts
  const std::string yaml = pieces.front();
  const std::vector<std::string> overrides(pieces.begin() + 1, pieces.end());
  absl::StatusOr<fedsilo::ExperimentConfig> config =
      fedsilo::ParseExperimentConfig(yaml, "fuzz.yaml", overrides);
  if (!config.ok()) return 0;
  const std::string again = fedsilo::ExperimentConfigToYaml(*config);
  absl::StatusOr<fedsilo::ExperimentConfig> reparsed =
      fedsilo::ParseExperimentConfig(again, "fuzz.yaml", {});
  if (!reparsed.ok()) {
    std::fprintf(stderr, "round trip refused: %s\n--- emitted ---\n%s\n",
                 std::string(reparsed.status().message()).c_str(), again.c_str());
    __builtin_trap();
  }
  const auto difference = fedsilo::FirstConfigDifference(
      *config, *reparsed,
      {"", "data", "partition", "model", "algorithm", "fairness", "privacy", "output", "network"});
  if (difference) {
    std::fprintf(stderr, "round trip changed %s: %s -> %s\n", difference->key.c_str(),
                 difference->first.c_str(), difference->second.c_str());
    __builtin_trap();
  }
  return 0;
}
