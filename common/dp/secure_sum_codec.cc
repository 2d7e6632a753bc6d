#include "common/dp/secure_sum_codec.h"

#include <cmath>
#include <span>

#include "absl/strings/str_cat.h"
#include "common/dp/modular_shares.h"
#include "common/dp/randomized_rounding.h"
#include "common/dp/skellam_noise.h"

namespace fedsilo {

absl::StatusOr<double> SumRange(int64_t records, double record_bound, double total_variance,
                                int64_t dimension, int64_t rounds, double wrap_probability) {
  if (records < 0 || dimension < 1 || rounds < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secure sum range: records >= 0, dimension >= 1 and rounds >= 1, got ", records, ", ",
        dimension, ", ", rounds));
  }
  if (!(record_bound >= 0.0) || !std::isfinite(record_bound) || !(total_variance >= 0.0) ||
      !std::isfinite(total_variance)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secure sum range: the record bound and the noise variance must be finite and >= 0, got ",
        record_bound, " and ", total_variance));
  }
  if (!(wrap_probability > 0.0 && wrap_probability < 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secure sum range: the wrap probability must be in (0, 1), got ", wrap_probability));
  }
  const double log_term = std::log(2.0 * static_cast<double>(dimension) *
                                   static_cast<double>(rounds) / wrap_probability);
  const double tail = log_term / 3.0 + std::sqrt(log_term * log_term / 9.0 +
                                                 2.0 * total_variance * log_term);
  return static_cast<double>(records) * record_bound + tail;
}

absl::StatusOr<int> ModulusBitsFor(double range) {
  if (!(range >= 0.0) || !std::isfinite(range)) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure sum modulus: the range must be finite and >= 0, got ", range));
  }
  for (int bits = 1; bits <= kMaxShareBits; ++bits) {
    if (4.0 * range < std::ldexp(1.0, bits - 1)) return bits;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "secure sum modulus: a range of ", range, " needs more than ", kMaxShareBits,
      " bits (lower the scale, the clip or the noise)"));
}

absl::StatusOr<std::vector<uint64_t>> EncodeSiloSum(const Vector& clipped_sum,
                                                    const SecureSumParams& params,
                                                    double noise_variance, Rng& noise_rng) {
  if (!(params.scale > 0.0) || !std::isfinite(params.scale)) {
    return absl::InvalidArgumentError(
        absl::StrCat("secure sum: the scale must be finite and > 0, got ", params.scale));
  }
  if (params.bits < 1 || params.bits > kMaxShareBits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "secure sum: the modulus bits must be in [1, ", kMaxShareBits, "], got ", params.bits));
  }
  // One buffer: the rounded sum and its noise as int64, then in place its residues mod 2^bits
  // (int64 and uint64 may alias one another).
  std::vector<uint64_t> out(static_cast<size_t>(clipped_sum.size()));
  const std::span<int64_t> sum(reinterpret_cast<int64_t*>(out.data()), out.size());
  FEDSILO_RETURN_IF_ERROR(RandomizedRound(
      std::span<const double>(clipped_sum.data(), out.size()), params.scale, noise_rng, sum));
  FEDSILO_RETURN_IF_ERROR(AddSkellamNoise(sum, noise_variance, noise_rng));
  FEDSILO_RETURN_IF_ERROR(ReduceToResidues(out, params.bits));
  return out;
}

absl::StatusOr<Vector> DecodeRoundSum(const std::vector<std::vector<uint64_t>>& all_shares,
                                      const SecureSumParams& params, double range) {
  const std::vector<std::span<const uint64_t>> views(all_shares.begin(), all_shares.end());
  return DecodeRoundSum(views, params, range);
}

absl::StatusOr<Vector> DecodeRoundSum(std::span<const std::span<const uint64_t>> all_shares,
                                      const SecureSumParams& params, double range) {
  if (all_shares.empty()) {
    return absl::InvalidArgumentError("secure sum: a round with no shares has no sum");
  }
  std::vector<uint64_t> total(all_shares.front().size(), 0);
  for (const std::span<const uint64_t> share : all_shares) {
    FEDSILO_RETURN_IF_ERROR(AddShare(total, share, params.bits));
  }
  FEDSILO_ASSIGN_OR_RETURN(std::vector<int64_t> integers, DecodeCentered(total, params.bits));
  Vector out(static_cast<Eigen::Index>(integers.size()));
  for (size_t j = 0; j < integers.size(); ++j) {
    if (std::abs(static_cast<double>(integers[j])) > range) {
      return absl::DataLossError(absl::StrCat(
          "secure sum: coordinate ", j, " of the decoded sum is ", integers[j],
          ", outside the +-", range, " that the round's records and noise can reach: the sum "
          "wrapped around 2^", params.bits, ", or a share was forged or lost"));
    }
    out[static_cast<Eigen::Index>(j)] = static_cast<double>(integers[j]) / params.scale;
  }
  return out;
}

}  // namespace fedsilo
