#include "common/runtime/in_process_transport.h"

#include <algorithm>
#include <optional>
#include <string>

namespace fedsilo {

InProcessTransport::InProcessTransport(std::vector<SiloRuntime*> silos, ThreadPool* pool)
    : silos_(std::move(silos)), pool_(pool) {}

RoundResults InProcessTransport::Train(const std::vector<SiloTask>& tasks) {
  std::vector<std::optional<absl::StatusOr<SiloUpdate>>> replies(tasks.size());
  pool_->ParallelFor(static_cast<int>(tasks.size()), [&](int i) {
    const SiloTask& task = tasks[static_cast<size_t>(i)];
    if (task.silo_id < 0 || task.silo_id >= num_silos()) {
      replies[static_cast<size_t>(i)] =
          absl::NotFoundError("no silo with id " + std::to_string(task.silo_id));
      return;
    }
    replies[static_cast<size_t>(i)] = silos_[static_cast<size_t>(task.silo_id)]->Handle(task);
  });
  // Canonical order: ascending silo id.
  std::vector<size_t> order(tasks.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return tasks[a].silo_id < tasks[b].silo_id; });
  RoundResults results;
  for (size_t i : order) {
    auto& reply = *replies[i];
    if (reply.ok()) {
      results.updates.push_back(std::move(reply).value());
    } else {
      results.failures.push_back(SiloFailure{tasks[i].silo_id, reply.status()});
    }
  }
  return results;
}

std::vector<SiloPrivacyReport> InProcessTransport::PrivacyReports() const {
  std::vector<SiloPrivacyReport> reports;
  reports.reserve(silos_.size());
  for (const SiloRuntime* silo : silos_) reports.push_back(silo->PrivacyReport());
  return reports;
}

}  // namespace fedsilo
