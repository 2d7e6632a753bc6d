#include "common/algorithms/central_dp_minibatch_sgd.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/base/rng.h"

namespace fedsilo {

CentralDpCoordinator::CentralDpCoordinator(double lr, int batch_size, CentralNoise noise,
                                           ServerOptimizerOptions optimizer)
    : lr_(lr), batch_size_(batch_size), noise_(noise), optimizer_(std::move(optimizer)) {}

absl::Status CentralDpCoordinator::Aggregate(int round, const RoundResults& results,
                                             Vector* global) {
  if (results.updates.empty()) {
    std::string reasons;
    for (const SiloFailure& failure : results.failures) {
      reasons += absl::StrCat("; silo ", failure.silo_id, ": ", failure.status.message());
    }
    return absl::UnavailableError(absl::StrCat("round ", round, ": no silo replied", reasons));
  }
  Vector mean = Vector::Zero(global->size());
  for (const SiloUpdate& update : results.updates) {  // canonical order
    if (update.delta.size() != global->size()) {
      return absl::InvalidArgumentError(absl::StrCat("round ", round, ": silo ", update.silo_id,
                                                     " sent ", update.delta.size(),
                                                     " values, expected ", global->size()));
    }
    mean += update.delta;
  }
  const double silos = static_cast<double>(results.updates.size());
  mean /= silos;
  Vector noise(global->size());
  Rng rng(DeriveSeed(noise_.seed, "central-noise", static_cast<uint64_t>(round)));
  rng.FillNormal(std::span<double>(noise.data(), static_cast<size_t>(noise.size())),
                 lr_ * noise_.std_on_sum / (static_cast<double>(batch_size_) * silos));
  mean += noise;
  optimizer_.Step(mean, global);
  return absl::OkStatus();
}

}  // namespace fedsilo
