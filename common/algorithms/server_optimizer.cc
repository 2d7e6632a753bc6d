#include "common/algorithms/server_optimizer.h"

#include <utility>

namespace fedsilo {

ServerOptimizer::ServerOptimizer(ServerOptimizerOptions options) : options_(std::move(options)) {
  // The config parser admits only these names (algorithm.server_optimizer).
  if (options_.name == "momentum") {
    kind_ = Kind::kMomentum;
  } else if (options_.name == "adam") {
    kind_ = Kind::kAdam;
  } else if (options_.name == "yogi") {
    kind_ = Kind::kYogi;
  } else {
    kind_ = Kind::kSgd;
  }
}

void ServerOptimizer::Step(const Vector& update, Vector* global) {
  const double lr = options_.lr;
  if (kind_ == Kind::kSgd) {
    global->noalias() += lr * update;
    return;
  }
  const Eigen::Index n = update.size();
  if (m_.size() != n) m_ = Vector::Zero(n);
  const double beta1 = options_.beta1;
  if (kind_ == Kind::kMomentum) {
    m_ = beta1 * m_ + update;
    global->noalias() += lr * m_;
    return;
  }
  const double beta2 = options_.beta2;
  const double tau = options_.tau;
  if (v_.size() != n) v_ = Vector::Constant(n, tau * tau);
  m_ = beta1 * m_ + (1.0 - beta1) * update;
  const auto squared = update.array().square();
  if (kind_ == Kind::kAdam) {
    v_.array() = beta2 * v_.array() + (1.0 - beta2) * squared;
  } else {
    v_.array() -= (1.0 - beta2) * squared * (v_.array() - squared).sign();
  }
  global->array() += lr * m_.array() / (v_.array().sqrt() + tau);
}

Vector ServerOptimizer::State() const {
  Vector state(m_.size() + v_.size());
  state << m_, v_;
  return state;
}

absl::Status ServerOptimizer::Restore(const Vector& state, int num_parameters) {
  const Eigen::Index n = num_parameters;
  const int blocks = kind_ == Kind::kSgd ? 0 : kind_ == Kind::kMomentum ? 1 : 2;
  if (state.size() == 0) {  // saved before the first step
    m_.resize(0);
    v_.resize(0);
    return absl::OkStatus();
  }
  if (state.size() != blocks * n) {
    return absl::InvalidArgumentError(
        "the server optimizer '" + options_.name + "' keeps " + std::to_string(blocks * n) +
        " values for " + std::to_string(n) + " parameters, the checkpoint holds " +
        std::to_string(state.size()));
  }
  m_ = state.head(n);
  v_ = blocks == 2 ? Vector(state.tail(n)) : Vector();
  return absl::OkStatus();
}

}  // namespace fedsilo
