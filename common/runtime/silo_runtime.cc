#include "common/runtime/silo_runtime.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/algorithms/count_oracle.h"
#include "common/algorithms/local_report_oracle.h"
#include "common/algorithms/secure_sum_oracle.h"
#include "common/base/binary_record.h"
#include "common/base/rng.h"
#include "common/dp/modular_shares.h"
#include "common/dp/rdp.h"
#include "common/dp/rdp_accountant.h"
#include "common/dp/skellam_noise.h"

namespace fedsilo {

namespace {

const std::vector<double>& Orders() {
  static const std::vector<double>* const orders = new std::vector<double>(DefaultRdpOrders());
  return *orders;
}

bool SameShape(const DpEvent& a, const DpEvent& b) {
  return a.subsampling == b.subsampling && a.sampling_rate == b.sampling_rate &&
         a.noise_multiplier == b.noise_multiplier;
}

}  // namespace

uint64_t DigestOf(const Vector& values) {
  return Fnv1a64(values.data(), sizeof(double) * static_cast<size_t>(values.size()));
}

SiloJournal SiloRuntime::Journal() const {
  SiloJournal journal;
  journal.ledger = ledger_.events();
  journal.shuffled_rounds = shuffle_ledger_ ? shuffle_ledger_->rounds() : secure_sum_rounds_;
  journal.last_round = last_round_;
  journal.last_global_digest = last_digest_;
  journal.has_last_update = last_update_.has_value();
  if (last_update_) journal.last_update = *last_update_;
  return journal;
}

absl::Status SiloRuntime::Restore(const SiloJournal& journal) {
  if (ledger_.num_queries() > 0 || last_round_ > 0) {
    return absl::FailedPreconditionError("a silo restores its journal before its first task");
  }
  for (const DpEvent& event : journal.ledger) ledger_.Record(event);
  FEDSILO_RETURN_IF_ERROR(AccountNewEvents());
  if (journal.shuffled_rounds > 0 && options_.privacy.secure_sum) {
    if (journal.shuffled_rounds > options_.privacy.secure_sum->max_rounds) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the journal records ", journal.shuffled_rounds, " secure-sum rounds, more than this "
          "silo's budget allows (", options_.privacy.secure_sum->max_rounds, ")"));
    }
    secure_sum_rounds_ = journal.shuffled_rounds;
  } else if (journal.shuffled_rounds > 0) {
    if (!shuffle_ledger_) {
      return absl::FailedPreconditionError(
          "the journal records shuffled rounds, but this silo does not run a shuffle-model plan");
    }
    for (int64_t round = 0; round < journal.shuffled_rounds; ++round) {
      if (absl::Status charged = shuffle_ledger_->Charge(options_.privacy.shuffle->round_event);
          !charged.ok()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the journal records ", journal.shuffled_rounds,
            " shuffled rounds, more than this silo's budget allows: ", charged.message()));
      }
    }
  }
  last_round_ = journal.last_round;
  last_digest_ = journal.last_global_digest;
  if (journal.has_last_update) last_update_ = journal.last_update;
  return absl::OkStatus();
}

SiloRuntime::SiloRuntime(SiloRuntimeOptions options) : options_(std::move(options)) {
  const SiloPrivacyPlan& plan = options_.privacy;
  if (plan.record_level_dp && plan.accountable) spent_rdp_.assign(Orders().size(), 0.0);
  if (plan.record_level_dp) {
    // An invalid delta leaves it empty: EpsilonOf then reports the error.
    if (auto converter = EpsilonConverter::Create(Orders(), plan.delta); converter.ok()) {
      epsilon_ = *std::move(converter);
    }
  }
  if (plan.secure_sum) PrepareSkellamNoise(plan.secure_sum->sum.share_variance);
  if (plan.shuffle) {
    // The budget was validated when the plan was made.
    shuffle_ledger_ = std::move(ShuffleLedger::Create(plan.shuffle->budget)).value();
  }
}

absl::StatusOr<EpsilonAndOrder> SiloRuntime::EpsilonOf(std::span<const double> rdp,
                                                       double scale) const {
  if (!epsilon_) {
    std::vector<double> scaled(rdp.begin(), rdp.end());
    for (double& v : scaled) v *= scale;
    return EpsilonFromRdp(Orders(), scaled, options_.privacy.delta);
  }
  return epsilon_->Epsilon(rdp, scale);
}

double SiloRuntime::spent_epsilon() const {
  const SiloPrivacyPlan& plan = options_.privacy;
  if (!plan.record_level_dp) return 0.0;
  if (shuffle_ledger_) return shuffle_ledger_->spent().epsilon;
  if (plan.secure_sum) {
    // The rounds, plus what the silo's setup spent (its count release) when it spent any; the
    // setup runs before the first round, so the memo by rounds stays valid.
    const bool setup_spent =
        std::any_of(spent_rdp_.begin(), spent_rdp_.end(), [](double v) { return v > 0.0; });
    if (secure_sum_rounds_ == 0 && !setup_spent) return 0.0;
    if (!secure_sum_epsilon_ || secure_sum_epsilon_->first != secure_sum_rounds_) {
      const std::vector<double>& round = *plan.secure_sum->round_rdp;
      const auto rounds = static_cast<double>(secure_sum_rounds_);
      std::vector<double> spent = spent_rdp_;
      for (size_t i = 0; i < spent.size(); ++i) spent[i] += rounds * round[i];
      auto epsilon = setup_spent ? EpsilonOf(spent) : EpsilonOf(round, rounds);
      secure_sum_epsilon_.emplace(secure_sum_rounds_,
                                  epsilon.ok() ? epsilon->epsilon
                                               : std::numeric_limits<double>::infinity());
    }
    return secure_sum_epsilon_->second;
  }
  if (!plan.accountable) return std::numeric_limits<double>::quiet_NaN();
  if (ledger_.num_queries() == 0) return 0.0;
  auto spent = EpsilonOf(SpentRdp(0));
  return spent.ok() ? spent->epsilon : std::numeric_limits<double>::infinity();
}

SiloPrivacyReport SiloRuntime::PrivacyReport() const {
  const SiloPrivacyPlan& plan = options_.privacy;
  SiloPrivacyReport report;
  report.known = true;
  report.record_level_dp = plan.record_level_dp;
  report.train_records = num_records();
  report.noise_multiplier = plan.query_event.noise_multiplier;
  report.sigma_mean = plan.sigma_mean;
  report.noisy_queries = ledger_.num_queries();
  report.epsilon = plan.record_level_dp ? spent_epsilon() : std::numeric_limits<double>::infinity();
  report.delta = plan.delta;
  report.reproducible_noise = options_.reproducible_noise;
  if (plan.record_level_dp) {
    report.target_epsilon = plan.target_epsilon;
    report.clip = plan.oracle.clip;
    report.sampling_rate = plan.query_event.sampling_rate;
  }
  if (shuffle_ledger_) {  // no Gaussian noise: its fields do not apply
    report.noise_multiplier = std::numeric_limits<double>::quiet_NaN();
    report.sigma_mean = std::numeric_limits<double>::quiet_NaN();
    report.noisy_queries = shuffle_ledger_->rounds();
    report.eps0 = plan.shuffle->calibration.eps0;
    report.clip = plan.shuffle->randomizer->clip();
    report.min_shuffled_reports = plan.shuffle->calibration.min_reports;
  }
  if (plan.secure_sum) {  // no Gaussian noise either; the shuffler checks the share counts
    const SecureSumPlan& sum = plan.secure_sum->sum;
    report.noise_multiplier = std::numeric_limits<double>::quiet_NaN();
    report.sigma_mean = std::numeric_limits<double>::quiet_NaN();
    report.noisy_queries = secure_sum_rounds_;
    report.sampling_rate = plan.secure_sum->sampling_rate;
    report.secure_sum = true;
    report.min_shuffled_reports = sum.min_honest_silos;  // one token per silo
  }
  return report;
}

absl::Status SiloRuntime::CanServeAnotherRound() const {
  if (options_.privacy.shuffle) {  // a trial charge on a copy of the shuffle ledger
    ShuffleLedger trial = *shuffle_ledger_;
    return trial.Charge(options_.privacy.shuffle->round_event);
  }
  if (options_.privacy.secure_sum) return CheckSecureSumBudget(last_round_ + 1);
  if (!options_.privacy.oracle.record_level_dp) return absl::OkStatus();
  return CheckBudget(SiloTask{last_round_ + 1, options_.silo_id, nullptr});
}

absl::Status SiloRuntime::CheckBudget(const SiloTask& task) const {
  const SiloPrivacyPlan& plan = options_.privacy;
  const auto who = [&] {  // built only for a refusal: this runs on every task
    return "silo " + std::to_string(options_.silo_id) + " refuses round " +
           std::to_string(task.round) + ": ";
  };
  const int64_t after = gradient_queries_ + plan.queries_per_round;
  if (plan.budget_by_epsilon && only_plan_events_) {
    if (after > plan.max_queries) {
      return absl::ResourceExhaustedError(
          absl::StrCat(who(), "its privacy budget would be exceeded (epsilon ",
                       plan.target_epsilon, " at delta ", plan.delta, " allows ",
                       plan.max_queries, " noisy gradient queries",
                       plan.count_event ? " after its count release" : "", "; it has made ",
                       gradient_queries_, ")"));
    }
  } else if (plan.budget_by_epsilon) {
    FEDSILO_ASSIGN_OR_RETURN(
        EpsilonAndOrder after,
        EpsilonOf(SpentRdp(plan.queries_per_round)));
    if (after.epsilon > plan.target_epsilon * (1.0 + 1e-9)) {
      return absl::ResourceExhaustedError(
          absl::StrCat(who(), "its privacy budget would be exceeded (epsilon ", after.epsilon,
                       " > budget ", plan.target_epsilon, " at delta ", plan.delta, ")"));
    }
  } else if (after > plan.planned_queries) {
    return absl::ResourceExhaustedError(
        who() + "it has made " + std::to_string(gradient_queries_) +
        " noisy queries and its closed-form calibration covers " +
        std::to_string(plan.planned_queries));
  }
  return absl::OkStatus();
}

absl::Status SiloRuntime::CheckSecureSumBudget(int round) const {
  const SecureSumSiloPlan& plan = *options_.privacy.secure_sum;
  if (secure_sum_rounds_ + 1 > plan.max_rounds) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "silo ", options_.silo_id, " refuses round ", round,
        ": its privacy budget would be exceeded (epsilon ", options_.privacy.target_epsilon,
        " at delta ", options_.privacy.delta, " allows ", plan.max_rounds,
        " secure-sum rounds; it has served ", secure_sum_rounds_, ")"));
  }
  return absl::OkStatus();
}

absl::Status SiloRuntime::AccountNewEvents() {
  const SiloPrivacyPlan& plan = options_.privacy;
  ledger_.TakeUnaccounted(&new_events_);
  const std::vector<DpEvent>& events = new_events_;
  for (const DpEvent& event : events) {
    if (NeighboursOf(event.subsampling) == Neighbours::kAddRemoveOne) {
      // A silo releases its size: an add/remove-one curve would understate what it spent.
      return absl::FailedPreconditionError(
          "a silo's ledger holds an add/remove-one event, but a silo releases its record count, "
          "so only replace-one events can be accounted for it");
    }
  }
  for (const DpEvent& event : events) {
    if (SameShape(event, plan.query_event)) {
      gradient_queries_ += event.count;
    } else if (plan.count_event && SameShape(event, *plan.count_event)) {
      count_releases_ += event.count;
      if (count_releases_ > 1) only_plan_events_ = false;
    } else {
      only_plan_events_ = false;
    }
  }
  if (!plan.accountable || events.empty()) return absl::OkStatus();
  for (const DpEvent& event : events) {
    const std::vector<double>* curve = nullptr;
    std::vector<double> other;
    if (SameShape(event, plan.query_event)) {
      continue;  // counted in gradient_queries_ (SpentRdp)
    } else if (plan.count_event && plan.count_rdp && SameShape(event, *plan.count_event)) {
      curve = plan.count_rdp.get();
    } else {
      FEDSILO_ASSIGN_OR_RETURN(other, ComputeRdp(event, Orders()));
      curve = &other;
    }
    for (size_t i = 0; i < spent_rdp_.size(); ++i) {
      spent_rdp_[i] += static_cast<double>(event.count) * (*curve)[i];
    }
  }
  return absl::OkStatus();
}

std::vector<double> SiloRuntime::SpentRdp(int64_t more_queries) const {
  std::vector<double> spent = spent_rdp_;
  const double queries = static_cast<double>(gradient_queries_ + more_queries);
  if (queries > 0.0) {
    const std::vector<double>& per_query = *options_.privacy.query_rdp;
    for (size_t i = 0; i < spent.size(); ++i) spent[i] += queries * per_query[i];
  }
  return spent;
}

absl::Status SiloRuntime::CheckCountBudget() const {
  const SiloPrivacyPlan& plan = options_.privacy;
  const std::string who =
      "silo " + std::to_string(options_.silo_id) + " refuses its count release: ";
  if (!plan.count_event.has_value() || !plan.count_rdp || !plan.accountable) {
    return absl::FailedPreconditionError(
        who + "its privacy plan reserves no budget for it (privacy.calibration rdp plans one)");
  }
  std::vector<double> trial = SpentRdp(0);
  for (size_t i = 0; i < trial.size(); ++i) trial[i] += (*plan.count_rdp)[i];
  FEDSILO_ASSIGN_OR_RETURN(EpsilonAndOrder after, EpsilonOf(trial));
  if (after.epsilon > plan.target_epsilon * (1.0 + 1e-9)) {
    return absl::ResourceExhaustedError(absl::StrCat(
        who, "it would spend epsilon ", after.epsilon, " > budget ", plan.target_epsilon,
        " at delta ", plan.delta, " (count noise multiplier ", plan.count_event->noise_multiplier,
        ")"));
  }
  return absl::OkStatus();
}

absl::Status SiloRuntime::Setup() {
  const std::string who = "silo " + std::to_string(options_.silo_id);
  if (set_up_) return absl::FailedPreconditionError(who + " is already set up");
  if (options_.setup == nullptr) {
    set_up_ = true;
    return absl::OkStatus();
  }
  const SiloPrivacyPlan& plan = options_.privacy;
  Rng noise_rng(DeriveSeed(options_.private_seed, "setup-noise"));
  std::unique_ptr<CountOracle> counts;
  if (options_.setup->count_release().has_value()) {
    if (plan.record_level_dp) {
      FEDSILO_RETURN_IF_ERROR(CheckCountBudget());
      counts = std::make_unique<DpCountOracle>(
          options_.train_rows, plan.count_event->noise_multiplier, &noise_rng, &ledger_);
    } else {
      counts = std::make_unique<ExactCountOracle>(options_.train_rows);
    }
  }
  const SiloSetupContext context{options_.silo_id, options_.model, options_.data,
                                 options_.train_rows, counts.get()};
  absl::StatusOr<std::unique_ptr<Model>> model = options_.setup->Run(context);
  // Whatever happened, the noise that was drawn is spent: account for it.
  FEDSILO_RETURN_IF_ERROR(AccountNewEvents());
  if (!model.ok()) return model.status();
  if (*model == nullptr || (*model)->num_parameters() != options_.model->num_parameters()) {
    return absl::FailedPreconditionError(
        who + ": its setup built a model whose parameters differ from the shared objective's");
  }
  own_model_ = std::move(*model);
  set_up_ = true;
  return absl::OkStatus();
}

absl::StatusOr<SiloUpdate> SiloRuntime::Handle(const SiloTask& task) {
  if (task.silo_id != options_.silo_id) {
    return absl::InvalidArgumentError("task for silo " + std::to_string(task.silo_id) +
                                      " delivered to silo " + std::to_string(options_.silo_id));
  }
  if (task.global == nullptr || task.global->size() != model().num_parameters()) {
    return absl::InvalidArgumentError("silo " + std::to_string(options_.silo_id) +
                                      ": task has a parameter vector of the wrong size");
  }
  if (options_.setup != nullptr && !set_up_) {
    return absl::FailedPreconditionError("silo " + std::to_string(options_.silo_id) +
                                         " has not run its setup (SiloRuntime::Setup)");
  }
  // Only a silo that keeps its last answer can re-send it, so only it needs the digest.
  const uint64_t digest = options_.keep_last_answer ? DigestOf(*task.global) : 0;
  if (task.round <= last_round_) {
    if (task.round == last_round_ && digest == last_digest_ && last_update_) return *last_update_;
    return absl::FailedPreconditionError(absl::StrCat(
        "silo ", options_.silo_id, " refuses round ", task.round, ": it has already answered round ",
        last_round_, task.round == last_round_ ? " at other parameters" : "",
        "; a silo never answers a round twice (that would reuse the round's noise)"));
  }
  Rng sampling_rng(DeriveSeed(options_.private_seed, "batch", static_cast<uint64_t>(task.round)));
  Rng noise_rng(DeriveSeed(options_.private_seed, "noise", static_cast<uint64_t>(task.round)));
  const OracleData source{&model(), options_.data, options_.train_rows};
  const OracleSettings& settings = options_.privacy.oracle;
  std::unique_ptr<GradientOracle> oracle;
  const std::optional<ShufflePlan>& shuffle = options_.privacy.shuffle;
  const std::optional<SecureSumSiloPlan>& secure_sum = options_.privacy.secure_sum;
  if (secure_sum) {
    const SecureSumOracleSettings sum_settings{
        settings.batch_size,           settings.clip,        secure_sum->sum.params,
        secure_sum->sum.range,         secure_sum->sum.share_variance, settings.clip_blocks};
    oracle = std::make_unique<SecureSumOracle>(source, sum_settings, &sampling_rng, &noise_rng);
  } else if (shuffle) {
    oracle = std::make_unique<LocalReportOracle>(source, settings.batch_size,
                                                 shuffle->randomizer.get(), &sampling_rng,
                                                 &noise_rng);
  } else if (settings.record_level_dp) {
    oracle = std::make_unique<DpGradientOracle>(source, settings, &sampling_rng, &noise_rng,
                                                &ledger_);
  } else {
    oracle = std::make_unique<PlainGradientOracle>(source, settings, &sampling_rng);
  }
  if (shuffle) {
    // Charged before anything is drawn; nothing is recorded when the round would not fit.
    if (absl::Status charged = shuffle_ledger_->Charge(shuffle->round_event); !charged.ok()) {
      return absl::Status(charged.code(),
                          absl::StrCat("silo ", options_.silo_id, " refuses round ", task.round,
                                       ": ", charged.message()));
    }
  } else if (secure_sum) {
    // A secure sum leaves only split, and only a session with the coordinator can split it.
    if (!options_.seal_for) {
      return absl::FailedPreconditionError(absl::StrCat(
          "silo ", options_.silo_id, " refuses round ", task.round,
          ": a secure-sum silo needs the coordinator's public key to split its sum"));
    }
    // Counted before anything is drawn; nothing is counted when the round would not fit.
    FEDSILO_RETURN_IF_ERROR(CheckSecureSumBudget(task.round));
    ++secure_sum_rounds_;
  } else if (settings.record_level_dp) {
    FEDSILO_RETURN_IF_ERROR(CheckBudget(task));
  }
  // From here on this round's noise may be drawn: the round counts as answered, even if the
  // program fails.
  last_round_ = task.round;
  last_digest_ = digest;
  last_update_.reset();
  SiloContext context{options_.silo_id, &model(), oracle.get(), options_.weight};
  absl::StatusOr<SiloUpdate> update = options_.program->Train(task, context);
  // Whatever happened, the noise that was drawn is spent: account for it.
  FEDSILO_RETURN_IF_ERROR(AccountNewEvents());
  if (update.ok() && !update->sum_shares.empty() && !options_.seal_for) {
    return absl::InternalError("a secure sum reached a silo that cannot split it; nothing is sent");
  }
  if (update.ok() && options_.seal_for) {
    std::vector<ReportPayload> payloads;
    if (!update->sum_shares.empty()) {
      // The program's one entry is the silo's noisy sum: the coordinator's share is a mask
      // derived in the silo's session (only its token leaves), the shuffler's is the rest.
      if (update->sum_shares.size() != 1) {
        return absl::InternalError("a secure-sum program must hand over exactly one noisy sum");
      }
      if (!session_) {
        absl::StatusOr<SealingSession> session = SealingSession::Create(*options_.seal_for);
        if (!session.ok()) return session.status();
        session_.emplace(std::move(session).value());
      }
      SumShare& sum = update->sum_shares.front();
      FEDSILO_ASSIGN_OR_RETURN(DerivedShare coordinator,
                               session_->DeriveCoordinatorShare(update->round, sum));
      FEDSILO_RETURN_IF_ERROR(SubtractShare(sum.values, coordinator.values, sum.bits));
      update->sealed.push_back(std::move(coordinator.token));
    } else if (!update->reports.empty()) {
      // One sealed report per record report, or one for the update.
      for (Vector& report : update->reports) payloads.push_back({update->round, 1.0, std::move(report)});
    } else {
      payloads.push_back({update->round, update->weight, std::move(update->delta)});
    }
    update->delta = Vector();
    update->reports.clear();
    update->weight = 1.0;
    for (const ReportPayload& payload : payloads) {
      absl::StatusOr<SealedReport> sealed = SealReport(payload, *options_.seal_for);
      if (!sealed.ok()) return sealed.status();
      update->sealed.push_back(std::move(sealed).value());
    }
  }
  if (update.ok() && options_.keep_last_answer) last_update_ = *update;
  if (options_.privacy.secure_sum) spent_epsilon();  // converted now, read after the round
  return update;
}

}  // namespace fedsilo
