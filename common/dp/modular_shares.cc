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

}  // namespace

absl::StatusOr<std::vector<std::vector<uint64_t>>> SplitIntoShares(std::span<const int64_t> values,
                                                                   int bits, int shares, Rng& rng) {
  FEDSILO_RETURN_IF_ERROR(CheckBits(bits));
  if (shares < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("modular shares: at least one share, got ", shares));
  }
  const uint64_t mask = Mask(bits);
  std::vector<std::vector<uint64_t>> out(shares, std::vector<uint64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    // Two's complement: the cast is the value mod 2^64, so the mask gives it mod 2^bits.
    uint64_t last = static_cast<uint64_t>(values[i]) & mask;
    for (int s = 0; s + 1 < shares; ++s) {
      const uint64_t share = rng.NextU64() & mask;
      out[s][i] = share;
      last = (last - share) & mask;
    }
    out[shares - 1][i] = last;
  }
  return out;
}

absl::Status AddShare(std::span<uint64_t> sum, std::span<const uint64_t> share, int bits) {
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
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = (sum[i] + share[i]) & mask;
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
