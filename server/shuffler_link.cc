#include "server/shuffler_link.h"

#include <chrono>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "common/transport/shuffling_transport.h"
#include "fedsilo/v1/wire.h"
#include "server/queued_stream_writer.h"

namespace fedsilo {

using Clock = std::chrono::steady_clock;

// The live shuffler stream: a writer thread owns every Write (the gRPC thread in Rounds() reads),
// so a shuffler that stops reading never blocks the coordinator.
struct ShufflerLinkTransport::Link {
  Link(grpc::ServerReaderWriter<v1::LinkMessage, v1::ShufflerMessage>* stream,
       grpc::ServerContext* context)
      : out(stream, context) {}

  bool Send(v1::LinkMessage message) {
    return out.Send(std::make_shared<const v1::LinkMessage>(std::move(message)));
  }
  void Close() { out.Close(); }

  QueuedStreamWriter<v1::LinkMessage,
                     grpc::ServerReaderWriter<v1::LinkMessage, v1::ShufflerMessage>>
      out;
};

ShufflerLinkTransport::ShufflerLinkTransport(ShufflerLinkOptions options)
    : options_(std::move(options)), reports_(static_cast<size_t>(options_.num_silos)) {}

ShufflerLinkTransport::~ShufflerLinkTransport() = default;

absl::Status ShufflerLinkTransport::Authenticate(grpc::ServerContext* context) const {
  if (!options_.require_certificate) return absl::OkStatus();
  const std::vector<grpc::string_ref> names =
      context->auth_context()->FindPropertyValues("x509_common_name");
  const std::string certified = names.empty() ? "" : std::string(names[0].data(), names[0].size());
  if (certified != options_.shuffler_name) {
    return absl::PermissionDeniedError(absl::StrCat(
        "only the shuffler (certificate common name '", options_.shuffler_name,
        "') may send batches; this peer's certificate is for '", certified, "'"));
  }
  return absl::OkStatus();
}

grpc::Status ShufflerLinkTransport::Rounds(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::LinkMessage, v1::ShufflerMessage>* stream) {
  const auto reject = [&](const absl::Status& status) {
    spdlog::warn("refused a shuffler link from {}: {}", context->peer(),
                 std::string(status.message()));
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
  };
  if (absl::Status authenticated = Authenticate(context); !authenticated.ok()) {
    return reject(authenticated);
  }
  v1::ShufflerMessage message;
  if (!stream->Read(&message)) return grpc::Status::OK;
  if (!message.has_hello()) {
    return reject(absl::InvalidArgumentError("a shuffler link must start with ShufflerHello"));
  }
  if (message.hello().protocol_version() != wire::kProtocolVersion) {
    return reject(absl::FailedPreconditionError(absl::StrCat(
        "shuffler protocol version ", message.hello().protocol_version(),
        " is not spoken here (this coordinator speaks version ", wire::kProtocolVersion, ")")));
  }
  auto link = std::make_shared<Link>(stream, context);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (link_ != nullptr) {
      return reject(absl::AlreadyExistsError("a shuffler is already connected to this run"));
    }
    link_ = link;
    ready_silos_ = 0;
  }
  link->out.Start();
  v1::LinkMessage welcome;
  welcome.mutable_welcome()->set_protocol_version(wire::kProtocolVersion);
  welcome.mutable_welcome()->set_num_silos(static_cast<uint32_t>(options_.num_silos));
  welcome.mutable_welcome()->set_experiment_yaml(options_.experiment_yaml);
  welcome.mutable_welcome()->set_num_parameters(static_cast<uint64_t>(options_.num_parameters));
  welcome.mutable_welcome()->set_run_id(options_.run_id);
  welcome.mutable_welcome()->set_schema_digest(options_.schema_digest);
  link->Send(std::move(welcome));
  spdlog::info("the shuffler connected from {}", context->peer());

  grpc::Status ending = grpc::Status::OK;
  while (stream->Read(&message)) {
    if (message.has_joined()) {
      std::lock_guard<std::mutex> lock(mu_);
      ready_silos_ = static_cast<int>(message.joined().ready_silos());
      changed_.notify_all();
    } else if (message.has_batch()) {
      std::lock_guard<std::mutex> lock(mu_);
      const int round = static_cast<int>(message.batch().round());
      if (round != round_ || batch_.has_value() || round_failure_.has_value()) {
        spdlog::warn("discarded a batch from the shuffler for round {}: {}", round,
                     round != round_ ? absl::StrCat("the round in flight is ", round_)
                                     : std::string("this round already has its batch"));
        continue;
      }
      batch_ = std::move(*message.mutable_batch());
      changed_.notify_all();
    } else {
      ending = reject(absl::InvalidArgumentError("the shuffler sent a second hello or an empty message"));
      break;
    }
  }
  link->Close();
  {
    std::lock_guard<std::mutex> lock(mu_);
    link_ = nullptr;
    ready_silos_ = 0;
    if (round_ != 0 && !batch_.has_value() && !round_failure_.has_value()) {
      round_failure_ = absl::UnavailableError(
          absl::StrCat("the shuffler disconnected during round ", round_));
    }
    changed_.notify_all();
  }
  spdlog::info("the shuffler link closed");
  return ending;
}

RoundResults ShufflerLinkTransport::Train(const std::vector<SiloTask>& tasks) {
  RoundResults results;
  if (tasks.empty()) return results;
  const int round = tasks.front().round;
  const auto fail_all = [&](const absl::Status& status) {
    spdlog::warn("round {}: {}", round, std::string(status.message()));
    RoundResults failed;
    for (size_t i = 0; i < tasks.size(); ++i) failed.failures.push_back(SiloFailure{-1, status});
    return failed;
  };
  std::unique_lock<std::mutex> lock(mu_);
  if (link_ == nullptr) {
    changed_.wait_for(lock, std::chrono::duration<double>(options_.join_timeout_seconds),
                      [&] { return link_ != nullptr; });
    if (link_ == nullptr) {
      return fail_all(absl::UnavailableError(absl::StrCat(
          "the shuffler is not connected (waited ", options_.join_timeout_seconds, " s)")));
    }
  }
  round_ = round;
  batch_.reset();
  round_failure_.reset();
  v1::LinkMessage request;
  request.mutable_round()->set_round(static_cast<uint32_t>(round));
  wire::ToProto(*tasks.front().global, request.mutable_round()->mutable_global_parameters());
  for (const SiloTask& task : tasks) {
    request.mutable_round()->add_silo_ids(static_cast<uint32_t>(task.silo_id));
  }
  if (!link_->Send(std::move(request))) {
    round_ = 0;
    return fail_all(absl::UnavailableError("the shuffler link is closing"));
  }
  const double wait_seconds = options_.join_timeout_seconds + options_.round_timeout_seconds + 10;
  changed_.wait_for(lock, std::chrono::duration<double>(wait_seconds),
                    [&] { return batch_.has_value() || round_failure_.has_value(); });
  std::optional<v1::ShuffledBatch> batch = std::move(batch_);
  const std::optional<absl::Status> broken = round_failure_;
  round_ = 0;  // a late batch is now discarded
  batch_.reset();
  round_failure_.reset();
  if (!batch.has_value()) {
    return fail_all(broken.value_or(absl::DeadlineExceededError(absl::StrCat(
        "the shuffler sent no batch within ", wait_seconds, " s"))));
  }
  for (const auto& [silo_id, report] : batch->privacy()) {
    if (silo_id < reports_.size()) reports_[silo_id] = wire::FromProto(report);
  }
  lock.unlock();
  for (const std::string& sealed : batch->sealed_reports()) {
    SiloUpdate update;
    update.round = round;
    update.silo_id = -1;
    update.weight = 1.0;
    update.sealed.emplace_back(sealed.begin(), sealed.end());
    results.updates.push_back(std::move(update));
  }
  if (batch->has_shuffler_total()) {  // a secure sum: the shuffler's total of its shares, last
    absl::StatusOr<SumShare> total = wire::FromProto(
        batch->shuffler_total(), options_.num_parameters,
        absl::StrCat("the shuffler's total of round ", round));
    if (total.ok()) {
      SiloUpdate update;
      update.round = round;
      update.silo_id = -1;
      update.sum_shares.push_back(*std::move(total));
      results.updates.push_back(std::move(update));
    } else {
      results.failures.push_back(SiloFailure{-1, absl::DataLossError(total.status().message())});
    }
  }
  for (const int code : batch->failure_codes()) {
    const bool known = code > 0 && code <= static_cast<int>(absl::StatusCode::kUnauthenticated);
    results.failures.push_back(SiloFailure{
        -1, absl::Status(known ? static_cast<absl::StatusCode>(code) : absl::StatusCode::kUnknown,
                         kShuffledFailureMessage)});
  }
  const size_t accounted = results.updates.size() + results.failures.size();
  if (accounted < tasks.size()) {
    spdlog::warn("round {}: the shuffler's batch accounts for {} of {} tasks", round, accounted,
                 tasks.size());
    for (size_t i = accounted; i < tasks.size(); ++i) {
      results.failures.push_back(SiloFailure{
          -1, absl::DataLossError(absl::StrCat("round ", round, ": the shuffler's batch accounts for ",
                                               accounted, " of ", tasks.size(), " tasks"))});
    }
  }
  return results;
}

std::vector<SiloPrivacyReport> ShufflerLinkTransport::PrivacyReports() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reports_;
}

absl::Status ShufflerLinkTransport::WaitForShuffler(int min_silos, double timeout_seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool reached = changed_.wait_for(lock, std::chrono::duration<double>(timeout_seconds), [&] {
    return link_ != nullptr && ready_silos_ >= min_silos;
  });
  if (reached) return absl::OkStatus();
  if (link_ == nullptr) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the shuffler did not connect within ", timeout_seconds,
        " s (network.join_timeout_seconds); in a shuffle-model run start `fedsilo shuffler "
        "--coordinator` and let the silos join it"));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the shuffler has only ", ready_silos_, " of the ", min_silos, " silos needed after ",
      timeout_seconds, " s (network.join_timeout_seconds)"));
}

void ShufflerLinkTransport::Finish(const std::string& reason) {
  v1::LinkMessage message;
  message.mutable_finish()->set_reason(reason);
  std::lock_guard<std::mutex> lock(mu_);
  if (link_ != nullptr) link_->Send(std::move(message));
}

}  // namespace fedsilo
