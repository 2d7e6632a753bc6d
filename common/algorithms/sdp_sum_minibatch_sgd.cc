#include "common/algorithms/sdp_sum_minibatch_sgd.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/dp/secure_sum_codec.h"

namespace fedsilo {

absl::StatusOr<SiloUpdate> SdpSumMinibatchSgdSiloProgram::Train(const SiloTask& task,
                                                                SiloContext& context) const {
  SiloUpdate update;
  update.round = task.round;
  update.silo_id = task.silo_id;
  update.weight = 1.0;
  SumShare sum;
  FEDSILO_RETURN_IF_ERROR(context.oracle->NextNoisySum(*task.global, &sum));
  update.sum_shares.push_back(std::move(sum));
  return update;
}

SdpSumMinibatchSgdCoordinator::SdpSumMinibatchSgdCoordinator(double lr, int batch_size,
                                                             ServerOptimizerOptions optimizer,
                                                             std::vector<ClipBlock> clip_blocks)
    : lr_(lr),
      batch_size_(batch_size),
      optimizer_(std::move(optimizer)),
      clip_blocks_(std::move(clip_blocks)) {}

absl::Status SdpSumMinibatchSgdCoordinator::Aggregate(int round, const RoundResults& results,
                                                      Vector* global) {
  const std::string where = absl::StrCat("round ", round, ": ");
  std::vector<const SumShare*> shares;
  for (const SiloUpdate& update : results.updates) {
    for (const SumShare& share : update.sum_shares) shares.push_back(&share);
  }
  if (shares.empty()) {
    std::string reasons;
    for (const SiloFailure& failure : results.failures) {
      reasons += absl::StrCat("; silo ", failure.silo_id, ": ", failure.status.message());
    }
    return absl::UnavailableError(where + "no share of any silo's sum arrived" + reasons);
  }
  const SumShare& first = *shares.front();
  for (const SumShare* share : shares) {
    if (share->bits != first.bits || share->shares != first.shares ||
        share->scale != first.scale || share->range != first.range) {
      return absl::DataLossError(
          where + "the round's shares state different public parameters (bits, shares, scale, "
                  "range); the sum cannot be decoded");
    }
    if (share->values.size() != static_cast<size_t>(global->size())) {
      return absl::DataLossError(absl::StrCat(where, "a share has ", share->values.size(),
                                              " values, expected ", global->size()));
    }
  }
  // Every replying silo's coordinator share (silos = 0) and one total of as many shuffler shares.
  int64_t silo_shares = 0, totals = 0, total_silos = 0;
  for (const SumShare* share : shares) {
    if (share->silos == 0) {
      ++silo_shares;
    } else {
      ++totals;
      total_silos += share->silos;
    }
  }
  if (first.shares != 2 || totals != 1 || total_silos != silo_shares) {
    return absl::DataLossError(absl::StrCat(
        where, silo_shares, " silos' coordinator shares and ", totals,
        " shuffler totals (of ", total_silos, " silos) arrived; the sum decodes only from every "
        "replying silo's two halves"));
  }
  const auto silos = static_cast<double>(silo_shares);
  std::vector<std::span<const uint64_t>> values;
  values.reserve(shares.size());
  for (const SumShare* share : shares) values.emplace_back(share->values);
  SecureSumParams params;
  params.bits = first.bits;
  params.shares = first.shares;
  params.scale = first.scale;
  absl::StatusOr<Vector> sum = DecodeRoundSum(values, params, first.range);
  if (!sum.ok()) {
    return absl::Status(sum.status().code(), where + std::string(sum.status().message()));
  }
  if (!clip_blocks_.empty()) {
    int64_t covered = 0;
    for (const ClipBlock& block : clip_blocks_) covered += block.size;
    if (covered != sum->size()) {
      return absl::FailedPreconditionError(absl::StrCat(where, "the clip blocks cover ", covered,
                                                        " of the sum's ", sum->size(), " values"));
    }
    RestoreClipBlocks(clip_blocks_, &*sum);
  }
  const Vector step = (-lr_ / (static_cast<double>(batch_size_) * silos)) * *sum;
  optimizer_.Step(step, global);
  return absl::OkStatus();
}

}  // namespace fedsilo
