// Example: plugging your own data loader and your own model into fedsilo without touching its
// core files. It registers
//   * a loader "wdbc_mean" that reads the WDBC breast-cancer file itself and keeps only the ten
//     "mean" measurements (a stand-in for a hospital's own export format), and
//   * a model "l2_logistic": logistic regression plus an L2 penalty (lambda/2) ||w||^2, built on
//     the built-in logistic model,
// then runs ISRL-DP FedAvg on 5 silos with them, exactly as `fedsilo run` would.
//
// Usage: custom_dataset_example [DATA_DIR] [OUT_DIR]   (DATA_DIR defaults to ../shared/data)
#include <cstdio>
#include <string>

#include "common/data/csv_loader.h"
#include "common/data/csv_reader.h"
#include "common/data/loader_registry.h"
#include "common/data/tabular.h"
#include "common/model/model_registry.h"
#include "common/runtime/config_parser.h"
#include "common/runtime/experiment.h"

namespace {

using fedsilo::Batch;
using fedsilo::Matrix;
using fedsilo::Vector;

absl::StatusOr<fedsilo::TrainTest> LoadWdbcMean(const fedsilo::DataConfig& config) {
  const std::string path = config.dir + "/wdbc/wdbc.data";
  fedsilo::CsvOptions options;
  options.skip_lines = 1;  // the file's added header line
  auto rows = fedsilo::ReadCsvFile(path, options);
  if (!rows.ok()) return rows.status();
  std::vector<std::string> names = {"id", "diagnosis"};
  for (const char* stat : {"mean", "se", "worst"}) {
    for (int k = 0; k < 10; ++k) names.push_back(std::string(stat) + std::to_string(k));
  }
  auto table = fedsilo::TableFromCsv(std::move(*rows), path, /*header=*/false, names);
  if (!table.ok()) return table.status();
  fedsilo::TabularSpec spec;
  spec.label = "diagnosis";
  spec.positive = "M";
  spec.drop = {"id"};
  for (int k = 0; k < 10; ++k) {  // keep only the "mean" measurements
    spec.drop.push_back("se" + std::to_string(k));
    spec.drop.push_back("worst" + std::to_string(k));
  }
  auto split = fedsilo::HoldOutSplit(*table, 0.2, config.seed);
  if (!split.ok()) return split.status();
  auto data = fedsilo::TabularToDatasets(split->train, split->test, spec);
  if (data.ok()) data->name = "wdbc_mean";
  return data;
}

// Wraps any model and adds (lambda/2) ||w||^2 to every record's loss.
class L2Regularized : public fedsilo::Model {
 public:
  L2Regularized(std::unique_ptr<fedsilo::Model> base, double lambda)
      : base_(std::move(base)), lambda_(lambda) {}
  std::string name() const override { return "l2_" + base_->name(); }
  int num_parameters() const override { return base_->num_parameters(); }
  int num_classes() const override { return base_->num_classes(); }
  Vector InitialParameters(fedsilo::Rng& rng) const override { return base_->InitialParameters(rng); }
  double Loss(const Vector& w, const Batch& b) const override {
    return base_->Loss(w, b) + 0.5 * lambda_ * w.squaredNorm();
  }
  void Gradient(const Vector& w, const Batch& b, Vector* g) const override {
    base_->Gradient(w, b, g);
    *g += lambda_ * w;
  }
  void PerExampleGradients(const Vector& w, const Batch& b, Matrix* out) const override {
    base_->PerExampleGradients(w, b, out);
    out->rowwise() += lambda_ * w.transpose();
  }
  void HessianVectorProduct(const Vector& w, const Batch& b, const Vector& v,
                            Vector* out) const override {
    base_->HessianVectorProduct(w, b, v, out);
    *out += lambda_ * v;
  }
  void PredictProba(const Vector& w, const Matrix& x, Matrix* out) const override {
    base_->PredictProba(w, x, out);
  }

 private:
  std::unique_ptr<fedsilo::Model> base_;
  double lambda_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string data_dir = argc > 1 ? argv[1] : "../shared/data";
  const std::string out_dir = argc > 2 ? argv[2] : "runs/custom_dataset_example";

  fedsilo::RegisterDataLoader("wdbc_mean", LoadWdbcMean);
  fedsilo::RegisterModel("l2_logistic", [](const fedsilo::ModelConfig& config, int input_dim,
                                           int num_classes)
                                            -> absl::StatusOr<std::unique_ptr<fedsilo::Model>> {
    fedsilo::ModelConfig base = config;
    base.type = "logistic";
    auto model = fedsilo::MakeModel(base, input_dim, num_classes);
    if (!model.ok()) return model.status();
    return std::make_unique<L2Regularized>(std::move(*model), 1e-3);
  });

  const std::string yaml = R"(
seed: 7
data:
  dataset: wdbc_mean
partition:
  scheme: iid
  silos: 5
model:
  type: l2_logistic
algorithm:
  name: isrl_dp_fedavg
  rounds: 50
  local_steps: 2
  batch_size: 16
  lr: 0.5
privacy:
  epsilon: 8
  clip: 1
output:
  eval_every: 10
)";
  auto config = fedsilo::ParseExperimentConfig(yaml, "custom_dataset_example", {});
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  config->data.dir = data_dir;
  fedsilo::RunOptions options;
  options.out_dir = out_dir;
  auto report = fedsilo::RunExperiment(*config, options);
  if (!report.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(report.status().message()).c_str());
    return 2;
  }
  std::printf("wdbc_mean + l2_logistic: test accuracy %.4f after %d rounds (results in %s)\n",
              report->final_test.accuracy, report->rounds_completed, report->out_dir.c_str());
  return 0;
}
