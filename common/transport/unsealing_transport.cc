#include "common/transport/unsealing_transport.h"

#include <string>
#include <utility>

namespace fedsilo {

UnsealingTransport::UnsealingTransport(Transport* inner, CoordinatorKeyPair keys)
    : inner_(inner), keys_(std::move(keys)) {}

RoundResults UnsealingTransport::Train(const std::vector<SiloTask>& tasks) {
  RoundResults in = inner_->Train(tasks);
  RoundResults out;
  out.failures = std::move(in.failures);
  for (SiloUpdate& update : in.updates) {
    if (update.sealed.empty()) {
      out.failures.push_back(SiloFailure{
          update.silo_id,
          absl::InvalidArgumentError("round " + std::to_string(update.round) +
                                     ": a report arrived unsealed; in shuffle mode every report "
                                     "must be sealed for the coordinator")});
      continue;
    }
    absl::StatusOr<ReportPayload> payload = keys_.Open(update.sealed);
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
    SiloUpdate opened;
    opened.round = payload->round;
    opened.silo_id = update.silo_id;
    opened.weight = payload->weight;
    opened.delta = std::move(payload->values);
    out.updates.push_back(std::move(opened));
  }
  return out;
}

}  // namespace fedsilo
