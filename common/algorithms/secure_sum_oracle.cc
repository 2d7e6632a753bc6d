#include "common/algorithms/secure_sum_oracle.h"

#include "absl/strings/str_cat.h"
#include "common/data/batch_sampler.h"

namespace fedsilo {
namespace {

absl::Status OnlySumShares(const char* query) {
  return absl::FailedPreconditionError(absl::StrCat(
      "a secure-sum silo answers only with the shares of its noisy sum; it refuses a ", query));
}

}  // namespace

SecureSumOracle::SecureSumOracle(OracleData source, const SecureSumOracleSettings& settings,
                                 Rng* sampling_rng, Rng* noise_rng)
    : source_(source),
      settings_(settings),
      sampling_rng_(sampling_rng),
      noise_rng_(noise_rng) {}

absl::Status SecureSumOracle::NextNoisySum(const Vector& w, SumShare* sum) {
  if (used_) {
    return absl::FailedPreconditionError(
        "a secure-sum silo sends one sum per round (the round was charged for one)");
  }
  used_ = true;
  std::vector<int> batch;
  SampleBatch(source_.rows, settings_.batch_size, Sampling::kPoisson, *sampling_rng_, &batch);
  Vector clipped_sum = Vector::Zero(w.size());
  if (!batch.empty() && settings_.clip_blocks.empty()) {
    source_.model->ClippedGradientSum(w, Batch{source_.data, batch}, settings_.clip,
                                      &clipped_sum);
  } else if (!batch.empty()) {
    source_.model->ClippedBlocksGradientSum(w, Batch{source_.data, batch}, settings_.clip_blocks,
                                            &clipped_sum);
    EqualizeClipBlocks(settings_.clip_blocks, &clipped_sum);
  }
  FEDSILO_ASSIGN_OR_RETURN(
      std::vector<uint64_t> residues,
      EncodeSiloSum(clipped_sum, settings_.params, settings_.share_variance, *noise_rng_));
  *sum = SumShare{settings_.params.bits, settings_.params.shares, settings_.params.scale,
                  settings_.range, 0, std::move(residues)};
  return absl::OkStatus();
}

absl::Status SecureSumOracle::Next(const Vector&, Vector*) {
  return OnlySumShares("gradient query");
}

absl::Status SecureSumOracle::Next(const Vector&, int, Vector*) {
  return OnlySumShares("gradient query");
}

absl::Status SecureSumOracle::NextGradientDifference(const Vector&, const Vector&, double, int,
                                                     Vector*) {
  return OnlySumShares("gradient-difference query");
}

absl::Status SecureSumOracle::NextHessianVectorProduct(const Vector&, const Vector&, int,
                                                       Vector*) {
  return OnlySumShares("Hessian-vector product");
}

}  // namespace fedsilo
