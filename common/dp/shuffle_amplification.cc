#include "common/dp/shuffle_amplification.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "common/base/check.h"
#include "common/dp/binomial.h"

namespace fedsilo {
namespace {

absl::Status CheckCommon(int64_t n, double eps0, double delta) {
  if (n < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("shuffle amplification needs at least 2 reports, got n = ", n));
  }
  if (!(eps0 > 0) || !std::isfinite(eps0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("local epsilon eps0 must be positive and finite, got ", eps0));
  }
  if (!(delta > 0 && delta < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("delta must be in (0, 1), got ", delta));
  }
  return absl::OkStatus();
}

absl::Status CheckNumerical(int64_t n, double eps0, double delta) {
  FEDSILO_RETURN_IF_ERROR(CheckCommon(n, eps0, delta));
  if (n > kMaxNumericalShuffleReports) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the numerical shuffle bound takes at most ", kMaxNumericalShuffleReports,
        " reports a round, got n = ", n, " (fewer silos or smaller batches a round)"));
  }
  return absl::OkStatus();
}

}  // namespace

// Given C = c, the first coordinate X of P is A + D and that of Q is A + 1 - D, A ~ Bin(c, 1/2),
// D ~ Bernoulli(alpha): P_c(x) = alpha B(x - 1) + (1 - alpha) B(x) and
// Q_c(x) = (1 - alpha) B(x - 1) + alpha B(x), with B the Bin(c, 1/2) mass.
ShufflePairDivergence ShuffleDivergenceGivenCount(int64_t c, double eps0, double eps) {
  FEDSILO_CHECK(c >= 0 && eps >= 0 && eps < eps0, "ShuffleDivergenceGivenCount domain");
  // alpha = Pr[D = 1] = e^eps0 / (e^eps0 + 1) > 1/2.
  const double alpha = 1.0 / (1.0 + std::exp(-eps0));
  const double e_eps = std::exp(eps);
  // With r = B(x - 1) / B(x) = x / (c + 1 - x), increasing in x,
  //   P_c(x) / Q_c(x) = (alpha r + 1 - alpha) / ((1 - alpha) r + alpha), increasing in r.
  // It exceeds e^eps exactly when r > e^g, i.e. x / (c + 1) > 1 / (1 + e^-g), and it is below
  // e^-eps exactly when r < e^-g, i.e. x / (c + 1) < 1 / (1 + e^g), where
  //   g = log(((e^eps + 1) alpha - 1) / ((e^eps + 1) alpha - e^eps))  (finite: eps < eps0).
  // Computed as log(e^(eps + eps0) - 1) - log(e^eps0 - e^eps), the same ratio without the
  // cancellation of the form above: near eps0 = 20, (e^eps + 1) alpha - e^eps lost every digit
  // (alpha rounds towards 1) and came out <= 0, so g was NaN and k undefined (privacy planner
  // fuzzer, tests/fuzz/regressions/privacy_planner_fuzzer/ubsan_nan_k_eps_near_eps0).
  const double g = std::log(std::expm1(eps + eps0)) - eps - std::log(std::expm1(eps0 - eps));
  // F(k) = Pr[A <= k]; S(k) = Pr[A > k] = F(c - k - 1) by the symmetry of Bin(c, 1/2).
  auto cdf = [c](int64_t k) { return BinomialCdf(k, c, 0.5); };
  auto sf = [c](int64_t k) { return BinomialCdf(c - k - 1, c, 0.5); };
  // The two directions are equal (x -> c + 1 - x maps P_c to Q_c, as Bin(c, 1/2) is symmetric);
  // both are computed, as in the reference implementation, and the caller takes the larger.
  ShufflePairDivergence out;
  {
    // H(P_c||Q_c) = P_c(X > k) - e^eps Q_c(X > k), k = floor((c + 1) / (1 + e^-g)), where
    // P_c(X > k) = alpha S(k - 1) + (1 - alpha) S(k), Q_c(X > k) = (1 - alpha) S(k - 1) + alpha S(k).
    const int64_t k = static_cast<int64_t>(std::floor((c + 1) / (std::exp(-g) + 1.0)));
    const double s1 = sf(k);
    const double s0 = sf(k - 1);
    const double p_tail = alpha * s0 + (1.0 - alpha) * s1;
    const double q_tail = (1.0 - alpha) * s0 + alpha * s1;
    out.p_over_q = std::max(0.0, p_tail - e_eps * q_tail);
  }
  {
    // H(Q_c||P_c) = Q_c(X <= k) - e^eps P_c(X <= k), k = floor((c + 1) / (1 + e^g)), where
    // Q_c(X <= k) = (1 - alpha) F(k - 1) + alpha F(k), P_c(X <= k) = alpha F(k - 1) + (1 - alpha) F(k).
    const int64_t k = static_cast<int64_t>(std::floor((c + 1) / (std::exp(g) + 1.0)));
    const double f1 = cdf(k);
    const double f0 = cdf(k - 1);
    const double q_head = (1.0 - alpha) * f0 + alpha * f1;
    const double p_head = alpha * f0 + (1.0 - alpha) * f1;
    out.q_over_p = std::max(0.0, q_head - e_eps * p_head);
  }
  return out;
}

namespace {

// The numerical delta for one eps; arguments already validated, 0 <= eps < eps0.
// The values of C are taken in the reference code's blocks: for n even, {n/2} alone; then, for
// B = 1, 1 + step, ..., [n/2 + B, n/2 + B + step - 1] above and [n/2 - B + odd - step + 1,
// n/2 - B + odd] below (odd = n % 2), clipped to [0, n - 1]; together they tile [0, n - 1]. The
// reference visits them outward from n/2. The sums do not depend on the order, but the early
// exits (once the mass not yet covered is below both deltas) come soon only from where C's mass
// is, around its mean (n - 1) e^-eps0: so the blocks are visited outward from the one nearest the
// mean. (From n/2, about n / (2 step) blocks of almost no mass came first: 117 s for n = 1e6,
// and a planner fuzzer input with n = 3.9e6 ran for hours.)
double NumericalDelta(int64_t n, double eps0, double eps, int64_t step, ShuffleBoundSide side,
                      double delta_cap) {
  const bool upper = side == ShuffleBoundSide::kUpper;
  const double p = std::exp(-eps0);
  const int64_t trials = n - 1;  // C ~ Bin(n - 1, e^-eps0)
  auto mass = [&](int64_t lo, int64_t hi) {
    double sum = 0.0;
    for (int64_t c = lo; c <= hi; ++c) sum += std::exp(LogBinomialPmf(c, trials, p));
    return sum;
  };
  const int64_t half = n / 2;
  const int64_t odd = n % 2;
  // Blocks on the line of C's values, by position t: t = 1 + j is the j-th block above n/2,
  // t = -1 - j the j-th below, t = 0 the point n/2 (n even only); `per_side` blocks each side.
  const int64_t per_side = (half + odd - 1) / step + 1;
  struct Block {
    int64_t lo, hi;
  };
  auto block = [&](int64_t t) -> Block {
    if (t == 0) return {half, half};
    if (t > 0) {
      const int64_t lo = half + 1 + (t - 1) * step;
      return {lo, lo + step - 1};
    }
    const int64_t hi = half - 1 + odd - (-t - 1) * step;
    return {hi - step + 1, hi};
  };
  auto exists = [&](int64_t t) { return t >= -per_side && t <= per_side && (t != 0 || !odd); };
  const double mean = static_cast<double>(trials) * p;
  auto distance = [&](int64_t t) {  // from the mean to the block
    const Block b = block(t);
    return std::max({0.0, static_cast<double>(b.lo) - mean, mean - static_cast<double>(b.hi)});
  };
  // The block nearest the mean: from n/2 towards it (O(1): the blocks are regular).
  int64_t start = odd ? -1 : 0;
  if (mean > static_cast<double>(half)) {
    start = std::min<int64_t>(per_side, 1 + static_cast<int64_t>((mean - half - 1) / step));
    start = std::max<int64_t>(start, 1);
  } else if (mean < static_cast<double>(half - 1 + odd)) {
    start = -std::min<int64_t>(per_side, 1 + static_cast<int64_t>((half - 1 + odd - mean) / step));
  }
  double delta_pq = 0.0;
  double delta_qp = 0.0;
  // The values visited so far are one interval [c_min, c_max] (the blocks tile the line and the
  // walk only ever adds a neighbour); the mass outside it is two binomial tails, computed
  // directly so that it keeps its relative accuracy far below 1e-16. (As 1 - the mass covered it
  // could not fall below about 1e-16, so for a delta of 1e-54 the walk never stopped early and
  // took every one of n / step blocks: 2.5 minutes per planning at n = 3.9e6; planner fuzzer,
  // tests/fuzz/regressions/privacy_planner_fuzzer/timeout_tiny_delta_3_9_million_reports.)
  int64_t c_min = trials + 1;
  int64_t c_max = -1;
  double below_tail = 1.0;  // Pr[C < c_min], recomputed only when c_min moves
  double above_tail = 0.0;  // Pr[C > c_max], recomputed only when c_max moves
  double uncovered = 1.0;   // Pr[C outside [c_min, c_max]]
  int64_t below = start - 1;
  int64_t above = start + 1;
  for (int64_t t = start;;) {
    const Block b = block(t);
    const int64_t lo = std::max<int64_t>(b.lo, 0);
    const int64_t hi = std::min<int64_t>(b.hi, trials);
    if (std::max(delta_pq, delta_qp) > delta_cap) return delta_cap;
    if ((uncovered < delta_pq && uncovered < delta_qp) || uncovered == 0.0) {
      // Every remaining term is at most Pr[C = c] (a divergence between distributions is <= 1).
      return upper ? std::max(delta_pq, delta_qp) + uncovered : std::max(delta_pq, delta_qp);
    }
    if (lo <= hi) {
      const double block_mass = mass(lo, hi);
      const ShufflePairDivergence at_lo = ShuffleDivergenceGivenCount(lo, eps0, eps);
      const ShufflePairDivergence at_hi = ShuffleDivergenceGivenCount(hi, eps0, eps);
      if (upper) {
        delta_pq += block_mass * std::max(at_lo.p_over_q, at_hi.p_over_q);
        delta_qp += block_mass * std::max(at_lo.q_over_p, at_hi.q_over_p);
      } else {
        delta_pq += block_mass * std::min(at_lo.p_over_q, at_hi.p_over_q);
        delta_qp += block_mass * std::min(at_lo.q_over_p, at_hi.q_over_p);
      }
      if (lo < c_min) {
        c_min = lo;
        below_tail = BinomialCdf(c_min - 1, trials, p);
      }
      if (hi > c_max) {
        c_max = hi;
        above_tail = BinomialCdf(trials - c_max - 1, trials, 1 - p);
      }
      uncovered = below_tail + above_tail;
    }
    // Next: the nearer of the two neighbours still unvisited (t = 0 is skipped for odd n).
    if (!exists(below) && below == 0) --below;
    if (!exists(above) && above == 0) ++above;
    const bool can_go_below = exists(below);
    const bool can_go_above = exists(above);
    if (!can_go_below && !can_go_above) break;
    if (can_go_below && (!can_go_above || distance(below) <= distance(above))) {
      t = below--;
    } else {
      t = above++;
    }
  }
  return std::max(delta_pq, delta_qp);
}

}  // namespace

double ShuffleClosedFormMaxEps0(int64_t n, double delta) {
  return std::log(static_cast<double>(n) / (16.0 * std::log(4.0 / delta)));
}

absl::StatusOr<double> ShuffleClosedFormEpsilon(int64_t n, double eps0, double delta) {
  FEDSILO_RETURN_IF_ERROR(CheckCommon(n, eps0, delta));
  const double max_eps0 = ShuffleClosedFormMaxEps0(n, delta);
  if (!(eps0 <= max_eps0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the closed-form shuffle bound (Feldman-McMillan-Talwar 2021, Theorem 3.1) needs eps0 <= "
        "log(n / (16 log(4 / delta))) = ",
        max_eps0, " for n = ", n, ", delta = ", delta, "; got eps0 = ", eps0,
        " (use more reports, a larger delta, or the numerical bound)"));
  }
  const double n_d = static_cast<double>(n);
  const double e0 = std::exp(eps0);
  const double a = 8.0 * std::sqrt(e0 * std::log(4.0 / delta)) / std::sqrt(n_d);
  const double c = 8.0 * e0 / n_d;
  const double t = std::log(1.0 + a + c);
  const double ratio = (1.0 - std::exp(-eps0)) / (1.0 + std::exp(-eps0 - t));
  return std::log(1.0 + ratio * (a + c));
}

absl::StatusOr<double> ShuffleNumericalDelta(int64_t n, double eps0, double eps, int64_t step,
                                             ShuffleBoundSide side, double delta_cap) {
  FEDSILO_RETURN_IF_ERROR(CheckNumerical(n, eps0, 0.5));
  if (!(eps >= 0 && eps < eps0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("eps must be in [0, eps0) = [0, ", eps0, "), got ", eps));
  }
  if (step < 1) {
    return absl::InvalidArgumentError(absl::StrCat("step must be >= 1, got ", step));
  }
  if (!(delta_cap > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("delta_cap must be > 0, got ", delta_cap));
  }
  return NumericalDelta(n, eps0, eps, step, side, delta_cap);
}

absl::StatusOr<double> ShuffleNumericalEpsilon(int64_t n, double eps0, double delta,
                                               const ShuffleNumericalOptions& options) {
  FEDSILO_RETURN_IF_ERROR(CheckNumerical(n, eps0, delta));
  if (options.num_iterations < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_iterations must be >= 1, got ", options.num_iterations));
  }
  if (options.step < 1) {
    return absl::InvalidArgumentError(absl::StrCat("step must be >= 1, got ", options.step));
  }
  // Start from a valid guarantee: the closed form inside its regime, else eps0 itself (shuffling
  // is post-processing of n eps0-DP reports, one per sender).
  double hi = eps0;
  if (eps0 <= ShuffleClosedFormMaxEps0(n, delta)) {
    FEDSILO_ASSIGN_OR_RETURN(const double closed, ShuffleClosedFormEpsilon(n, eps0, delta));
    hi = std::min(hi, closed);
  }
  double lo = 0.0;
  for (int i = 0; i < options.num_iterations; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (NumericalDelta(n, eps0, mid, options.step, options.side, delta) < delta) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

absl::StatusOr<ApproxDpEvent> ShuffledRoundEvent(int64_t n, double eps0, double delta,
                                                 const ShuffleNumericalOptions& options) {
  if (options.side != ShuffleBoundSide::kUpper) {
    return absl::InvalidArgumentError(
        "a shuffled round's privacy event needs the upper bound (kUpper); the lower bound is not "
        "a privacy guarantee");
  }
  FEDSILO_ASSIGN_OR_RETURN(const double eps, ShuffleNumericalEpsilon(n, eps0, delta, options));
  return ApproxDpEvent{eps, delta, 1};
}

}  // namespace fedsilo
