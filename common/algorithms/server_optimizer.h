// ServerOptimizer: how a FedAvg-family coordinator moves the global parameters x along the
// round's averaged update d (the pseudo-gradient of Reddi et al. 2021, "Adaptive Federated
// Optimization", Algorithm 2; d = mean of w_local - w_global, a descent direction):
//   sgd       x += lr d                                              (FedAvg)
//   momentum  m = beta1 m + d;                         x += lr m       (FedAvgM, Hsu et al. 2019)
//   adam      m = beta1 m + (1 - beta1) d;  v = beta2 v + (1 - beta2) d^2
//             x += lr m / (sqrt(v) + tau)                            (FedAdam)
//   yogi      v = v - (1 - beta2) d^2 sign(v - d^2); otherwise as adam  (FedYogi)
// m starts at 0 and v at tau^2, with no bias correction, as in Reddi et al. The updates it reads
// are the silos' privatized ones, so any optimizer is post-processing: no privacy cost.
// State() and Restore() carry m and v through a coordinator checkpoint.
#pragma once

#include <string>

#include "common/base/eigen_types.h"
#include "common/base/status.h"

namespace fedsilo {

struct ServerOptimizerOptions {
  std::string name = "sgd";  // sgd | momentum | adam | yogi
  double lr = 1.0;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double tau = 1e-3;
};

class ServerOptimizer {
 public:
  explicit ServerOptimizer(ServerOptimizerOptions options);

  // One server step: *global += the optimizer's move along `update` (same size).
  void Step(const Vector& update, Vector* global);

  // The moments, [m] (momentum) or [m | v] (adam, yogi); empty for sgd and before the first step.
  Vector State() const;
  // Restores State() for a model of `num_parameters`; InvalidArgument when the size does not fit.
  absl::Status Restore(const Vector& state, int num_parameters);

 private:
  enum class Kind { kSgd, kMomentum, kAdam, kYogi };
  ServerOptimizerOptions options_;
  Kind kind_;
  Vector m_;
  Vector v_;
};

}  // namespace fedsilo
