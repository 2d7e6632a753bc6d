#include "common/base/poisson_sampler.h"

#include <cmath>

#include "common/base/check.h"

namespace fedsilo {

// log P(X = k) for X ~ Poisson(mean), k >= 0. Large k in Stirling's form around the mean, so that
// nothing cancels: with d = k - mean, log P = d - k log1p(d / mean) - log(2 pi k) / 2 - c(k),
// c(k) = 1/(12k) - 1/(360k^3) + 1/(1260k^5) (log k! = k log k - k + log(2 pi k) / 2 + c(k); the
// next term, 1/(1680k^7), is below 1e-45 here). The direct form's terms reach k log(mean), which
// at a mean of 1e14 is 3e15, whose rounding alone is about 0.5.
double LogPoissonPmf(double k, double mean, double log_mean) {
  if (k < 1e6) return -mean + k * log_mean - std::lgamma(k + 1.0);
  const double d = k - mean;
  const double k2 = k * k;
  const double c = (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / (1260.0 * k2)) / k2) / k;
  return d - k * std::log1p(d / mean) - 0.5 * std::log(2.0 * 3.14159265358979323846 * k) - c;
}

PoissonSampler::PoissonSampler(double mean) : mean_(mean) {
  FEDSILO_CHECK(mean >= 0.0 && mean <= Rng::kMaxPoissonMean, "Poisson mean in [0, 1e15]");
  log_mean_ = std::log(mean);
  b_ = 0.931 + 2.53 * std::sqrt(mean);
  a_ = -0.059 + 0.02483 * b_;
  log_inv_alpha_ = std::log(1.1239 + 1.1328 / (b_ - 3.4));
  v_r_ = 0.9277 - 3.6224 / (b_ - 2.0);
}

int64_t PoissonSampler::Small(Rng& rng) const {
  // Multiply uniforms until the product falls to exp(-mean) or below.
  const double limit = std::exp(-mean_);
  int64_t k = 0;
  for (double product = rng.Uniform(); product > limit; product *= rng.Uniform()) ++k;
  return k;
}

bool PoissonSampler::Accept(double v, double us, double k) const {
  return std::log(v) + log_inv_alpha_ - std::log(a_ / (us * us) + b_) <=
         LogPoissonPmf(k, mean_, log_mean_);
}

}  // namespace fedsilo
