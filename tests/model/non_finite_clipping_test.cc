// The closed-form clipped sums of the linear models when one record's gradient is not finite:
// that record contributes zero (common/dp/clipping.h), as in the generic per-example path.
#include <gtest/gtest.h>

#include <vector>

#include "common/data/dataset.h"
#include "common/dp/clipping.h"
#include "common/model/logistic_model.h"
#include "common/model/softmax_model.h"

namespace fedsilo {
namespace {

// Three benign records (|x| <= 0.5) and one with x1 = x2 = 10: at w = (1e308, -1e308, 0) its logit
// is 1e309 - 1e309 = inf - inf = NaN. Each model's closed-form clipped sum must equal the generic
// per-example path (which drops the NaN row) and the sum over the benign records alone.
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
void ExpectNonFiniteRecordDropped(const M& model, const Vector& w, const Dataset& data) {
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

TEST(NonFiniteClippingTest, LogisticDropsARecordWithANaNLogit) {
  const Dataset data = ExtremeRecordData(2);
  const auto model = LogisticModel::Create(3, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  Vector w(4);
  w << 1e308, -1e308, 0, 0;
  ExpectNonFiniteRecordDropped(**model, w, data);
}

TEST(NonFiniteClippingTest, SoftmaxDropsARecordWithANaNLogit) {
  const Dataset data = ExtremeRecordData(2);
  const auto model = SoftmaxModel::Create(3, 2, 0.0);
  ASSERT_TRUE(model.ok()) << model.status();
  // Parameters are the classes x (dim + 1) matrix [w_c, b_c] flattened row-major (softmax_model.h):
  // W(c, j) = w[c * (dim + 1) + j]. Class 1's logit is 1e308 x1 - 1e308 x2.
  Vector w = Vector::Zero(2 * 4);
  w[1 * 4 + 0] = 1e308;
  w[1 * 4 + 1] = -1e308;
  ExpectNonFiniteRecordDropped(**model, w, data);
}

}  // namespace
}  // namespace fedsilo
