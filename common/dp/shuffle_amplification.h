// Privacy amplification by shuffling: the (eps, delta) central-DP guarantee of n shuffled reports,
// each produced by an eps0-DP local randomizer, from Feldman, McMillan, Talwar 2021, "Hiding Among
// the Clones: A Simple and Nearly Optimal Analysis of Privacy Amplification by Shuffling"
// (FOCS 2021; arXiv:2012.12803).
//
// What the theorems need (the caller's obligation; nothing here can check it):
//   * n reports, one per sender, each the output of a local randomizer that is eps0-DP with
//     respect to that sender's WHOLE input (any two inputs of the sender give output
//     distributions within a factor e^eps0). A silo's record-level Gaussian message is not such a
//     report: it is not eps0-DP with respect to the silo's whole dataset.
//   * The randomizers may be chosen adaptively (FMT21 allow the i-th randomizer to depend on the
//     earlier outputs), but each must be eps0-DP for every value of that auxiliary input.
//   * A secure shuffler: the analyst sees only the uniformly permuted multiset of the n reports.
//   * Neighbouring datasets differ in one sender's input (replace-one). The guarantee protects
//     one sender, i.e. one report; if a record can appear in several reports of one shuffle,
//     it is not covered.
//
// ShuffleClosedFormEpsilon (FMT21, Theorem 3.1 — the closed form): for
//     eps0 <= log(n / (16 log(4 / delta)))     [equivalently delta >= 4 exp(-n / (16 e^eps0))]
// the shuffled output is (eps, delta)-DP with, writing a = 8 sqrt(e^eps0 log(4/delta) / n),
// c = 8 e^eps0 / n, and t = log(1 + a + c),
//     eps = log(1 + (1 - e^-eps0) / (1 + e^(-eps0 - t)) * (a + c)).
// This is the expression the authors evaluate in their reference implementation
// (apple/ml-shuffling-amplification, `closedformanalysis`), whose published example
// (n = 1e5, eps0 = 4, delta = 1e-6 -> eps = 0.5378040242374512) is our golden test value. It
// uses log(4/delta) in the regime condition; the paper prints log(2/delta), which this implies, so
// every accepted input is inside the theorem's regime either way (the discrepancy is discussed in
// apple/ml-shuffling-amplification issue #1, where log(4/delta) is suggested as the intended one). Since e^-t <= 1,
// the factor (1 - e^-eps0) / (1 + e^(-eps0 - t)) = (e^eps0 - 1) / (e^eps0 + e^-t) is never below
// the (e^eps0 - 1) / (e^eps0 + 1) of the theorem's displayed bound, so this value is at least that
// bound: conservative if the two differ, never optimistic. Outside the regime
// the function returns InvalidArgument (it never silently falls back to eps0).
//
// ShuffleNumericalEpsilon (FMT21's clone reduction, Section 3, evaluated numerically by the
// procedure of their Appendix E, as in the authors' reference implementation
// `numericalanalysis` — the numerical bound; we could not check a theorem number for it): it
// reduces any such shuffle to a pair of distributions on counts: with C ~ Bin(n - 1, e^-eps0),
// A ~ Bin(C, 1/2) and D ~ Bernoulli(e^eps0 / (e^eps0 + 1)),
//     P = (A + D, C - A + 1 - D),    Q = (A + 1 - D, C - A + D),
// and the shuffle is (eps, delta)-DP whenever P and Q are (eps, delta)-indistinguishable, i.e.
// max(H_{e^eps}(P||Q), H_{e^eps}(Q||P)) <= delta for the hockey-stick divergence H. The total
// count C + 1 is the same function of P and of Q, so H splits exactly into a sum over c of
// Pr[C = c] H(P_c||Q_c); each term has a closed form through Bin(c, 1/2) tails (the likelihood
// ratio is monotone in the first coordinate). For speed the c axis is covered in the reference
// implementation's blocks of `step` consecutive values (laid out from n/2), visited outward from
// the block nearest C's mean (n - 1) e^-eps0, where its mass is; the sum stops once the mass not
// yet covered (two binomial tails, computed directly, so tiny deltas stop early too) is below
// both deltas or is 0, and the upper bound adds that mass. (The reference visits
// them from n/2, reaching the mass only after about n / (2 step) blocks; its stop comes at
// another point, so its bound differs slightly: per round 0.019463 against 0.019389 for
// n = 1e5 at eps0 = 1.003; both are valid upper bounds.) On a block each term is bounded by its
// larger (kUpper) or smaller (kLower) endpoint value, which relies
// on H(P_c||Q_c) being monotone in c. With step = 1 no such assumption is made and the sum is
// exact. The smallest eps with delta(eps) < delta is found by `num_iterations` bisection steps on
// [0, eps_start], eps_start = the closed form when inside its regime, else eps0; the upper end of
// the final interval is returned (so kUpper returns an eps that provably satisfies the bound).
//   * kUpper is the privacy guarantee.
//   * kLower is a lower bound on the same FMT21 quantity (NOT on the privacy of any particular
//     randomizer, and not a guarantee): it only shows how much the blocking and bisection lose.
// The blocks must be narrow compared with the spread of C (about sqrt(n e^-eps0)): if one block
// holds most of C's mass, its endpoint bound is loose and the search may return its start
// (eps0 at worst, still a valid guarantee); use a smaller step then (e.g. eps0 = 8, n = 1e5).
// Conditions: n >= 2, eps0 > 0, delta in (0, 1), num_iterations >= 1, step >= 1, and for the
// numerical bound n <= kMaxNumericalShuffleReports; otherwise InvalidArgument. The numerical
// bound has no regime condition on eps0.
//
// Pure functions; thread-safe. Cost of the numerical bound: num_iterations times the blocks
// within a few standard deviations of C's mean, each one log-pmf term per value and four
// incomplete-beta evaluations (`fedsilo privacy shuffle`, 100 rounds: 0.6 s for n = 1e5, 4 s
// for n = 1e6; 6 s and 117 s when visited from n/2).
#pragma once

#include <cstdint>

#include "common/base/status.h"
#include "common/dp/approx_dp_event.h"

namespace fedsilo {

// The most reports one shuffled round may have for the numerical bound. Its cost grows with the
// spread of C (about sqrt(n e^-eps0) values per evaluation, and a calibration makes hundreds), and
// the incomplete-beta tails take about as many iterations: at 1e9 reports a planning took minutes
// (privacy planner fuzzer). Ten million is far beyond any cross-silo round (100 silos x 1,000
// records is 1e5) and plans in seconds.
inline constexpr int64_t kMaxNumericalShuffleReports = 10'000'000;

absl::StatusOr<double> ShuffleClosedFormEpsilon(int64_t n, double eps0, double delta);

// Largest eps0 for which the closed form applies: log(n / (16 log(4 / delta))).
double ShuffleClosedFormMaxEps0(int64_t n, double delta);

enum class ShuffleBoundSide { kUpper, kLower };

struct ShuffleNumericalOptions {
  int num_iterations = 10;
  int64_t step = 100;
  ShuffleBoundSide side = ShuffleBoundSide::kUpper;
};

absl::StatusOr<double> ShuffleNumericalEpsilon(int64_t n, double eps0, double delta,
                                               const ShuffleNumericalOptions& options = {});

// The delta of FMT21's reduction at one eps (0 <= eps < eps0): an upper (kUpper) or lower
// (kLower) bound on max(H_{e^eps}(P||Q), H_{e^eps}(Q||P)) computed with blocks of `step` values of
// c. Stops early and returns `delta_cap` once the bound exceeds it (the search only needs to know
// that). Exposed for tests and for callers that fix eps and want delta.
absl::StatusOr<double> ShuffleNumericalDelta(int64_t n, double eps0, double eps, int64_t step,
                                             ShuffleBoundSide side, double delta_cap = 1.0);

// One round of n shuffled eps0-LDP reports as an event for common/dp/approx_dp_composition.h:
// {epsilon = ShuffleNumericalEpsilon(n, eps0, delta, options) (side kUpper), delta, count 1}.
// options.side must be kUpper (a lower bound is not a guarantee): InvalidArgument otherwise.
// The event protects one report's sender per round; a record that is its own sender in every
// round it is sampled in is charged every round (this event claims no amplification by
// subsampling; AmplifyBySubsampling in approx_dp_composition.h adds it where it applies).
absl::StatusOr<ApproxDpEvent> ShuffledRoundEvent(int64_t n, double eps0, double delta,
                                                 const ShuffleNumericalOptions& options = {});

// The two hockey-stick divergences of FMT21's pair given C = c (c >= 0, 0 <= eps < eps0; a
// broken invariant otherwise): H_{e^eps}(P_c||Q_c) and H_{e^eps}(Q_c||P_c), where P_c, Q_c are
// the laws of the first coordinate of P and Q given C = c. Exposed for tests.
struct ShufflePairDivergence {
  double p_over_q = 0.0;
  double q_over_p = 0.0;
};
ShufflePairDivergence ShuffleDivergenceGivenCount(int64_t c, double eps0, double eps);

}  // namespace fedsilo
