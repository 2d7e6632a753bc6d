// DpEvent: one kind of privacy-relevant step a silo's data went through, repeated `count` times.
//
// Each event is `count` repetitions of the subsampled Gaussian mechanism: a batch drawn with
// `subsampling` at rate q = sampling_rate, per-record clipping to L2 norm `clip`, Gaussian noise
// with noise multiplier z = noise_multiplier, in the convention of the neighbouring relation that
// goes with the sampler (see shared/reference/dp_test_vectors.md):
//   kPoisson            add/remove-one, z = std of the noise on the SUM / clip. RDP: Mironov,
//                       Talwar, Zhang 2019, "Renyi DP of the Sampled Gaussian Mechanism". Only
//                       sound when the dataset size is NOT released (it differs between
//                       add/remove neighbours); no silo records it (it releases n_i).
//   kPoissonReplaceOne  the same Poisson-sampled mechanism and the same z = std_sum / clip, but
//                       replace-one with the dataset size public (what a silo does: its n_i is
//                       its update weight and sets q). RDP from the add/remove curve by the weak
//                       triangle inequality (Mironov 2017, Prop. 11; see common/dp/rdp.h).
//   kWithoutReplacement fixed-size batches, q = K / n, replace-one, z = std_sum / (2 clip). RDP:
//                       Wang, Balle, Kasiviswanathan 2019, Theorem 27.
//   kWithReplacement    replace-one, z = std_sum / (2 clip); recorded as what it is, but no
//                       standard RDP accountant covers it: RdpAccountant refuses it.
//   kNone               the whole dataset every step (sampling_rate must be 1): RDP is
//                       alpha / (2 z^2), z = std / L2-sensitivity under the caller's relation.
// z = 0 means no noise (infinite privacy loss); q = 0 means the data was never touched.
// The accountants (common/dp/rdp_accountant.h) read these events; they never see a mechanism.
// Plain value type.
#pragma once

#include <cstdint>
#include <optional>

namespace fedsilo {

// The numeric values are stored in silo journals (common/runtime/silo_journal_file.cc): append,
// never renumber.
enum class Subsampling {
  kNone,
  kPoisson,
  kWithoutReplacement,
  kWithReplacement,
  kPoissonReplaceOne,
};

// The neighbouring relation an event's curve is stated for. kNone events have none of their own
// (their z is relative to the caller's sensitivity), so they compose with either.
enum class Neighbours { kAddRemoveOne, kReplaceOne };

inline std::optional<Neighbours> NeighboursOf(Subsampling subsampling) {
  switch (subsampling) {
    case Subsampling::kNone: return std::nullopt;
    case Subsampling::kPoisson: return Neighbours::kAddRemoveOne;
    case Subsampling::kWithoutReplacement:
    case Subsampling::kWithReplacement:
    case Subsampling::kPoissonReplaceOne: return Neighbours::kReplaceOne;
  }
  return std::nullopt;
}

struct DpEvent {
  Subsampling subsampling = Subsampling::kNone;
  double sampling_rate = 1.0;
  double noise_multiplier = 0.0;
  int64_t count = 1;
};

}  // namespace fedsilo
