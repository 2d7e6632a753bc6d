// GradientOracle: where record-level DP plugs into every algorithm.
//
// A silo program asks its oracle for gradient estimates; each query samples a fresh batch of the
// silo's records (with the configured sampler) and returns an estimate of the gradient of the
// mean loss at w (Next), of a scaled gradient difference on one batch (NextGradientDifference,
// e.g. Per-FedAvg's finite-difference Hessian-vector product) or of a Hessian-vector product
// (NextHessianVectorProduct, plain oracle only). The plain oracle returns minibatch values. The DP oracle (ISRL-DP) clips
// every record's gradient to `clip`, sums, adds Gaussian noise drawn from the silo's private
// generator, divides by the expected batch size, and records one event in the silo's ledger at
// the moment it draws the noise; a gradient-difference query clips each record's scaled
// difference instead, so it is one query of the same sensitivity and one event. With separate
// block clipping (OracleSettings::clip_blocks, e.g. FERMI's theta and W) each record's part in
// each block is clipped to that block's bound and each block of the sum gets its own noise; the
// event's noise multiplier is then the one of the equivalent single Gaussian mechanism,
// z = 1 / (k sqrt(sum_b (clip_b / std_b)^2)) with k = 1 (Poisson) or 2 (fixed-size batches),
// which for one block is the usual std_sum / (k clip). Every event is replace-one (the silo
// releases its size n_i): Poisson queries are kPoissonReplaceOne, whose z is the add/remove one
// and whose curve accounts for the replacement (common/dp/rdp.h). A private oracle
// answers only queries of the batch size its noise was calibrated for (FailedPrecondition
// otherwise) and refuses Hessian-vector products (no per-record clipping of them is defined here).
// Algorithms (FedAvg, Per-FedAvg, FERMI) never know which one
// they hold. An oracle belongs to one silo task at a time and is not thread-safe; it borrows
// the model, data, rows, generators and ledger, which must outlive it.
#pragma once

#include <span>
#include <vector>

#include "common/algorithms/messages.h"
#include "common/base/eigen_types.h"
#include "common/base/rng.h"
#include "common/base/status.h"
#include "common/data/batch_sampler.h"
#include "common/data/dataset.h"
#include "common/dp/clipping.h"
#include "common/dp/privacy_ledger.h"
#include "common/model/model.h"

namespace fedsilo {

class GradientOracle {
 public:
  virtual ~GradientOracle() = default;
  // Gradient estimate at w on a freshly sampled batch of the configured size.
  virtual absl::Status Next(const Vector& w, Vector* grad) = 0;
  // The same on a fresh batch of `batch_size` records (the expected size under Poisson).
  virtual absl::Status Next(const Vector& w, int batch_size, Vector* grad) = 0;
  // scale * (grad f(a; B) - grad f(b; B)) on ONE fresh batch B of `batch_size` records: one query.
  virtual absl::Status NextGradientDifference(const Vector& a, const Vector& b, double scale,
                                              int batch_size, Vector* out) = 0;
  // (Hessian of f(.; B) at w) * v on a fresh batch B of `batch_size` records.
  virtual absl::Status NextHessianVectorProduct(const Vector& w, const Vector& v, int batch_size,
                                                Vector* out) = 0;
  // How many records a query uses on average (batch size, capped by the silo's size).
  virtual double expected_batch_size() const = 0;
  // Shuffle-model algorithms: one locally randomized report per record of a fresh batch, each
  // private on its own (LocalReportOracle, local_report_oracle.h). Other oracles have no local
  // randomizer and refuse (FailedPrecondition).
  virtual absl::Status NextLocalReports(const Vector& w, std::vector<Vector>* reports);
  // Secure-sum algorithms: the silo's noisy integer sum of a fresh batch's clipped gradients,
  // modulo 2^bits, not yet split (SecureSumOracle, secure_sum_oracle.h; the silo runtime splits
  // it before anything leaves). Other oracles refuse (FailedPrecondition).
  virtual absl::Status NextNoisySum(const Vector& w, SumShare* sum);
};

// What a silo's oracle samples and how it privatizes.
struct OracleSettings {
  Sampling sampling = Sampling::kWithoutReplacement;
  int batch_size = 32;
  bool record_level_dp = false;
  // Plain oracle only (a trusted-server baseline): Next() clips each record's gradient to `clip`
  // and returns the clipped sum over the expected batch size, without noise.
  bool clip_only = false;
  double clip = 1.0;            // DP only: per-record L2 bound
  double noise_std_sum = 0.0;   // DP only: std of the Gaussian noise added to the clipped SUM
  // DP only, separate block clipping; empty = one joint clip (`clip`, `noise_std_sum`). The
  // blocks split the parameter vector into consecutive parts (sizes summing to its length);
  // block b of every record's gradient is clipped to clip_blocks[b].clip and block b of the sum
  // gets Gaussian noise of std block_noise_std_sum[b] (one value per block).
  std::vector<ClipBlock> clip_blocks;
  std::vector<double> block_noise_std_sum;
};

// The noise multiplier of one query under `settings`, in the DpEvent convention of its sampler:
// 1 / (k sqrt(sum_b (clip_b / std_b)^2)), k = 1 for Poisson (kPoissonReplaceOne), 2 otherwise
// (fixed-size batches); one joint block gives noise_std_sum / (k clip). 0 when some block has no
// noise.
double QueryNoiseMultiplier(const OracleSettings& settings);

// The DpEvent sampler of one query of a silo sampling with `sampling` at rate q = batch / n_i
// (replace-one, n_i public): kPoissonReplaceOne for Poisson (also at q >= 1, where its curve is
// the exact Gaussian of sensitivity 2 clip), kNone for fixed-size batches covering the silo,
// kWithoutReplacement or kWithReplacement otherwise.
Subsampling QuerySubsampling(Sampling sampling, double q);

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
  absl::Status Next(const Vector& w, int batch_size, Vector* grad) override;
  absl::Status NextGradientDifference(const Vector& a, const Vector& b, double scale,
                                      int batch_size, Vector* out) override;
  absl::Status NextHessianVectorProduct(const Vector& w, const Vector& v, int batch_size,
                                        Vector* out) override;
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
  absl::Status Next(const Vector& w, int batch_size, Vector* grad) override;
  absl::Status NextGradientDifference(const Vector& a, const Vector& b, double scale,
                                      int batch_size, Vector* out) override;
  absl::Status NextHessianVectorProduct(const Vector& w, const Vector& v, int batch_size,
                                        Vector* out) override;
  double expected_batch_size() const override;
  // The event one query writes to the ledger (noise multiplier in the convention of its sampler).
  DpEvent event() const;

 private:
  absl::Status CheckBatchSize(int batch_size, const char* query) const;
  // The clipped sum of the per-record rows (jointly or block by block, as configured).
  void ClipAndSum(const Matrix& per_record, Vector* sum) const;
  // Adds the Gaussian noise to a clipped sum, records the event, divides by the expected batch.
  void Privatize(Vector* clipped_sum);

  OracleData source_;
  OracleSettings settings_;
  Rng* sampling_rng_;
  Rng* noise_rng_;
  PrivacyLedger* ledger_;
  std::vector<int> batch_;
};

}  // namespace fedsilo
