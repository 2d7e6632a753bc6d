// The model registry: built-ins, user registration, and InvalidArgument for bad configs.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/model/logistic_model.h"
#include "common/model/model_registry.h"

namespace fedsilo {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

ModelConfig Config(std::string type, std::vector<int> hidden = {}, std::string activation = "relu") {
  ModelConfig config;
  config.type = std::move(type);
  config.hidden = std::move(hidden);
  config.activation = std::move(activation);
  return config;
}

void ExpectInvalid(const absl::StatusOr<std::unique_ptr<Model>>& made,
                   const std::string& must_mention) {
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), absl::StatusCode::kInvalidArgument) << made.status();
  EXPECT_THAT(std::string(made.status().message()), HasSubstr(must_mention));
}

TEST(ModelRegistryTest, BuiltInsAreRegistered) {
  const std::vector<std::string> names = RegisteredModelNames();
  for (const char* name : {"logistic", "softmax", "mlp"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
}

TEST(ModelRegistryTest, BuildsEachBuiltIn) {
  auto logistic = MakeModel(Config("logistic"), 105, 2);
  ASSERT_TRUE(logistic.ok()) << logistic.status();
  EXPECT_EQ((*logistic)->name(), "logistic");
  EXPECT_EQ((*logistic)->num_parameters(), 106);

  auto softmax = MakeModel(Config("softmax"), 784, 10);
  ASSERT_TRUE(softmax.ok()) << softmax.status();
  EXPECT_EQ((*softmax)->num_parameters(), 7850);
  EXPECT_EQ((*softmax)->num_classes(), 10);

  auto mlp = MakeModel(Config("mlp", {80, 60}, "elu"), 784, 10);
  ASSERT_TRUE(mlp.ok()) << mlp.status();
  EXPECT_EQ((*mlp)->num_parameters(), 80 * 785 + 60 * 81 + 10 * 61);

  auto binary_mlp = MakeModel(Config("mlp", {8}, "tanh"), 5, 2);
  ASSERT_TRUE(binary_mlp.ok()) << binary_mlp.status();
  EXPECT_EQ((*binary_mlp)->num_classes(), 2);
}

TEST(ModelRegistryTest, UnknownTypeListsRegisteredNames) {
  auto made = MakeModel(Config("resnet"), 10, 2);
  ExpectInvalid(made, "resnet");
  EXPECT_THAT(std::string(made.status().message()),
              AllOf(HasSubstr("logistic"), HasSubstr("softmax"), HasSubstr("mlp")));
}

TEST(ModelRegistryTest, MlpShapeErrors) {
  ExpectInvalid(MakeModel(Config("mlp", {}), 10, 3), "hidden");
  ExpectInvalid(MakeModel(Config("mlp", {4, 0}), 10, 3), "width 0");
  ExpectInvalid(MakeModel(Config("mlp", {-3}), 10, 3), "width -3");
  ExpectInvalid(MakeModel(Config("mlp", {4}, "gelu"), 10, 3), "gelu");
}

TEST(ModelRegistryTest, LogisticNeedsTwoClasses) {
  ExpectInvalid(MakeModel(Config("logistic"), 10, 3), "3 classes");
}

TEST(ModelRegistryTest, ImpossibleShapesAndScales) {
  ExpectInvalid(MakeModel(Config("softmax"), 0, 3), "input dimension");
  ExpectInvalid(MakeModel(Config("mlp", {4}), -1, 3), "input dimension");
  ExpectInvalid(MakeModel(Config("softmax"), 10, 1), "at least 2 classes");
  ModelConfig negative = Config("logistic");
  negative.init_scale = -1.0;
  ExpectInvalid(MakeModel(negative, 10, 2), "init_scale");
}

TEST(ModelRegistryTest, UserModelsCanBeRegistered) {
  auto calls = std::make_shared<int>(0);  // the registry outlives this test
  RegisterModel("my_linear", [calls](const ModelConfig&, int input_dim, int num_classes)
                    -> absl::StatusOr<std::unique_ptr<Model>> {
    ++*calls;
    if (num_classes != 2) return absl::InvalidArgumentError("my_linear is binary");
    auto model = LogisticModel::Create(input_dim);
    if (!model.ok()) return model.status();
    return std::unique_ptr<Model>(std::move(model).value());
  });
  auto made = MakeModel(Config("my_linear"), 4, 2);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ((*made)->num_parameters(), 5);
  EXPECT_EQ(*calls, 1);
  ExpectInvalid(MakeModel(Config("my_linear"), 4, 3), "binary");
  const std::vector<std::string> names = RegisteredModelNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "my_linear"), names.end());
}

}  // namespace
}  // namespace fedsilo
