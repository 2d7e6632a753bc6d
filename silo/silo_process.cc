#include "silo/silo_process.h"

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "common/base/binary_record.h"
#include "common/data/data_schema.h"
#include "common/data/loader_registry.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"
#include "common/runtime/silo_factory.h"
#include "common/runtime/silo_journal_file.h"
#include "common/transport/sealed_report.h"
#include "silo/journal_lock.h"
#include "fedsilo/v1/call_watchdog.h"
#include "fedsilo/v1/fedsilo.grpc.pb.h"
#include "fedsilo/v1/grpc_edge.h"
#include "fedsilo/v1/wire.h"

namespace fedsilo {
namespace {

using Clock = std::chrono::steady_clock;
using wire::CallWatchdog;
using wire::kGoodbyeTimeout;
using Stream = grpc::ClientReaderWriter<v1::SiloMessage, v1::CoordinatorMessage>;

// "a Task", "a Finish", ...: what a coordinator sent, for errors.
std::string MessageKind(const v1::CoordinatorMessage& message) {
  switch (message.kind_case()) {
    case v1::CoordinatorMessage::kWelcome: return "a Welcome";
    case v1::CoordinatorMessage::kTask: return "a Task";
    case v1::CoordinatorMessage::kFinish: return "a Finish";
    default: return "an empty message";
  }
}

absl::Status ValidateArguments(const SiloProcessOptions& options) {
  if (options.coordinator.empty()) {
    return absl::InvalidArgumentError("--coordinator HOST:PORT is required");
  }
  if (options.name.empty()) return absl::InvalidArgumentError("--name is required");
  if ((options.shard >= 0) == !options.data_file.empty()) {
    return absl::InvalidArgumentError("give exactly one of --data FILE.csv and --shard I");
  }
  if (!options.data_file.empty() && options.config_path.empty()) {
    return absl::InvalidArgumentError(
        "--data needs --config: the silo's own experiment file gives the CSV schema of its file");
  }
  if (!options.data_file.empty() && !std::filesystem::exists(options.data_file)) {
    return absl::NotFoundError("--data: no file " + options.data_file);
  }
  if (!options.coordinator_public_key.empty()) {
    FEDSILO_RETURN_IF_ERROR(ReadReportPublicKey(options.coordinator_public_key).status());
  }
  const bool any_tls = !options.ca.empty() || !options.cert.empty() || !options.key.empty();
  if (options.insecure) {
    if (any_tls) return absl::InvalidArgumentError("--insecure cannot be combined with TLS files");
    if (!wire::IsLoopbackAddress(options.coordinator)) {
      return absl::InvalidArgumentError(
          "--insecure (plaintext) is refused for " + options.coordinator +
          ": it is allowed only for a loopback address (127.0.0.1, ::1, localhost); use TLS "
          "(--ca, --cert, --key)");
    }
    return absl::OkStatus();
  }
  if (options.ca.empty()) {
    return absl::InvalidArgumentError(
        "the silo needs --ca (the CA of the coordinator's certificate) and --cert/--key (its own "
        "certificate), or --insecure for a coordinator on a loopback address");
  }
  if (options.cert.empty() != options.key.empty()) {
    return absl::InvalidArgumentError("--cert and --key go together");
  }
  for (const std::string* file : {&options.ca, &options.cert, &options.key}) {
    if (!file->empty() && !std::filesystem::exists(*file)) {
      return absl::NotFoundError("no file " + *file);
    }
  }
  return absl::OkStatus();
}

// The silo's own config made to read `options.data_file` as its only shard. The file is all
// training data unless the config names a test file or a test fraction: nothing is held out
// silently. `config` must be the silo's own (it has given_keys).
absl::Status UseOwnFile(const SiloProcessOptions& options, ExperimentConfig* config) {
  if (config->data.dataset != "csv") {
    return absl::InvalidArgumentError(
        "--data: the silo's config must describe its file (data.dataset: csv, data.label, ...); "
        "it names the dataset '" + config->data.dataset + "'");
  }
  config->data.csv.train = std::filesystem::absolute(options.data_file).string();
  if (config->data.csv.test.empty() && config->given_keys.count("data.test_fraction") == 0) {
    config->data.csv.test_fraction = 0.0;
  }
  config->partition = PartitionConfig();
  config->partition.silos = 1;  // every record of the file is this silo's
  config->partition.scheme = "iid";
  return absl::OkStatus();
}

// "silo 'x': N training and M test records from its own files (where the test records come from)".
std::string DescribeOwnData(const SiloProcessOptions& options, const ExperimentConfig& config,
                            const TrainTest& data) {
  const CsvSchema& csv = config.data.csv;
  return absl::StrCat(
      "silo '", options.name, "': ", data.train.size(), " training and ", data.test.size(),
      " test records from its own files, ", data.train.dim(), " features, ",
      data.train.num_classes, " classes (",
      !csv.test.empty() ? "test file " + csv.test
      : csv.test_fraction > 0.0
          ? absl::StrCat("data.test_fraction ", csv.test_fraction, " of ", csv.train, " held out")
          : "no test file or data.test_fraction configured: every record of " + csv.train +
                " trains",
      ")");
}

// Everything the silo builds once it knows its id and the experiment.
struct SiloWorld {
  std::string run_id;  // the coordinator's run this silo serves (its round journal's)
  ExperimentConfig config;
  PreparedExperiment experiment;
  std::unique_ptr<SiloRuntime> runtime;
  std::string journal_path;
};

absl::StatusOr<std::unique_ptr<SiloWorld>> BuildWorld(const SiloProcessOptions& options,
                                                      const std::optional<ExperimentConfig>& own,
                                                      const v1::Welcome& welcome) {
  auto world = std::make_unique<SiloWorld>();
  FEDSILO_ASSIGN_OR_RETURN(
      ExperimentConfig theirs,
      ParseExperimentConfig(welcome.experiment_yaml(), "the coordinator's config",
                            own ? std::vector<std::string>{} : options.overrides));
  if (own) {
    // One source of truth for training: the silo's own config decides its data, its privacy
    // budget, how it connects and its own outputs; everything else must be the coordinator's
    // (a silo silently training with its own lr or batch would make the recorded run false).
    std::vector<std::string> shared = {"", "model", "algorithm"};
    if (options.data_file.empty()) shared.push_back("partition");  // --shard: the same split
    if (const std::optional<ConfigDifference> difference =
            FirstConfigDifference(*own, theirs, shared)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this silo's config sets ", difference->key, " to ", difference->first,
          " but the coordinator's run has ", difference->second,
          "; a silo's own config may differ from the coordinator's only in its data, privacy, "
          "network and output sections"));
    }
    world->config = *own;
  } else {
    world->config = theirs;
  }
  ExperimentConfig& config = world->config;
  // The run's shared data schema, when it pins one: this silo must read its data by the same.
  if (!welcome.schema_digest().empty()) {
    if (config.data.csv.schema.empty()) {
      return absl::FailedPreconditionError(
          "the coordinator's run reads every silo's data by a shared schema (digest " +
          welcome.schema_digest() + "), but this silo's config names none (data.schema)");
    }
    FEDSILO_ASSIGN_OR_RETURN(const DataSchema schema, LoadDataSchema(config.data.csv.schema));
    if (DataSchemaDigest(schema) != welcome.schema_digest()) {
      return absl::FailedPreconditionError(
          "this silo's data schema " + config.data.csv.schema + " (digest " +
          DataSchemaDigest(schema) + ") is not the run's (digest " + welcome.schema_digest() +
          "): every silo must read its data by the same schema");
    }
  }
  if (!options.data_file.empty()) {
    FEDSILO_RETURN_IF_ERROR(UseOwnFile(options, &config));
  } else if (options.shard >= config.partition.silos) {
    return absl::InvalidArgumentError(absl::StrCat("--shard ", options.shard,
                                                   " is not a shard of this run (partition.silos ",
                                                   config.partition.silos, ")"));
  }
  FEDSILO_ASSIGN_OR_RETURN(world->experiment,
                           PrepareExperiment(config, /*require_test_records=*/false));
  if (!options.data_file.empty()) {
    spdlog::info("{}", DescribeOwnData(options, config, world->experiment.data()));
  }
  const int shard = options.data_file.empty() ? options.shard : 0;
  SiloFactory factory(world->experiment);
  factory.set_keep_last_answer(true);
  factory.set_secret_noise(!options.reproducible_noise);
  if (options.reproducible_noise) {
    spdlog::warn("silo '{}': --reproducible-noise: its batches and noise derive from the run's "
                 "seed and its id, so the coordinator can recompute and subtract every noise "
                 "vector; for testing only", options.name);
  }
  if (world->experiment.algorithm.trusted_server) {
    return absl::FailedPreconditionError(
        "this run's algorithm '" + config.algorithm.name + "' is a trusted-server baseline: a silo "
        "would send its clipped gradients without noise, which a silo process never does (run it "
        "in thread mode with fedsilo run)");
  }
  if (world->experiment.algorithm.requires_shuffler) {
    if (options.coordinator_public_key.empty()) {
      return absl::FailedPreconditionError(
          "this run's algorithm '" + config.algorithm.name + "' is shuffle-model: the silo seals "
          "its reports for the coordinator and needs the coordinator's public key pinned with "
          "--coordinator-public-key FILE (the coordinator's --sealing-key FILE.pub); it never "
          "takes a key from the peer it connects to");
    }
    FEDSILO_ASSIGN_OR_RETURN(ReportPublicKey key,
                             ReadReportPublicKey(options.coordinator_public_key));
    factory.set_seal_for(key);
    spdlog::info("silo '{}': sealing every report for the pinned coordinator key {}", options.name,
                 ReportPublicKeyHex(key));
  } else if (!options.coordinator_public_key.empty()) {
    return absl::FailedPreconditionError(
        "this silo has a pinned coordinator key (--coordinator-public-key) but the run's "
        "algorithm '" + config.algorithm.name + "' is not shuffle-model; the silo refuses to send "
        "its reports in the clear");
  }
  FEDSILO_ASSIGN_OR_RETURN(
      world->runtime,
      factory.Make(static_cast<int>(welcome.silo_id()),
                   world->experiment.shards[static_cast<size_t>(shard)].train));
  if (world->experiment.model->num_parameters() != static_cast<int64_t>(welcome.num_parameters())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this silo's model has ", world->experiment.model->num_parameters(),
        " parameters but the coordinator's has ", welcome.num_parameters(),
        " (different features, classes or model settings)"));
  }
  if (options.state_dir.empty() && world->runtime->PrivacyReport().record_level_dp) {
    return absl::FailedPreconditionError(
        "this run is record-level private (algorithm " + config.algorithm.name + "): the silo "
        "needs --state-dir DIR to keep its privacy ledger across restarts; without it a restarted "
        "silo would forget the budget it has spent");
  }
  if (!options.state_dir.empty()) {  // made and locked by RunSiloProcess (JournalLock)
    world->journal_path = (std::filesystem::path(options.state_dir) / (options.name + ".journal")).string();
    absl::StatusOr<SiloJournal> journal = ReadSiloJournal(world->journal_path);
    if (journal.ok()) {
      if (journal->run_id != welcome.run_id()) {
        // A new run on the same records: the privacy ledger carries over (the budget spans
        // runs), the round journal starts afresh (its rounds were another run's).
        spdlog::info("silo '{}': run {} is a new run (its journal was run '{}'): its ledger of {} "
                     "noisy queries carries over, its rounds start afresh",
                     options.name, welcome.run_id(), journal->run_id, journal->ledger.size());
        journal->last_round = 0;
        journal->last_global_digest = 0;
        journal->has_last_update = false;
        journal->last_update = SiloUpdate();
      }
      FEDSILO_RETURN_IF_ERROR(world->runtime->Restore(*journal));
      spdlog::info("silo '{}': restored its journal: {} noisy queries, last round {}",
                   options.name, world->runtime->ledger().num_queries(), journal->last_round);
    } else if (!absl::IsNotFound(journal.status())) {
      return journal.status();  // a damaged journal: refuse rather than forget spent budget
    }
  }
  world->run_id = welcome.run_id();
  FEDSILO_RETURN_IF_ERROR(world->runtime->Setup());
  if (absl::Status budget = world->runtime->CanServeAnotherRound(); !budget.ok()) {
    spdlog::warn("silo '{}' joins with its privacy budget spent: it will refuse every round "
                 "({})", options.name, std::string(budget.message()));
  }
  spdlog::info("silo '{}' is silo {} with {} records", options.name, welcome.silo_id(),
               world->runtime->num_records());
  return world;
}

// Answers one task: runs it, persists the journal, then replies.
absl::Status Serve(const SiloProcessOptions& options, SiloWorld& world, const v1::Task& task,
                   Stream* stream) {
  const int round = static_cast<int>(task.round());
  v1::SiloMessage reply;
  absl::StatusOr<Vector> global =
      wire::FromProto(task.global_parameters(), world.experiment.model->num_parameters(),
                      absl::StrCat("the parameters of round ", round));
  absl::StatusOr<SiloUpdate> update =
      global.ok() ? world.runtime->Handle(SiloTask{round, world.runtime->silo_id(),
                                                   std::make_shared<const Vector>(*std::move(global))})
                  : absl::StatusOr<SiloUpdate>(global.status());
  if (!world.journal_path.empty()) {
    // Before answering: a silo killed after answering must not forget this query.
    SiloJournal journal = world.runtime->Journal();
    journal.run_id = world.run_id;
    FEDSILO_RETURN_IF_ERROR(WriteSiloJournal(world.journal_path, journal));
  }
  const SiloPrivacyReport report = world.runtime->PrivacyReport();
  if (update.ok()) {
    v1::Update* out = reply.mutable_update();
    out->set_round(task.round());
    if (!update->sealed.empty()) {
      for (const SealedReport& sealed : update->sealed) {
        out->add_sealed(std::string(sealed.begin(), sealed.end()));
      }
      for (const SumShare& share : update->sum_shares) wire::ToProto(share, out->add_sum_shares());
      out->set_weight(1.0);
    } else {
      wire::ToProto(update->delta, out->mutable_delta());
      out->set_weight(update->weight);
    }
    wire::ToProto(report, out->mutable_privacy());
  } else {
    spdlog::warn("silo '{}' refuses round {}: {}", options.name, round, std::string(update.status().message()));
    v1::Refusal* out = reply.mutable_refusal();
    out->set_round(task.round());
    out->set_code(static_cast<int>(update.status().code()));
    out->set_message(std::string(update.status().message()));
    wire::ToProto(report, out->mutable_privacy());
  }
  stream->Write(reply);  // a failed write shows up as a failed Read next
  return absl::OkStatus();
}

}  // namespace

absl::Status RunSiloProcess(const SiloProcessOptions& options) {
  FEDSILO_RETURN_IF_ERROR(ValidateArguments(options));
  std::optional<ExperimentConfig> own;
  if (!options.config_path.empty()) {
    FEDSILO_ASSIGN_OR_RETURN(own, LoadExperimentConfig(options.config_path, options.overrides));
  }
  const double max_message_mb = own ? own->network.max_message_mb : NetworkConfig().max_message_mb;
  const auto open_channel = [&] {
    return wire::OpenChannel(
        options.coordinator,
        wire::ClientTlsFiles{options.insecure, options.ca, options.cert, options.key,
                             options.server_name},
        max_message_mb,
        own ? own->network.keepalive_seconds : NetworkConfig().keepalive_seconds);
  };
  FEDSILO_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, open_channel());
  if (options.dry_run) {
    if (!options.data_file.empty()) {  // read and check the silo's own file too
      ExperimentConfig config = *own;
      FEDSILO_RETURN_IF_ERROR(UseOwnFile(options, &config));
      config.data.dir = ResolveDataDir(config.data.dir);
      FEDSILO_ASSIGN_OR_RETURN(const TrainTest data, LoadData(config.data));
      std::fprintf(stderr, "%s\n", DescribeOwnData(options, config, data).c_str());
    }
    return absl::OkStatus();
  }
  std::optional<JournalLock> journal_lock;  // held until the process ends
  if (!options.state_dir.empty()) {
    FEDSILO_ASSIGN_OR_RETURN(journal_lock, JournalLock::Acquire(options.state_dir, options.name));
  }
  auto stub = v1::Coordinator::NewStub(channel);

  std::unique_ptr<SiloWorld> world;
  const auto timeout = [&] {
    const double seconds = options.connect_timeout_seconds > 0 ? options.connect_timeout_seconds
                           : world != nullptr ? world->config.network.join_timeout_seconds
                           : own              ? own->network.join_timeout_seconds
                                              : NetworkConfig().join_timeout_seconds;
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  };
  auto give_up_at = Clock::now() + timeout();
  auto backoff = std::chrono::milliseconds(100);
  std::string last_problem = "no answer";
  for (;;) {
    grpc::ClientContext context;
    std::unique_ptr<Stream> stream;
    v1::SiloMessage hello;
    hello.mutable_hello()->set_protocol_version(wire::kProtocolVersion);
    hello.mutable_hello()->set_silo_name(options.name);
    hello.mutable_hello()->set_shard(options.shard);
    v1::CoordinatorMessage message;
    bool answered;
    bool no_welcome;
    {
      // From the call's start: opening the stream waits for the connection too.
      CallWatchdog watchdog(&context, timeout());
      stream = stub->Session(&context);
      answered = stream->Write(hello) && stream->Read(&message);
      watchdog.Disarm();
      no_welcome = watchdog.fired();
    }
    if (answered && !message.has_welcome()) {
      // Not a fedsilo coordinator of this protocol; waiting for its status could last forever.
      context.TryCancel();
      return absl::FailedPreconditionError(absl::StrCat(
          "the peer at ", options.coordinator, " answered this silo's Hello with ",
          MessageKind(message), " instead of a Welcome: not a fedsilo coordinator of protocol ",
          wire::kProtocolVersion));
    }
    bool joined = answered;
    if (joined) {
      const v1::Welcome& welcome = message.welcome();
      if (world == nullptr) {
        FEDSILO_ASSIGN_OR_RETURN(world, BuildWorld(options, own, welcome));
      } else if (static_cast<int>(welcome.silo_id()) != world->runtime->silo_id()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the coordinator now calls this silo ", welcome.silo_id(), ", it was ",
            world->runtime->silo_id()));
      } else if (welcome.run_id() != world->run_id) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the coordinator started a new run (", welcome.run_id(), ") while this silo served run ",
            world->run_id, "; restart the silo to join it (its ledger carries over)"));
      }
      v1::SiloMessage ready;
      ready.mutable_ready()->set_num_parameters(
          static_cast<uint64_t>(world->experiment.model->num_parameters()));
      wire::ToProto(world->runtime->PrivacyReport(), ready.mutable_ready()->mutable_privacy());
      joined = stream->Write(ready);
      backoff = std::chrono::milliseconds(100);
      while (joined && stream->Read(&message)) {
        if (message.has_task()) {
          FEDSILO_RETURN_IF_ERROR(Serve(options, *world, message.task(), stream.get()));
        } else if (message.has_finish()) {
          rusage usage{};
          getrusage(RUSAGE_SELF, &usage);
          spdlog::info("silo '{}': the coordinator ended the run: {} (peak memory {:.1f} MiB)",
                       options.name, message.finish().reason(), usage.ru_maxrss / 1024.0);
          // The run is over for this silo whatever the coordinator does next: a coordinator that
          // keeps the stream open after its Finish cannot keep the process alive.
          CallWatchdog watchdog(&context, kGoodbyeTimeout);
          stream->WritesDone();
          stream->Finish();
          return absl::OkStatus();
        }
      }
    }
    grpc::Status status;
    {
      // The stream has ended (or never began): its status comes at once from a coordinator or
      // the connection; from a peer that holds the call open, within kGoodbyeTimeout.
      CallWatchdog watchdog(&context, kGoodbyeTimeout);
      status = stream->Finish();
    }
    if (no_welcome) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no Welcome from ", options.coordinator, " within ",
          std::chrono::duration<double>(timeout()).count(),
          " s of this silo's Hello: the peer accepts connections but does not answer (stopped, "
          "overloaded, or not a fedsilo coordinator)"));
    }
    if (!wire::WorthReconnecting(status.error_code())) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          "the coordinator refused this silo: " + status.error_message());
    }
    last_problem = status.error_message().empty() ? "stream closed" : status.error_message();
    if (answered) {
      // A Welcome came, so the coordinator was there: the time to reach it again starts now, even
      // when building this silo's half took longer than the timeout and the Ready then failed.
      spdlog::warn("silo '{}': lost the coordinator ({}); reconnecting", options.name, last_problem);
      give_up_at = Clock::now() + timeout();
    }
    if (Clock::now() >= give_up_at) {
      // Over TLS 1.3 a coordinator that refuses this silo's certificate closes the connection
      // after the handshake; gRPC then reports only a closed socket.
      const bool refused_certificate =
          !options.insecure && last_problem.find("Socket closed") != std::string::npos;
      return absl::DeadlineExceededError(
          "could not reach the coordinator at " + options.coordinator + ": " + last_problem +
          (refused_certificate
               ? " (over TLS this usually means the coordinator refused this silo's certificate: "
                 "--cert must be signed by the CA the coordinator trusts (its --client-ca))"
               : ""));
    }
    // Every attempt dials afresh: a channel whose connection failed waits out gRPC's own
    // reconnect schedule (10 s and more here) and fails each call meanwhile with the old error,
    // so a coordinator back after a restart went unseen.
    FEDSILO_ASSIGN_OR_RETURN(channel, open_channel());
    stub = v1::Coordinator::NewStub(channel);
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace fedsilo
