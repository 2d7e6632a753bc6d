#include "common/dp/modular_shares.h"

#include "absl/strings/str_cat.h"

namespace fedsilo {
namespace {

absl::Status CheckBits(int bits) {
  if (bits < 1 || bits > kMaxShareBits) {
    return absl::InvalidArgumentError(
        absl::StrCat("modular shares: bits must be in [1, ", kMaxShareBits, "], got ", bits));
  }
  return absl::OkStatus();
}

uint64_t Mask(int bits) { return (uint64_t{1} << bits) - 1; }

absl::Status CheckShapes(std::span<const uint64_t> sum, std::span<const uint64_t> share,
                         int bits) {
  FEDSILO_RETURN_IF_ERROR(CheckBits(bits));
  if (sum.size() != share.size()) {
    return absl::InvalidArgumentError(absl::StrCat("modular shares: a share of length ",
                                                   share.size(), " added to a sum of length ",
                                                   sum.size()));
  }
  const uint64_t mask = Mask(bits);
  for (size_t i = 0; i < sum.size(); ++i) {
    if (share[i] > mask || sum[i] > mask) {
      return absl::InvalidArgumentError(
          absl::StrCat("modular shares: coordinate ", i, " is not a residue mod 2^", bits));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ReduceToResidues(std::span<uint64_t> values, int bits) {
  FEDSILO_RETURN_IF_ERROR(CheckBits(bits));
  // Two's complement: the stored bits are the value mod 2^64, so the mask gives it mod 2^bits.
  const uint64_t mask = Mask(bits);
  for (uint64_t& v : values) v &= mask;
  return absl::OkStatus();
}

absl::Status AddShare(std::span<uint64_t> sum, std::span<const uint64_t> share, int bits) {
  FEDSILO_RETURN_IF_ERROR(CheckShapes(sum, share, bits));
  const uint64_t mask = Mask(bits);
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = (sum[i] + share[i]) & mask;
  return absl::OkStatus();
}

absl::Status SubtractShare(std::span<uint64_t> sum, std::span<const uint64_t> share, int bits) {
  FEDSILO_RETURN_IF_ERROR(CheckShapes(sum, share, bits));
  const uint64_t mask = Mask(bits);
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = (sum[i] - share[i]) & mask;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> DecodeCentered(std::span<const uint64_t> residues, int bits) {
  FEDSILO_RETURN_IF_ERROR(CheckBits(bits));
  const uint64_t mask = Mask(bits), half = uint64_t{1} << (bits - 1);
  std::vector<int64_t> out(residues.size());
  for (size_t i = 0; i < residues.size(); ++i) {
    if (residues[i] > mask) {
      return absl::InvalidArgumentError(
          absl::StrCat("modular shares: coordinate ", i, " is not a residue mod 2^", bits));
    }
    out[i] = residues[i] >= half ? static_cast<int64_t>(residues[i]) - static_cast<int64_t>(mask) - 1
                                 : static_cast<int64_t>(residues[i]);
  }
  return out;
}

}  // namespace fedsilo
