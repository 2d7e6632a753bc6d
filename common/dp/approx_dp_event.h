// ApproxDpEvent: `count` adaptive repetitions of a mechanism known only to be (epsilon, delta)-DP,
// e.g. one round of shuffled local reports, whose guarantee comes from an amplification theorem
// (common/dp/shuffle_amplification.h) as an (epsilon, delta) pair and not as a Renyi-DP curve.
//
// Why not a DpEvent: DpEvent describes a subsampled Gaussian that the RDP accountant analyses
// from its parameters. An (epsilon, delta) guarantee with delta > 0 implies no finite RDP bound
// at any order, so these events cannot enter the RDP accountant; they are composed by
// common/dp/approx_dp_composition.h instead. Plain value type.
#pragma once

#include <cstdint>

namespace fedsilo {

struct ApproxDpEvent {
  double epsilon = 0.0;
  double delta = 0.0;
  int64_t count = 1;
};

// An (epsilon, delta)-DP guarantee.
struct ApproxDpGuarantee {
  double epsilon = 0.0;
  double delta = 0.0;
};

}  // namespace fedsilo
