#include "common/algorithms/central_dp_minibatch_sgd.h"

#include <utility>

#include "common/algorithms/fedavg.h"
#include "common/base/rng.h"

namespace fedsilo {

CentralDpCoordinator::CentralDpCoordinator(double lr, int batch_size, CentralNoise noise,
                                           ServerOptimizerOptions optimizer)
    : lr_(lr), batch_size_(batch_size), noise_(noise), optimizer_(std::move(optimizer)) {}

absl::Status CentralDpCoordinator::Aggregate(int round, const RoundResults& results,
                                             Vector* global) {
  FEDSILO_ASSIGN_OR_RETURN(Vector mean,
                           AverageDeltas(round, results, Weighting::kUniform, global->size()));
  const double silos = static_cast<double>(results.updates.size());
  Vector noise(global->size());
  Rng rng(DeriveSeed(noise_.seed, "central-noise", static_cast<uint64_t>(round)));
  rng.FillNormal(std::span<double>(noise.data(), static_cast<size_t>(noise.size())),
                 lr_ * noise_.std_on_sum / (static_cast<double>(batch_size_) * silos));
  mean += noise;
  optimizer_.Step(mean, global);
  return absl::OkStatus();
}

}  // namespace fedsilo
