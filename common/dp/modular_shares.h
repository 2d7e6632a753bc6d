// Additive secret sharing of integer vectors modulo 2^bits, the arithmetic of split-and-mix
// summation (Ishai, Kushilevitz, Ostrovsky, Sahai 2006; Balle, Bell, Gascon, Nissim 2020):
//   * SplitIntoShares: `shares` vectors, the first shares - 1 uniform on [0, 2^bits) and the last
//     making the sum, coordinate by coordinate, equal to the value mod 2^bits. Any shares - 1 of
//     them are independent uniform vectors whatever the value;
//   * AddShare: sum += share (mod 2^bits), in place;
//   * DecodeCentered: residues mod 2^bits as integers in [-2^(bits-1), 2^(bits-1)), the value a
//     sum took if it never left that range (a wrap is the caller's to bound).
// 1 <= bits <= 62 (exact in uint64_t); residues are in [0, 2^bits). Randomness from `rng`.
// Errors (InvalidArgument): bits or shares out of range ([1, 62], >= 1), a residue out of range,
// vectors of different lengths.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

inline constexpr int kMaxShareBits = 62;

absl::StatusOr<std::vector<std::vector<uint64_t>>> SplitIntoShares(std::span<const int64_t> values,
                                                                   int bits, int shares, Rng& rng);

absl::Status AddShare(std::span<uint64_t> sum, std::span<const uint64_t> share, int bits);

absl::StatusOr<std::vector<int64_t>> DecodeCentered(std::span<const uint64_t> residues, int bits);

}  // namespace fedsilo
