// Additive secret sharing of integer vectors modulo 2^bits, the arithmetic of split-and-mix
// summation (Ishai, Kushilevitz, Ostrovsky, Sahai 2006; Balle, Bell, Gascon, Nissim 2020):
//   * ReduceToResidues: integers (int64 stored in two's complement as uint64), in place, mod
//     2^bits;
//   * AddShare / SubtractShare: sum += share / sum -= share (mod 2^bits), in place. Splitting a
//     residue vector v into two shares is SubtractShare(v, m) for a uniform mask m: the shares m
//     and v - m are each uniform whatever v (a one-time pad), and AddShare of both gives v back;
//   * DecodeCentered: residues mod 2^bits as integers in [-2^(bits-1), 2^(bits-1)), the value a
//     sum took if it never left that range (a wrap is the caller's to bound).
// 1 <= bits <= 62 (exact in uint64_t); residues are in [0, 2^bits).
// Errors (InvalidArgument): bits out of [1, 62], a residue out of range, vectors of different
// lengths (the sum then unchanged).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

inline constexpr int kMaxShareBits = 62;

absl::Status ReduceToResidues(std::span<uint64_t> values, int bits);

absl::Status AddShare(std::span<uint64_t> sum, std::span<const uint64_t> share, int bits);
absl::Status SubtractShare(std::span<uint64_t> sum, std::span<const uint64_t> share, int bits);

absl::StatusOr<std::vector<int64_t>> DecodeCentered(std::span<const uint64_t> residues, int bits);

}  // namespace fedsilo
