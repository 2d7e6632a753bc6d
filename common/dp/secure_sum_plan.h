// How a silo sets up the secure-sum protocol with distributed Skellam noise (issue 15), from its
// privacy settings and public values: the scale, the rounding bound, the noise (total, and this
// silo's share), the modulus and what the round's sum can reach. The pieces are in
// randomized_rounding.h, skellam_calibration.h and secure_sum_codec.h; this only chains them.
//
//   scale      s = headroom * sqrt(d) / clip: a clipped record moves the scaled sum by at most
//              headroom * sqrt(d) in L2, against a rounding of the silo's sum that moves it by
//              at most sqrt(d) more (so rounding inflates the sensitivity by 1 / headroom)
//   bound      B = s clip + sqrt(d): what one record changes in the silo's rounded sum, in L2,
//              for every rounding draw (randomized_rounding.h), the sensitivity the noise is
//              calibrated for
//   noise      the smallest total Skellam variance that keeps `rounds` rounds of the silo's
//              sampling (rate q = batch / n_i; Poisson by default, or a fixed-size batch without
//              replacement), after the silo's one-off Gaussian count release when it makes one
//              (count_noise_multiplier > 0: RDP of {kNone, q = 1, z}, rdp.h, added to the
//              rounds'), within (epsilon, delta), replace-one (skellam_calibration.h); the
//              silo adds total / min_honest_silos, so however many of the round's silos drop out, down to
//              min_honest_silos that reply (network.min_replies), the sum carries at least the
//              total: never under-noised
//   range      all `max_silos` silos replying with their records and noise shares, except with
//              probability wrap_probability over the run; bits hold 4 times it. A fixed-size
//              batch has `batch` records; a Poisson one is counted at its Bernstein bound
//              K + L/3 + sqrt(L^2/9 + 2 K L), L = ln(2 max_silos rounds / wrap_probability)
//              (whatever the silo's size: Bin(n, K/n) has mean K and variance below K), so that
//              half the wrap probability goes to the batch sizes and half to the noise.
// Errors: InvalidArgument naming the setting for values out of range (clip, headroom, epsilon,
// delta, counts, batch > n_i, min_honest_silos > max_silos), and whatever the pieces refuse
// (e.g. a sum that needs more than 62 bits).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "common/dp/secure_sum_codec.h"
#include "common/dp/skellam_calibration.h"

namespace fedsilo {

struct SecureSumSetting {
  double clip = 1.0;             // per-record L2 clip
  int64_t dimension = 0;         // gradient length d
  int64_t batch = 0;             // records a silo sums a round (expected, for Poisson)
  Subsampling sampling = Subsampling::kPoissonReplaceOne;  // or kWithoutReplacement
  int64_t records = 0;           // the silo's n_i (public)
  int64_t rounds = 0;            // rounds the silo budgets for
  double epsilon = 1.0;
  double delta = 1e-5;
  int64_t min_honest_silos = 1;  // the fewest silos whose replies a round accepts
  int64_t max_silos = 1;         // the most silos a round can sum
  int shares = 2;
  double headroom = 256.0;
  double wrap_probability = 1e-9;
  double count_noise_multiplier = 0.0;  // a one-off Gaussian count release before; 0 = none
};

struct SecureSumPlan {
  SecureSumParams params;          // scale, record bound, bits, shares
  SkellamSensitivity sensitivity;  // of one record (add/remove), integer units
  double total_variance = 0.0;     // the Skellam variance a round's sum carries at least
  double share_variance = 0.0;     // what this silo adds
  double range = 0.0;              // the decoded sum's coordinates stay within +-range
  double noise_std = 0.0;          // sqrt(total_variance) / scale: real units, on the sum
  int64_t min_honest_silos = 1;    // the fewest silos whose shares carry the total
  std::vector<double> count_rdp;   // the count release's RDP per order (empty without one)
};

absl::StatusOr<SecureSumPlan> PlanSecureSum(const SecureSumSetting& setting,
                                            std::span<const double> orders);

}  // namespace fedsilo
