// The fused ClippedGradientSum of each model against the generic path (per-example gradients,
// then clipping each row): two implementations of the same quantity.
#include <gtest/gtest.h>

#include "common/dp/clipping.h"
#include "common/model/model_registry.h"

namespace fedsilo {
namespace {

Dataset RandomDataset(int n, int d, int classes, uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.x.resize(n, d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) data.x(i, j) = 2.0 * rng.Normal();
  for (int i = 0; i < n; ++i) data.y.push_back(static_cast<int>(rng.UniformInt(classes)));
  data.num_classes = classes;
  return data;
}

struct Case {
  std::string type;
  int classes;
};

class ClippedGradientSumTest : public ::testing::TestWithParam<Case> {};

TEST_P(ClippedGradientSumTest, MatchesPerExampleGradientsThenClipping) {
  const Case c = GetParam();
  ModelConfig config;
  config.type = c.type;
  config.hidden = {5};
  const Dataset data = RandomDataset(150, 7, c.classes, 3);
  auto model = MakeModel(config, 7, c.classes);
  ASSERT_TRUE(model.ok()) << model.status();
  Rng rng(4);
  Vector w = (*model)->InitialParameters(rng);
  for (Eigen::Index i = 0; i < w.size(); ++i) w[i] += 0.5 * rng.Normal();
  std::vector<int> rows;
  for (int i = 0; i < 150; i += 2) rows.push_back(i);  // 75 rows: more than one block of 64
  const Batch batch{&data, rows};
  for (double clip : {1e-3, 0.3, 1.0, 1e6}) {
    Matrix per_example;
    (*model)->PerExampleGradients(w, batch, &per_example);
    Vector expected, fused;
    const int expected_clipped = ClipAndSumRows(per_example, clip, &expected);
    const int clipped = (*model)->ClippedGradientSum(w, batch, clip, &fused);
    EXPECT_EQ(clipped, expected_clipped) << c.type << " clip " << clip;
    EXPECT_LT((fused - expected).norm(), 1e-11 * (1.0 + expected.norm())) << c.type << " clip " << clip;
  }
  // Sanity: with a tiny bound every record is clipped, so the sum has norm <= n * clip.
  Vector fused;
  (*model)->ClippedGradientSum(w, batch, 1e-3, &fused);
  EXPECT_LE(fused.norm(), 75 * 1e-3 + 1e-12);
}

INSTANTIATE_TEST_SUITE_P(AllModels, ClippedGradientSumTest,
                         ::testing::Values(Case{"logistic", 2}, Case{"softmax", 4},
                                           Case{"mlp", 3}),
                         [](const auto& info) { return info.param.type; });

}  // namespace
}  // namespace fedsilo
