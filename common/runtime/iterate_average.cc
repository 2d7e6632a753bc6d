#include "common/runtime/iterate_average.h"

#include <utility>

namespace fedsilo {

IterateAverage IterateAverage::ForLastRounds(int rounds, int last) {
  IterateAverage average;
  average.first_round_ = last > 0 ? rounds - last + 1 : 0;
  return average;
}

void IterateAverage::AfterRound(int round, const Vector& global) {
  if (first_round_ <= 0 || round < first_round_) return;
  ++count_;
  if (count_ == 1) {
    mean_ = global;
  } else {
    mean_ += (global - mean_) / static_cast<double>(count_);
  }
}

void IterateAverage::Restore(Vector mean, int count) {
  count_ = count;
  mean_ = std::move(mean);
}

}  // namespace fedsilo
