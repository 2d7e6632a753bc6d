// GradientOracle: where record-level DP plugs into every algorithm.
//
// A silo program asks its oracle for gradient estimates; each Next() samples a fresh batch of the
// silo's records (with the configured sampler) and returns an estimate of the gradient of the
// mean loss at w. The plain oracle returns the minibatch gradient. The DP oracle (ISRL-DP) clips
// every record's gradient to `clip`, sums, adds Gaussian noise drawn from the silo's private
// generator, divides by the expected batch size, and records one event in the silo's ledger at
// the moment it draws the noise. Algorithms (FedAvg, Per-FedAvg, FERMI) never know which one
// they hold. An oracle belongs to one silo task at a time and is not thread-safe; it borrows
// the model, data, rows, generators and ledger, which must outlive it.
#pragma once

#include <span>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/rng.h"
#include "common/base/status.h"
#include "common/data/batch_sampler.h"
#include "common/data/dataset.h"
#include "common/dp/privacy_ledger.h"
#include "common/model/model.h"

namespace fedsilo {

class GradientOracle {
 public:
  virtual ~GradientOracle() = default;
  // Gradient estimate at w on a freshly sampled batch.
  virtual absl::Status Next(const Vector& w, Vector* grad) = 0;
  // How many records a query uses on average (batch size, capped by the silo's size).
  virtual double expected_batch_size() const = 0;
};

// What a silo's oracle samples and how it privatizes.
struct OracleSettings {
  Sampling sampling = Sampling::kWithoutReplacement;
  int batch_size = 32;
  bool record_level_dp = false;
  double clip = 1.0;            // DP only: per-record L2 bound
  double noise_std_sum = 0.0;   // DP only: std of the Gaussian noise added to the clipped SUM
};

// The records an oracle draws from: the silo's rows of a (possibly shared) dataset.
struct OracleData {
  const Model* model = nullptr;
  const Dataset* data = nullptr;
  std::span<const int> rows;
};

class PlainGradientOracle : public GradientOracle {
 public:
  PlainGradientOracle(OracleData source, const OracleSettings& settings, Rng* sampling_rng);
  absl::Status Next(const Vector& w, Vector* grad) override;
  double expected_batch_size() const override;

 private:
  OracleData source_;
  OracleSettings settings_;
  Rng* sampling_rng_;
  std::vector<int> batch_;
};

class DpGradientOracle : public GradientOracle {
 public:
  DpGradientOracle(OracleData source, const OracleSettings& settings, Rng* sampling_rng,
                   Rng* noise_rng, PrivacyLedger* ledger);
  absl::Status Next(const Vector& w, Vector* grad) override;
  double expected_batch_size() const override;
  // The event one query writes to the ledger (noise multiplier in the convention of its sampler).
  DpEvent event() const;

 private:
  OracleData source_;
  OracleSettings settings_;
  Rng* sampling_rng_;
  Rng* noise_rng_;
  PrivacyLedger* ledger_;
  std::vector<int> batch_;
};

}  // namespace fedsilo
