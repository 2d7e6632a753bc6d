// PoissonSampler: draws of Poisson(mean) for one mean, many times, with PTRS's set-up done once;
// and LogPoissonPmf, the pmf that Rng::Poisson, PoissonSampler and PoissonTable accept against.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/base/rng.h"

namespace fedsilo {

// log P(X = k) for X ~ Poisson(mean), k >= 0, log_mean = log(mean): the form Rng::Poisson accepts
// against (lgamma below k = 1e6, Stirling's series around the mean above).
double LogPoissonPmf(double k, double mean, double log_mean);

// Draws of Poisson(mean) with the set-up (logarithm, square root, PTRS constants) computed once:
// sampler(rng) returns exactly what rng.Poisson(mean) would, from the same generator draws, with
// the common case (PTRS's squeeze, about 86% of draws at a large mean) inline. Immutable once
// built; the generator is the caller's.
class PoissonSampler {
 public:
  explicit PoissonSampler(double mean);  // 0 <= mean <= Rng::kMaxPoissonMean (checked)
  int64_t operator()(Rng& rng) const {
    if (mean_ < 10.0) return Small(rng);
    while (true) {
      const double u = rng.Uniform() - 0.5;
      const double v = rng.Uniform();
      const double us = 0.5 - std::fabs(u);
      const double k = std::floor((2.0 * a_ / us + b_) * u + mean_ + 0.43);
      if (us >= 0.07 && v <= v_r_) return static_cast<int64_t>(k);
      if (k < 0.0 || (us < 0.013 && v > us)) continue;
      if (Accept(v, us, k)) return static_cast<int64_t>(k);
    }
  }

 private:
  int64_t Small(Rng& rng) const;
  bool Accept(double v, double us, double k) const;

  double mean_, log_mean_, b_, a_, log_inv_alpha_, v_r_;
};

}  // namespace fedsilo
