// fedsilo: the command-line entry point. Subcommands:
//   fedsilo run CONFIG.yaml [--set key.path=value ...] [--out DIR] [--threads N] [--quiet]
// Exit status: 0 success, 2 bad input (config, data, arguments), 1 any other failure.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"

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

int Run(const std::string& config_path, const std::vector<std::string>& overrides,
        const fedsilo::RunOptions& options) {
  auto config = fedsilo::LoadExperimentConfig(config_path, overrides);
  if (!config.ok()) return Fail(config.status());
  auto report = fedsilo::RunExperiment(*config, options);
  if (!report.ok()) return Fail(report.status());
  if (!report->stop_reason.empty()) {
    std::fprintf(stderr, "fedsilo: %s\n", report->stop_reason.c_str());
  }
  if (!options.quiet) {
    std::fprintf(stderr,
                 "fedsilo: %d rounds, test accuracy %.4f, test loss %.4f, train %.3fs; "
                 "results in %s\n",
                 report->rounds_completed, report->final_test.accuracy, report->final_test.loss,
                 report->train_seconds, report->out_dir.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fedsilo: cross-silo federated learning with record-level differential privacy"};
  app.set_version_flag("--version", std::string("fedsilo ") + FEDSILO_VERSION);
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
  if (run->parsed()) return Run(config_path, overrides, options);
  return 2;
}
