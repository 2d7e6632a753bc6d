// The fused ClippedGradientSum of each model against the generic path (per-example gradients,
// then clipping each row): two implementations of the same quantity.
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <limits>
#include <string>

#include "common/base/rng.h"
#include "common/data/sparse_rows.h"
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

// The model's initial parameters plus N(0, scale^2) on each, so no record sits at a special point.
Vector PerturbedParameters(const Model& model, uint64_t seed, double scale) {
  Rng rng(seed);
  Vector w = model.InitialParameters(rng);
  for (Eigen::Index i = 0; i < w.size(); ++i) w[i] += scale * rng.Normal();
  return w;
}

// ClippedGradientSum on `tested` against the other implementation of the same quantity: the
// per-example gradients of `reference` (the same rows, dense), each clipped, then summed.
void ExpectMatchesPerExampleThenClipping(const Model& model, const Vector& w,
                                         const Batch& reference, const Batch& tested,
                                         std::initializer_list<double> clips,
                                         const std::string& what) {
  Matrix per_example;
  model.PerExampleGradients(w, reference, &per_example);
  for (double clip : clips) {
    Vector expected, fused;
    const int expected_clipped = ClipAndSumRows(per_example, clip, &expected);
    EXPECT_EQ(model.ClippedGradientSum(w, tested, clip, &fused), expected_clipped)
        << what << " clip " << clip;
    EXPECT_LT((fused - expected).norm(), 1e-11 * (1.0 + expected.norm()))
        << what << " clip " << clip;
  }
}

TEST_P(ClippedGradientSumTest, MatchesPerExampleGradientsThenClipping) {
  const Case c = GetParam();
  ModelConfig config;
  config.type = c.type;
  config.hidden = {5};
  const Dataset data = RandomDataset(150, 7, c.classes, 3);
  auto model = MakeModel(config, 7, c.classes);
  ASSERT_TRUE(model.ok()) << model.status();
  const Vector w = PerturbedParameters(**model, 4, 0.5);
  std::vector<int> rows;
  for (int i = 0; i < 150; i += 2) rows.push_back(i);  // 75 rows: more than one block of 64
  const Batch batch{&data, rows};
  ExpectMatchesPerExampleThenClipping(**model, w, batch, batch, {1e-3, 0.3, 1.0, 1e6}, c.type);
  // Sanity: with a tiny bound every record is clipped, so the sum has norm <= n * clip.
  Vector fused;
  (*model)->ClippedGradientSum(w, batch, 1e-3, &fused);
  EXPECT_LE(fused.norm(), 75 * 1e-3 + 1e-12);
}

// Mostly zeros, as one-hot or pixel features are: about 15% nonzero, a third of them ones.
Dataset SparseRandomDataset(int n, int d, int classes, uint64_t seed) {
  Dataset data = RandomDataset(n, d, classes, seed);
  Rng rng(seed + 1);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < d; ++j) {
      const double u = rng.Uniform();
      if (u >= 0.15) {
        data.x(i, j) = 0.0;
      } else if (u < 0.05) {
        data.x(i, j) = 1.0;  // one-hot-like entries, which the index keeps apart
      }
    }
  }
  return data;
}

// A model of the case's type on 300 sparse records of 40 features, the same records without an
// index of nonzeros, with one (its rows packed in slots: packed_rows.h) and with the index's
// arrays only; parameters perturbed from the initial ones, and 100 rows (more than one block of
// 64) starting at `first_row`, every third.
struct SparseSetup {
  Dataset dense, indexed, arrays_only;
  std::unique_ptr<Model> model;
  Vector w;
  std::vector<int> rows;
};

// With shared_values, every record's values other than 1 are in columns 0 to 3 (numeric
// features beside one-hot ones), so that the packed rows record them as shared columns.
SparseSetup MakeSparseSetup(const Case& c, uint64_t data_seed, uint64_t parameter_seed,
                            int first_row, bool shared_values = false) {
  SparseSetup setup;
  ModelConfig config;
  config.type = c.type;
  config.hidden = {5};
  setup.dense = SparseRandomDataset(300, 40, c.classes, data_seed);
  if (shared_values) {
    Rng rng(data_seed + 2);
    for (int i = 0; i < 300; ++i) {
      for (int j = 0; j < 40; ++j) {
        if (j < 4) {
          setup.dense.x(i, j) = 1.5 + rng.Normal();
        } else if (setup.dense.x(i, j) != 0.0) {
          setup.dense.x(i, j) = 1.0;
        }
      }
    }
  }
  setup.indexed = setup.dense;
  setup.indexed.nonzeros = IndexNonzeros(setup.indexed.x);
  EXPECT_NE(setup.indexed.nonzeros, nullptr);
  if (setup.indexed.nonzeros == nullptr) return setup;
  EXPECT_EQ(setup.indexed.nonzeros->packed.column_bytes(), 1);
  EXPECT_EQ(setup.indexed.nonzeros->packed.shared_value_columns().size(),
            shared_values ? 4u : 0u);
  auto arrays = std::make_shared<SparseRows>(*setup.indexed.nonzeros);
  arrays->packed = PackedRows();
  setup.arrays_only = setup.dense;
  setup.arrays_only.nonzeros = arrays;
  auto model = MakeModel(config, 40, c.classes);
  EXPECT_TRUE(model.ok()) << model.status();
  setup.model = std::move(*model);
  setup.w = PerturbedParameters(*setup.model, parameter_seed, 0.5);
  for (int i = first_row; i < 300; i += 3) setup.rows.push_back(i);
  return setup;
}

// With the data's index of nonzeros (sparse_rows.h) the models that use it give, to rounding,
// what per-example gradients then clipping give on the dense rows; at non-finite parameters
// they use the dense rows, bit for bit.
TEST_P(ClippedGradientSumTest, WithAnIndexOfNonzerosMatchesPerExampleGradientsThenClipping) {
  const Case c = GetParam();
  for (const bool shared_values : {false, true}) {
    const SparseSetup setup = MakeSparseSetup(c, 7, 8, 1, shared_values);
    ASSERT_FALSE(::testing::Test::HasFailure());
    const Model* model = setup.model.get();
    const Vector& w = setup.w;
    const std::vector<int>& rows = setup.rows;
    const Batch dense_batch{&setup.dense, rows};
    Matrix per_example;
    model->PerExampleGradients(w, dense_batch, &per_example);
    Vector expected_gradient = per_example.colwise().sum().transpose() / rows.size();
    for (const Dataset* data : {&setup.indexed, &setup.arrays_only}) {
      const std::string what = c.type + (data == &setup.indexed ? " packed" : " arrays") +
                               (shared_values ? " shared" : "");
      const Batch indexed_batch{data, rows};
      ExpectMatchesPerExampleThenClipping(*model, w, dense_batch, indexed_batch,
                                          {1e-3, 0.3, 1.0, 1e6}, what);
      Vector gradient;
      model->Gradient(w, indexed_batch, &gradient);
      EXPECT_LT((gradient - expected_gradient).norm(), 1e-11 * (1.0 + expected_gradient.norm()))
          << what;

      Vector broken = w;
      broken[0] = std::numeric_limits<double>::infinity();
      Vector from_dense, from_indexed;
      model->ClippedGradientSum(broken, dense_batch, 1.0, &from_dense);
      model->ClippedGradientSum(broken, indexed_batch, 1.0, &from_indexed);
      ASSERT_EQ(from_dense.size(), from_indexed.size());
      for (Eigen::Index i = 0; i < from_dense.size(); ++i) {
        EXPECT_TRUE(from_dense[i] == from_indexed[i] ||
                    (std::isnan(from_dense[i]) && std::isnan(from_indexed[i])))
            << what << " coordinate " << i;
      }
    }
  }
}

// ClippedGradientPlusVjpSum (FERMI's theta block: each record's loss gradient plus the VJP of its
// class probabilities) against per-example gradients plus per-example VJPs on the dense rows,
// each row clipped, then summed; on dense data and with an index of nonzeros. ProbabilityVjpSum
// against the per-example VJPs summed, and PredictBatchProba against PredictProba of the same
// rows copied out.
TEST_P(ClippedGradientSumTest, VjpSumsAndBatchProbabilitiesMatchThePerRecordPath) {
  const Case c = GetParam();
  for (const bool shared_values : {false, true}) {
    const SparseSetup setup = MakeSparseSetup(c, 13, 14, 2, shared_values);
    ASSERT_FALSE(::testing::Test::HasFailure());
    const Model* model = setup.model.get();
    const Vector& w = setup.w;
    const std::vector<int>& rows = setup.rows;
    const Dataset& dense = setup.dense;
    const Batch dense_batch{&dense, rows};
    Rng rng(15);
    Matrix upstream(static_cast<Eigen::Index>(rows.size()), c.classes);
    for (Eigen::Index i = 0; i < upstream.size(); ++i) upstream.data()[i] = 3.0 * rng.Normal();

    Matrix per_example, vjp;
    model->PerExampleGradients(w, dense_batch, &per_example);
    model->PerExampleProbabilityVjp(w, dense_batch, upstream, &vjp);
    const Matrix combined = per_example + vjp;
    Matrix x(static_cast<Eigen::Index>(rows.size()), dense.x.cols()), expected_proba;
    for (size_t i = 0; i < rows.size(); ++i) {
      x.row(static_cast<Eigen::Index>(i)) = dense.x.row(rows[i]);
    }
    model->PredictProba(w, x, &expected_proba);
    for (const Dataset* data : {&dense, &setup.indexed, &setup.arrays_only}) {
      const std::string what =
          c.type + (data == &dense ? " dense" : data == &setup.indexed ? " packed" : " arrays") +
          (shared_values ? " shared" : "");
      const Batch batch{data, rows};
      for (double clip : {1e-3, 0.3, 1.0, 1e6}) {
        Vector expected, fused;
        const int expected_clipped = ClipAndSumRows(combined, clip, &expected);
        EXPECT_EQ(
            model->ClippedGradientPlusVjpSum(w, batch, upstream, expected_proba, clip, &fused),
            expected_clipped)
            << what << " clip " << clip;
        EXPECT_LT((fused - expected).norm(), 1e-11 * (1.0 + expected.norm()))
            << what << " clip " << clip;
      }
      Vector vjp_sum;
      model->ProbabilityVjpSum(w, batch, upstream, &vjp_sum);
      const Vector expected_vjp_sum = vjp.colwise().sum().transpose();
      EXPECT_LT((vjp_sum - expected_vjp_sum).norm(), 1e-11 * (1.0 + expected_vjp_sum.norm()))
          << what;
      Matrix proba;
      model->PredictBatchProba(w, batch, &proba);
      ASSERT_EQ(proba.rows(), expected_proba.rows()) << what;
      ASSERT_EQ(proba.cols(), expected_proba.cols()) << what;
      EXPECT_LT((proba - expected_proba).cwiseAbs().maxCoeff(), 1e-14) << what;
    }
  }
}

// The MLP's first layer on sparse rows works in packets of the first hidden layer's width and in
// tiles and groups of eight inputs: a width of 83 and 45 inputs reach every sweep and remainder.
TEST(SparseFirstLayerTest, AWideFirstLayerMatchesPerExampleGradientsThenClipping) {
  ModelConfig config;
  config.type = "mlp";
  config.hidden = {83, 6};
  const int d = 45;
  Dataset data = SparseRandomDataset(200, d, 3, 11);
  data.nonzeros = IndexNonzeros(data.x);
  ASSERT_NE(data.nonzeros, nullptr);
  auto model = MakeModel(config, d, 3);
  ASSERT_TRUE(model.ok()) << model.status();
  const Vector w = PerturbedParameters(**model, 12, 0.2);
  std::vector<int> rows;
  for (int i = 0; i < 200; i += 2) rows.push_back(i);
  const Batch batch{&data, rows};
  ExpectMatchesPerExampleThenClipping(**model, w, batch, batch, {0.05, 1.0, 1e6}, "wide mlp");
}

INSTANTIATE_TEST_SUITE_P(AllModels, ClippedGradientSumTest,
                         ::testing::Values(Case{"logistic", 2}, Case{"softmax", 4},
                                           Case{"mlp", 3}),
                         [](const auto& info) { return info.param.type; });

}  // namespace
}  // namespace fedsilo
