#include "common/transport/shuffling_transport.h"

#include <algorithm>
#include <bit>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

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

// One entry per report: a silo's update carrying several reports (sealed, or per-record reports
// in the clear) becomes one update per report, so each report is shuffled on its own.
std::vector<SiloUpdate> OneReportPerEntry(std::vector<SiloUpdate> updates) {
  std::vector<SiloUpdate> out;
  out.reserve(updates.size());
  for (SiloUpdate& update : updates) {
    if (update.sealed.size() > 1) {
      for (SealedReport& sealed : update.sealed) {
        SiloUpdate one;
        one.round = update.round;
        one.sealed.push_back(std::move(sealed));
        out.push_back(std::move(one));
      }
    } else if (update.sealed.empty() && !update.reports.empty()) {
      for (Vector& report : update.reports) {
        SiloUpdate one;
        one.round = update.round;
        one.delta = std::move(report);
        out.push_back(std::move(one));
      }
    } else {
      out.push_back(std::move(update));
    }
  }
  return out;
}

}  // namespace

ShufflingTransport::ShufflingTransport(Transport* inner)
    : ShufflingTransport(inner, SeedFromOsEntropy()) {}

ShufflingTransport::ShufflingTransport(Transport* inner, uint64_t seed)
    : inner_(inner), rng_(seed) {}

std::optional<SiloUpdate> ShufflingTransport::TakeShufflerShares(
    const std::vector<SiloPrivacyReport>& privacy, RoundResults* collected) const {
  std::vector<SiloUpdate> kept;
  kept.reserve(collected->updates.size());
  std::optional<SiloUpdate> total;
  for (SiloUpdate& update : collected->updates) {
    const int id = update.silo_id;
    const bool secure_sum = id >= 0 && static_cast<size_t>(id) < privacy.size() &&
                            privacy[static_cast<size_t>(id)].secure_sum;
    if (!secure_sum && update.sum_shares.empty()) {
      kept.push_back(std::move(update));
      continue;
    }
    // A secure-sum reply: one token for the coordinator, one share for the shuffler, of
    // the run's modulus and length (the first reply sets them). Anything else is dropped whole.
    std::string wrong;
    if (update.sealed.size() != 1 || update.sum_shares.size() != 1) {
      wrong = absl::StrCat("a secure-sum reply carried ", update.sealed.size(),
                           " sealed entries and ", update.sum_shares.size(),
                           " shuffler shares instead of one each");
    } else if (const SumShare& share = update.sum_shares.front();
               share.silos != 0 || share.bits < 1 || share.bits > 62 ||
               std::any_of(share.values.begin(), share.values.end(),
                           [&](uint64_t v) { return v >> share.bits != 0; })) {
      wrong = "a secure-sum reply's shuffler share is malformed (silos, bits or values)";
    } else if (total && (share.bits != total->sum_shares[0].bits ||
                         share.values.size() != total->sum_shares[0].values.size() ||
                         share.scale != total->sum_shares[0].scale ||
                         share.range != total->sum_shares[0].range ||
                         share.shares != total->sum_shares[0].shares)) {
      wrong = "a secure-sum reply's shuffler share has other public parameters than the round's";
    }
    if (!wrong.empty()) {
      collected->failures.push_back(SiloFailure{
          id, absl::DataLossError(wrong + "; the shuffler drops the silo's whole reply")});
      continue;
    }
    SumShare& share = update.sum_shares.front();
    if (!total) {
      total.emplace();
      total->round = update.round;
      total->sum_shares.push_back(share);
      total->sum_shares[0].silos = 0;
      std::fill(total->sum_shares[0].values.begin(), total->sum_shares[0].values.end(), 0);
    }
    SumShare& sum = total->sum_shares[0];
    const uint64_t mask = (uint64_t{1} << sum.bits) - 1;
    for (size_t j = 0; j < sum.values.size(); ++j) sum.values[j] = (sum.values[j] + share.values[j]) & mask;
    sum.silos += 1;
    update.sum_shares.clear();
    kept.push_back(std::move(update));
  }
  collected->updates = std::move(kept);
  return total;
}

absl::StatusOr<int64_t> ShufflingTransport::RequiredReports(
    const std::vector<SiloTask>& tasks, const std::vector<SiloPrivacyReport>& privacy) const {
  int64_t required = 0;
  const SiloPrivacyReport* first = nullptr;
  for (const SiloTask& task : tasks) {
    if (task.silo_id < 0 || static_cast<size_t>(task.silo_id) >= privacy.size()) continue;
    const SiloPrivacyReport& report = privacy[static_cast<size_t>(task.silo_id)];
    if (report.min_shuffled_reports <= 0) continue;
    required = std::max(required, report.min_shuffled_reports);
    if (first == nullptr) {
      first = &report;
    } else if (report.eps0 != first->eps0 || report.clip != first->clip) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the silos of this round state different local randomizers (eps0 ", first->eps0,
          ", clip ", first->clip, " against eps0 ", report.eps0, ", clip ", report.clip,
          "); the shuffle bound covers only reports of one randomizer, so the shuffler discards "
          "the round"));
    }
  }
  return required;
}

RoundResults ShufflingTransport::Train(const std::vector<SiloTask>& tasks) {
  // The inner call returns when the round has closed: every report is in hand before any leaves.
  RoundResults collected = inner_->Train(tasks);
  // What the silos state (read once a round: each report converts a silo's spent epsilon).
  const std::vector<SiloPrivacyReport> privacy = inner_->PrivacyReports();
  std::optional<SiloUpdate> shuffler_total = TakeShufflerShares(privacy, &collected);
  RoundResults out;
  out.updates = OneReportPerEntry(std::move(collected.updates));
  const absl::StatusOr<int64_t> required = RequiredReports(tasks, privacy);
  if (!required.ok() || static_cast<int64_t>(out.updates.size()) < *required) {
    // Fewer reports than the silos calibrated their privacy for, or reports of different
    // randomizers: none may leave.
    const absl::Status why =
        !required.ok()
            ? required.status()
            : absl::FailedPreconditionError(absl::StrCat(
                  "round ", tasks.empty() ? 0 : tasks.front().round, " gathered ",
                  out.updates.size(), " reports, fewer than the ", *required,
                  " its silos calibrated their privacy for; the shuffler discards them"));
    out.updates.clear();
    out.failures.assign(tasks.size(), SiloFailure{-1, why});
    return out;
  }
  // First forget the inner order (ascending silo id, or arrival): sort by content, so what enters
  // the permutation depends only on the multiset of reports. Then Fisher-Yates.
  std::sort(out.updates.begin(), out.updates.end(), ContentLess);
  // Fisher-Yates with the shuffler's own generator: every permutation equally likely.
  for (size_t i = out.updates.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng_.UniformInt(i));
    std::swap(out.updates[i - 1], out.updates[j]);
  }
  for (SiloUpdate& update : out.updates) update.silo_id = -1;
  // The total of the shuffler's shares goes last, a fixed place that names no silo.
  if (shuffler_total) out.updates.push_back(std::move(*shuffler_total));
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
