// Tests of the loader registry and the shared post-processing in LoadData: label map (parity),
// PCA (against hand-known answers), max_train, loader validation, and ResolveDataDir.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/data/loader_registry.h"

namespace fedsilo {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;

Dataset MakeDataset(const Matrix& x, std::vector<int> y, int num_classes) {
  Dataset ds;
  ds.x = x;
  ds.y = std::move(y);
  ds.num_classes = num_classes;
  return ds;
}

// Registers a loader returning fixed data under `name`.
void RegisterFixed(const std::string& name, TrainTest data) {
  RegisterDataLoader(name, [data](const DataConfig&) -> absl::StatusOr<TrainTest> { return data; });
}

DataConfig Config(const std::string& name) {
  DataConfig config;
  config.dataset = name;
  config.dir = "/unused";
  return config;
}

TEST(LoaderRegistryTest, BuiltinsAreRegistered) {
  EXPECT_THAT(RegisteredDataLoaderNames(),
              IsSupersetOf({"adult", "compas", "german", "obesity", "communities", "wdbc", "mnist",
                            "csv"}));
}

TEST(LoaderRegistryTest, UnknownDatasetListsKnownNames) {
  auto data = LoadData(Config("nope"));
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("unknown dataset 'nope'"));
  EXPECT_THAT(data.status().message(), HasSubstr("adult"));
  EXPECT_THAT(data.status().message(), HasSubstr("mnist"));
}

TEST(LoaderRegistryTest, UserLoaderReceivesResolvedConfigAndDefaultsAreFilled) {
  std::string seen_dir;
  RegisterDataLoader("test-user", [&seen_dir](const DataConfig& config)
                                      -> absl::StatusOr<TrainTest> {
    seen_dir = config.dir;
    Matrix x(2, 1);
    x << 1, 2;
    TrainTest data;
    data.train = MakeDataset(x, {0, 1}, 2);
    data.test = MakeDataset(x, {1, 0}, 2);
    return data;
  });
  auto data = LoadData(Config("test-user"));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(seen_dir, "/unused");
  EXPECT_EQ(data->name, "test-user");
  EXPECT_THAT(data->train.feature_names, ElementsAre("x0"));
  EXPECT_THAT(data->train.class_names, ElementsAre("0", "1"));
  auto error = absl::NotFoundError("from the loader");
  RegisterDataLoader("test-failing",
                     [error](const DataConfig&) -> absl::StatusOr<TrainTest> { return error; });
  EXPECT_EQ(LoadData(Config("test-failing")).status(), error);
}

TEST(LoaderRegistryTest, InconsistentLoaderOutputIsRejected) {
  Matrix x(3, 2);
  x.setZero();
  TrainTest bad;
  bad.train = MakeDataset(x, {0, 1}, 2);  // 3 rows, 2 labels
  bad.test = MakeDataset(x, {0, 1, 0}, 2);
  RegisterFixed("test-bad-rows", bad);
  auto data = LoadData(Config("test-bad-rows"));
  ASSERT_FALSE(data.ok());
  EXPECT_THAT(data.status().message(), HasSubstr("3 feature rows but 2 labels"));

  bad.train = MakeDataset(x, {0, 1, 5}, 2);
  RegisterFixed("test-bad-label", bad);
  EXPECT_THAT(LoadData(Config("test-bad-label")).status().message(), HasSubstr("label 5"));
}

TEST(PostProcessingTest, ParityKeepsTheDigitInFineLabel) {
  Matrix x = Matrix::Zero(10, 1);
  TrainTest data;
  data.train = MakeDataset(x, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10);
  data.test = MakeDataset(x.topRows(3), {7, 2, 5}, 10);
  RegisterFixed("test-digits", data);
  DataConfig config = Config("test-digits");
  config.label_map = "parity";
  auto out = LoadData(config);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->train.num_classes, 2);
  EXPECT_THAT(out->train.class_names, ElementsAre("even", "odd"));
  EXPECT_THAT(out->train.y, ElementsAre(0, 1, 0, 1, 0, 1, 0, 1, 0, 1));
  EXPECT_THAT(out->train.fine_label, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  EXPECT_THAT(out->test.y, ElementsAre(1, 0, 1));
  EXPECT_THAT(out->test.fine_label, ElementsAre(7, 2, 5));

  config.label_map = "mod3";
  auto bad = LoadData(config);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("parity"));
}

TEST(PostProcessingTest, PcaOfPointsOnALine) {
  // x = (3, 1) + t (1, 2), t = -2..2: one principal direction (1, 2)/sqrt(5), projections
  // t * sqrt(5) (sign: the largest component of the direction is positive).
  Matrix train(5, 2), test(1, 2);
  for (int i = 0; i < 5; ++i) train.row(i) << 3 + (i - 2), 1 + 2 * (i - 2);
  test << 3 + 3, 1 + 2 * 3;
  TrainTest data;
  data.train = MakeDataset(train, {0, 1, 0, 1, 0}, 2);
  data.test = MakeDataset(test, {1}, 2);
  RegisterFixed("test-line", data);
  DataConfig config = Config("test-line");
  config.pca = 1;
  auto out = LoadData(config);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->train.dim(), 1);
  EXPECT_THAT(out->train.feature_names, ElementsAre("pc1"));
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(out->train.x(i, 0), (i - 2) * std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(out->test.x(0, 0), 3 * std::sqrt(5.0), 1e-12);

  config.pca = 2;  // the second component has no variance
  out = LoadData(config);
  ASSERT_TRUE(out.ok()) << out.status();
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(out->train.x(i, 1), 0.0, 1e-12);

  config.pca = 3;
  auto bad = LoadData(config);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("only 2 features"));
}

TEST(PostProcessingTest, PcaOrdersComponentsByVarianceWithPositiveSign) {
  // Axis-aligned data with variances 9 > 4 > 1 along z, x, y: the components are -e_z -> e_z,
  // e_x, e_y in that order, so projections are the centred z and x coordinates.
  Matrix train(6, 3);
  train << 0, 0, 3,  //
      0, 0, -3,      //
      2, 0, 0,       //
      -2, 0, 0,      //
      0, 1, 0,       //
      0, -1, 0;
  train.rowwise() += Eigen::RowVector3d(10, 20, 30);
  TrainTest data;
  data.train = MakeDataset(train, {0, 1, 0, 1, 0, 1}, 2);
  data.test = MakeDataset(train.topRows(2), {0, 1}, 2);
  RegisterFixed("test-axes", data);
  DataConfig config = Config("test-axes");
  config.pca = 2;
  auto out = LoadData(config);
  ASSERT_TRUE(out.ok()) << out.status();
  Matrix expected(6, 2);
  expected << 3, 0, -3, 0, 0, 2, 0, -2, 0, 0, 0, 0;
  EXPECT_TRUE(out->train.x.isApprox(expected, 1e-12)) << out->train.x;
}

TEST(PostProcessingTest, MaxTrainKeepsTheFirstRowsOfEveryField) {
  Matrix x(5, 1);
  x << 0, 1, 2, 3, 4;
  TrainTest data;
  data.train = MakeDataset(x, {0, 1, 2, 3, 4}, 5);
  data.train.group = {1, 0, 1, 0, 1};
  data.train.num_groups = 2;
  data.test = MakeDataset(x, {0, 1, 2, 3, 4}, 5);
  data.test.group = {0, 0, 0, 0, 0};
  data.test.num_groups = 2;
  RegisterFixed("test-max", data);
  DataConfig config = Config("test-max");
  config.max_train = 3;
  config.label_map = "parity";
  auto out = LoadData(config);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->train.size(), 3);
  EXPECT_EQ(out->train.x.rows(), 3);
  EXPECT_THAT(out->train.group, ElementsAre(1, 0, 1));
  EXPECT_THAT(out->train.fine_label, ElementsAre(0, 1, 2));
  EXPECT_EQ(out->test.size(), 5);  // only the training split is cut
  config.max_train = 100;
  out = LoadData(config);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->train.size(), 5);
  config.max_train = -1;
  EXPECT_EQ(LoadData(config).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ResolveDataDirTest, ConfiguredThenEnvironmentThenDefaults) {
  EXPECT_EQ(ResolveDataDir("/my/data"), "/my/data");
  const char* old_env = std::getenv("FEDSILO_DATA");
  const std::string saved = old_env ? old_env : "";
  ::setenv("FEDSILO_DATA", "/from/env", 1);
  EXPECT_EQ(ResolveDataDir(""), "/from/env");
  EXPECT_EQ(ResolveDataDir("/my/data"), "/my/data");
  ::unsetenv("FEDSILO_DATA");

  const std::filesystem::path old_cwd = std::filesystem::current_path();
  const std::filesystem::path root =
      std::filesystem::temp_directory_path() / ("fedsilo_resolve_" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "shared" / "data");
  std::filesystem::create_directories(root / "main");
  std::filesystem::create_directories(root / "alone" / "sub");  // no alone/shared/data
  // Defaults and relative paths come back absolute (a saved config.yaml reruns from anywhere).
  std::filesystem::current_path(root / "main");
  EXPECT_EQ(ResolveDataDir(""), (root / "shared" / "data").string());
  EXPECT_EQ(ResolveDataDir("rel/dir"), (root / "main" / "rel" / "dir").string());
  std::filesystem::current_path(root / "alone" / "sub");
  EXPECT_EQ(ResolveDataDir(""), (root / "alone" / "sub" / "data").string());
  std::filesystem::current_path(old_cwd);
  std::filesystem::remove_all(root);
  if (old_env != nullptr) ::setenv("FEDSILO_DATA", saved.c_str(), 1);
}

}  // namespace
}  // namespace fedsilo
