#include "common/transport/shuffling_transport.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace fedsilo {
namespace {

// A total order on report contents that ignores the sender: sealed bytes, then round, weight
// and delta values (bit patterns, so NaN and -0.0 compare consistently).
bool ContentLess(const SiloUpdate& a, const SiloUpdate& b) {
  if (a.sealed != b.sealed) return a.sealed < b.sealed;
  if (a.round != b.round) return a.round < b.round;
  if (a.weight != b.weight) return std::bit_cast<uint64_t>(a.weight) < std::bit_cast<uint64_t>(b.weight);
  const auto* pa = a.delta.data();
  const auto* pb = b.delta.data();
  return std::lexicographical_compare(
      pa, pa + a.delta.size(), pb, pb + b.delta.size(),
      [](double x, double y) { return std::bit_cast<uint64_t>(x) < std::bit_cast<uint64_t>(y); });
}

}  // namespace

ShufflingTransport::ShufflingTransport(Transport* inner)
    : ShufflingTransport(inner, SeedFromOsEntropy()) {}

ShufflingTransport::ShufflingTransport(Transport* inner, uint64_t seed)
    : inner_(inner), rng_(seed) {}

RoundResults ShufflingTransport::Train(const std::vector<SiloTask>& tasks) {
  // The inner call returns when the round has closed: every report is in hand before any leaves.
  RoundResults collected = inner_->Train(tasks);
  RoundResults out;
  out.updates = std::move(collected.updates);
  // First forget the inner order (ascending silo id, or arrival): sort by content, so what enters
  // the permutation depends only on the multiset of reports. Then Fisher-Yates.
  std::sort(out.updates.begin(), out.updates.end(), ContentLess);
  // Fisher-Yates with the shuffler's own generator: every permutation equally likely.
  for (size_t i = out.updates.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng_.UniformInt(i));
    std::swap(out.updates[i - 1], out.updates[j]);
  }
  for (SiloUpdate& update : out.updates) update.silo_id = -1;
  for (const SiloFailure& failure : collected.failures) {
    out.failures.push_back(
        SiloFailure{-1, absl::Status(failure.status.code(), kShuffledFailureMessage)});
  }
  std::sort(out.failures.begin(), out.failures.end(), [](const SiloFailure& a, const SiloFailure& b) {
    return static_cast<int>(a.status.code()) < static_cast<int>(b.status.code());
  });
  return out;
}

}  // namespace fedsilo
