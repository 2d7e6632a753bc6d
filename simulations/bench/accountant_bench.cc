// Benchmarks of the RDP accountant (common/dp): epsilon after 100,000 identical Poisson steps over
// dp_accountings's 156 default orders (target < 5 ms: the curve is computed once, never per step)
// and one noise calibration (target < 100 ms). BENCHMARK_MAIN lives in placeholder_bench.cc.
#include <benchmark/benchmark.h>

#include <vector>

#include "common/dp/calibration.h"
#include "common/dp/dp_event.h"
#include "common/dp/rdp_accountant.h"

namespace fedsilo {
namespace {

void BM_Epsilon100kPoissonSteps(benchmark::State& state) {
  for (auto _ : state) {
    RdpAccountant accountant;  // fresh: no cached curve
    if (!accountant.Compose(DpEvent{Subsampling::kPoisson, 0.01, 1.1, 100000}).ok()) {
      state.SkipWithError("compose failed");
      break;
    }
    absl::StatusOr<EpsilonAndOrder> eps = accountant.GetEpsilon(1e-5);
    benchmark::DoNotOptimize(eps);
  }
}
BENCHMARK(BM_Epsilon100kPoissonSteps)->Unit(benchmark::kMillisecond);

void BM_Epsilon100kWithoutReplacementSteps(benchmark::State& state) {
  for (auto _ : state) {
    RdpAccountant accountant;
    if (!accountant.Compose(DpEvent{Subsampling::kWithoutReplacement, 0.01, 1.1, 100000}).ok()) {
      state.SkipWithError("compose failed");
      break;
    }
    absl::StatusOr<EpsilonAndOrder> eps = accountant.GetEpsilon(1e-5);
    benchmark::DoNotOptimize(eps);
  }
}
BENCHMARK(BM_Epsilon100kWithoutReplacementSteps)->Unit(benchmark::kMillisecond);

// Opacus' example: target eps 8 at delta 1e-5, q 0.04, 2250 steps (z ~ 1.416).
void BM_CalibrateNoiseMultiplier(benchmark::State& state) {
  const std::vector<DpEventShape> steps = {{Subsampling::kPoisson, 0.04, 2250}};
  for (auto _ : state) {
    absl::StatusOr<double> z = CalibrateNoiseMultiplier(8.0, 1e-5, steps);
    benchmark::DoNotOptimize(z);
  }
}
BENCHMARK(BM_CalibrateNoiseMultiplier)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace fedsilo
