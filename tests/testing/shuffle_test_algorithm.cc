// Linked only into `fedsilo_with_test_algorithms` (tests/CMakeLists.txt): the fedsilo command plus
// a test-only shuffle-model algorithm, so that multi-process tests can run a shuffle-model run end
// to end before any built-in algorithm is one. "test_shuffled_minibatch_sgd" is minibatch_sgd
// registered with requires_shuffler: every silo seals its report and the run needs a shuffler.
#include "common/algorithms/algorithm_registry.h"

namespace {

const bool kRegistered = [] {
  fedsilo::AlgorithmSpec spec = *fedsilo::FindAlgorithm("minibatch_sgd");
  spec.name = "test_shuffled_minibatch_sgd";
  spec.description = "test only: minibatch_sgd as a shuffle-model algorithm";
  spec.requires_shuffler = true;
  fedsilo::RegisterAlgorithm(spec);
  return true;
}();

}  // namespace
