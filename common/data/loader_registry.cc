#include "common/data/loader_registry.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <system_error>
#include <utility>

#include <Eigen/Eigenvalues>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/data/csv_loader.h"
#include "common/data/mnist_loader.h"
#include "common/data/presets.h"

namespace fedsilo {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, DataLoader> loaders;
};

// Filled with the built-ins on first use: static-initializer registration would be dropped by
// the linker, since fedsilo_common is a static library.
Registry& GetRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry;
    r->loaders["adult"] = LoadAdult;
    r->loaders["compas"] = LoadCompas;
    r->loaders["german"] = LoadGerman;
    r->loaders["obesity"] = LoadObesity;
    r->loaders["communities"] = LoadCommunities;
    r->loaders["wdbc"] = LoadWdbc;
    r->loaders["mnist"] = LoadMnist;
    r->loaders["csv"] = LoadCsvData;
    return r;
  }();
  return *registry;
}

// Checks what a (possibly user-written) loader returned, and fills default names. A test split
// may be empty (one silo's own files may hold no test record); a training split may not.
absl::Status ValidateSplit(const std::string& loader, const char* split_name, bool allow_empty,
                           Dataset* ds) {
  auto error = [&](const std::string& what) {
    return absl::InvalidArgumentError(
        absl::StrCat("data loader '", loader, "' returned a bad ", split_name, " split: ", what));
  };
  const size_t n = ds->y.size();
  if (static_cast<size_t>(ds->x.rows()) != n) {
    return error(absl::StrCat(ds->x.rows(), " feature rows but ", n, " labels"));
  }
  if (n == 0 && !allow_empty) return error("no records");
  if (ds->num_classes < 1) return error("num_classes is not set");
  for (int label : ds->y) {
    if (label < 0 || label >= ds->num_classes) {
      return error(absl::StrCat("label ", label, " outside [0, ", ds->num_classes, ")"));
    }
  }
  if (!ds->group.empty()) {
    if (ds->group.size() != n) return error(absl::StrCat(ds->group.size(), " groups for ", n, " records"));
    for (int g : ds->group) {
      if (g < 0 || g >= ds->num_groups) {
        return error(absl::StrCat("group ", g, " outside [0, ", ds->num_groups, ")"));
      }
    }
  }
  if (!ds->fine_label.empty() && ds->fine_label.size() != n) {
    return error(absl::StrCat(ds->fine_label.size(), " fine labels for ", n, " records"));
  }
  if (ds->feature_names.empty()) {
    for (int j = 0; j < ds->dim(); ++j) ds->feature_names.push_back(absl::StrCat("x", j));
  }
  if (static_cast<int>(ds->feature_names.size()) != ds->dim()) {
    return error(absl::StrCat(ds->feature_names.size(), " feature names for ", ds->dim(),
                              " features"));
  }
  if (ds->class_names.empty()) {
    for (int c = 0; c < ds->num_classes; ++c) ds->class_names.push_back(absl::StrCat(c));
  }
  if (ds->group_names.empty()) {
    for (int g = 0; g < ds->num_groups; ++g) ds->group_names.push_back(absl::StrCat(g));
  }
  return absl::OkStatus();
}

void ApplyParity(Dataset* ds) {
  ds->fine_label = ds->y;
  for (int& label : ds->y) label %= 2;
  ds->num_classes = 2;
  ds->class_names = {"even", "odd"};
}

// PCA fitted on train: centre with the train mean, eigenvectors of the train covariance (largest
// eigenvalues first), each with its largest-magnitude component made positive.
absl::Status ApplyPca(int k, TrainTest* data) {
  Dataset& train = data->train;
  const Eigen::Index n = train.x.rows(), d = train.x.cols();
  if (k > d) {
    return absl::InvalidArgumentError(absl::StrCat("data.pca: ", k, " components requested but ",
                                                   data->name, " has only ", d, " features"));
  }
  if (n < 2) return absl::InvalidArgumentError("data.pca: needs at least 2 training records");
  const Eigen::VectorXd mean = train.x.colwise().mean().transpose();
  Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(d, d);
  constexpr Eigen::Index kBlock = 2048;  // centre a block at a time (no full centred copy)
  for (Eigen::Index start = 0; start < n; start += kBlock) {
    const Eigen::Index rows = std::min(kBlock, n - start);
    const Eigen::MatrixXd block = train.x.middleRows(start, rows).rowwise() - mean.transpose();
    cov.selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
  }
  cov /= static_cast<double>(n - 1);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(cov);  // reads the lower triangle
  if (solver.info() != Eigen::Success) {
    return absl::InternalError("data.pca: the eigen-decomposition did not converge");
  }
  Eigen::MatrixXd components(d, k);
  for (int j = 0; j < k; ++j) {
    Eigen::VectorXd v = solver.eigenvectors().col(d - 1 - j);  // eigenvalues ascend
    Eigen::Index largest = 0;
    for (Eigen::Index i = 1; i < d; ++i) {
      if (std::fabs(v(i)) > std::fabs(v(largest))) largest = i;
    }
    if (v(largest) < 0) v = -v;
    components.col(j) = v;
  }
  const Eigen::RowVectorXd offset = mean.transpose() * components;
  std::vector<std::string> names;
  for (int j = 0; j < k; ++j) names.push_back(absl::StrCat("pc", j + 1));
  for (Dataset* ds : {&data->train, &data->test}) {
    Matrix projected = ds->x * components;
    projected.rowwise() -= offset;
    ds->x = std::move(projected);
    ds->feature_names = names;
  }
  return absl::OkStatus();
}

void KeepFirst(int max_rows, Dataset* ds) {
  if (max_rows <= 0 || max_rows >= ds->size()) return;
  ds->x.conservativeResize(max_rows, Eigen::NoChange);
  ds->y.resize(static_cast<size_t>(max_rows));
  if (!ds->group.empty()) ds->group.resize(static_cast<size_t>(max_rows));
  if (!ds->fine_label.empty()) ds->fine_label.resize(static_cast<size_t>(max_rows));
}

}  // namespace

void RegisterDataLoader(const std::string& name, DataLoader loader) {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  registry.loaders[name] = std::move(loader);
}

std::vector<std::string> RegisteredDataLoaderNames() {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  std::vector<std::string> names;
  for (const auto& [name, loader] : registry.loaders) names.push_back(name);
  return names;
}

absl::StatusOr<TrainTest> LoadData(const DataConfig& config) {
  if (config.label_map != "" && config.label_map != "parity") {
    return absl::InvalidArgumentError(absl::StrCat("data.label_map: unknown value '",
                                                   config.label_map, "'; allowed: parity"));
  }
  if (config.pca < 0) return absl::InvalidArgumentError("data.pca: must be >= 0");
  if (config.max_train < 0) return absl::InvalidArgumentError("data.max_train: must be >= 0");
  DataLoader loader;
  {
    Registry& registry = GetRegistry();
    std::lock_guard<std::mutex> lock(registry.mu);
    auto it = registry.loaders.find(config.dataset);
    if (it != registry.loaders.end()) loader = it->second;
  }
  if (!loader) {
    return absl::InvalidArgumentError(absl::StrCat("data.dataset: unknown dataset '",
                                                   config.dataset, "'; known: ",
                                                   absl::StrJoin(RegisteredDataLoaderNames(), ", ")));
  }
  DataConfig resolved = config;
  resolved.dir = ResolveDataDir(config.dir);
  FEDSILO_ASSIGN_OR_RETURN(TrainTest data, loader(resolved));
  if (data.name.empty()) data.name = config.dataset;
  FEDSILO_RETURN_IF_ERROR(ValidateSplit(config.dataset, "train", false, &data.train));
  FEDSILO_RETURN_IF_ERROR(ValidateSplit(config.dataset, "test", true, &data.test));
  if (data.train.dim() != data.test.dim()) {
    return absl::InvalidArgumentError(absl::StrCat("data loader '", config.dataset, "': train has ",
                                                   data.train.dim(), " features, test ",
                                                   data.test.dim()));
  }
  if (config.label_map == "parity") {
    ApplyParity(&data.train);
    ApplyParity(&data.test);
  }
  if (config.pca > 0) FEDSILO_RETURN_IF_ERROR(ApplyPca(config.pca, &data));
  KeepFirst(config.max_train, &data.train);
  return data;
}

std::string ResolveDataDir(const std::string& configured) {
  // Absolute, so that a run's saved config.yaml reruns as it is from any directory.
  const auto absolute = [](const std::string& dir) {
    std::error_code ec;
    const std::filesystem::path path = std::filesystem::absolute(dir, ec);
    return ec ? dir : path.lexically_normal().string();
  };
  if (!configured.empty()) return absolute(configured);
  if (const char* env = std::getenv("FEDSILO_DATA"); env != nullptr && *env != '\0') {
    return absolute(env);
  }
  std::error_code ec;
  if (std::filesystem::is_directory("../shared/data", ec)) return absolute("../shared/data");
  return absolute("./data");
}

}  // namespace fedsilo
