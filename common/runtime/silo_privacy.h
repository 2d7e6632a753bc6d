// SiloPrivacyPlan: how one silo privatizes its gradient queries and what budget it enforces,
// decided by the silo itself from the privacy settings and its own record count (the silo is
// the trust boundary; nothing here is sent to the coordinator).
//
// Every noisy query is one subsampled Gaussian event (q = batch / n_i, noise multiplier z in the
// convention of the sampler, see dp/dp_event.h), replace-one with n_i public whatever the sampler
// (QuerySubsampling: Poisson sampling is accounted as kPoissonReplaceOne). The silo budgets for
// T = planned_rounds * queries_per_round queries (planned_rounds defaults to algorithm.rounds:
// the silo may serve every round) at (epsilon, delta), delta = privacy.delta or 1/n_i^2 when 0.
//   calibration rdp   (default) z = the smallest noise multiplier for which the RDP accountant
//                     certifies (epsilon, delta) after T queries; the budget is that epsilon.
//   calibration paper sigma on the mean gradient from Lowy & Razaviyayn's closed form; the budget
//                     is the T queries the formula covers; the accountant's epsilon (Poisson or
//                     without-replacement sampling, replace-one) is reported beside the target.
//
// Extras an algorithm may ask for (PrivacyExtras, from its AlgorithmSpec; rdp calibration only):
//   clip blocks   each record's gradient clipped block by block (e.g. FERMI's theta to
//                 privacy.clip and W to fairness.w_clip). Block b of the sum gets noise
//                 std_b = z k sqrt(B) clip_b (B blocks, k = 1 Poisson / 2 fixed-size): the same
//                 multiplier per block, as DP-FERMI. Scaling block b by 1 / std_b makes the
//                 mechanism one Gaussian of unit noise whose sensitivity is
//                 k sqrt(sum_b (clip_b / std_b)^2) = 1 / z, so each query is exactly the
//                 subsampled Gaussian event with multiplier z the accountant composes
//                 (QueryNoiseMultiplier in gradient_oracle.h computes it back from the stds).
//   count release one Gaussian histogram of the silo's records before training (count_oracle.h):
//                 event {kNone, q = 1, z_c}, noise std z_c sqrt(2) per cell (the replace-one
//                 sensitivity of a histogram). z_c is the budget's fixed noise multiplier, or
//                 the smallest z_c whose release alone costs
//                 epsilon_fraction * epsilon at delta; the gradient multiplier z is then the
//                 smallest for which the count AND the T queries compose (RDP) within epsilon.
//                 max_queries counts the release too.
// Shuffle-model algorithms (PrivacyExtras::shuffle, e.g. sdp_minibatch_sgd): no Gaussian noise.
// Each round the silo draws K = batch_size records uniformly without replacement, clips each
// record's gradient to `clip` and sends each as its own eps0-LDP report (L2BallRandomizer); a
// shuffler mixes at least min_reports = network.min_replies * K reports (it discards a round
// with fewer). eps0 is calibrated from PUBLIC values only (epsilon, delta, planned rounds,
// min_reports, and q_pub = K / privacy.min_silo_records, or 1 when that is 0), so every silo runs
// the same randomizer, as FMT21's analysis requires (CalibrateShuffleEps0,
// common/dp/shuffle_calibration.h). Each silo then charges its own ledger with the round event at
// its own rate q_i = K / n_i <= q_pub (ShuffleRoundEventForSilo) and refuses a round that would
// take it past (epsilon, delta) (ShuffleLedger). Requires privacy.sampling without_replacement,
// privacy.delta > 0 (a delta that depended on n_i would give silos different randomizers),
// n_i >= K and n_i >= min_silo_records; InvalidArgument naming the setting otherwise.
// Calibrations are memoized (all silos share one).
//
// Secure-sum algorithms (PrivacyExtras::secure_sum, e.g. sdp_sum_minibatch_sgd): no Gaussian
// noise either. Each round the silo draws a Poisson batch (rate K / n_i), clips and rounds each
// record's gradient and adds its share of the round's Skellam noise to its integer sum, which
// leaves it as two additive shares, one for the coordinator and one for the shuffler
// (secure_sum_oracle.h). The public plan (PlanSecureSum,
// common/dp/secure_sum_plan.h: scale, rounding bound, total variance, bits) comes from PUBLIC
// values only (epsilon, delta, planned rounds, clip, the dimension, the fewest honest silos
// network.min_replies, the most silos a round sums, and q_pub = K / privacy.min_silo_records, or
// 1 when that is 0), so every silo computes the same one and the shares decode together; each
// silo adds total / min_replies, so any min_replies of them carry at least the total. The silo's
// own cost of a round is the Skellam curve at its own rate q_i = K / n_i <= q_pub and that total
// (SkellamRoundRdp); it refuses a round past the most rounds that fit (epsilon, delta). The
// shuffler discards a round with fewer than min_replies silos' shares. Extras: clip blocks are
// equalized to the first block's bound (EqualizeClipBlocks, common/dp/clipping.h), so the plan
// is made for sqrt(B) times it; a count release (its multiplier from public values) is composed
// into the public plan and counted before the silo's rounds. Requires privacy.sampling poisson,
// privacy.delta > 0 and n_i >= min_silo_records.
//
// Either calibration refuses a noise multiplier above CalibrationOptions().max_noise_multiplier
// (1e4; with paper, an epsilon so small that the closed form asks for more).
// Pure; thread-safe. Errors: InvalidArgument for settings no noise can satisfy, naming the silo's
// size (e.g. a count release that alone costs more than the budget), and for extras with
// calibration paper.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/algorithms/algorithm_registry.h"
#include "common/algorithms/gradient_oracle.h"
#include "common/algorithms/silo_setup.h"
#include "common/base/status.h"
#include "common/dp/approx_dp_event.h"
#include "common/dp/dp_event.h"
#include "common/dp/l2_ball_randomizer.h"
#include "common/dp/secure_sum_plan.h"
#include "common/dp/shuffle_calibration.h"
#include "common/dp/shuffle_ledger.h"
#include "common/runtime/experiment_config.h"

namespace fedsilo {

// A shuffle-model silo's plan: the public calibration, its own per-round cost and its budget.
struct ShufflePlan {
  ShuffleCalibration calibration;  // eps0 and the composed guarantee at the public rate q_pub
  double sampling_rate = 1.0;      // this silo's own q_i = K / n_i
  ApproxDpEvent round_event;       // what one round costs each of this silo's records
  ShuffleBudget budget;            // (epsilon, delta), advanced-composition slack delta / 2
  std::shared_ptr<const L2BallRandomizer> randomizer;  // every silo's identical eps0-LDP randomizer
};

// A secure-sum silo's plan: the public protocol plan and its own per-round cost and budget.
struct SecureSumSiloPlan {
  SecureSumPlan sum;               // public: scale, record bound, bits, shares, noise, range
  double sampling_rate = 1.0;      // this silo's own q_i = K / n_i
  std::shared_ptr<const std::vector<double>> round_rdp;  // one round's RDP per default order
  int64_t max_rounds = 0;          // the most rounds that fit (epsilon, delta)
};

struct SiloPrivacyPlan {
  bool record_level_dp = false;
  bool accountable = false;      // an RDP accountant covers the sampler (not with_replacement)
  bool budget_by_epsilon = false;  // rdp: refuse past target epsilon; paper: past planned queries
  double target_epsilon = 0.0;   // the budget (per silo, whole run)
  double delta = 0.0;
  int64_t queries_per_round = 0;
  int64_t planned_queries = 0;   // T
  int64_t max_queries = 0;       // most queries of query_event the budget allows (>= T for rdp)
  double sigma_mean = 0.0;       // std of the noise on the minibatch-mean gradient (on its
                                 // first block's coordinates with separate block clipping)
  DpEvent query_event;           // what one noisy query costs
  std::shared_ptr<const std::vector<double>> query_rdp;  // RDP of one query per default order
  OracleSettings oracle;         // what the silo's oracle runs
  // The one-off count release, when the algorithm makes one (PrivacyExtras::count_release).
  std::optional<DpEvent> count_event;
  double count_noise_std = 0.0;  // per cell
  std::shared_ptr<const std::vector<double>> count_rdp;  // its RDP per default order
  // Shuffle-model algorithms (see above); the Gaussian fields are then unused.
  std::optional<ShufflePlan> shuffle;
  // Secure-sum algorithms (see above); the Gaussian fields are then unused.
  std::optional<SecureSumSiloPlan> secure_sum;
};

// What a secure-sum algorithm asks of its silos' plans.
struct SecureSumExtras {
  int64_t min_honest_silos = 1;  // network.min_replies
  int64_t max_silos = 1;         // the most silos a round sums
};

// What an algorithm asks of a private silo besides plain, jointly clipped gradient queries.
struct PrivacyExtras {
  int num_parameters = 0;              // length of the gradients
  std::vector<ClipBlock> clip_blocks;  // separate clipping; empty = one joint clip
  std::optional<CountReleaseBudget> count_release;  // a one-off count before training
  // Shuffle-model algorithms: the fewest reports a round mixes (network.min_replies * K).
  std::optional<int64_t> shuffle_min_reports;
  // Secure-sum algorithms.
  std::optional<SecureSumExtras> secure_sum;
  // Trusted-server baselines: the silo clips each record's gradient (privacy.clip) but adds no
  // noise (its plan is not private; the coordinator adds the noise).
  bool clip_for_trusted_server = false;
};

// A trusted-server baseline's noise (central_dp_minibatch_sgd): the Poisson-subsampled Gaussian
// mechanism on the round's total clipped sum, replace-one (rdp.h), with the multiplier z that
// keeps each silo's records within (privacy.epsilon, privacy.delta) over the planned rounds at the
// public rate q_pub = K / privacy.min_silo_records (or 1); std_on_sum = z * clip.
struct CentralNoisePlan {
  double noise_multiplier = 0.0;
  double std_on_sum = 0.0;
  double sampling_rate = 1.0;
  double epsilon = 0.0;  // what the accountant certifies (<= privacy.epsilon)
};
// InvalidArgument naming the setting: sampling other than poisson, delta not > 0.
absl::StatusOr<CentralNoisePlan> PlanCentralNoise(const ExperimentConfig& config);

// The extras of `spec` under `config` for gradients of `num_parameters`, with `setup` the
// algorithm's silo setup (nullptr when it has none).
PrivacyExtras PrivacyExtrasFor(const AlgorithmSpec& spec, const ExperimentConfig& config,
                               int num_parameters, const SiloSetup* setup);

absl::StatusOr<SiloPrivacyPlan> PlanSiloPrivacy(const PrivacyConfig& privacy,
                                                const AlgorithmConfig& algorithm,
                                                bool record_level_dp, int64_t queries_per_round,
                                                int64_t num_records,
                                                const PrivacyExtras& extras = {});

// Shuffle-model algorithms: the silos' common calibration (eps0 and the composed guarantee at the
// public rate), from public values only; the same one every silo computes. Memoized.
absl::StatusOr<ShuffleCalibration> PublicShuffleCalibration(const ExperimentConfig& config,
                                                            const AlgorithmSpec& spec);
// Secure-sum algorithms: the silos' common public plan (the same one every silo computes).
// Memoized.
absl::StatusOr<SecureSumPlan> PublicSecureSumPlanFor(const ExperimentConfig& config,
                                                     const AlgorithmSpec& spec,
                                                     int num_parameters);
// The public sampling rate q_pub = batch / privacy.min_silo_records (at most 1), or 1 when no
// public bound is given: what public calibrations claim amplification at.
double PublicSamplingRate(const PrivacyConfig& privacy, int batch_size);
// How many reports one silo sends per round: spec.reports_per_silo, or 1.
int64_t ReportsPerSilo(const AlgorithmSpec& spec, const ExperimentConfig& config);

// The neighbouring relation of every silo's guarantee, whatever its sampler: a silo releases its
// size n_i (its update weight, its privacy report's train_records, and q = batch / n_i), which
// add/remove-one neighbours would not share, so the silo's datasets differ by one record
// replaced and n_i is public.
inline constexpr char kNeighbouringRelation[] = "replace-one record";

}  // namespace fedsilo
