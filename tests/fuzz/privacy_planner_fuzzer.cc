// Fuzz target: a silo's privacy planning (PlanSiloPrivacy, common/runtime/silo_privacy.h, as
// SiloFactory::Make calls it) with every privacy-relevant setting drawn from the input within
// its type, and the shuffle-model public calibration (PublicShuffleCalibration) for
// sdp_minibatch_sgd. The values enter as `--set` overrides of a small private config and go
// through ParseExperimentConfig first, so only what the parser lets through is planned (the
// parser's own range checks are part of what is tested). Numbers are drawn over many decades
// (mantissa x 10^k, k in [-60, 60]) so huge and tiny values are as likely as ordinary ones.
// Contract checked: planning returns a plan or an error within the time limit (-timeout), never
// crashes; a plan's noise is finite and not negative. FEDSILO_FUZZ_VERBOSE=1 prints the settings
// an input decodes to (the --set overrides, record and parameter counts).
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/algorithms/algorithm_registry.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/silo_privacy.h"

namespace {

constexpr char kBase[] = R"(seed: 1
data: {dataset: adult, sensitive: sex}
partition: {scheme: iid, silos: 10}
model: {type: logistic}
algorithm: {name: isrl_dp_fedavg, rounds: 20, local_steps: 1, batch_size: 16, lr: 0.5}
privacy: {epsilon: 1.0, clip: 1.0}
)";

std::string Number(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: return absl::StrCat(in.ConsumeIntegralInRange<int64_t>(-2, 1'000'000'000));
    case 1: {
      char text[64];
      std::snprintf(text, sizeof(text), "%.17g", in.ConsumeFloatingPoint<double>());
      return text;
    }
    default: {
      char text[64];
      std::snprintf(text, sizeof(text), "%.17ge%d", in.ConsumeFloatingPointInRange(0.0, 10.0),
                    in.ConsumeIntegralInRange<int>(-60, 60));
      return text;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const char* algorithms[] = {"isrl_dp_fedavg", "isrl_dp_minibatch_sgd", "isrl_dp_per_fedavg",
                              "isrl_dp_fair_fermi", "sdp_minibatch_sgd"};
  const char* samplings[] = {"poisson", "without_replacement", "with_replacement"};
  const char* keys[] = {"privacy.epsilon",        "privacy.delta",         "privacy.clip",
                        "privacy.planned_rounds", "privacy.min_silo_records", "algorithm.rounds",
                        "algorithm.batch_size",   "algorithm.local_steps", "network.min_replies",
                        "fairness.w_clip",        "fairness.marginals_epsilon_fraction"};
  std::vector<std::string> overrides = {
      absl::StrCat("algorithm.name=", in.PickValueInArray(algorithms)),
      absl::StrCat("privacy.sampling=", in.PickValueInArray(samplings)),
      absl::StrCat("privacy.calibration=", in.ConsumeBool() ? "rdp" : "paper")};
  const int count = in.ConsumeIntegralInRange<int>(0, 8);
  for (int i = 0; i < count; ++i) {
    overrides.push_back(absl::StrCat(in.PickValueInArray(keys), "=", Number(in)));
  }
  const int64_t records = in.ConsumeIntegralInRange<int64_t>(1, 10'000'000);
  const int parameters = in.ConsumeIntegralInRange<int>(1, 200);

  if (std::getenv("FEDSILO_FUZZ_VERBOSE") != nullptr) {  // to see what a reproducer plans
    for (const std::string& item : overrides) std::fprintf(stderr, "--set %s\n", item.c_str());
    std::fprintf(stderr, "records %lld, parameters %d\n", static_cast<long long>(records),
                 parameters);
  }
  absl::StatusOr<fedsilo::ExperimentConfig> config =
      fedsilo::ParseExperimentConfig(kBase, "planner_fuzz.yaml", overrides);
  if (!config.ok()) return 0;
  absl::StatusOr<fedsilo::AlgorithmSpec> spec = fedsilo::FindAlgorithm(config->algorithm.name);
  if (!spec.ok()) __builtin_trap();  // the parser accepted a name the registry does not know
  const std::shared_ptr<const fedsilo::SiloSetup> setup =
      spec->make_silo_setup ? spec->make_silo_setup(config->algorithm) : nullptr;
  const fedsilo::PrivacyExtras extras =
      fedsilo::PrivacyExtrasFor(*spec, *config, parameters, setup.get());
  if (spec->requires_shuffler) (void)fedsilo::PublicShuffleCalibration(*config, *spec);
  absl::StatusOr<fedsilo::SiloPrivacyPlan> plan = fedsilo::PlanSiloPrivacy(
      config->privacy, config->algorithm, spec->record_level_dp,
      spec->queries_per_round(config->algorithm), records, extras);
  if (plan.ok() && (!std::isfinite(plan->sigma_mean) || plan->sigma_mean < 0.0)) {
    std::fprintf(stderr, "plan with sigma_mean %g\n", plan->sigma_mean);
    __builtin_trap();
  }
  return 0;
}
