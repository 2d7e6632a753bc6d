// ModelRegistry: builds a Model from its config by name. The extension point for users' models.
//
// Built-in names: logistic, softmax, mlp. A user registers a factory once at start-up
// (RegisterModel("my_model", factory)) before any run; lookups are thread-safe afterwards.
// Unknown names and impossible shapes come back as InvalidArgument naming the problem.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/model/model.h"

namespace fedsilo {

struct ModelConfig {
  std::string type = "logistic";   // logistic | softmax | mlp | a registered name
  std::vector<int> hidden;         // mlp hidden layer widths
  std::string activation = "relu"; // mlp: relu | elu | tanh | sigmoid
  double init_scale = 0.0;         // 0: model default (zeros for linear models, He/Glorot for mlp)
};

using ModelFactory = std::function<absl::StatusOr<std::unique_ptr<Model>>(
    const ModelConfig& config, int input_dim, int num_classes)>;

// Registers (or replaces) a factory under `name`.
void RegisterModel(const std::string& name, ModelFactory factory);

absl::StatusOr<std::unique_ptr<Model>> MakeModel(const ModelConfig& config, int input_dim,
                                                 int num_classes);

std::vector<std::string> RegisteredModelNames();

}  // namespace fedsilo
