// The RDP curve of the Skellam mechanism: an integer vector sum plus independent symmetric
// Skellam noise Sk(mu) = Poisson(mu / 2) - Poisson(mu / 2) on every coordinate (variance mu; the
// sum of independent Sk(mu_i) is exactly Sk(sum mu_i), so silos can each add a share).
//
// For a sum whose L1 and L2 sensitivities are l1 and l2 (integer units, after rounding), and an
// integer order alpha > 1 (Agarwal, Kairouz, Liu 2021, "The Skellam Mechanism for Differentially
// Private Federated Learning", NeurIPS, arXiv:2110.04995, the multidimensional bound; computed so
// by google-research/federated distributed_dp/accounting_utils.py):
//   epsilon(alpha) = alpha l2^2 / (2 mu) + min(((2 alpha - 1) l2^2 + 6 l1) / (4 mu^2), 3 l1 / (2 mu)).
// The first term is the Gaussian mechanism's at variance mu; the second is the price of the
// integer lattice, O(1 / mu). The bound is stated for integer orders: a fractional order is given
// the value at its ceiling (RDP is non-decreasing in the order), order 1 the value at 2, and +inf
// stays +inf. The neighbouring relation and the rounding are the caller's: l1 and l2 must bound how
// far the integer sum can move between neighbouring datasets, rounding included.
//
// Pure and thread-safe. Errors (InvalidArgument): l1 or l2 negative or not finite, l2 > l1 (no
// integer vector has a larger L2 than L1 norm), mu not positive and finite, an order below 1 or
// NaN.
#pragma once

#include <span>
#include <vector>

#include "common/base/status.h"

namespace fedsilo {

absl::StatusOr<std::vector<double>> SkellamRdp(double l1_sensitivity, double l2_sensitivity,
                                               double variance, std::span<const double> orders);

}  // namespace fedsilo
