// SecureSumOracle: the gradient oracle of a secure-sum silo (sdp_sum_minibatch_sgd, issue 15).
//
// NextNoisySum(w) draws a fresh Poisson batch of the silo's records (rate batch_size / n_i),
// sums the records' gradients at w each clipped to `clip` (or, with clip_blocks, block by block,
// then equalized: every block scaled to the first block's bound, EqualizeClipBlocks in
// common/dp/clipping.h, so the plan's bound is sqrt(B) times it), and hands the sum to
// EncodeSiloSum (common/dp/secure_sum_codec.h): scaled and rounded to integers once (one record
// then moves it by at most the plan's record bound), plus Skellam noise of the silo's share
// variance from its private noise generator, reduced modulo 2^bits: one SumShare (silos 0) carrying
// the public decoding parameters. It is the silo's private value, never sent as it is: the silo
// runtime splits it into the coordinator's and the shuffler's shares (silo_runtime.h). Only the sum
// over at least the plan's fewest honest silos carries the calibrated noise. The caller (the silo
// runtime) has charged the round to the silo's secure-sum ledger before the oracle runs. One call
// per task: a second call, and every other kind of query, is refused with FailedPrecondition, so a
// program cannot send more than the one sum the round was charged for. Borrows its data and
// generators; one task, one thread.
#pragma once

#include <vector>

#include "common/algorithms/gradient_oracle.h"
#include "common/dp/clipping.h"
#include "common/dp/secure_sum_codec.h"

namespace fedsilo {

struct SecureSumOracleSettings {
  int batch_size = 32;           // expected records a round (Poisson)
  double clip = 1.0;             // per-record L2 bound, real units (without clip_blocks)
  SecureSumParams params;        // scale, record bound, bits, shares (public)
  double range = 0.0;            // the decoded sum's public range (carried to the coordinator)
  double share_variance = 0.0;   // Skellam variance this silo adds to its sum
  std::vector<ClipBlock> clip_blocks;  // separate clipping of consecutive blocks; empty = joint
};

class SecureSumOracle : public GradientOracle {
 public:
  SecureSumOracle(OracleData source, const SecureSumOracleSettings& settings, Rng* sampling_rng,
                  Rng* noise_rng);

  absl::Status NextNoisySum(const Vector& w, SumShare* sum) override;

  absl::Status Next(const Vector& w, Vector* grad) override;
  absl::Status Next(const Vector& w, int batch_size, Vector* grad) override;
  absl::Status NextGradientDifference(const Vector& a, const Vector& b, double scale,
                                      int batch_size, Vector* out) override;
  absl::Status NextHessianVectorProduct(const Vector& w, const Vector& v, int batch_size,
                                        Vector* out) override;
  double expected_batch_size() const override { return settings_.batch_size; }

 private:
  OracleData source_;
  SecureSumOracleSettings settings_;
  Rng* sampling_rng_;
  Rng* noise_rng_;
  bool used_ = false;
};

}  // namespace fedsilo
