// Shuffle-model minibatch SGD by split-and-mix secure summation with distributed Skellam noise
// (sdp_sum_minibatch_sgd, issue 15; Ishai, Kushilevitz, Ostrovsky, Sahai 2006; Balle, Bell,
// Gascon, Nissim 2020; Agarwal, Kairouz, Liu 2021).
//
// Silo half: each round the silo asks its oracle (a SecureSumOracle) for its noisy integer sum of
// a fresh Poisson batch's clipped gradients at w, rounded, modulo 2^bits, and hands it over
// (SiloUpdate::sum_shares). The silo runtime splits it into two additive shares before anything
// leaves: the coordinator's, a uniform mask derived from the silo's sealing session with the
// coordinator (only a sealed token travels), and the shuffler's, the sum minus that mask; the
// shuffler adds up every silo's share and forwards only that total (shuffling_transport.h).
//
// Why two shares and a summing shuffler, not m shares mixed one by one: a mixed share is a whole
// vector, and the m shares of one silo are the only m-subset of the round whose sum is small in
// every one of the d coordinates (probability about (2 R_silo / 2^bits)^d for any other subset),
// so a coordinator could find them by search; hiding them takes about d shares per silo, each a
// public-key seal. Two shares, one of which only the shuffler sees, hide each silo's sum
// perfectly under the shuffle model's assumption (shuffler and coordinator do not collude), with
// one small token per silo.
//
// Coordinator half: adds the round's coordinator shares (one per replying silo, S of them) and
// the shuffler's total (of S shuffler shares) modulo 2^bits and decodes the noisy sum of every
// replying silo's records (DecodeRoundSum: DataLoss when a coordinate leaves the public range,
// i.e. a wrap, or a forged or lost share), then steps along the estimated mean gradient,
// g = sum / (batch_size * S): d = -lr * g through the server optimizer (w <- w + server_lr * d
// for sgd). With clip blocks (the silos clipped each record block by block and equalized the
// blocks, secure_sum_oracle.h) the decoded sum's blocks are first scaled back
// (RestoreClipBlocks). The shares must agree on their public parameters and the total must cover
// exactly the S silos (DataLoss otherwise); the sum is exact whatever their order (integer
// addition modulo 2^bits).
#pragma once

#include <vector>

#include "common/algorithms/coordinator_program.h"
#include "common/algorithms/server_optimizer.h"
#include "common/algorithms/silo_program.h"
#include "common/dp/clipping.h"

namespace fedsilo {

class SdpSumMinibatchSgdSiloProgram : public SiloProgram {
 public:
  absl::StatusOr<SiloUpdate> Train(const SiloTask& task, SiloContext& context) const override;
};

class SdpSumMinibatchSgdCoordinator : public CoordinatorProgram {
 public:
  SdpSumMinibatchSgdCoordinator(double lr, int batch_size, ServerOptimizerOptions optimizer,
                                std::vector<ClipBlock> clip_blocks = {});
  absl::Status Aggregate(int round, const RoundResults& results, Vector* global) override;
  Vector State() const override { return optimizer_.State(); }
  absl::Status RestoreState(const Vector& state, int num_parameters) override {
    return optimizer_.Restore(state, num_parameters);
  }

 private:
  double lr_;
  int batch_size_;
  ServerOptimizer optimizer_;
  std::vector<ClipBlock> clip_blocks_;
};

}  // namespace fedsilo
