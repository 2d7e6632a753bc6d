// SecureSumOracle: the gradient oracle of a secure-sum silo (sdp_sum_minibatch_sgd, issue 15).
//
// NextSumShares(w) draws a fresh Poisson batch of the silo's records (rate batch_size / n_i),
// computes each record's gradient at w, clips it to `clip`, and hands the clipped rows to
// EncodeSiloSum (common/dp/secure_sum_codec.h): each row scaled and conditionally rounded to an
// integer vector of norm at most the plan's record bound, summed, plus Skellam noise of the
// silo's share variance from its private noise generator, reduced modulo 2^bits and split into
// `shares` additive shares with its private share generator. Each share is uniform on its own;
// only the sum of every share of at least the plan's fewest honest silos is meaningful, and it
// carries at least the calibrated noise. Each SumShare carries the public decoding parameters.
// The caller (the silo runtime) has charged the round to the silo's secure-sum ledger before the
// oracle runs. One call per task: a second call, and every other kind of query, is refused with
// FailedPrecondition, so a program cannot send more than the one sum the round was charged for.
// Borrows its data and generators; one task, one thread.
#pragma once

#include <vector>

#include "common/algorithms/gradient_oracle.h"
#include "common/dp/secure_sum_codec.h"

namespace fedsilo {

struct SecureSumOracleSettings {
  int batch_size = 32;           // expected records a round (Poisson)
  double clip = 1.0;             // per-record L2 bound, real units
  SecureSumParams params;        // scale, record bound, bits, shares (public)
  double range = 0.0;            // the decoded sum's public range (carried to the coordinator)
  double share_variance = 0.0;   // Skellam variance this silo adds to its sum
};

class SecureSumOracle : public GradientOracle {
 public:
  SecureSumOracle(OracleData source, const SecureSumOracleSettings& settings, Rng* sampling_rng,
                  Rng* noise_rng, Rng* share_rng);

  absl::Status NextSumShares(const Vector& w, std::vector<SumShare>* shares) override;

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
  Rng* share_rng_;
  bool used_ = false;
};

}  // namespace fedsilo
