// IterateAverage: the run's output model when `algorithm.average_last` is K > 0 — the mean of the
// global models after each of the last K rounds (tail averaging, Polyak and Juditsky 1992), rather
// than the last iterate. It reads only the global models the coordinator already holds, so it is
// post-processing of privatized updates: the privacy accounting does not change. Noisy training,
// and min-max training such as FERMI's above all, moves the last iterate around; the mean does not
// follow each step.
// The mean is kept as a running mean (m += (w - m) / k), which a coordinator checkpoint carries
// (with k), so a resumed run ends with the same output bit for bit. Not thread-safe.
#pragma once

#include "common/base/eigen_types.h"

namespace fedsilo {

class IterateAverage {
 public:
  // Averages the models after rounds first_round .. (any later round); first_round = rounds -
  // K + 1 for the last K of `rounds`. K = 0 averages nothing: the output is the last iterate.
  static IterateAverage ForLastRounds(int rounds, int last);

  // Folds in the global model after `round` when the round is in the averaged tail.
  void AfterRound(int round, const Vector& global);
  // The output: the mean so far once a round was averaged, else `global`.
  const Vector& Output(const Vector& global) const { return count_ > 0 ? mean_ : global; }

  int count() const { return count_; }
  const Vector& mean() const { return mean_; }
  // Continues from a checkpoint's mean of `count` models (count 0: nothing averaged yet).
  void Restore(Vector mean, int count);

 private:
  int first_round_ = 0;  // 0 = never average
  int count_ = 0;
  Vector mean_;
};

}  // namespace fedsilo
