#include "common/transport/unsealing_transport.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace fedsilo {

UnsealingTransport::UnsealingTransport(Transport* inner, CoordinatorKeyPair keys,
                                       int64_t reports_per_task, ThreadPool* pool)
    : inner_(inner),
      keys_(std::move(keys)),
      reports_per_task_(std::max<int64_t>(1, reports_per_task)),
      pool_(pool) {}

RoundResults UnsealingTransport::Train(const std::vector<SiloTask>& tasks) {
  RoundResults in = inner_->Train(tasks);
  RoundResults out;
  // A shuffler's total of secure-sum shares arrives unsealed (it is the shuffler's own message):
  // at most one per round, passed on as it came.
  std::vector<SiloUpdate> totals;
  std::erase_if(in.updates, [&](SiloUpdate& update) {
    if (!update.sealed.empty() || update.sum_shares.empty()) return false;
    totals.push_back(std::move(update));
    return true;
  });
  const int64_t tasked = static_cast<int64_t>(tasks.size());
  const int64_t failed = static_cast<int64_t>(in.failures.size());
  const int64_t reports = static_cast<int64_t>(in.updates.size());
  if (failed > tasked || reports > (tasked - failed) * reports_per_task_ || totals.size() > 1) {
    // More replies than the tasks allow: someone between the silos and here added reports.
    const std::string why = "round " + std::to_string(tasks.empty() ? 0 : tasks.front().round) +
                            ": " + std::to_string(reports) + " reports and " +
                            std::to_string(failed) + " failures came back for " +
                            std::to_string(tasked) + " tasks of at most " +
                            std::to_string(reports_per_task_) +
                            " reports each" +
                            (totals.size() > 1 ? ", with " + std::to_string(totals.size()) +
                                                     " secure-sum totals instead of one"
                                               : std::string()) +
                            "; every report of the round is discarded";
    for (size_t i = 0; i < tasks.size(); ++i) {
      out.failures.push_back(SiloFailure{-1, absl::DataLossError(why)});
    }
    return out;
  }
  out.failures = std::move(in.failures);
  // Open every sealed report (in parallel when a pool is given: each open is an X25519 exchange),
  // then keep or refuse them in the order they came, so the output does not depend on threads.
  std::vector<absl::StatusOr<ReportPayload>> opened(in.updates.size(),
                                                     absl::StatusOr<ReportPayload>(ReportPayload{}));
  const auto open = [&](int i) {
    const SiloUpdate& update = in.updates[static_cast<size_t>(i)];
    if (update.sealed.size() == 1) opened[static_cast<size_t>(i)] = keys_.Open(update.sealed[0]);
  };
  if (pool_ != nullptr) {
    pool_->ParallelFor(static_cast<int>(in.updates.size()), open);
  } else {
    for (size_t i = 0; i < in.updates.size(); ++i) open(static_cast<int>(i));
  }
  std::unordered_set<std::string_view> seen;  // sealed bytes seen this round (views into `in`)
  seen.reserve(in.updates.size());
  for (size_t i = 0; i < in.updates.size(); ++i) {
    const SiloUpdate& update = in.updates[i];
    if (update.sealed.size() == 1 &&
        !seen.insert(std::string_view(reinterpret_cast<const char*>(update.sealed[0].data()),
                                      update.sealed[0].size()))
             .second) {
      // Every seal uses a fresh ephemeral key: equal bytes are a replay, never two honest reports.
      out.failures.push_back(SiloFailure{
          update.silo_id, absl::DataLossError("round " + std::to_string(update.round) +
                                              ": the same sealed report arrived twice (a replay); "
                                              "the copy is discarded")});
      continue;
    }
    if (update.sealed.size() != 1) {
      out.failures.push_back(SiloFailure{
          update.silo_id,
          absl::InvalidArgumentError(
              "round " + std::to_string(update.round) +
              (update.sealed.empty()
                   ? ": a report arrived unsealed; in shuffle mode every report must be sealed "
                     "for the coordinator"
                   : ": several sealed reports arrived as one; the shuffler must split them"))});
      continue;
    }
    absl::StatusOr<ReportPayload>& payload = opened[i];
    if (!payload.ok()) {
      out.failures.push_back(SiloFailure{
          update.silo_id, absl::Status(payload.status().code(),
                                       "round " + std::to_string(update.round) + ": " +
                                           std::string(payload.status().message()))});
      continue;
    }
    if (payload->round != update.round) {
      out.failures.push_back(SiloFailure{
          update.silo_id,
          absl::InvalidArgumentError("a sealed report for round " + std::to_string(payload->round) +
                                     " arrived in round " + std::to_string(update.round))});
      continue;
    }
    SiloUpdate kept;
    kept.round = payload->round;
    kept.silo_id = update.silo_id;
    kept.weight = payload->weight;
    if (payload->share) {
      kept.sum_shares.push_back(std::move(*payload->share));
    } else {
      kept.delta = std::move(payload->values);
    }
    out.updates.push_back(std::move(kept));
  }
  for (SiloUpdate& total : totals) out.updates.push_back(std::move(total));
  return out;
}

}  // namespace fedsilo
