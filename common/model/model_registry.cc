#include "common/model/model_registry.h"

#include <map>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/model/logistic_model.h"
#include "common/model/mlp_model.h"
#include "common/model/softmax_model.h"

namespace fedsilo {
namespace {

absl::StatusOr<std::unique_ptr<Model>> MakeLogistic(const ModelConfig& config, int input_dim,
                                                    int num_classes) {
  if (num_classes != 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "logistic model is binary but the task has ", num_classes,
        " classes; use type softmax or mlp for multiclass tasks"));
  }
  FEDSILO_ASSIGN_OR_RETURN(auto model, LogisticModel::Create(input_dim, config.init_scale));
  return std::unique_ptr<Model>(std::move(model));
}

absl::StatusOr<std::unique_ptr<Model>> MakeSoftmax(const ModelConfig& config, int input_dim,
                                                   int num_classes) {
  FEDSILO_ASSIGN_OR_RETURN(auto model,
                           SoftmaxModel::Create(input_dim, num_classes, config.init_scale));
  return std::unique_ptr<Model>(std::move(model));
}

absl::StatusOr<std::unique_ptr<Model>> MakeMlp(const ModelConfig& config, int input_dim,
                                               int num_classes) {
  FEDSILO_ASSIGN_OR_RETURN(const MlpModel::Activation activation,
                           MlpModel::ParseActivation(config.activation));
  FEDSILO_ASSIGN_OR_RETURN(auto model, MlpModel::Create(input_dim, config.hidden, activation,
                                                        num_classes, config.init_scale));
  return std::unique_ptr<Model>(std::move(model));
}

// Filled with the built-ins on first use: no static initialisers, so nothing depends on which
// objects of the static library the linker keeps.
struct Registry {
  std::mutex mu;
  std::map<std::string, ModelFactory> factories;

  Registry() {
    factories["logistic"] = MakeLogistic;
    factories["softmax"] = MakeSoftmax;
    factories["mlp"] = MakeMlp;
  }
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();  // never destroyed: safe during static teardown
  return *registry;
}

}  // namespace

void RegisterModel(const std::string& name, ModelFactory factory) {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  registry.factories[name] = std::move(factory);
}

absl::StatusOr<std::unique_ptr<Model>> MakeModel(const ModelConfig& config, int input_dim,
                                                 int num_classes) {
  ModelFactory factory;
  {
    Registry& registry = GetRegistry();
    std::lock_guard<std::mutex> lock(registry.mu);
    auto it = registry.factories.find(config.type);
    if (it == registry.factories.end() || !it->second) {
      std::vector<std::string> names;
      for (const auto& [name, unused] : registry.factories) names.push_back(name);
      return absl::InvalidArgumentError(absl::StrCat("unknown model type '", config.type,
                                                     "'; registered: ",
                                                     absl::StrJoin(names, ", ")));
    }
    factory = it->second;  // call outside the lock: a factory may itself use the registry
  }
  if (input_dim <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("model '", config.type,
                                                   "': input dimension must be positive, got ",
                                                   input_dim));
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model '", config.type, "': needs at least 2 classes, got ", num_classes));
  }
  auto model = factory(config, input_dim, num_classes);
  if (model.ok() && *model == nullptr) {
    return absl::InternalError(
        absl::StrCat("model factory '", config.type, "' returned a null model"));
  }
  return model;
}

std::vector<std::string> RegisteredModelNames() {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  std::vector<std::string> names;
  names.reserve(registry.factories.size());
  for (const auto& [name, unused] : registry.factories) names.push_back(name);
  return names;  // std::map: already sorted
}

}  // namespace fedsilo
