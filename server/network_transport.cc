#include "server/network_transport.h"

#include <algorithm>
#include <cmath>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/base/binary_record.h"
#include "fedsilo/v1/wire.h"
#include "server/queued_stream_writer.h"

namespace fedsilo {

using Clock = std::chrono::steady_clock;

// One live session: the silo's id and name, and the writer that owns every Write on its stream.
struct NetworkTransport::Peer {
  Peer(int silo_id, std::string name,
       grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::SiloMessage>* stream,
       grpc::ServerContext* context)
      : silo_id(silo_id), name(std::move(name)), out(stream, context) {}

  bool Send(std::shared_ptr<const v1::CoordinatorMessage> message) {
    return out.Send(std::move(message));
  }
  // Stops the writer after it has sent what is queued (or at once when the stream is broken).
  void Close() { out.Close(); }

  const int silo_id;
  const std::string name;
  bool ready = false;  // guarded by NetworkTransport::mu_
  QueuedStreamWriter<v1::CoordinatorMessage,
                     grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::SiloMessage>>
      out;
};

NetworkTransport::NetworkTransport(NetworkTransportOptions options)
    : options_(std::move(options)),
      peers_(static_cast<size_t>(options_.num_silos)),
      reports_(static_cast<size_t>(options_.num_silos)),
      joined_records_(static_cast<size_t>(options_.num_silos), 0),
      own_data_(static_cast<size_t>(options_.num_silos), false),
      certified_names_(static_cast<size_t>(options_.num_silos)),
      hello_deadline_(options_.hello_timeout_seconds) {
  for (int id = 0; id < options_.num_silos; ++id) {
    discarded_warnings_.push_back(std::make_unique<RateLimitedWarning>());
  }
}

absl::StatusOr<std::unique_ptr<NetworkTransport>> NetworkTransport::Create(
    NetworkTransportOptions options) {
  auto transport = std::make_unique<NetworkTransport>(std::move(options));
  const std::string& file = transport->options_.bindings_file;
  if (file.empty()) return transport;
  absl::StatusOr<std::string> text = ReadWholeFile(file);
  if (absl::IsNotFound(text.status())) return transport;
  if (!text.ok()) return text.status();
  std::vector<std::string> names = absl::StrSplit(*text, '\n');
  if (!names.empty() && names.back().empty()) names.pop_back();
  if (names.size() != transport->certified_names_.size()) {
    return absl::DataLossError(absl::StrCat("certificate bindings ", file, " name ", names.size(),
                                            " silos; this run has ",
                                            transport->certified_names_.size()));
  }
  transport->certified_names_ = std::move(names);
  return transport;
}

NetworkTransport::~NetworkTransport() = default;

std::string NetworkTransport::Describe(int silo_id) const {
  if (!options_.roster.empty() && silo_id >= 0 && silo_id < options_.num_silos) {
    return absl::StrCat("silo ", silo_id, " (", options_.roster[static_cast<size_t>(silo_id)], ")");
  }
  return absl::StrCat("silo ", silo_id);
}

absl::StatusOr<int> NetworkTransport::Admit(grpc::ServerContext* context, const v1::Hello& hello) {
  if (hello.protocol_version() != wire::kProtocolVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("protocol version ", hello.protocol_version(),
                     " is not spoken here (this coordinator speaks version ",
                     wire::kProtocolVersion, ")"));
  }
  const std::string& name = hello.silo_name();
  if (name.empty()) return absl::InvalidArgumentError("the Hello names no silo");
  if (name.find('\n') != std::string::npos) {
    return absl::InvalidArgumentError("the Hello's silo name contains a line break");
  }
  if (options_.names_from_certificates) {
    const std::vector<grpc::string_ref> names =
        context->auth_context()->FindPropertyValues("x509_common_name");
    const std::string certified = names.empty() ? "" : std::string(names[0].data(), names[0].size());
    if (certified != name) {
      return absl::PermissionDeniedError(
          absl::StrCat("a peer claims to be silo '", name, "' but its certificate is for '",
                       certified, "'"));
    }
  }
  if (!options_.roster.empty()) {
    const auto found = std::find(options_.roster.begin(), options_.roster.end(), name);
    if (found == options_.roster.end()) {
      return absl::PermissionDeniedError("silo '" + name + "' is not in this run's roster");
    }
    const int id = static_cast<int>(found - options_.roster.begin());
    if (hello.shard() >= 0 && hello.shard() != id) {
      return absl::InvalidArgumentError(absl::StrCat("silo '", name, "' asks for shard ",
                                                     hello.shard(), " but the roster gives it id ",
                                                     id));
    }
    return id;
  }
  if (hello.shard() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "silo '", name, "' brings its own data (no --shard), but this run has no roster to give "
        "it an id: list the silos' names in the coordinator's network.silos (`fedsilo partition` "
        "writes coordinator.yaml with one), or start each silo with --shard I"));
  }
  if (hello.shard() >= options_.num_silos) {
    return absl::InvalidArgumentError(
        absl::StrCat("silo '", name, "' must join with --shard in [0, ", options_.num_silos,
                     ") (this run has no roster), got ", hello.shard()));
  }
  return hello.shard();
}

grpc::Status NetworkTransport::Session(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::SiloMessage>* stream) {
  const auto reject = [&](const absl::Status& status) {
    rejected_warning_.Warn(
        absl::StrCat("rejected a silo from ", context->peer(), ": ", status.message()));
    return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
  };
  v1::SiloMessage message;
  {
    const HelloDeadline::Watch watch = hello_deadline_.Start(context);
    if (!stream->Read(&message)) {
      if (!watch.expired()) {
        // gRPC does not say which: an undecodable first message looks like a hang-up here.
        silent_warning_.Warn(absl::StrCat("a stream from ", context->peer(),
                                          " ended before its Hello: the peer hung up or sent a "
                                          "message that does not decode"));
        return grpc::Status::OK;
      }
      silent_warning_.Warn(absl::StrCat("closed a stream from ", context->peer(),
                                        " that said no Hello within ",
                                        hello_deadline_.seconds(), " s"));
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          absl::StrCat("no Hello within ", hello_deadline_.seconds(), " s"));
    }
  }
  if (!message.has_hello()) {
    return reject(absl::InvalidArgumentError("a session must start with Hello"));
  }
  const absl::StatusOr<int> admitted = Admit(context, message.hello());
  if (!admitted.ok()) return reject(admitted.status());
  const int id = *admitted;
  auto peer = std::make_shared<Peer>(id, message.hello().silo_name(), stream, context);
  const bool own_data = message.hello().shard() < 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (peers_[static_cast<size_t>(id)] != nullptr) {
      return reject(absl::AlreadyExistsError(absl::StrCat(
          Describe(id), " is already connected (as '", peers_[static_cast<size_t>(id)]->name,
          "')")));
    }
    if (options_.names_from_certificates) {
      // One certificate, one silo: the id a certified name first joins as is its id for the run.
      // (Without a roster a silo chooses its shard; it could otherwise take every free shard.)
      std::string& owner = certified_names_[static_cast<size_t>(id)];
      const auto held = std::find(certified_names_.begin(), certified_names_.end(), peer->name);
      if (held != certified_names_.end() && held - certified_names_.begin() != id) {
        return reject(absl::PermissionDeniedError(absl::StrCat(
            "silo '", peer->name, "' joined this run as silo ", held - certified_names_.begin(),
            "; its certificate cannot also speak for silo ", id)));
      }
      if (!owner.empty() && owner != peer->name) {
        return reject(absl::PermissionDeniedError(absl::StrCat(
            Describe(id), " joined this run as '", owner, "'; '", peer->name,
            "' cannot take its place")));
      }
      if (owner != peer->name) {
        owner = peer->name;
        if (!options_.bindings_file.empty()) {
          // Kept before the silo is welcomed: a resumed coordinator must not forget it.
          const absl::Status kept = WriteFileAtomically(
              options_.bindings_file, absl::StrCat(absl::StrJoin(certified_names_, "\n"), "\n"));
          if (!kept.ok()) return reject(kept);
        }
      }
    }
    peers_[static_cast<size_t>(id)] = peer;
  }
  peer->out.Start();
  auto welcome = std::make_shared<v1::CoordinatorMessage>();
  welcome->mutable_welcome()->set_protocol_version(wire::kProtocolVersion);
  welcome->mutable_welcome()->set_silo_id(static_cast<uint32_t>(id));
  welcome->mutable_welcome()->set_num_silos(static_cast<uint32_t>(options_.num_silos));
  welcome->mutable_welcome()->set_experiment_yaml(options_.experiment_yaml);
  welcome->mutable_welcome()->set_num_parameters(static_cast<uint64_t>(options_.num_parameters));
  welcome->mutable_welcome()->set_run_id(options_.run_id);
  welcome->mutable_welcome()->set_schema_digest(options_.schema_digest);
  peer->Send(welcome);
  spdlog::info("{} ('{}') joined from {}", Describe(id), peer->name, context->peer());

  grpc::Status ending = grpc::Status::OK;
  while (stream->Read(&message)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      traffic_.bytes_received += message.ByteSizeLong();
    }
    if (message.has_ready()) {
      if (message.ready().num_parameters() != static_cast<uint64_t>(options_.num_parameters)) {
        ending = reject(absl::InvalidArgumentError(absl::StrCat(
            Describe(id), " built a model with ", message.ready().num_parameters(),
            " parameters; this run's model has ", options_.num_parameters,
            " (different features or config?)")));
        break;
      }
      std::lock_guard<std::mutex> lock(mu_);
      peer->ready = true;
      reports_[static_cast<size_t>(id)] = wire::FromProto(message.ready().privacy());
      joined_records_[static_cast<size_t>(id)] =
          static_cast<int64_t>(message.ready().privacy().train_records());
      own_data_[static_cast<size_t>(id)] = own_data;
      if (message.ready().privacy().noisy_queries() > 0) {
        spdlog::info("{} joined with {} noisy queries already in its ledger (epsilon spent {})",
                     Describe(id), message.ready().privacy().noisy_queries(),
                     message.ready().privacy().epsilon());
      }
      changed_.notify_all();
    } else if (message.has_update() || message.has_refusal()) {
      HandleReply(peer, message);
    } else {
      ending = reject(absl::InvalidArgumentError(
          absl::StrCat(Describe(id), " sent a second Hello or an empty message")));
      break;
    }
  }
  // Why the session ended. gRPC does not tell the server why a stream ended: a silo that closed
  // it or stopped, a dropped connection and a message over the size limit (reported only to the
  // silo, as RESOURCE_EXHAUSTED) all look the same here, so the reason names the possibilities.
  const std::string why =
      !ending.ok() ? "rejected: " + ending.error_message()
                   : std::string("its stream ended (the silo closed it or stopped, the connection "
                                 "dropped, or the silo sent a message larger than "
                                 "network.max_message_mb or one that does not decode; gRPC "
                                 "tells only the silo which)");
  peer->Close();
  {
    std::lock_guard<std::mutex> lock(mu_);
    peers_[static_cast<size_t>(id)] = nullptr;
    const auto task = outstanding_.find(id);
    if (task != outstanding_.end() && !task->second.has_value()) {
      spdlog::warn("{} disconnected during round {}: {}", Describe(id), round_, why);
      Record(id, absl::UnavailableError(absl::StrCat(Describe(id), " disconnected during round ",
                                                     round_, ": ", why)));
    }
    changed_.notify_all();
  }
  spdlog::info("{} left: {}", Describe(id), why);
  return ending;
}

void NetworkTransport::HandleReply(const std::shared_ptr<Peer>& peer,
                                   const v1::SiloMessage& message) {
  const int id = peer->silo_id;
  const bool is_update = message.has_update();
  const int round = static_cast<int>(is_update ? message.update().round() : message.refusal().round());
  absl::StatusOr<SiloUpdate> reply;
  const bool sealed_run = options_.max_sealed_reports > 0;
  if (is_update && (sealed_run || !message.update().sealed().empty())) {
    // A sealed report: the coordinator's edge opens it (UnsealingTransport) after the shuffle.
    const v1::Update& update = message.update();
    if (!sealed_run) {
      reply = absl::InvalidArgumentError(absl::StrCat(
          "the update of ", Describe(id), " for round ", round,
          " carries sealed reports, but this run's updates travel in the clear"));
    } else if (update.delta().values_size() != 0) {
      reply = absl::InvalidArgumentError(absl::StrCat(
          "the update of ", Describe(id), " for round ", round,
          " carries a delta in the clear; this run takes only sealed reports"));
    } else if (update.sealed().empty() ||
               update.sealed_size() > options_.max_sealed_reports) {
      reply = absl::InvalidArgumentError(absl::StrCat(
          "the update of ", Describe(id), " for round ", round, " carries ", update.sealed_size(),
          " sealed reports; a silo sends 1 to ", options_.max_sealed_reports, " per round"));
    } else {
      SiloUpdate sealed;
      sealed.round = round;
      sealed.silo_id = id;
      for (const std::string& report : update.sealed()) {
        sealed.sealed.emplace_back(report.begin(), report.end());
      }
      absl::Status share_error;
      for (const v1::SumShare& share : update.sum_shares()) {
        absl::StatusOr<SumShare> parsed =
            wire::FromProto(share, options_.num_parameters,
                            absl::StrCat("the update of ", Describe(id), " for round ", round));
        if (!parsed.ok()) {
          share_error = parsed.status();
          break;
        }
        sealed.sum_shares.push_back(*std::move(parsed));
      }
      if (share_error.ok()) {
        reply = std::move(sealed);
      } else {
        reply = share_error;
      }
    }
  } else if (is_update) {
    const v1::Update& update = message.update();
    absl::StatusOr<Vector> delta =
        wire::FromProto(update.delta(), options_.num_parameters,
                        absl::StrCat("the update of ", Describe(id), " for round ", round));
    if (!delta.ok()) {
      reply = delta.status();
    } else if (!std::isfinite(update.weight()) || update.weight() <= 0.0) {
      reply = absl::InvalidArgumentError(absl::StrCat("the update of ", Describe(id),
                                                      " has weight ", update.weight(),
                                                      " (must be positive and finite)"));
    } else if (const double bound = WeightBound(id); update.weight() > bound) {
      reply = absl::InvalidArgumentError(absl::StrCat(
          "the update of ", Describe(id), " for round ", round, " has weight ", update.weight(),
          ", more than the ", bound, " records it reported when it joined"));
    } else {
      SiloUpdate clear;
      clear.round = round;
      clear.silo_id = id;
      clear.delta = std::move(delta).value();
      clear.weight = update.weight();
      reply = std::move(clear);
    }
  } else {
    const v1::Refusal& refusal = message.refusal();
    const auto code = static_cast<absl::StatusCode>(refusal.code());
    reply = absl::Status(code == absl::StatusCode::kOk ? absl::StatusCode::kUnknown : code,
                         refusal.message());
  }
  std::lock_guard<std::mutex> lock(mu_);
  const auto task = outstanding_.find(id);
  if (round != round_ || task == outstanding_.end() || task->second.has_value()) {
    discarded_warnings_[static_cast<size_t>(id)]->Warn(absl::StrCat(
        "discarded a reply from ", Describe(id), " for round ", round, ": ",
        round != round_ ? absl::StrCat("the round in flight is ", round_)
        : task == outstanding_.end() ? std::string("it was not asked this round")
                                     : std::string("it has already answered")));
    return;
  }
  if (!reply.ok() && !absl::IsResourceExhausted(reply.status())) {
    spdlog::warn("{} failed round {}: {}", Describe(id), round, std::string(reply.status().message()));
  }
  reports_[static_cast<size_t>(id)] =
      wire::FromProto(is_update ? message.update().privacy() : message.refusal().privacy());
  Record(id, std::move(reply));
}

double NetworkTransport::WeightBound(int silo_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<double>(std::max<int64_t>(1, joined_records_[static_cast<size_t>(silo_id)]));
}

void NetworkTransport::Record(int silo_id, absl::StatusOr<SiloUpdate> reply) {
  outstanding_[silo_id] = std::move(reply);
  changed_.notify_all();
}

int NetworkTransport::CountReady() const {
  int ready = 0;
  for (const auto& peer : peers_) ready += peer != nullptr && peer->ready ? 1 : 0;
  return ready;
}

RoundResults NetworkTransport::Train(const std::vector<SiloTask>& tasks) {
  RoundResults results;
  if (tasks.empty()) return results;
  const int round = tasks.front().round;
  std::unique_lock<std::mutex> lock(mu_);
  // Quorum first: wait (bounded) until enough silos are connected to answer.
  const int quorum = std::min<int>(std::max(1, options_.min_replies), static_cast<int>(tasks.size()));
  if (CountReady() < quorum) {
    spdlog::warn("round {}: {} silos connected, waiting up to {} s for {}", round, CountReady(),
                 options_.join_timeout_seconds, quorum);
    changed_.wait_for(lock, std::chrono::duration<double>(options_.join_timeout_seconds),
                      [&] { return CountReady() >= quorum; });
  }
  round_ = round;
  outstanding_.clear();
  // One serialized task per distinct parameter vector (normally one per round).
  std::map<const Vector*, std::shared_ptr<const v1::CoordinatorMessage>> messages;
  for (const SiloTask& task : tasks) {
    if (task.silo_id < 0 || task.silo_id >= options_.num_silos) {
      outstanding_[task.silo_id] = absl::NotFoundError(absl::StrCat("no silo with id ", task.silo_id));
      continue;
    }
    const std::shared_ptr<Peer>& peer = peers_[static_cast<size_t>(task.silo_id)];
    if (peer == nullptr || !peer->ready) {
      outstanding_[task.silo_id] =
          absl::UnavailableError(absl::StrCat(Describe(task.silo_id), " is not connected"));
      continue;
    }
    auto& message = messages[task.global.get()];
    if (message == nullptr) {
      auto built = std::make_shared<v1::CoordinatorMessage>();
      built->mutable_task()->set_round(static_cast<uint32_t>(round));
      wire::ToProto(*task.global, built->mutable_task()->mutable_global_parameters());
      message = std::move(built);
    }
    outstanding_[task.silo_id] = std::nullopt;
    traffic_.bytes_sent += message->ByteSizeLong();
    if (!peer->Send(message)) {
      outstanding_[task.silo_id] =
          absl::UnavailableError(absl::StrCat(Describe(task.silo_id), " is disconnecting"));
    }
  }
  const auto deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(options_.round_timeout_seconds));
  changed_.wait_until(lock, deadline, [&] {
    return std::all_of(outstanding_.begin(), outstanding_.end(),
                       [](const auto& entry) { return entry.second.has_value(); });
  });
  // Canonical order: ascending silo id (std::map), never arrival order.
  for (auto& [silo_id, reply] : outstanding_) {
    if (!reply.has_value()) {
      spdlog::warn("{} did not reply within {} s in round {}", Describe(silo_id),
                   options_.round_timeout_seconds, round);
      results.failures.push_back(SiloFailure{
          silo_id, absl::DeadlineExceededError(absl::StrCat(
                       Describe(silo_id), " did not reply within ", options_.round_timeout_seconds,
                       " s in round ", round))});
    } else if (reply->ok()) {
      results.updates.push_back(std::move(*reply).value());
    } else {
      results.failures.push_back(SiloFailure{silo_id, reply->status()});
    }
  }
  outstanding_.clear();  // late replies are now discarded
  return results;
}

std::vector<SiloPrivacyReport> NetworkTransport::PrivacyReports() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SiloPrivacyReport> reports = reports_;
  for (size_t id = 0; id < reports.size(); ++id) reports[id].own_data = own_data_[id];
  return reports;
}

absl::Status NetworkTransport::WaitForSilos(int count, double timeout_seconds) {
  std::unique_lock<std::mutex> lock(mu_);
  const bool reached = changed_.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                                         [&] { return CountReady() >= count; });
  if (reached) return absl::OkStatus();
  std::string missing;
  int listed = 0;
  for (int id = 0; id < options_.num_silos; ++id) {
    const auto& peer = peers_[static_cast<size_t>(id)];
    if (peer != nullptr && peer->ready) continue;
    if (listed++ < 10) missing += (missing.empty() ? "" : ", ") + Describe(id);
  }
  if (listed > 10) missing += absl::StrCat(" and ", listed - 10, " more");
  return absl::DeadlineExceededError(absl::StrCat(
      "only ", CountReady(), " of the ", count, " silos needed joined within ", timeout_seconds,
      " s (network.join_timeout_seconds); missing: ", missing));
}

void NetworkTransport::Finish(const std::string& reason) {
  auto message = std::make_shared<v1::CoordinatorMessage>();
  message->mutable_finish()->set_reason(reason);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& peer : peers_) {
    if (peer != nullptr) peer->Send(message);
  }
}

NetworkTraffic NetworkTransport::traffic() const {
  std::lock_guard<std::mutex> lock(mu_);
  return traffic_;
}

}  // namespace fedsilo
