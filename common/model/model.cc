#include "common/model/model.h"

#include "common/base/check.h"
#include "common/dp/clipping.h"

namespace fedsilo {

int Model::ClippedGradientSum(const Vector& w, const Batch& batch, double clip, Vector* sum) const {
  thread_local Matrix per_example;
  PerExampleGradients(w, batch, &per_example);
  return ClipAndSumRows(per_example, clip, sum);
}

void Model::PerExampleProbabilityVjp(const Vector&, const Batch&, const Matrix&, Matrix*) const {
  FEDSILO_CHECK(false, "this model provides no probability vector-Jacobian product");
}

}  // namespace fedsilo
