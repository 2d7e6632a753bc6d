// The closed-form clipped sums of the linear models when one record's gradient is not finite:
// that record contributes zero (common/dp/clipping.h), as in the generic per-example path.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/data/dataset.h"
#include "common/dp/clipping.h"
#include "common/model/logistic_model.h"
#include "common/model/softmax_model.h"

namespace fedsilo {
namespace {

// Three benign records (|x| <= 0.5) and one with x1 = x2 = 10. A record whose gradient is NaN
// (here through a NaN feature) contributes zero, as in the generic per-example path, at moderate
// parameters. At w = (1e308, -1e308, 0) the last record's logit is 1e309 - 1e309: NaN when both
// products overflow before the sum, but +-inf or a huge finite value when the build fuses a
// product into the addition (FMA, x86-64-v3 and up), and so on for the benign records'
// cancellations: there the tests ask only what must hold in any arithmetic, a finite sum to which
// the record adds at most the clip.
Dataset ExtremeRecordData(int classes) {
  Dataset data;
  data.x.resize(4, 3);
  data.x << 0.5, -0.2, 0.1,
      -0.3, 0.4, 0.0,
      0.1, 0.1, -0.5,
      10, 10, 0;
  data.y = {1, 0, 1, 1};
  data.num_classes = classes;
  return data;
}

template <typename M>
void ExpectNonFiniteRecordDropped(const M& model, const Vector& w, Dataset data) {
  data.x(3, 2) = std::nan("");
  const std::vector<int> all = {0, 1, 2, 3};
  const std::vector<int> benign = {0, 1, 2};
  Vector closed_form, without;
  model.ClippedGradientSum(w, Batch{&data, all}, 0.7, &closed_form);
  model.ClippedGradientSum(w, Batch{&data, benign}, 0.7, &without);
  Matrix per_record;
  model.PerExampleGradients(w, Batch{&data, all}, &per_record);
  ASSERT_FALSE(per_record.row(3).allFinite());  // the premise: record 3's gradient is NaN
  Vector generic;
  ClipAndSumRows(per_record, 0.7, &generic);
  ASSERT_TRUE(closed_form.allFinite()) << closed_form.transpose();
  for (Eigen::Index k = 0; k < w.size(); ++k) {
    EXPECT_NEAR(closed_form[k], without[k], 1e-12) << k;
    EXPECT_NEAR(closed_form[k], generic[k], 1e-12) << k;
  }
}

template <typename M>
void ExpectExtremeRecordBounded(const M& model, const Vector& w, const Dataset& data) {
  const std::vector<int> all = {0, 1, 2, 3};
  const std::vector<int> benign = {0, 1, 2};
  Vector closed_form, without;
  model.ClippedGradientSum(w, Batch{&data, all}, 0.7, &closed_form);
  model.ClippedGradientSum(w, Batch{&data, benign}, 0.7, &without);
  ASSERT_TRUE(closed_form.allFinite()) << closed_form.transpose();
  EXPECT_LE((closed_form - without).norm(), 0.7 * (1 + 1e-12));
}

TEST(NonFiniteClippingTest, LogisticDropsARecordWithANaNGradient) {
  const Dataset data = ExtremeRecordData(2);
  const auto model = LogisticModel::Create(3, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  Vector w(4);
  w << 0.3, -0.2, 0.1, 0.05;
  ExpectNonFiniteRecordDropped(**model, w, data);
  w << 1e308, -1e308, 0, 0;
  ExpectExtremeRecordBounded(**model, w, data);
}

TEST(NonFiniteClippingTest, SoftmaxDropsARecordWithANaNGradient) {
  const Dataset data = ExtremeRecordData(2);
  const auto model = SoftmaxModel::Create(3, 2, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  // Parameters are the classes x (dim + 1) matrix [w_c, b_c] flattened row-major (softmax_model.h):
  // W(c, j) = w[c * (dim + 1) + j]. Class 1's logit is 1e308 x1 - 1e308 x2.
  Vector w = Vector::Zero(2 * 4);
  w << 0.3, -0.2, 0.1, 0.05, -0.1, 0.4, 0.2, -0.3;
  ExpectNonFiniteRecordDropped(**model, w, data);
  w.setZero();
  w[1 * 4 + 0] = 1e308;
  w[1 * 4 + 1] = -1e308;
  ExpectExtremeRecordBounded(**model, w, data);
}

}  // namespace
}  // namespace fedsilo
