#include "common/algorithms/fair_fermi.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"

#include "common/model/fermi_objective.h"

namespace fedsilo {

FermiCoordinator::FermiCoordinator(Weighting weighting, double server_lr, int dual_size,
                                   double w_step_ratio, double w_radius)
    : average_(weighting, server_lr),
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
  // Descent on every coordinate, as FedAvg would do ...
  FEDSILO_RETURN_IF_ERROR(average_.Aggregate(round, results, global));
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
  if (f.group_marginals.empty()) {
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

}  // namespace fedsilo
