#include "common/algorithms/fair_fermi.h"

#include <cmath>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

#include "common/model/fermi_objective.h"

namespace fedsilo {

FermiCoordinator::FermiCoordinator(Weighting weighting, double server_lr, int dual_size,
                                   double w_step_ratio, double w_radius)
    : FermiCoordinator(std::make_unique<FedAvgCoordinator>(weighting, server_lr), dual_size,
                       w_step_ratio, w_radius) {}

FermiCoordinator::FermiCoordinator(std::unique_ptr<CoordinatorProgram> descent, int dual_size,
                                   double w_step_ratio, double w_radius)
    : descent_(std::move(descent)),
      dual_size_(dual_size),
      w_step_ratio_(w_step_ratio),
      w_radius_(w_radius) {}

absl::Status FermiCoordinator::Aggregate(int round, const RoundResults& results, Vector* global) {
  if (dual_size_ <= 0 || dual_size_ > global->size()) {
    return absl::FailedPreconditionError(
        absl::StrCat("fair_fermi: dual block of ", dual_size_, " values in a parameter vector of ",
                     global->size()));
  }
  const Vector w_before = global->tail(dual_size_);
  // Descent on every coordinate, as FedAvg (or the secure sum) would do ...
  FEDSILO_RETURN_IF_ERROR(descent_->Aggregate(round, results, global));
  // ... then W's step is turned into an ascent step of its own size, and projected.
  const Vector descent = global->tail(dual_size_) - w_before;
  Vector w = w_before - w_step_ratio_ * descent;
  const double norm = w.norm();
  if (norm > w_radius_) w *= w_radius_ / norm;
  global->tail(dual_size_) = w;
  return absl::OkStatus();
}

absl::Status ValidateFairnessConfig(const AlgorithmConfig& config) {
  const FairnessConfig& f = config.fairness;
  if (!ParseFairnessNotion(f.notion).ok()) {
    return absl::InvalidArgumentError(
        "fairness.notion: must be demographic_parity, equalized_odds or equal_opportunity, got '" +
        f.notion + "'");
  }
  if (!(f.lambda >= 0.0) || !std::isfinite(f.lambda)) {
    return absl::InvalidArgumentError("fairness.lambda: must be finite and >= 0");
  }
  if (!(f.w_radius > 0.0)) return absl::InvalidArgumentError("fairness.w_radius: must be > 0");
  if (!(f.w_lr >= 0.0)) return absl::InvalidArgumentError("fairness.w_lr: must be >= 0");
  if (!(f.w_clip >= 0.0)) {
    return absl::InvalidArgumentError("fairness.w_clip: must be >= 0 (0 = one joint clip)");
  }
  if (f.marginals != "auto" && f.marginals != "pooled" && f.marginals != "public" &&
      f.marginals != "local") {
    return absl::InvalidArgumentError(
        "fairness.marginals: must be auto, pooled, public or local, got '" + f.marginals + "'");
  }
  if (f.marginals == "public" && f.group_marginals.empty()) {
    return absl::InvalidArgumentError(
        "fairness.marginals: public needs fairness.group_marginals (the public frequencies)");
  }
  if (f.marginals != "public" && !f.group_marginals.empty()) {
    return absl::InvalidArgumentError("fairness.group_marginals is given but fairness.marginals "
                                      "is '" + f.marginals + "': set fairness.marginals: public");
  }
  if (!(f.marginals_epsilon_fraction > 0.0 && f.marginals_epsilon_fraction < 1.0)) {
    return absl::InvalidArgumentError("fairness.marginals_epsilon_fraction: must be in (0, 1)");
  }
  if (!(f.marginals_noise_multiplier >= 0.0) || !std::isfinite(f.marginals_noise_multiplier)) {
    return absl::InvalidArgumentError(
        "fairness.marginals_noise_multiplier: must be finite and >= 0 (0 = from "
        "marginals_epsilon_fraction)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Model>> FermiObjectiveFor(const AlgorithmConfig& config,
                                                         std::unique_ptr<Model> base,
                                                         const Dataset& train,
                                                         std::span<const int> train_rows) {
  FEDSILO_RETURN_IF_ERROR(ValidateFairnessConfig(config));
  const FairnessConfig& f = config.fairness;
  FermiOptions options;
  FEDSILO_ASSIGN_OR_RETURN(options.notion, ParseFairnessNotion(f.notion));
  options.lambda = f.lambda;
  options.num_groups = train.num_groups;
  if (f.marginals != "public") {  // pooled; local: the silos replace them (FermiSiloSetup)
    FEDSILO_ASSIGN_OR_RETURN(options.group_marginals,
                             EmpiricalGroupMarginals(train, train_rows, options.notion));
  } else {
    if (!train.has_groups()) {
      return absl::InvalidArgumentError(
          "fairness: the dataset has no sensitive attribute (set data.sensitive)");
    }
    const int blocks = FermiNumBlocks(options.notion, base->num_classes());
    const int k = train.num_groups;
    if (static_cast<int>(f.group_marginals.size()) != blocks * k) {
      return absl::InvalidArgumentError(absl::StrCat(
          "fairness.group_marginals: expected ", blocks * k, " values (", blocks, " block(s) x ",
          k, " groups, row by row), got ", f.group_marginals.size()));
    }
    options.group_marginals.resize(blocks, k);
    for (int b = 0; b < blocks; ++b) {
      for (int j = 0; j < k; ++j) {
        options.group_marginals(b, j) = f.group_marginals[static_cast<size_t>(b * k + j)];
      }
    }
  }
  FEDSILO_ASSIGN_OR_RETURN(std::unique_ptr<FermiObjective> objective,
                           FermiObjective::Create(std::move(base), std::move(options)));
  return std::unique_ptr<Model>(std::move(objective));
}

absl::StatusOr<std::unique_ptr<Model>> FermiSiloSetup::Run(const SiloSetupContext& context) const {
  const auto* shared = dynamic_cast<const FermiObjective*>(context.shared_model);
  if (shared == nullptr) {
    return absl::FailedPreconditionError(
        "fairness.marginals: local: the silo's shared model is not a FERMI objective");
  }
  if (context.counts == nullptr || context.data == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "silo ", context.silo_id, ": fairness.marginals: local needs the silo's count oracle"));
  }
  const FermiOptions& options = shared->options();
  const int k = options.num_groups;
  const int blocks = shared->num_blocks();
  const Dataset& data = *context.data;
  if (!data.has_groups()) {
    return absl::FailedPreconditionError("fairness: the silo's records carry no group");
  }
  Vector counts;
  FEDSILO_RETURN_IF_ERROR(context.counts->Release(
      [&](int row) {
        const int group = data.group[static_cast<size_t>(row)];
        if (group < 0 || group >= k) return k * blocks;  // refused by the oracle (out of range)
        return FermiCountCell(options.notion, data.y[static_cast<size_t>(row)], group, k);
      },
      blocks * k, &counts));
  // Noisy counts below one record are meaningless (and may be negative): raise them to 1.
  const double min_count = context.counts->noise_std() > 0.0 ? 1.0 : 0.0;
  FEDSILO_ASSIGN_OR_RETURN(std::unique_ptr<FermiObjective> own,
                           shared->WithMarginals(MarginalsFromCounts(counts, blocks, k, min_count)));
  return std::unique_ptr<Model>(std::move(own));
}

std::string FermiMarginalsDescription(const FairnessConfig& fairness, bool record_level_dp) {
  if (fairness.marginals == "public") return "public, from the config";
  if (fairness.marginals == "local") {
    return record_level_dp ? "each silo's own Gaussian noisy group counts (charged to its ledger)"
                           : "each silo's own exact group counts (not private)";
  }
  return "pooled training frequencies (public)";
}

std::shared_ptr<const SiloSetup> FermiSiloSetupFor(const AlgorithmConfig& config) {
  if (config.fairness.marginals != "local") return nullptr;
  CountReleaseBudget budget;
  budget.epsilon_fraction = config.fairness.marginals_epsilon_fraction;
  budget.noise_multiplier = config.fairness.marginals_noise_multiplier;
  return std::make_shared<FermiSiloSetup>(budget);
}

std::vector<ClipBlock> FermiClipBlocks(const AlgorithmConfig& config, int num_parameters,
                                       double clip) {
  const FairnessConfig& f = config.fairness;
  if (!(f.w_clip > 0.0) || f.lambda == 0.0 || f.dual_size <= 0 || f.dual_size >= num_parameters) {
    return {};
  }
  // w_clip bounds the W block of psi's gradient: the W block of loss + lambda psi is lambda times it.
  return {ClipBlock{num_parameters - f.dual_size, clip},
          ClipBlock{f.dual_size, f.lambda * f.w_clip}};
}

}  // namespace fedsilo
