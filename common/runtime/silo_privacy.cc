#include "common/runtime/silo_privacy.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"

#include "common/algorithms/count_oracle.h"
#include "common/dp/calibration.h"
#include "common/dp/paper_calibration.h"
#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"
#include "common/dp/skellam_calibration.h"

namespace fedsilo {

double PublicSamplingRate(const PrivacyConfig& privacy, int batch_size) {
  return privacy.min_silo_records > 0
             ? std::min(1.0, static_cast<double>(batch_size) / privacy.min_silo_records)
             : 1.0;
}

int64_t ReportsPerSilo(const AlgorithmSpec& spec, const ExperimentConfig& config) {
  return spec.reports_per_silo ? spec.reports_per_silo(config.algorithm) : 1;
}

PrivacyExtras PrivacyExtrasFor(const AlgorithmSpec& spec, const ExperimentConfig& config,
                               int num_parameters, const SiloSetup* setup) {
  PrivacyExtras extras;
  extras.num_parameters = num_parameters;
  if (spec.clip_blocks) {
    extras.clip_blocks = spec.clip_blocks(config.algorithm, num_parameters, config.privacy.clip);
  }
  if (setup != nullptr) extras.count_release = setup->count_release();
  extras.clip_for_trusted_server = spec.trusted_server;
  if (spec.secure_sum) {
    const int64_t roster = static_cast<int64_t>(config.network.silos.size());
    const int64_t min_replies = std::max(1, config.network.min_replies);
    extras.secure_sum = SecureSumExtras{
        min_replies, std::max({static_cast<int64_t>(config.partition.silos), roster, min_replies})};
  } else if (spec.requires_shuffler && spec.reports_per_silo) {
    extras.shuffle_min_reports =
        static_cast<int64_t>(std::max(1, config.network.min_replies)) * ReportsPerSilo(spec, config);
  }
  return extras;
}

namespace {

// The largest k >= 0 with epsilon(fixed + k * per_unit) <= epsilon at delta (RDP curves per
// default order; fixed may be null): RDP composes additively, so epsilon(k) is monotone in k;
// bracket from `start` by doubling, then bisect. InvalidArgument when even 2^40 repetitions stay
// within epsilon (a budget that never binds protects nothing, and doubling further would
// overflow).
absl::StatusOr<int64_t> MostRepetitionsWithin(const std::vector<double>& per_unit,
                                              const std::vector<double>* fixed, double epsilon,
                                              double delta, int64_t start) {
  const std::vector<double> orders = DefaultRdpOrders();
  const auto within = [&](int64_t count) -> absl::StatusOr<bool> {
    std::vector<double> rdp(per_unit);
    for (size_t i = 0; i < rdp.size(); ++i) {
      rdp[i] *= static_cast<double>(count);
      if (fixed != nullptr) rdp[i] += (*fixed)[i];
    }
    FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder e, EpsilonFromRdp(orders, rdp, delta));
    return e.epsilon <= epsilon;
  };
  constexpr int64_t kMaxBudgeted = int64_t{1} << 40;
  int64_t good = 0, bad = std::max<int64_t>(1, start);
  while (true) {
    FEDSILO_ASSIGN_OR_RETURN(bool ok, within(bad));
    if (!ok) break;
    if (bad >= kMaxBudgeted) {
      return absl::InvalidArgumentError(absl::StrCat(
          "privacy.epsilon ", epsilon, " never binds: even ", bad,
          " noisy queries stay within it, so it protects nothing; choose a meaningful "
          "budget (DP practice: epsilon of at most about 10)"));
    }
    good = bad;
    bad *= 2;
  }
  while (bad - good > 1) {
    const int64_t mid = good + (bad - good) / 2;
    FEDSILO_ASSIGN_OR_RETURN(bool ok, within(mid));
    (ok ? good : bad) = mid;
  }
  return good;
}

// The plan fields every one-query-a-round private silo shares (the shuffle model and the secure
// sum): clipped records, a budget by epsilon of `max_rounds` rounds.
SiloPrivacyPlan OneQueryPerRoundPlan(const PrivacyConfig& privacy, const AlgorithmConfig& algorithm,
                                     Sampling sampling, int64_t planned_rounds,
                                     int64_t max_rounds) {
  SiloPrivacyPlan plan;
  plan.record_level_dp = true;
  plan.oracle.sampling = sampling;
  plan.oracle.batch_size = algorithm.batch_size;
  plan.oracle.record_level_dp = true;
  plan.oracle.clip = privacy.clip;
  plan.budget_by_epsilon = true;
  plan.target_epsilon = privacy.epsilon;
  plan.delta = privacy.delta;
  plan.queries_per_round = 1;
  plan.planned_queries = planned_rounds;
  plan.max_queries = max_rounds;
  return plan;
}

absl::Status CheckClipBlocks(const PrivacyExtras& extras) {
  int64_t total = 0;
  for (const ClipBlock& block : extras.clip_blocks) {
    if (block.size < 1 || !(block.clip > 0.0) || !std::isfinite(block.clip)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "privacy: a clip block needs a positive size and a positive finite clip (got size ",
          block.size, ", clip ", block.clip, ")"));
    }
    total += block.size;
  }
  if (total != extras.num_parameters) {
    return absl::InvalidArgumentError(absl::StrCat("privacy: clip blocks cover ", total,
                                                   " coordinates of a gradient of ",
                                                   extras.num_parameters));
  }
  return absl::OkStatus();
}

// The count release's noise multiplier: the budget's fixed one, or the smallest whose release
// alone costs epsilon_fraction * epsilon at delta. InvalidArgument when the release alone would
// exceed the silo's whole budget.
absl::StatusOr<double> CountNoiseMultiplier(const CountReleaseBudget& budget, double epsilon,
                                            double delta, int64_t num_records) {
  const DpEventShape once[] = {{Subsampling::kNone, 1.0, 1}};
  double z = budget.noise_multiplier;
  if (!(z > 0.0)) {
    if (!(budget.epsilon_fraction > 0.0 && budget.epsilon_fraction < 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the count release's share of epsilon must be in (0, 1), got ", budget.epsilon_fraction));
    }
    FEDSILO_ASSIGN_OR_RETURN(z, CalibrateNoiseMultiplier(budget.epsilon_fraction * epsilon,
                                                         delta, once));
  }
  FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder alone,
                           EpsilonForNoiseMultiplier(z, delta, once, DefaultRdpOrders()));
  if (!(alone.epsilon < epsilon)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy: a silo of ", num_records, " records refuses its count release: with noise "
        "multiplier ", z, " it alone costs epsilon ", alone.epsilon, " at delta ", delta,
        ", more than the silo's whole budget ", epsilon,
        " (raise fairness.marginals_noise_multiplier or set it to 0)"));
  }
  return z;
}

// A silo against privacy.min_silo_records, the public bound the amplification is calibrated for.
absl::Status CheckPublicSizeBound(const PrivacyConfig& privacy, int64_t batch, int64_t num_records,
                                  const std::string& silo) {
  if (privacy.min_silo_records > 0 && num_records < privacy.min_silo_records) {
    return absl::InvalidArgumentError(absl::StrCat(
        silo, " is below privacy.min_silo_records = ", privacy.min_silo_records,
        ", the public bound its amplification by subsampling is calibrated for"));
  }
  if (privacy.min_silo_records > 0 && privacy.min_silo_records < batch) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.min_silo_records (", privacy.min_silo_records,
        ") must be at least algorithm.batch_size (", batch, ") or 0"));
  }
  return absl::OkStatus();
}

// The public calibration of a shuffle-model run, memoized: every silo of a process shares one.
absl::StatusOr<ShuffleCalibration> CalibrateShuffleModel(const PrivacyConfig& privacy,
                                                         const AlgorithmConfig& algorithm,
                                                         int64_t min_reports) {
  const int rounds = privacy.planned_rounds > 0 ? privacy.planned_rounds : algorithm.rounds;
  const double public_rate = PublicSamplingRate(privacy, algorithm.batch_size);
  static std::mutex mu;
  static auto* cache =
      new std::map<std::tuple<int64_t, int, double, double, double>, ShuffleCalibration>();
  const auto key = std::make_tuple(min_reports, rounds, privacy.epsilon, privacy.delta, public_rate);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache->find(key); it != cache->end()) return it->second;
  }
  absl::StatusOr<ShuffleCalibration> calibration = CalibrateShuffleEps0(
      min_reports, rounds, privacy.epsilon, privacy.delta, 1e-4, {}, public_rate);
  if (!calibration.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy: cannot calibrate the local randomizer for epsilon ", privacy.epsilon, " over ",
        rounds, " rounds of at least ", min_reports, " shuffled reports: ",
        std::string(calibration.status().message())));
  }
  std::lock_guard<std::mutex> lock(mu);
  cache->emplace(key, *calibration);
  return *calibration;
}

absl::StatusOr<SiloPrivacyPlan> PlanShuffleSilo(const PrivacyConfig& privacy,
                                                const AlgorithmConfig& algorithm,
                                                int64_t num_records, int64_t min_reports,
                                                int num_parameters) {
  const int64_t k = algorithm.batch_size;
  const std::string silo = absl::StrCat("a shuffle-model silo of ", num_records, " records");
  if (privacy.sampling != "without_replacement") {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.sampling: ", algorithm.name, " needs without_replacement (fixed-size batches: the "
        "shuffle bound counts a fixed number of reports, and the subsampling bound is for "
        "fixed-size batches), got ", privacy.sampling));
  }
  if (!(privacy.delta > 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.delta: ", algorithm.name, " needs an explicit delta > 0 (every silo must run the "
        "same local randomizer, so delta cannot default to 1/n_i^2)"));
  }
  if (num_records < k) {
    return absl::InvalidArgumentError(absl::StrCat(
        silo, " cannot report a batch of ", k, " records (algorithm.batch_size)"));
  }
  FEDSILO_RETURN_IF_ERROR(CheckPublicSizeBound(privacy, k, num_records, silo));
  const int rounds = privacy.planned_rounds > 0 ? privacy.planned_rounds : algorithm.rounds;
  ShufflePlan shuffle;
  FEDSILO_ASSIGN_OR_RETURN(const ShuffleCalibration calibration,
                           CalibrateShuffleModel(privacy, algorithm, min_reports));
  shuffle.calibration = calibration;
  shuffle.sampling_rate = static_cast<double>(k) / static_cast<double>(num_records);
  FEDSILO_ASSIGN_OR_RETURN(shuffle.round_event,
                           ShuffleRoundEventForSilo(shuffle.calibration, shuffle.sampling_rate));
  shuffle.budget = ShuffleBudget{privacy.epsilon, privacy.delta, calibration.delta_slack};
  FEDSILO_ASSIGN_OR_RETURN(L2BallRandomizer randomizer,
                           L2BallRandomizer::Create(num_parameters, privacy.clip,
                                                    calibration.eps0));
  shuffle.randomizer = std::make_shared<const L2BallRandomizer>(std::move(randomizer));

  SiloPrivacyPlan plan =
      OneQueryPerRoundPlan(privacy, algorithm, Sampling::kWithoutReplacement, rounds, rounds);
  plan.shuffle = std::move(shuffle);
  return plan;
}

// The public values every silo of a secure-sum run plans from; count_noise_multiplier: its count
// release's (public: from epsilon, delta and the release's budget), 0 without one.
SecureSumSetting SecureSumSettingFor(const PrivacyConfig& privacy, const AlgorithmConfig& algorithm,
                                     const PrivacyExtras& extras, double count_noise_multiplier) {
  SecureSumSetting setting;
  // Separate clip blocks are equalized to the first one's bound (EqualizeClipBlocks).
  setting.clip = EqualizedRecordBound(extras.clip_blocks, privacy.clip);
  setting.count_noise_multiplier = count_noise_multiplier;
  const SecureSumExtras& sum = *extras.secure_sum;
  const int num_parameters = extras.num_parameters;
  setting.dimension = num_parameters;
  setting.batch = algorithm.batch_size;
  setting.records = privacy.min_silo_records > 0 ? privacy.min_silo_records : algorithm.batch_size;
  setting.rounds = privacy.planned_rounds > 0 ? privacy.planned_rounds : algorithm.rounds;
  setting.epsilon = privacy.epsilon;
  setting.delta = privacy.delta;
  setting.min_honest_silos = sum.min_honest_silos;
  setting.max_silos = sum.max_silos;
  setting.shares = 2;  // one for the coordinator, one for the shuffler
  setting.sampling = Subsampling::kPoissonReplaceOne;
  return setting;
}

// The public secure-sum plan, memoized: every silo of a process shares one.
absl::StatusOr<SecureSumPlan> PublicSecureSumPlan(const SecureSumSetting& setting) {
  static std::mutex mu;
  static auto* cache = new std::map<std::string, SecureSumPlan>();
  const std::string key = absl::StrCat(
      setting.clip, "/", setting.dimension, "/", setting.batch, "/", setting.records, "/",
      setting.rounds, "/", setting.epsilon, "/", setting.delta, "/", setting.min_honest_silos, "/",
      setting.max_silos, "/", static_cast<int>(setting.sampling), "/",
      setting.count_noise_multiplier);
  {
    std::lock_guard<std::mutex> lock(mu);
    if (auto it = cache->find(key); it != cache->end()) return it->second;
  }
  FEDSILO_ASSIGN_OR_RETURN(SecureSumPlan plan, PlanSecureSum(setting, DefaultRdpOrders()));
  std::lock_guard<std::mutex> lock(mu);
  cache->emplace(key, plan);
  return plan;
}

// The count release's noise multiplier for a secure-sum silo (0 without one): public, as the
// public plan composes it.
absl::StatusOr<double> SecureSumCountNoiseMultiplier(const PrivacyConfig& privacy,
                                                     const PrivacyExtras& extras,
                                                     int64_t num_records) {
  if (!extras.count_release.has_value()) return 0.0;
  return CountNoiseMultiplier(*extras.count_release, privacy.epsilon, privacy.delta, num_records);
}

absl::StatusOr<SiloPrivacyPlan> PlanSecureSumSilo(const PrivacyConfig& privacy,
                                                  const AlgorithmConfig& algorithm,
                                                  int64_t num_records,
                                                  const PrivacyExtras& extras) {
  const int64_t k = algorithm.batch_size;
  const std::string silo = absl::StrCat("a secure-sum silo of ", num_records, " records");
  if (privacy.sampling != "poisson") {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.sampling: ", algorithm.name, " needs poisson (its Skellam accounting is the "
        "Poisson-subsampled bound), got ", privacy.sampling));
  }
  if (!(privacy.delta > 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.delta: ", algorithm.name, " needs an explicit delta > 0 (every silo must add the "
        "same noise share, so delta cannot default to 1/n_i^2)"));
  }
  FEDSILO_RETURN_IF_ERROR(CheckPublicSizeBound(privacy, k, num_records, silo));
  if (!extras.clip_blocks.empty()) FEDSILO_RETURN_IF_ERROR(CheckClipBlocks(extras));
  const int rounds = privacy.planned_rounds > 0 ? privacy.planned_rounds : algorithm.rounds;
  FEDSILO_ASSIGN_OR_RETURN(const double z_count,
                           SecureSumCountNoiseMultiplier(privacy, extras, num_records));
  const SecureSumSetting setting = SecureSumSettingFor(privacy, algorithm, extras, z_count);
  absl::StatusOr<SecureSumPlan> sum = PublicSecureSumPlan(setting);
  if (!sum.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy: cannot plan the secure sum for epsilon ", privacy.epsilon, " over ", rounds,
        " rounds: ", std::string(sum.status().message())));
  }
  SecureSumSiloPlan secure;
  secure.sum = *sum;
  secure.sampling_rate = std::min(1.0, static_cast<double>(k) / static_cast<double>(num_records));
  FEDSILO_ASSIGN_OR_RETURN(
      std::vector<double> round_rdp,
      SkellamRoundRdp(secure.sum.total_variance, secure.sum.sensitivity,
                      SkellamSampling{Subsampling::kPoissonReplaceOne, secure.sampling_rate},
                      DefaultRdpOrders()));
  // The most rounds within (epsilon, delta) at the silo's own rate: at least the planned ones
  // (its rate is at most the public one).
  // The most rounds within (epsilon, delta) at the silo's own rate, after its count release:
  // at least the planned ones (its rate is at most the public one).
  FEDSILO_ASSIGN_OR_RETURN(
      secure.max_rounds,
      MostRepetitionsWithin(round_rdp,
                            secure.sum.count_rdp.empty() ? nullptr : &secure.sum.count_rdp,
                            privacy.epsilon, privacy.delta, rounds));
  secure.round_rdp = std::make_shared<const std::vector<double>>(std::move(round_rdp));

  SiloPrivacyPlan plan =
      OneQueryPerRoundPlan(privacy, algorithm, Sampling::kPoisson, rounds, secure.max_rounds);
  plan.accountable = true;
  plan.oracle.clip_blocks = extras.clip_blocks;
  if (z_count > 0.0) {
    plan.count_event = DpEvent{Subsampling::kNone, 1.0, z_count, 1};
    plan.count_noise_std = z_count * kHistogramSensitivity;
    plan.count_rdp = std::make_shared<const std::vector<double>>(secure.sum.count_rdp);
  }
  plan.secure_sum = std::move(secure);
  return plan;
}

}  // namespace

absl::StatusOr<SiloPrivacyPlan> PlanSiloPrivacy(const PrivacyConfig& privacy,
                                                const AlgorithmConfig& algorithm,
                                                bool record_level_dp, int64_t queries_per_round,
                                                int64_t num_records,
                                                const PrivacyExtras& extras) {
  SiloPrivacyPlan plan;
  FEDSILO_ASSIGN_OR_RETURN(plan.oracle.sampling, ParseSampling(privacy.sampling));
  plan.oracle.batch_size = algorithm.batch_size;
  plan.record_level_dp = record_level_dp;
  if (!record_level_dp) {
    if (extras.clip_for_trusted_server) {
      plan.oracle.clip_only = true;
      plan.oracle.clip = privacy.clip;
    }
    return plan;
  }
  if (num_records < 1) return absl::InvalidArgumentError("a silo with no records cannot train");
  if (extras.secure_sum.has_value()) {
    return PlanSecureSumSilo(privacy, algorithm, num_records, extras);
  }
  if (extras.shuffle_min_reports.has_value()) {
    return PlanShuffleSilo(privacy, algorithm, num_records, *extras.shuffle_min_reports,
                           extras.num_parameters);
  }
  plan.oracle.record_level_dp = true;
  plan.oracle.clip = privacy.clip;
  plan.target_epsilon = privacy.epsilon;
  const double n = static_cast<double>(num_records);
  plan.delta = privacy.delta > 0.0 ? privacy.delta : 1.0 / (n * n);
  plan.queries_per_round = queries_per_round;
  const int64_t planned_rounds = privacy.planned_rounds > 0 ? privacy.planned_rounds : algorithm.rounds;
  plan.planned_queries = planned_rounds * queries_per_round;
  const double expected_batch = static_cast<double>(std::min<int64_t>(algorithm.batch_size, num_records));
  const double q = expected_batch / n;
  plan.accountable = plan.oracle.sampling != Sampling::kWithReplacement;
  const bool has_extras = !extras.clip_blocks.empty() || extras.count_release.has_value();
  if (!extras.clip_blocks.empty()) FEDSILO_RETURN_IF_ERROR(CheckClipBlocks(extras));

  // Noise multiplier z relates to the noise on the clipped SUM by std_sum = z * k * C: k = 1 for
  // Poisson (the add/remove sensitivity; kPoissonReplaceOne's curve accounts for the
  // replacement), k = 2 for fixed-size batches (the replace-one sensitivity).
  const double k = plan.oracle.sampling == Sampling::kPoisson ? 1.0 : 2.0;
  const double sensitivity = k * privacy.clip;
  const Subsampling subsampling = QuerySubsampling(plan.oracle.sampling, q);
  if (privacy.calibration == "rdp") {
    if (!plan.accountable) {
      return absl::InvalidArgumentError(
          "privacy.sampling: with_replacement has no accountant; calibration rdp needs poisson or "
          "without_replacement");
    }
    std::vector<DpEvent> fixed;
    if (extras.count_release.has_value()) {
      FEDSILO_ASSIGN_OR_RETURN(const double z_count,
                               CountNoiseMultiplier(*extras.count_release, privacy.epsilon,
                                                    plan.delta, num_records));
      plan.count_event = DpEvent{Subsampling::kNone, 1.0, z_count, 1};
      plan.count_noise_std = z_count * kHistogramSensitivity;
      fixed.push_back(*plan.count_event);
    }
    const DpEventShape steps[] = {{subsampling, std::min(q, 1.0), plan.planned_queries}};
    auto z = CalibrateNoiseMultiplier(privacy.epsilon, plan.delta, steps, {}, fixed);
    if (!z.ok()) {
      return absl::InvalidArgumentError("privacy: cannot reach epsilon " +
                                        std::to_string(privacy.epsilon) + " for a silo of " +
                                        std::to_string(num_records) + " records: " +
                                        std::string(z.status().message()));
    }
    if (extras.clip_blocks.empty()) {
      plan.oracle.noise_std_sum = *z * sensitivity;
    } else {
      // The same multiplier on every block: std_b = z k sqrt(B) clip_b (see the header). The
      // factor 1 + 1e-12 keeps the recomputed multiplier from rounding below z.
      plan.oracle.clip_blocks = extras.clip_blocks;
      const double per_block =
          *z * k * std::sqrt(static_cast<double>(extras.clip_blocks.size())) * (1.0 + 1e-12);
      for (const ClipBlock& block : extras.clip_blocks) {
        plan.oracle.block_noise_std_sum.push_back(per_block * block.clip);
      }
      plan.oracle.noise_std_sum = plan.oracle.block_noise_std_sum.front();
    }
    plan.sigma_mean = plan.oracle.noise_std_sum / expected_batch;
    plan.budget_by_epsilon = true;
  } else if (privacy.calibration == "paper") {
    if (has_extras) {
      return absl::InvalidArgumentError(
          "privacy.calibration: paper covers one jointly clipped gradient query per step only; "
          "separate block clipping (fairness.w_clip) and count releases (fairness.marginals: "
          "local) need calibration rdp");
    }
    plan.sigma_mean =
        PaperIsrlDpSigma(privacy.clip, plan.planned_queries, n, privacy.epsilon, plan.delta);
    plan.oracle.noise_std_sum = plan.sigma_mean * expected_batch;
    plan.budget_by_epsilon = false;
  } else {
    return absl::InvalidArgumentError("privacy.calibration: unknown value '" +
                                      privacy.calibration + "' (allowed: rdp, paper)");
  }
  plan.query_event =
      DpEvent{subsampling, std::min(q, 1.0), QueryNoiseMultiplier(plan.oracle), 1};
  // The closed form has no ceiling of its own: a tiny epsilon gives a noise multiplier of 1e50,
  // whose updates are noise alone and whose accounting below runs for seconds. Refuse what the
  // rdp calibration would refuse too.
  if (const double z_max = CalibrationOptions().max_noise_multiplier;
      privacy.calibration == "paper" && !(plan.query_event.noise_multiplier <= z_max)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy: epsilon ", privacy.epsilon, " with calibration paper gives a silo of ",
        num_records, " records noise multiplier ", plan.query_event.noise_multiplier,
        ", above the ", z_max, " any calibration accepts (its updates would be noise alone); "
        "raise privacy.epsilon"));
  }
  plan.max_queries = plan.planned_queries;
  if (plan.accountable) {
    const std::vector<double> orders = DefaultRdpOrders();
    FEDSILO_ASSIGN_OR_RETURN(std::vector<double> curve, ComputeRdp(plan.query_event, orders));
    plan.query_rdp = std::make_shared<const std::vector<double>>(std::move(curve));
    if (plan.count_event.has_value()) {
      FEDSILO_ASSIGN_OR_RETURN(std::vector<double> count_curve,
                               ComputeRdp(*plan.count_event, orders));
      plan.count_rdp = std::make_shared<const std::vector<double>>(std::move(count_curve));
    }
    if (plan.budget_by_epsilon) {
      // The largest k with epsilon(count release + k queries) <= target.
      FEDSILO_ASSIGN_OR_RETURN(plan.max_queries,
                               MostRepetitionsWithin(*plan.query_rdp, plan.count_rdp.get(),
                                                     plan.target_epsilon, plan.delta,
                                                     plan.planned_queries));
    }
  }
  return plan;
}

absl::StatusOr<ShuffleCalibration> PublicShuffleCalibration(const ExperimentConfig& config,
                                                            const AlgorithmSpec& spec) {
  const PrivacyExtras extras = PrivacyExtrasFor(spec, config, 0, nullptr);
  if (!extras.shuffle_min_reports.has_value()) {
    return absl::InvalidArgumentError(spec.name + " is not a per-record shuffle-model algorithm");
  }
  return CalibrateShuffleModel(config.privacy, config.algorithm, *extras.shuffle_min_reports);
}

absl::StatusOr<CentralNoisePlan> PlanCentralNoise(const ExperimentConfig& config) {
  const PrivacyConfig& privacy = config.privacy;
  const AlgorithmConfig& algorithm = config.algorithm;
  if (privacy.sampling != "poisson") {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.sampling: ", algorithm.name, " needs poisson, got ", privacy.sampling));
  }
  if (!(privacy.delta > 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "privacy.delta: ", algorithm.name, " needs an explicit delta > 0 (the server's one noise "
        "covers every silo)"));
  }
  CentralNoisePlan plan;
  plan.sampling_rate = PublicSamplingRate(privacy, algorithm.batch_size);
  const int rounds = privacy.planned_rounds > 0 ? privacy.planned_rounds : algorithm.rounds;
  const std::vector<DpEventShape> steps = {
      {Subsampling::kPoissonReplaceOne, plan.sampling_rate, rounds}};
  FEDSILO_ASSIGN_OR_RETURN(plan.noise_multiplier,
                           CalibrateNoiseMultiplier(privacy.epsilon, privacy.delta, steps));
  plan.std_on_sum = plan.noise_multiplier * privacy.clip;
  FEDSILO_ASSIGN_OR_RETURN(
      std::vector<double> rdp,
      ComputeRdp(DpEvent{Subsampling::kPoissonReplaceOne, plan.sampling_rate,
                         plan.noise_multiplier, 1},
                 DefaultRdpOrders()));
  for (double& v : rdp) v *= rounds;
  FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder spent,
                           EpsilonFromRdp(DefaultRdpOrders(), rdp, privacy.delta));
  plan.epsilon = spent.epsilon;
  return plan;
}

absl::StatusOr<SecureSumPlan> PublicSecureSumPlanFor(const ExperimentConfig& config,
                                                     const AlgorithmSpec& spec,
                                                     int num_parameters) {
  const std::shared_ptr<const SiloSetup> setup =
      spec.make_silo_setup ? spec.make_silo_setup(config.algorithm) : nullptr;
  const PrivacyExtras extras = PrivacyExtrasFor(spec, config, num_parameters, setup.get());
  if (!extras.secure_sum.has_value()) {
    return absl::InvalidArgumentError(spec.name + " is not a secure-sum algorithm");
  }
  FEDSILO_ASSIGN_OR_RETURN(const double z_count,
                           SecureSumCountNoiseMultiplier(config.privacy, extras, 0));
  return PublicSecureSumPlan(
      SecureSumSettingFor(config.privacy, config.algorithm, extras, z_count));
}

}  // namespace fedsilo
