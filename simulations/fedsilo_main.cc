// fedsilo: the command-line entry point. Subcommands:
//   fedsilo run CONFIG.yaml [--set key.path=value ...] [--out DIR] [--threads N] [--quiet]
//   fedsilo sweep CONFIG.yaml --set-list key.path=v1,v2,... [...] --out DIR [--set ...]
//                 [--jobs N] [--resume] [--threads N] [--quiet]
//   fedsilo coordinator CONFIG.yaml --listen HOST:PORT [--out DIR] [--resume] [TLS | --insecure]
//   fedsilo silo --coordinator HOST:PORT --name NAME (--data FILE.csv | --shard I) [--config ...]
//   fedsilo shuffler --listen HOST:PORT --coordinator HOST:PORT [TLS | --insecure]
//   fedsilo privacy epsilon --sampling S --q Q --noise-multiplier Z --steps T --delta D [--json]
//   fedsilo privacy calibrate --epsilon E --delta D --sampling S --q Q --steps T [--json]
//   fedsilo privacy shuffle --reports N --rounds R --epsilon E --delta D [--q Q] [--json]
//   fedsilo partition CONFIG.yaml --out DIR [--set key.path=value ...]
// Exit status: 0 success, 2 bad input (config, data, arguments), 1 any other failure.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common/dp/calibration.h"
#include "common/dp/rdp.h"
#include "common/dp/shuffle_calibration.h"
#include "common/dp/rdp_accountant.h"

#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"
#include "common/runtime/journal_summary.h"
#include "common/runtime/run_curves.h"
#include "common/runtime/silo_journal_file.h"
#include "common/base/binary_record.h"
#include "common/data/csv_loader.h"
#include "common/data/csv_reader.h"
#include "common/data/data_schema.h"
#include "common/runtime/partition_export.h"
#include "common/runtime/silo_privacy.h"
#include "common/runtime/sweep.h"
#include "fedsilo/v1/grpc_edge.h"
#include "server/coordinator_process.h"
#include "server/shuffler_process.h"
#include "silo/silo_process.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace {

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return 2;
    default:
      return 1;
  }
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "fedsilo: error: %s\n", std::string(status.message()).c_str());
  return ExitCodeFor(status);
}

// What every run prints at the end: a line of results and a plain privacy statement.
void PrintRunReport(const fedsilo::ExperimentConfig& config, const fedsilo::RunReport& report,
                    bool quiet) {
  if (!report.stop_reason.empty()) {
    std::fprintf(stderr, "fedsilo: %s\n", report.stop_reason.c_str());
  }
  if (quiet) return;
  std::fprintf(stderr,
               "fedsilo: %d rounds, test accuracy %.4f, test loss %.4f, train %.3fs; "
               "results in %s\n",
               report.rounds_completed, report.final_test.accuracy, report.final_test.loss,
               report.train_seconds, report.out_dir.c_str());
  if (report.skipped_rounds > 0) {
    std::fprintf(stderr, "fedsilo: %d rounds missed the quorum (network.min_replies %d) and "
                 "left the model unchanged\n", report.skipped_rounds, config.network.min_replies);
  }
  if (!(std::isfinite(report.epsilon) || std::isnan(report.epsilon))) return;
  const fedsilo::PrivacyConfig& privacy = config.privacy;
  const std::string relation = fedsilo::kNeighbouringRelation;
  if (!report.shuffle_accountant.empty()) {
    std::fprintf(stderr,
                 "fedsilo: privacy: each silo spent epsilon <= %.4g of its budget %g at "
                 "delta <= %g (%s; local randomizer eps0 %.4g, %s neighbours)\n",
                 report.epsilon, privacy.epsilon, report.delta, report.shuffle_accountant.c_str(),
                 report.shuffle_eps0, relation.c_str());
  } else if (std::isnan(report.epsilon)) {
    std::fprintf(stderr,
                 "fedsilo: privacy: NOT certified: %s sampling has no accountant; the "
                 "closed-form calibration targets epsilon %g (delta <= %g, %s)\n",
                 privacy.sampling.c_str(), privacy.epsilon, report.delta, relation.c_str());
  } else if (privacy.calibration == "paper") {
    std::fprintf(stderr,
                 "fedsilo: privacy: the closed-form calibration targets epsilon %g; the RDP "
                 "accountant certifies epsilon <= %.4g at delta <= %g for what ran (%s "
                 "sampling, %s neighbours)\n",
                 privacy.epsilon, report.epsilon, report.delta, privacy.sampling.c_str(),
                 relation.c_str());
  } else {
    std::fprintf(stderr,
                 "fedsilo: privacy: each silo spent epsilon <= %.4g of its budget %g at "
                 "delta <= %g (RDP accountant, %s sampling, %s neighbours)\n",
                 report.epsilon, privacy.epsilon, report.delta, privacy.sampling.c_str(),
                 relation.c_str());
  }
}

int Run(const std::string& config_path, const std::vector<std::string>& overrides,
        const fedsilo::RunOptions& options) {
  auto config = fedsilo::LoadExperimentConfig(config_path, overrides);
  if (!config.ok()) return Fail(config.status());
  auto report = fedsilo::RunExperiment(*config, options);
  if (!report.ok()) return Fail(report.status());
  PrintRunReport(*config, *report, options.quiet);
  return 0;
}

int Coordinator(const fedsilo::CoordinatorProcessOptions& options) {
  auto result = fedsilo::RunCoordinatorProcess(options);
  if (!result.ok()) return Fail(result.status());
  if (options.dry_run) {
    std::fprintf(stderr, "fedsilo: coordinator arguments and %s are valid\n",
                 options.config_path.c_str());
    return 0;
  }
  PrintRunReport(result->config, result->report, options.run.quiet);
  // A coordinator whose run could not go on, or never changed the model, has not done its job:
  // the results are written, but the exit status says so (3).
  const fedsilo::RunReport& report = result->report;
  if (!report.stop_reason.empty() ||
      (report.rounds_completed > 0 && report.skipped_rounds >= report.rounds_completed)) {
    std::fprintf(stderr, "fedsilo: error: the run did not complete: %s\n",
                 !report.stop_reason.empty()
                     ? report.stop_reason.c_str()
                     : "no round reached quorum (network.min_replies), the model is unchanged");
    return 3;
  }
  return 0;
}

int Silo(const fedsilo::SiloProcessOptions& options) {
  const absl::Status status = fedsilo::RunSiloProcess(options);
  if (!status.ok()) return Fail(status);
  if (options.dry_run) std::fprintf(stderr, "fedsilo: silo arguments are valid\n");
  return 0;
}

int Sweep(const std::string& config_path, const std::vector<std::string>& overrides,
          const std::vector<std::string>& lists, fedsilo::RunOptions options,
          fedsilo::SweepOptions sweep_options) {
  auto axes = fedsilo::ParseSweepAxes(lists);
  if (!axes.ok()) return Fail(axes.status());
  sweep_options.progress = !options.quiet;
  options.quiet = true;  // the sweep's own line per point, not each run's
  auto table = fedsilo::RunSweep(config_path, overrides, *axes, options, sweep_options);
  if (!table.ok()) return Fail(table.status());
  std::fprintf(stderr, "fedsilo: %zu runs; table in %s\n",
               fedsilo::SweepPoints(*axes).size(), table->c_str());
  return 0;
}

// Arguments of `fedsilo privacy ...`: one subsampled Gaussian mechanism repeated `steps` times.
struct PrivacyArguments {
  std::string sampling = "poisson";
  double q = 1.0;
  double noise_multiplier = 0.0;
  long long steps = 1;
  double delta = 1e-5;
  double epsilon = 0.0;
  bool json = false;
};

// --sampling poisson is what a silo runs: replace-one with its size public (kPoissonReplaceOne,
// whose curve at q = 1 is the Gaussian of sensitivity 2C). poisson_add_remove is the textbook
// add/remove-one curve (Opacus, dp_accounting), sound only when the dataset size stays secret.
absl::StatusOr<fedsilo::DpEventShape> StepShape(const PrivacyArguments& args) {
  fedsilo::DpEventShape shape;
  if (args.sampling == "poisson") {
    shape.subsampling = fedsilo::Subsampling::kPoissonReplaceOne;
  } else if (args.sampling == "poisson_add_remove") {
    shape.subsampling = fedsilo::Subsampling::kPoisson;
  } else if (args.sampling == "without_replacement") {
    shape.subsampling = fedsilo::Subsampling::kWithoutReplacement;
  } else if (args.sampling == "none") {
    shape.subsampling = fedsilo::Subsampling::kNone;
  } else {
    return absl::InvalidArgumentError(
        "--sampling: unknown value '" + args.sampling +
        "' (allowed: poisson, poisson_add_remove, without_replacement, none)");
  }
  if (!(args.q > 0.0 && args.q <= 1.0)) {
    return absl::InvalidArgumentError("--q: the sampling rate must be in (0, 1]");
  }
  if (args.q == 1.0 && shape.subsampling != fedsilo::Subsampling::kPoissonReplaceOne) {
    shape.subsampling = fedsilo::Subsampling::kNone;
  }
  if (shape.subsampling == fedsilo::Subsampling::kNone && args.q != 1.0) {
    return absl::InvalidArgumentError("--sampling none needs --q 1");
  }
  if (args.steps < 1) return absl::InvalidArgumentError("--steps must be at least 1");
  if (!(args.delta > 0.0 && args.delta < 1.0)) {
    return absl::InvalidArgumentError("--delta must be in (0, 1)");
  }
  shape.sampling_rate = args.q;
  shape.count = args.steps;
  return shape;
}

std::string Neighbouring(const std::string& sampling) {
  return sampling == "poisson_add_remove" ? "add/remove-one" : "replace-one";
}

int PrivacyEpsilon(const PrivacyArguments& args) {
  auto shape = StepShape(args);
  if (!shape.ok()) return Fail(shape.status());
  if (!(args.noise_multiplier > 0.0)) {
    return Fail(absl::InvalidArgumentError("--noise-multiplier must be positive"));
  }
  const fedsilo::DpEventShape steps[] = {*shape};
  auto result = fedsilo::EpsilonForNoiseMultiplier(args.noise_multiplier, args.delta, steps,
                                                   fedsilo::DefaultRdpOrders());
  if (!result.ok()) return Fail(result.status());
  if (args.json) {
    nlohmann::json out = {{"epsilon", result->epsilon}, {"order", result->order},
                          {"delta", args.delta}, {"sampling", args.sampling},
                          {"neighbouring", Neighbouring(args.sampling)}, {"q", args.q},
                          {"noise_multiplier", args.noise_multiplier}, {"steps", args.steps},
                          {"accountant", "rdp"}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("epsilon = %.10g at delta = %g (RDP order %g; %s, %s neighbours)\n",
                result->epsilon, args.delta, result->order, args.sampling.c_str(),
                Neighbouring(args.sampling).c_str());
  }
  return 0;
}

int PrivacyCalibrate(const PrivacyArguments& args) {
  auto shape = StepShape(args);
  if (!shape.ok()) return Fail(shape.status());
  const fedsilo::DpEventShape steps[] = {*shape};
  auto z = fedsilo::CalibrateNoiseMultiplier(args.epsilon, args.delta, steps);
  if (!z.ok()) return Fail(z.status());
  auto check = fedsilo::EpsilonForNoiseMultiplier(*z, args.delta, steps, fedsilo::DefaultRdpOrders());
  if (!check.ok()) return Fail(check.status());
  if (args.json) {
    nlohmann::json out = {{"noise_multiplier", *z}, {"epsilon", check->epsilon},
                          {"target_epsilon", args.epsilon}, {"order", check->order},
                          {"delta", args.delta}, {"sampling", args.sampling},
                          {"neighbouring", Neighbouring(args.sampling)}, {"q", args.q},
                          {"steps", args.steps}, {"accountant", "rdp"}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("noise multiplier = %.10g (epsilon %.10g <= %g at delta %g; %s, %s neighbours)\n",
                *z, check->epsilon, args.epsilon, args.delta, args.sampling.c_str(),
                Neighbouring(args.sampling).c_str());
  }
  return 0;
}

// `fedsilo privacy shuffle`: the shuffle model's eps0 calibration (shuffle_calibration.h), the
// same one every sdp_minibatch_sgd silo runs: --reports = network.min_replies x batch size,
// --q = batch / privacy.min_silo_records (1 = no amplification by subsampling).
struct ShuffleArguments {
  long long reports = 0;
  int rounds = 0;
  double epsilon = 0.0;
  double delta = 1e-5;
  double q = 1.0;
  bool json = false;
};

int PrivacyShuffle(const ShuffleArguments& args) {
  auto calibration = fedsilo::CalibrateShuffleEps0(args.reports, args.rounds, args.epsilon,
                                                   args.delta, 1e-4, {}, args.q);
  if (!calibration.ok()) return Fail(calibration.status());
  const char* accountant = args.q < 1.0 ? fedsilo::kShuffleSubsampledAccountantName
                                        : fedsilo::kShuffleAccountantName;
  if (args.json) {
    nlohmann::json out = {{"eps0", calibration->eps0},
                          {"min_reports", calibration->min_reports},
                          {"rounds", calibration->rounds},
                          {"sampling_rate", calibration->sampling_rate},
                          {"shuffle_round_epsilon", calibration->shuffle_epsilon},
                          {"shuffle_round_delta", calibration->shuffle_delta},
                          {"round_epsilon", calibration->round_epsilon},
                          {"round_delta", calibration->round_delta},
                          {"epsilon", calibration->epsilon},
                          {"target_epsilon", args.epsilon},
                          {"delta", calibration->delta},
                          {"neighbouring", "replace-one record"},
                          {"accountant", accountant}};
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("eps0 = %.6g (each round: %.6g after shuffling %lld reports, %.6g after "
                "subsampling at q = %g; %d rounds compose to epsilon %.6g <= %g at delta %g; "
                "%s, replace-one record neighbours)\n",
                calibration->eps0, calibration->shuffle_epsilon, args.reports,
                calibration->round_epsilon, args.q, args.rounds, calibration->epsilon,
                args.epsilon, calibration->delta, accountant);
  }
  return 0;
}

int Shuffler(const fedsilo::ShufflerProcessOptions& options) {
  const absl::Status status = fedsilo::RunShufflerProcess(options);
  if (!status.ok()) return Fail(status);
  if (options.dry_run) std::fprintf(stderr, "fedsilo: shuffler arguments are valid\n");
  return 0;
}

// `fedsilo partition`: each silo's share of the data in its own folder (partition_export.h).
int Partition(const std::string& config_path, const std::vector<std::string>& overrides,
              const std::string& out_dir) {
  auto config = fedsilo::LoadExperimentConfig(config_path, overrides);
  if (!config.ok()) return Fail(config.status());
  auto report = fedsilo::ExportPartition(*config, out_dir);
  if (!report.ok()) return Fail(report.status());
  std::fprintf(stderr, "%s", report->summary.c_str());
  std::fprintf(stderr,
               "fedsilo: %d silos (%lld train, %lld test records) written to %s: summary.txt, "
               "coordinator.yaml and silo_<i>/{train.csv,test.csv,silo.yaml}\n"
               "fedsilo: start the coordinator with %s/coordinator.yaml; silo i joins as "
               "--name %s .. %s with --data silo_<i>/train.csv --config silo_<i>/silo.yaml\n",
               report->silos, report->train_rows, report->test_rows, report->out_dir.c_str(),
               report->out_dir.c_str(), report->roster.front().c_str(),
               report->roster.back().c_str());
  return 0;
}

// `fedsilo schema`: a first shared data schema from a csv config and its reference file.
int Schema(const std::string& config_path, const std::vector<std::string>& overrides,
           const std::string& out) {
  auto config = fedsilo::LoadExperimentConfig(config_path, overrides);
  if (!config.ok()) return Fail(config.status());
  auto schema = fedsilo::SchemaFromReference(config->data);
  if (!schema.ok()) return Fail(schema.status());
  const std::string text =
      "# fedsilo data schema, written by `fedsilo schema` from " + config->data.csv.train +
      ".\n# Edit it (levels, classes, public centre and scale), then give every silo the same "
      "file\n# (data.schema); each maps its own column names and spellings with data.rename and "
      "data.recode.\n" + fedsilo::DataSchemaToYaml(*schema);
  if (absl::Status written = fedsilo::WriteFileAtomically(out, text); !written.ok()) {
    return Fail(written);
  }
  std::fprintf(stderr, "fedsilo: schema with %zu features written to %s (digest %s)\n",
               schema->features.size(), out.c_str(), fedsilo::DataSchemaDigest(*schema).c_str());
  return 0;
}

struct CheckDataArgs {
  std::string schema;
  std::string data;
  std::vector<std::string> rename;
  std::vector<std::string> recode;
  std::string delimiter = ",";
};

// `fedsilo check-data`: what a silo would read from its file by the shared schema, or the first
// problem (file, line, column, value) with exit 2.
int CheckData(const CheckDataArgs& args) {
  auto schema = fedsilo::LoadDataSchema(args.schema);
  if (!schema.ok()) return Fail(schema.status());
  auto mapping = fedsilo::ParseSchemaMapping(args.rename, args.recode);
  if (!mapping.ok()) return Fail(mapping.status());
  auto options = fedsilo::CsvOptionsForDelimiter(args.delimiter);
  if (!options.ok()) return Fail(options.status());
  auto rows = fedsilo::ReadCsvFile(args.data, *options);
  if (!rows.ok()) return Fail(rows.status());
  auto table = fedsilo::TableFromCsv(*std::move(rows), args.data, /*header=*/true);
  if (!table.ok()) return Fail(table.status());
  fedsilo::SchemaReadReport report;
  auto data = fedsilo::ReadWithSchema(*table, *schema, *mapping, &report);
  if (!data.ok()) return Fail(data.status());
  std::string dropped;
  for (const auto& [column, count] : report.missing_by_column) {
    dropped += (dropped.empty() ? "" : ", ") + column + " " + std::to_string(count);
  }
  std::fprintf(stderr, "fedsilo: %s: %zu rows read, %zu dropped%s%s%s\n", args.data.c_str(),
               report.rows_read, report.rows_dropped, dropped.empty() ? "" : " (missing: ",
               dropped.c_str(), dropped.empty() ? "" : ")");
  std::vector<int> classes(static_cast<size_t>(data->num_classes), 0);
  for (int y : data->y) ++classes[static_cast<size_t>(y)];
  std::string class_counts;
  for (size_t c = 0; c < classes.size(); ++c) {
    class_counts += (c > 0 ? ", " : "") + data->class_names[c] + " " + std::to_string(classes[c]);
  }
  std::fprintf(stderr, "fedsilo: %d records, %d features, classes: %s\n", data->size(),
               data->dim(), class_counts.c_str());
  if (data->has_groups()) {
    std::vector<int> groups(static_cast<size_t>(data->num_groups), 0);
    for (int g : data->group) ++groups[static_cast<size_t>(g)];
    std::string group_counts;
    for (size_t g = 0; g < groups.size(); ++g) {
      group_counts += (g > 0 ? ", " : "") + data->group_names[g] + " " + std::to_string(groups[g]);
    }
    std::fprintf(stderr, "fedsilo: groups: %s\n", group_counts.c_str());
  }
  std::fprintf(stderr, "fedsilo: schema digest %s\n", fedsilo::DataSchemaDigest(*schema).c_str());
  return 0;
}

struct PlotArgs {
  std::vector<std::string> dirs;
  fedsilo::CurveOptions curve;
  fedsilo::PlotOptions plot;
  std::string band = "std";
};

// `fedsilo plot DIR... --out FILE.png`: training curves averaged over seeds, with a band.
int Plot(PlotArgs args) {
  if (args.band == "none") args.curve.band = fedsilo::CurveBand::kNone;
  if (args.band == "ci95") args.curve.band = fedsilo::CurveBand::kCi95;
  auto curves = fedsilo::LoadCurves(args.dirs, args.curve);
  if (!curves.ok()) return Fail(curves.status());
  if (args.plot.x_label.empty()) {
    args.plot.x_label = args.curve.x_key.empty() ? args.curve.x : args.curve.x_key;
  }
  if (args.plot.y_label.empty()) args.plot.y_label = args.curve.y;
  if (absl::Status drawn = fedsilo::PlotCurves(*curves, args.plot); !drawn.ok()) return Fail(drawn);
  size_t runs = 0;
  for (const fedsilo::Curve& curve : *curves) runs += curve.run_dirs.size();
  std::fprintf(stderr, "fedsilo: %zu curves from %zu runs: %s\n", curves->size(), runs,
               args.plot.out.c_str());
  for (const fedsilo::Curve& curve : *curves) {
    std::fprintf(stderr, "  %s: %zu runs\n", curve.label.c_str(), curve.run_dirs.size());
  }
  return 0;
}

// `fedsilo journal FILE`: a silo journal's ledger and rounds as JSON on stdout.
int Journal(const std::string& path, std::optional<double> delta) {
  auto journal = fedsilo::ReadSiloJournal(path);
  if (!journal.ok()) return Fail(journal.status());
  auto summary = fedsilo::SummarizeSiloJournal(*journal, delta);
  if (!summary.ok()) return Fail(summary.status());
  std::printf("%s\n", summary->dump(2).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  fedsilo::wire::KeepOpenSslStateUntilExit();  // before any TLS: see grpc_edge.h
  CLI::App app{"fedsilo: cross-silo federated learning with record-level differential privacy"};
  app.set_version_flag("--version", std::string("fedsilo ") + FEDSILO_VERSION +
                                         " (instruction set " FEDSILO_ARCH_LEVEL ")");
  app.require_subcommand(1);

  std::string config_path;
  std::vector<std::string> overrides;
  fedsilo::RunOptions options;
  CLI::App* run = app.add_subcommand("run", "run an experiment in thread mode (one thread per silo task)");
  run->add_option("config", config_path, "experiment file (YAML)")->required();
  run->add_option("--set", overrides, "override a config key: key.path=value (repeatable)");
  run->add_option("--out", options.out_dir, "output directory (default: output.dir)");
  run->add_option("--threads", options.threads, "silo worker threads (default: number of cores)")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("--quiet", options.quiet, "no progress line");

  std::vector<std::string> set_lists;
  CLI::App* sweep = app.add_subcommand(
      "sweep", "run a grid of experiments (one per combination of --set-list values), one table");
  sweep->add_option("config", config_path, "experiment file (YAML)")->required();
  sweep->add_option("--set-list", set_lists, "a swept key: key.path=v1,v2,... (repeatable)")
      ->required();
  sweep->add_option("--set", overrides, "override a config key in every run (repeatable)");
  sweep->add_option("--out", options.out_dir, "output directory: sweep.csv and point_<i>/")
      ->required();
  sweep->add_option("--threads", options.threads,
                    "silo worker threads in all (default: number of cores), shared by the jobs")
      ->check(CLI::NonNegativeNumber);
  fedsilo::SweepOptions sweep_options;
  sweep->add_option("--jobs", sweep_options.jobs, "points run at once (default 1)")
      ->check(CLI::PositiveNumber);
  sweep->add_flag("--resume", sweep_options.resume,
                  "continue the sweep of the same grid in --out: finished points are not rerun");
  sweep->add_flag("--quiet", options.quiet, "no line per finished point");

  fedsilo::CoordinatorProcessOptions coordinator_options;
  CLI::App* coordinator = app.add_subcommand(
      "coordinator", "run the coordinator of a networked run: silos dial in over gRPC");
  coordinator->add_option("config", coordinator_options.config_path, "experiment file (YAML)")
      ->required();
  coordinator->add_option("--listen", coordinator_options.listen,
                          "HOST:PORT to listen on (port 0: any free port)")
      ->required();
  coordinator->add_option("--set", coordinator_options.overrides,
                          "override a config key: key.path=value (repeatable)");
  coordinator->add_option("--out", coordinator_options.run.out_dir,
                          "output directory (default: output.dir)");
  coordinator->add_option("--threads", coordinator_options.run.threads,
                          "evaluation threads (default: number of cores)")
      ->check(CLI::NonNegativeNumber);
  coordinator->add_flag("--resume", coordinator_options.run.resume,
                        "continue a killed run from OUT/checkpoint.bin");
  coordinator->add_flag("--quiet", coordinator_options.run.quiet, "no progress line");
  coordinator->add_flag("--insecure", coordinator_options.insecure,
                        "plaintext, loopback addresses only");
  coordinator->add_option("--tls-cert", coordinator_options.tls_cert, "PEM server certificate");
  coordinator->add_option("--tls-key", coordinator_options.tls_key, "PEM server private key");
  coordinator->add_option("--client-ca", coordinator_options.client_ca,
                          "PEM CA of the silos' certificates (mutual TLS; name = CN)");
  coordinator->add_option("--port-file", coordinator_options.port_file,
                          "write the bound port to this file once listening");
  coordinator->add_flag("--dry-run", coordinator_options.dry_run,
                        "validate the arguments and the config, then exit");

  coordinator->add_option("--sealing-key", coordinator_options.sealing_key,
                          "shuffle-model runs: the coordinator's key pair for sealed reports "
                          "(created if absent, mode 0600); its public key goes to FILE.pub");
  coordinator->add_option("--shuffler-name", coordinator_options.shuffler_name,
                          "shuffle-model runs with --client-ca: the certificate CN the shuffler "
                          "must present")
      ->capture_default_str();

  fedsilo::SiloProcessOptions silo_options;
  CLI::App* silo = app.add_subcommand(
      "silo", "run one silo of a networked run: dials out to the coordinator");
  silo->add_option("--coordinator", silo_options.coordinator,
                   "HOST:PORT of the coordinator (of the shuffler in a shuffle-model run)")
      ->required();
  silo->add_option("--name", silo_options.name, "this silo's name (its certificate's CN)")
      ->required();
  auto* data_option =
      silo->add_option("--data", silo_options.data_file, "this silo's own CSV file (needs --config)");
  auto* shard_option = silo->add_option("--shard", silo_options.shard,
                                        "derive shard I of the configured dataset (simulation)")
                           ->check(CLI::NonNegativeNumber);
  data_option->excludes(shard_option);
  silo->add_option("--config", silo_options.config_path,
                   "this silo's own experiment file (its data and privacy sections win)");
  silo->add_option("--set", silo_options.overrides, "override a config key (repeatable)");
  silo->add_option("--state-dir", silo_options.state_dir,
                   "directory for the silo's journal (privacy ledger), kept across restarts; "
                   "required when the run is record-level private");
  silo->add_flag("--insecure", silo_options.insecure, "plaintext, loopback addresses only");
  silo->add_option("--ca", silo_options.ca, "PEM CA of the coordinator's certificate");
  silo->add_option("--cert", silo_options.cert, "PEM client certificate (CN = --name)");
  silo->add_option("--key", silo_options.key, "PEM client private key");
  silo->add_option("--server-name", silo_options.server_name,
                   "name to check on the coordinator's certificate (default: its host)");
  silo->add_option("--connect-timeout", silo_options.connect_timeout_seconds,
                   "seconds to keep trying to reach the coordinator (default: "
                   "network.join_timeout_seconds)");
  silo->add_option("--coordinator-public-key", silo_options.coordinator_public_key,
                   "shuffle-model runs: the coordinator's public key (its --sealing-key FILE.pub), "
                   "pinned; --coordinator is then the shuffler's address");
  silo->add_flag("--reproducible-noise", silo_options.reproducible_noise,
                 "testing only: derive batches and noise from the run's seed and this silo's id, "
                 "as thread mode does (the coordinator can then recompute the noise); default: "
                 "this process's OS entropy");
  silo->add_flag("--dry-run", silo_options.dry_run, "validate the arguments, then exit");

  fedsilo::ShufflerProcessOptions shuffler_options;
  CLI::App* shuffler = app.add_subcommand(
      "shuffler", "run the shuffler of a shuffle-model run: silos dial in, it dials the "
                  "coordinator and forwards each round's sealed reports in a secret random order");
  shuffler->add_option("--listen", shuffler_options.listen,
                       "HOST:PORT for the silos (port 0: any free port)")
      ->required();
  shuffler->add_option("--coordinator", shuffler_options.coordinator, "HOST:PORT of the coordinator")
      ->required();
  shuffler->add_option("--port-file", shuffler_options.port_file,
                       "write the port listened on to this file once listening");
  shuffler->add_flag("--insecure", shuffler_options.insecure,
                     "plaintext, loopback addresses only (both sides)");
  shuffler->add_option("--tls-cert", shuffler_options.tls_cert,
                       "PEM server certificate presented to the silos");
  shuffler->add_option("--tls-key", shuffler_options.tls_key, "its private key");
  shuffler->add_option("--client-ca", shuffler_options.client_ca,
                       "PEM CA of the silos' certificates (mutual TLS: each silo joins under its CN)");
  shuffler->add_option("--ca", shuffler_options.ca, "PEM CA of the coordinator's certificate");
  shuffler->add_option("--cert", shuffler_options.cert,
                       "PEM client certificate for the coordinator (CN: its --shuffler-name)");
  shuffler->add_option("--key", shuffler_options.key, "its private key");
  shuffler->add_option("--server-name", shuffler_options.server_name,
                       "name to check on the coordinator's certificate (default: its host)");
  shuffler->add_option("--state-dir", shuffler_options.state_dir,
                       "directory where it keeps which silo certificate took which shard, across "
                       "restarts (required with --client-ca when the run has no roster)");
  shuffler->add_option("--connect-timeout", shuffler_options.connect_timeout_seconds,
                       "seconds to keep trying to reach the coordinator (default 120)");
  shuffler->add_flag("--dry-run", shuffler_options.dry_run, "validate the arguments, then exit");

  PrivacyArguments privacy_args;
  CLI::App* privacy = app.add_subcommand(
      "privacy", "privacy accounting (RDP accountant; shuffle model: FMT21 + composition)");
  privacy->require_subcommand(1);
  CLI::App* epsilon = privacy->add_subcommand(
      "epsilon", "epsilon of a subsampled Gaussian mechanism repeated --steps times");
  CLI::App* calibrate = privacy->add_subcommand(
      "calibrate", "smallest noise multiplier that keeps --steps queries within --epsilon");
  for (CLI::App* command : {epsilon, calibrate}) {
    command->add_option("--sampling", privacy_args.sampling,
                        "poisson (replace-one, size public, as a silo; z = std_sum / C) | "
                        "poisson_add_remove (add/remove-one; z = std_sum / C) | "
                        "without_replacement (z = std_sum / (2C)) | none")
        ->capture_default_str();
    command->add_option("--q", privacy_args.q, "sampling rate (batch / records)")->required();
    command->add_option("--steps", privacy_args.steps, "number of noisy queries")->required();
    command->add_option("--delta", privacy_args.delta, "delta")->capture_default_str();
    command->add_flag("--json", privacy_args.json, "print JSON");
  }
  epsilon->add_option("--noise-multiplier", privacy_args.noise_multiplier, "noise multiplier z")
      ->required();
  calibrate->add_option("--epsilon", privacy_args.epsilon, "target epsilon")->required();
  ShuffleArguments shuffle_args;
  CLI::App* shuffle = privacy->add_subcommand(
      "shuffle", "the shuffle model's local eps0 for --rounds rounds of --reports shuffled reports");
  shuffle->add_option("--reports", shuffle_args.reports,
                      "fewest reports a round mixes (network.min_replies x batch size)")
      ->required();
  shuffle->add_option("--rounds", shuffle_args.rounds, "rounds")->required();
  shuffle->add_option("--epsilon", shuffle_args.epsilon, "target epsilon")->required();
  shuffle->add_option("--delta", shuffle_args.delta, "delta")->capture_default_str();
  shuffle->add_option("--q", shuffle_args.q,
                      "subsampling rate batch / privacy.min_silo_records (1: none)")
      ->capture_default_str();
  shuffle->add_flag("--json", shuffle_args.json, "print JSON");

  std::string partition_out;
  CLI::App* partition = app.add_subcommand(
      "partition", "write each silo's train/test CSV files and config, as thread mode partitions");
  partition->add_option("config", config_path, "experiment file (YAML)")->required();
  partition->add_option("--set", overrides, "override a config key: key.path=value (repeatable)");
  partition->add_option("--out", partition_out, "output directory (new or empty)")->required();

  std::string schema_out;
  CLI::App* schema_command = app.add_subcommand(
      "schema", "write a first shared data schema from a csv config and its reference file");
  schema_command->add_option("config", config_path, "experiment file (YAML), data.dataset: csv")
      ->required();
  schema_command->add_option("--set", overrides, "override a config key (repeatable)");
  schema_command->add_option("--out", schema_out, "the schema file to write")->required();

  CheckDataArgs check_args;
  CLI::App* check_data = app.add_subcommand(
      "check-data", "read a silo's CSV file by a shared data schema: what it holds, or the first "
                    "problem (exit 2)");
  check_data->add_option("--schema", check_args.schema, "the data schema (YAML)")->required();
  check_data->add_option("--data", check_args.data, "the silo's CSV file")->required();
  check_data->add_option("--rename", check_args.rename,
                         "file_column=schema_column (repeatable; data.rename)");
  check_data->add_option("--recode", check_args.recode,
                         "schema_column:file_value=schema_value (repeatable; data.recode)");
  check_data->add_option("--delimiter", check_args.delimiter, "field delimiter")
      ->capture_default_str();

  PlotArgs plot_args;
  CLI::App* plot = app.add_subcommand(
      "plot", "draw runs' curves (a metrics.csv column against another), runs that differ only "
              "in seed averaged with a band; PNG or SVG, and the plotted numbers as CSV");
  plot->add_option("dirs", plot_args.dirs, "run directories, or sweep folders (their point_*)")
      ->required();
  plot->add_option("--out", plot_args.plot.out, "FILE.png or FILE.svg (FILE.csv and FILE.gp "
                                                "beside it)")
      ->required();
  plot->add_option("--x", plot_args.curve.x, "metrics.csv column on the x axis")
      ->capture_default_str();
  plot->add_option("--x-key", plot_args.curve.x_key,
                   "a numeric config key on the x axis instead (e.g. privacy.epsilon): one point "
                   "per run, its final y");
  plot->add_option("--curve-by", plot_args.curve.curve_by,
                   "config keys that set curves apart (default: every key whose value differs, "
                   "seed and output.* aside; repeatable)");
  plot->add_flag("--log-x", plot_args.plot.log_x, "logarithmic x axis");
  plot->add_option("--reference", plot_args.plot.references,
                   "a horizontal line, label=y (e.g. a non-private baseline; repeatable)");
  plot->add_option("--y", plot_args.curve.y, "metrics.csv column on the y axis (test_accuracy, "
                                             "test_loss, epsilon, val_accuracy, ...; "
                                             "test_error = 1 - test_accuracy)")
      ->capture_default_str();
  plot->add_option("--band", plot_args.band, "over seeds: std (one standard deviation), ci95 "
                                             "(Student's t interval) or none")
      ->check(CLI::IsMember({"std", "ci95", "none"}))
      ->capture_default_str();
  plot->add_option("--where", plot_args.curve.where,
                   "only runs whose config has key=value, e.g. algorithm.server_lr=0.03 "
                   "(repeatable)");
  plot->add_option("--title", plot_args.plot.title, "title of the figure");
  plot->add_option("--x-label", plot_args.plot.x_label, "x axis label (default: the column)");
  plot->add_option("--y-label", plot_args.plot.y_label, "y axis label (default: the column)");
  plot->add_option("--width", plot_args.plot.width, "pixels")->capture_default_str();
  plot->add_option("--height", plot_args.plot.height, "pixels")->capture_default_str();

  std::string journal_path;
  std::optional<double> journal_delta;
  CLI::App* journal = app.add_subcommand(
      "journal", "print a silo journal (its privacy ledger, last round) as JSON; with --delta, "
                 "the epsilon its ledger has spent");
  journal->add_option("file", journal_path, "the journal (--state-dir/NAME.journal)")->required();
  journal->add_option("--delta", journal_delta, "delta at which to state the spent epsilon");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_logger_mt("fedsilo"));
  spdlog::set_pattern("[%H:%M:%S.%e] %^%l%$ %v");
  if (run->parsed()) return Run(config_path, overrides, options);
  if (coordinator->parsed()) return Coordinator(coordinator_options);
  if (silo->parsed()) return Silo(silo_options);
  if (shuffler->parsed()) return Shuffler(shuffler_options);
  if (sweep->parsed()) return Sweep(config_path, overrides, set_lists, options, sweep_options);
  if (epsilon->parsed()) return PrivacyEpsilon(privacy_args);
  if (calibrate->parsed()) return PrivacyCalibrate(privacy_args);
  if (shuffle->parsed()) return PrivacyShuffle(shuffle_args);
  if (partition->parsed()) return Partition(config_path, overrides, partition_out);
  if (check_data->parsed()) return CheckData(check_args);
  if (schema_command->parsed()) return Schema(config_path, overrides, schema_out);
  if (journal->parsed()) return Journal(journal_path, journal_delta);
  if (plot->parsed()) return Plot(plot_args);
  return 2;
}
