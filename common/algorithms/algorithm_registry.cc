#include "common/algorithms/algorithm_registry.h"

#include <map>
#include <mutex>

#include "common/algorithms/central_dp_minibatch_sgd.h"
#include "common/algorithms/fair_fermi.h"
#include "common/algorithms/fedavg.h"
#include "common/algorithms/per_fedavg.h"
#include "common/algorithms/sdp_minibatch_sgd.h"
#include "common/algorithms/sdp_sum_minibatch_sgd.h"

namespace fedsilo {
namespace {

Weighting ParseWeighting(const std::string& name) {
  return name == "uniform" ? Weighting::kUniform : Weighting::kBySize;
}

std::unique_ptr<CoordinatorProgram> MakeFedAvgCoordinator(Weighting weighting,
                                                          const AlgorithmConfig& config) {
  return std::make_unique<FedAvgCoordinator>(weighting, ServerOptimizerOptionsFrom(config));
}

AlgorithmSpec LocalSgdSpec(std::string name, std::string description, bool dp, bool one_step) {
  AlgorithmSpec spec;
  spec.name = std::move(name);
  spec.description = std::move(description);
  spec.record_level_dp = dp;
  spec.server_optimizer = true;
  spec.proximal_term = !one_step;  // one step from w_g: the proximal term is zero
  spec.make_silo_program = [one_step](const AlgorithmConfig& config) {
    return std::make_unique<LocalSgdSiloProgram>(one_step ? 1 : config.local_steps, config.lr,
                                                 one_step ? 0.0 : config.prox_mu);
  };
  spec.make_coordinator = [](const AlgorithmConfig& config) {
    return MakeFedAvgCoordinator(ParseWeighting(config.weighting), config);
  };
  spec.queries_per_round = [one_step](const AlgorithmConfig& config) -> int64_t {
    return one_step ? 1 : config.local_steps;
  };
  return spec;
}

AlgorithmSpec PerFedAvgSpec(std::string name, std::string description, bool dp) {
  AlgorithmSpec spec;
  spec.name = std::move(name);
  spec.description = std::move(description);
  spec.record_level_dp = dp;
  spec.server_optimizer = true;
  // The factory runs after validation (config parser, PrepareExperiment); a config that skipped
  // it still gets a valid program: an unknown variant falls back to the first-order one.
  spec.make_silo_program = [](const AlgorithmConfig& config) {
    absl::StatusOr<PerFedAvgOptions> options = PerFedAvgOptionsFromConfig(config);
    return std::make_unique<PerFedAvgSiloProgram>(options.ok() ? *options : PerFedAvgOptions{});
  };
  spec.make_coordinator = [](const AlgorithmConfig& config) {
    return MakeFedAvgCoordinator(ParseWeighting(config.weighting), config);
  };
  spec.queries_per_round = [](const AlgorithmConfig& config) -> int64_t {
    return PerFedAvgQueriesPerRound(config);
  };
  spec.validate = [dp](const AlgorithmConfig& config) {
    return ValidatePerFedAvgConfig(config, dp);
  };
  return spec;
}

AlgorithmSpec FairFermiSpec(std::string name, std::string description, bool dp) {
  AlgorithmSpec spec;
  spec.name = std::move(name);
  spec.description = std::move(description);
  spec.record_level_dp = dp;
  spec.make_silo_program = [](const AlgorithmConfig& config) {
    return std::make_unique<LocalSgdSiloProgram>(1, config.lr);
  };
  spec.make_coordinator = [](const AlgorithmConfig& config) {
    // W ascends on psi itself (the W block of the sent gradient divided by lambda), so its
    // stable step size does not depend on lambda; with lambda = 0 that block is zero anyway.
    const double w_lr = config.fairness.w_lr > 0.0 ? config.fairness.w_lr : config.lr;
    const double lambda = config.fairness.lambda;
    return std::make_unique<FermiCoordinator>(
        ParseWeighting(config.weighting), config.server_lr, config.fairness.dual_size,
        lambda > 0.0 ? w_lr / (config.lr * lambda) : 0.0, config.fairness.w_radius);
  };
  spec.queries_per_round = [](const AlgorithmConfig&) -> int64_t { return 1; };
  spec.resolve_defaults = [dp](AlgorithmConfig* config) {
    if (config->fairness.marginals == "auto") config->fairness.marginals = dp ? "local" : "pooled";
  };
  spec.validate = [dp](const AlgorithmConfig& config) {
    if (dp && config.fairness.marginals == "pooled") {
      return absl::InvalidArgumentError(
          "fairness.marginals: pooled frequencies are exact statistics of every silo's records "
          "that no ledger accounts for; a private run takes local (each silo's noisy counts, "
          "charged to its budget) or public (fairness.group_marginals, known beforehand)");
    }
    return ValidateFairnessConfig(config);
  };
  spec.make_objective = [](AlgorithmConfig* config, std::unique_ptr<Model> model,
                           const Dataset& train,
                           std::span<const int> rows) -> absl::StatusOr<std::unique_ptr<Model>> {
    const int base_size = model->num_parameters();
    FEDSILO_ASSIGN_OR_RETURN(std::unique_ptr<Model> objective,
                             FermiObjectiveFor(*config, std::move(model), train, rows));
    config->fairness.dual_size = objective->num_parameters() - base_size;
    return objective;
  };
  spec.make_silo_setup = [](const AlgorithmConfig& config) { return FermiSiloSetupFor(config); };
  spec.clip_blocks = [](const AlgorithmConfig& config, int num_parameters, double clip) {
    return FermiClipBlocks(config, num_parameters, clip);
  };
  return spec;
}

// FERMI through the secure sum: the silos' noisy integer sums of block-clipped [theta | W]
// gradients, decoded by the coordinator, which then descends on theta and ascends on W.
AlgorithmSpec SdpSumFairFermiSpec() {
  AlgorithmSpec spec = FairFermiSpec(
      "sdp_sum_fair_fermi",
      "shuffle-DP FERMI by secure summation: each silo's clipped, rounded gradient sum over "
      "[theta | W] plus its share of distributed Skellam noise, in two additive shares (as "
      "sdp_sum_minibatch_sgd); the coordinator descends on theta and ascends on W",
      true);
  spec.requires_shuffler = true;
  spec.secure_sum = true;
  spec.make_silo_program = [](const AlgorithmConfig&) {
    return std::make_unique<SdpSumMinibatchSgdSiloProgram>();
  };
  spec.make_coordinator = [](const AlgorithmConfig& config) {
    const double w_lr = config.fairness.w_lr > 0.0 ? config.fairness.w_lr : config.lr;
    const double lambda = config.fairness.lambda;
    return std::make_unique<FermiCoordinator>(
        std::make_unique<SdpSumMinibatchSgdCoordinator>(
            config.lr, config.batch_size, ServerOptimizerOptions{.lr = config.server_lr},
            config.secure_sum_clip_blocks),
        config.fairness.dual_size, lambda > 0.0 ? w_lr / (config.lr * lambda) : 0.0,
        config.fairness.w_radius);
  };
  spec.reports_per_silo = [](const AlgorithmConfig&) -> int64_t { return 1; };
  return spec;
}

AlgorithmSpec SdpMinibatchSgdSpec() {
  AlgorithmSpec spec;
  spec.name = "sdp_minibatch_sgd";
  spec.description =
      "shuffle-DP minibatch SGD: each sampled record's clipped gradient becomes its own eps0-LDP "
      "report (l2-ball randomizer), sealed and mixed by a shuffler with every silo's reports";
  spec.record_level_dp = true;
  spec.requires_shuffler = true;
  spec.server_optimizer = true;
  spec.make_silo_program = [](const AlgorithmConfig& config) {
    return std::make_unique<SdpMinibatchSgdSiloProgram>(config.lr);
  };
  spec.make_coordinator = [](const AlgorithmConfig& config) {
    // Every report counts once: a record's report carries no silo weight (a weight could name it).
    return MakeFedAvgCoordinator(Weighting::kUniform, config);
  };
  spec.queries_per_round = [](const AlgorithmConfig&) -> int64_t { return 1; };
  spec.reports_per_silo = [](const AlgorithmConfig& config) -> int64_t {
    return config.batch_size;
  };
  return spec;
}

AlgorithmSpec SdpSumMinibatchSgdSpec() {
  AlgorithmSpec spec;
  spec.name = "sdp_sum_minibatch_sgd";
  spec.description =
      "shuffle-DP minibatch SGD by secure summation: each silo's clipped, rounded gradient sum "
      "plus its share of distributed Skellam noise, split into two additive shares mod 2^b, one "
      "sealed for the coordinator, one added up by the shuffler; the coordinator decodes only "
      "the round's noisy sum";
  spec.record_level_dp = true;
  spec.requires_shuffler = true;
  spec.secure_sum = true;
  spec.server_optimizer = true;
  spec.make_silo_program = [](const AlgorithmConfig&) {
    return std::make_unique<SdpSumMinibatchSgdSiloProgram>();
  };
  spec.make_coordinator = [](const AlgorithmConfig& config) {
    return std::make_unique<SdpSumMinibatchSgdCoordinator>(config.lr, config.batch_size,
                                                           ServerOptimizerOptionsFrom(config));
  };
  spec.queries_per_round = [](const AlgorithmConfig&) -> int64_t { return 1; };
  // One sealed entry (the token of the coordinator's share) per silo.
  spec.reports_per_silo = [](const AlgorithmConfig&) -> int64_t { return 1; };
  return spec;
}

AlgorithmSpec CentralDpMinibatchSgdSpec() {
  AlgorithmSpec spec;
  spec.name = "central_dp_minibatch_sgd";
  spec.description =
      "central-DP minibatch SGD, a baseline that NEEDS A TRUSTED SERVER: silos send clipped "
      "gradient sums without noise and the coordinator adds Gaussian noise to their total (thread "
      "mode only)";
  spec.trusted_server = true;
  spec.server_optimizer = true;
  spec.make_silo_program = [](const AlgorithmConfig& config) {
    return std::make_unique<LocalSgdSiloProgram>(1, config.lr);
  };
  spec.make_coordinator = [](const AlgorithmConfig& config) {
    return std::make_unique<CentralDpCoordinator>(config.lr, config.batch_size,
                                                  config.central_noise,
                                                  ServerOptimizerOptionsFrom(config));
  };
  spec.queries_per_round = [](const AlgorithmConfig&) -> int64_t { return 1; };
  return spec;
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, AlgorithmSpec> specs;
};

Registry& GetRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry;
    for (AlgorithmSpec spec : {
             LocalSgdSpec("fedavg", "FedAvg: local SGD steps, size-weighted averaging", false, false),
             LocalSgdSpec("minibatch_sgd", "minibatch SGD: one gradient step per silo per round",
                          false, true),
             LocalSgdSpec("isrl_dp_fedavg",
                          "ISRL-DP FedAvg: local SGD with per-record clipping and Gaussian noise "
                          "inside each silo (Lowy & Razaviyayn)",
                          true, false),
             LocalSgdSpec("isrl_dp_minibatch_sgd",
                          "ISRL-DP minibatch SGD: one clipped, noised gradient per silo per round",
                          true, true),
             PerFedAvgSpec("per_fedavg",
                           "Per-FedAvg (Fallah et al. 2020): MAML-style meta-steps, variant fo, hf "
                           "or exact; averaged models",
                           false),
             PerFedAvgSpec("isrl_dp_per_fedavg",
                           "ISRL-DP Per-FedAvg: every gradient query (2 per step fo, 3 hf) clipped "
                           "per record and noised inside the silo",
                           true),
             FairFermiSpec("fair_fermi",
                           "FERMI (Lowy et al.): min over the model, max over W of loss + lambda * "
                           "ERMI; one gradient over [theta | W] per silo per round",
                           false),
             FairFermiSpec("isrl_dp_fair_fermi",
                           "ISRL-DP FERMI: each record's full gradient over [theta | W] clipped "
                           "and noised inside the silo",
                           true),
             SdpSumFairFermiSpec(), SdpMinibatchSgdSpec(), SdpSumMinibatchSgdSpec(),
             CentralDpMinibatchSgdSpec()}) {
      r->specs.emplace(spec.name, std::move(spec));
    }
    return r;
  }();
  return *registry;
}

}  // namespace

void RegisterAlgorithm(AlgorithmSpec spec) {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  registry.specs[spec.name] = std::move(spec);
}

std::vector<std::string> RegisteredAlgorithmNames() {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  std::vector<std::string> names;
  for (const auto& [name, spec] : registry.specs) names.push_back(name);
  return names;
}

absl::StatusOr<AlgorithmSpec> FindAlgorithm(const std::string& name) {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  auto it = registry.specs.find(name);
  if (it == registry.specs.end()) {
    std::string known;
    for (const auto& [known_name, spec] : registry.specs) {
      known += (known.empty() ? "" : ", ") + known_name;
    }
    return absl::InvalidArgumentError("unknown algorithm '" + name + "' (known: " + known + ")");
  }
  return it->second;
}

absl::Status ValidateAlgorithmConfig(const AlgorithmSpec& spec, const AlgorithmConfig& config) {
  if (config.server_optimizer != "sgd" && !spec.server_optimizer) {
    return absl::InvalidArgumentError(
        "algorithm.server_optimizer: " + spec.name + "'s coordinator takes only sgd (the server "
        "optimizers serve FedAvg, minibatch SGD, Per-FedAvg and the shuffle model, private or "
        "not)");
  }
  if (config.prox_mu > 0.0 && !spec.proximal_term) {
    return absl::InvalidArgumentError(
        "algorithm.prox_mu: " + spec.name + " has no local proximal term (FedProx is fedavg or "
        "isrl_dp_fedavg with prox_mu > 0; one step from the global model makes the term zero)");
  }
  return spec.validate ? spec.validate(config) : absl::OkStatus();
}

ServerOptimizerOptions ServerOptimizerOptionsFrom(const AlgorithmConfig& config) {
  return ServerOptimizerOptions{.name = config.server_optimizer,
                                .lr = config.server_lr,
                                .beta1 = config.server_beta1,
                                .beta2 = config.server_beta2,
                                .tau = config.server_tau};
}

}  // namespace fedsilo
