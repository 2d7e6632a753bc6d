#include "common/algorithms/count_oracle.h"

#include <cmath>
#include <span>
#include <string>

namespace fedsilo {
namespace {

absl::Status Histogram(std::span<const int> rows, const std::function<int(int row)>& cell_of,
                       int num_cells, Vector* counts) {
  if (num_cells < 1) return absl::InvalidArgumentError("a histogram needs at least one cell");
  Vector result = Vector::Zero(num_cells);
  for (const int row : rows) {
    const int cell = cell_of(row);
    if (cell < -1 || cell >= num_cells) {
      return absl::InvalidArgumentError("record " + std::to_string(row) + " put in cell " +
                                        std::to_string(cell) + " of a histogram of " +
                                        std::to_string(num_cells));
    }
    if (cell >= 0) result[cell] += 1.0;
  }
  *counts = std::move(result);
  return absl::OkStatus();
}

}  // namespace

absl::Status ExactCountOracle::Release(const std::function<int(int row)>& cell_of, int num_cells,
                                       Vector* counts) {
  return Histogram(rows_, cell_of, num_cells, counts);
}

DpCountOracle::DpCountOracle(std::span<const int> rows, double noise_multiplier, Rng* noise_rng,
                             PrivacyLedger* ledger)
    : rows_(rows),
      noise_multiplier_(noise_multiplier),
      noise_rng_(noise_rng),
      ledger_(ledger) {}

double DpCountOracle::noise_std() const {
  return noise_multiplier_ * kHistogramSensitivity;
}

DpEvent DpCountOracle::event() const {
  return DpEvent{Subsampling::kNone, 1.0, noise_multiplier_, 1};
}

absl::Status DpCountOracle::Release(const std::function<int(int row)>& cell_of, int num_cells,
                                    Vector* counts) {
  if (released_) {
    return absl::FailedPreconditionError(
        "a private silo makes one count release: its budget reserves no second one");
  }
  if (!(noise_multiplier_ > 0.0)) {
    return absl::FailedPreconditionError("a private count release needs a positive noise "
                                         "multiplier");
  }
  FEDSILO_RETURN_IF_ERROR(Histogram(rows_, cell_of, num_cells, counts));
  // Noise is drawn here, inside the silo, and the ledger records it at the same moment.
  const double sigma = noise_std();
  Vector noise(counts->size());
  noise_rng_->FillNormal(std::span<double>(noise.data(), noise.size()), sigma);
  *counts += noise;
  ledger_->Record(event());
  released_ = true;
  return absl::OkStatus();
}

}  // namespace fedsilo
