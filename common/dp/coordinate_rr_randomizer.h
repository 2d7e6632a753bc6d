// CoordinateRrRandomizer: an unbiased eps0-LDP local randomizer for one vector x in R^d with
// ||x||_2 <= C (one record's clipped gradient): one uniformly sampled coordinate, stochastic
// rounding of it to a sign, binary randomized response. A standard construction (cf. the
// one-dimensional mechanism of Duchi, Jordan, Wainwright 2018, JASA, and the sample-one-dimension
// approach of Nguyen et al. 2016, "Collecting and analyzing data from smart device users with
// local differential privacy"); the privacy, unbiasedness and variance proofs below are
// self-contained, so nothing rests on the attribution.
//
// Mechanism (pi = e^eps0 / (e^eps0 + 1), t_j = clamp(x_j / C, -1, 1)):
//   1. j ~ Uniform{0, ..., d-1}, independent of x;
//   2. s = +1 with probability 1/2 + (2 pi - 1) t_j / 2, else s = -1 (stochastic rounding of t_j to
//      a sign followed by randomized response that keeps the sign with probability pi; the two
//      compose into this one Bernoulli draw);
//   3. the report is (j, s); it decodes to the vector S * s * e_j with
//      S = d * C * (e^eps0 + 1) / (e^eps0 - 1).
//
// Privacy (proof): for any input x and report (j, s),
//   Pr[(j, s) | x] = (1/d) (1/2 + s (2 pi - 1) t_j / 2)  lies in  [(1 - pi)/d, pi/d],
// because |t_j| <= 1; so for any two inputs x, x' the ratio is at most pi / (1 - pi) = e^eps0:
// the randomizer is eps0-DP with respect to its sender's WHOLE input x (pure local DP, any
// |x_j| <= C, enforced by the clamp even if the caller's clipping is off by rounding). This is the
// condition FMT21's amplification (common/dp/shuffle_amplification.h) needs when each record is
// its own sender. Floating point: the Bernoulli draw compares a 53-bit uniform with the
// probability, so realized probabilities differ from the real-number ones by at most 2^-53.
//
// Unbiasedness: E[s | j] = (2 pi - 1) t_j = t_j (e^eps0 - 1)/(e^eps0 + 1), so for ||x||_2 <= C
// (hence no clamping) E[decoded] = sum_j (1/d) S (2 pi - 1) (x_j / C) e_j = x.
// Variance: the decoded vector Y always has ||Y||_2 = S, so
//   Var(Y_j) = S^2 / d - x_j^2,   Cov(Y_j, Y_k) = -x_j x_k (j != k),   E||Y - x||^2 = S^2 - ||x||^2,
// i.e. about d^2 C^2 (e^eps0 + 1)^2 / (e^eps0 - 1)^2 per report: a factor of order d above the
// minimax rate of PrivUnit (Bhowmick et al. 2018) or DJW's l2 mechanism (not implemented here).
//
// Create refuses d < 1, C <= 0 or not finite, eps0 <= 0 or not finite. Randomize refuses inputs of
// the wrong dimension or with ||x||_2 > C (1 + 1e-9) (clip first), as InvalidArgument.
// Immutable after Create; thread-safe given one Rng per thread.
#pragma once

#include <cstdint>
#include <span>

#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

// One local report: the sampled coordinate and the privatized sign (+1 or -1).
struct CoordinateRrReport {
  int64_t coordinate = 0;
  int sign = 1;
};

class CoordinateRrRandomizer {
 public:
  static absl::StatusOr<CoordinateRrRandomizer> Create(int64_t dimension, double clip,
                                                       double eps0);

  absl::StatusOr<CoordinateRrReport> Randomize(std::span<const double> x, Rng& rng) const;

  // sum[report.coordinate] += scale() * report.sign. `sum` has dimension() entries and
  // `report` came from Randomize (broken invariant otherwise: abort).
  void AddDecoded(const CoordinateRrReport& report, std::span<double> sum) const;

  // The exact probability that Randomize(x) returns `report` (x of the right dimension).
  double ReportProbability(const CoordinateRrReport& report, std::span<const double> x) const;

  // S = d C (e^eps0 + 1) / (e^eps0 - 1), the norm of every decoded report.
  double scale() const { return scale_; }
  // Var(Y_j) = S^2 / d - x_j^2 and E||Y - x||^2 = S^2 - ||x||^2, for ||x||_2 <= C.
  double CoordinateVariance(std::span<const double> x, int64_t j) const;
  double ExpectedSquaredError(std::span<const double> x) const;

  int64_t dimension() const { return dimension_; }
  double clip() const { return clip_; }
  double eps0() const { return eps0_; }

 private:
  CoordinateRrRandomizer(int64_t dimension, double clip, double eps0);
  // Pr[s = +1 | j] = 1/2 + (2 pi - 1) t_j / 2.
  double ProbabilityOfPlus(double x_j) const;

  int64_t dimension_;
  double clip_;
  double eps0_;
  double keep_minus_flip_;  // 2 pi - 1 = (e^eps0 - 1) / (e^eps0 + 1)
  double scale_;
};

}  // namespace fedsilo
