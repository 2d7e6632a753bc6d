// CountOracle: how a silo program counts its own records, the count-query sibling of
// GradientOracle (e.g. FERMI's per-silo group frequencies, fairness.marginals: local).
//
// Release() builds a histogram of the silo's records: `cell_of(row)` puts each record in at most
// one of `num_cells` cells (-1: in none), so replacing one record changes the histogram by 1 in
// at most two cells: L2 sensitivity sqrt(2) under replace-one, the relation of every silo (it
// releases its size; common/runtime/silo_privacy.h, kNeighbouringRelation).
// The exact oracle returns the counts as they are (non-private silos). The DP oracle (Gaussian
// mechanism, no subsampling) adds N(0, (z * sqrt(2))^2) to every cell from the silo's private
// generator, and records one event {kNone, q = 1, z} in the silo's ledger at the moment it
// draws the noise. Because the oracle builds the histogram itself from cell_of, the sensitivity
// holds by construction. A silo budgets for ONE release: a second call is FailedPrecondition.
// A cell outside [-1, num_cells) is InvalidArgument (nothing is released). Not thread-safe; it
// borrows the data, rows, generator and ledger, which must outlive it.
#pragma once

#include <functional>
#include <numbers>
#include <span>

#include "common/base/eigen_types.h"
#include "common/base/rng.h"
#include "common/base/status.h"
#include "common/dp/dp_event.h"
#include "common/dp/privacy_ledger.h"

namespace fedsilo {

class CountOracle {
 public:
  virtual ~CountOracle() = default;
  // counts (resized to num_cells) = histogram of the silo's rows under cell_of, noised or exact.
  virtual absl::Status Release(const std::function<int(int row)>& cell_of, int num_cells,
                               Vector* counts) = 0;
  // Std of the noise on each cell (0 for exact counts).
  virtual double noise_std() const = 0;
};

class ExactCountOracle : public CountOracle {
 public:
  explicit ExactCountOracle(std::span<const int> rows) : rows_(rows) {}
  absl::Status Release(const std::function<int(int row)>& cell_of, int num_cells,
                       Vector* counts) override;
  double noise_std() const override { return 0.0; }

 private:
  std::span<const int> rows_;
};

// L2 sensitivity of a histogram of records under replace-one neighbours.
inline constexpr double kHistogramSensitivity = std::numbers::sqrt2;

class DpCountOracle : public CountOracle {
 public:
  // noise_multiplier z > 0: noise std z * kHistogramSensitivity per cell.
  DpCountOracle(std::span<const int> rows, double noise_multiplier, Rng* noise_rng,
                PrivacyLedger* ledger);
  absl::Status Release(const std::function<int(int row)>& cell_of, int num_cells,
                       Vector* counts) override;
  double noise_std() const override;
  // The event a release writes to the ledger.
  DpEvent event() const;

 private:
  std::span<const int> rows_;
  double noise_multiplier_;
  Rng* noise_rng_;
  PrivacyLedger* ledger_;
  bool released_ = false;
};

}  // namespace fedsilo
