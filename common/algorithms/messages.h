// Domain messages between the coordinator half and the silo half of an algorithm.
//
// These are what travels, whatever the transport (in-process, gRPC, shuffler): proto types are
// converted to and from these at the edge. A SiloUpdate exists only after the silo has clipped
// and noised what it sends. RoundResults lists replies in canonical order (ascending silo id, or
// the shuffler's seeded order) and failures beside them, so dropouts are first-class.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/status.h"

namespace fedsilo {

struct SiloTask {
  int round = 0;
  int silo_id = 0;
  std::shared_ptr<const Vector> global;  // the model at the start of the round (shared, read-only)
};

// One report sealed for the coordinator's public key (common/transport/sealed_report.h).
using SealedReport = std::vector<uint8_t>;

// One additive share of a silo's noisy integer sum (the secure-sum protocol,
// common/dp/secure_sum_codec.h): uniform on its own, so it names nothing; or the sum of many such
// shares (the shuffler's total of its halves). It carries the public decoding parameters every
// share of the run shares: the modulus bits, the shares per silo, the scale from real to integer
// units and the range a decoded coordinate must stay within; and how many silos' shares it adds.
struct SumShare {
  int bits = 0;
  int shares = 0;
  double scale = 0.0;
  double range = 0.0;
  int64_t silos = 0;             // 0: one silo's own share; S >= 1: a total of S silos' shares
  std::vector<uint64_t> values;  // in [0, 2^bits)
};

struct SiloUpdate {
  int round = 0;
  int silo_id = -1;      // -1 once a shuffler has stripped identities
  Vector delta;          // privatized change proposed by the silo (local model - global model)
  double weight = 1.0;   // aggregation weight: the silo's public record count, or 1
  // Shuffle-model algorithms with one report per record (sdp_minibatch_sgd): each sampled
  // record's locally randomized report, already private on its own; delta is then empty. A
  // shuffler mixes these one by one with every other silo's (ShufflingTransport).
  std::vector<Vector> reports;
  // Shuffle mode: what the silo sends, sealed for the coordinator: one (round, weight, delta)
  // report, or one (round, 1, report) per entry of `reports`, or the token from which the
  // coordinator derives its share of a secure sum; delta and reports are then empty and weight 1
  // until the coordinator opens them. Empty = sent in the clear.
  std::vector<SealedReport> sealed;
  // Secure-sum algorithms (sdp_sum_minibatch_sgd). From the silo program: one entry, the silo's
  // noisy sum, not yet split. The silo runtime replaces it with the shuffler's share, the sum
  // minus a mask it derives with the coordinator (whose token goes in `sealed`); the shuffler
  // adds every silo's share and forwards only that total (one update, silo_id -1). delta is then
  // empty.
  std::vector<SumShare> sum_shares = {};
};

struct SiloFailure {
  int silo_id = -1;
  absl::Status status;   // e.g. ResourceExhausted when the silo's privacy budget is spent
};

// What a silo tells about its own privacy spending (public: functions of its plan and of how
// many queries it has answered, never of its records). Sent with every reply in networked mode.
struct SiloPrivacyReport {
  bool known = false;            // false until the silo has reported (networked mode)
  bool record_level_dp = false;
  int64_t train_records = 0;
  double noise_multiplier = 0.0;
  double sigma_mean = 0.0;
  int64_t noisy_queries = 0;
  double epsilon = 0.0;          // spent so far (NaN when no accountant covers the sampler)
  double delta = 0.0;
  // Shuffle-model algorithms: the local randomizer's parameters (eps0, clip) and the fewest
  // reports a round must mix for the silo's accounting to hold (the shuffler discards a round
  // with fewer, or whose silos state different randomizers).
  double eps0 = 0.0;
  double clip = 0.0;             // the randomizer's L2 bound (shuffle model)
  int64_t min_shuffled_reports = 0;
  // Secure-sum algorithms: true when every reply of this silo carries one token for the coordinator
  // (in `sealed`) and one share for the shuffler; the shuffler drops a reply with anything else
  // whole.
  bool secure_sum = false;
  // The silo's noise seed derives from the run's seed (thread mode, or a silo process started with
  // --reproducible-noise): anyone holding the config can recompute and subtract its noise.
  bool reproducible_noise = false;
  // The silo's effective privacy settings (its own config may set them): budget, per-record clip
  // and sampling rate (q = batch / n_i; public, as n_i is).
  double target_epsilon = 0.0;
  double sampling_rate = 0.0;
  // Set by the coordinator's edge, not sent: the silo joined without a shard (it trains on its own
  // files), so the coordinator holds none of its records and reports no per-silo test numbers.
  bool own_data = false;
};

struct RoundResults {
  std::vector<SiloUpdate> updates;
  std::vector<SiloFailure> failures;
};

}  // namespace fedsilo
