// Per-record clipping, the first half of every record-level DP gradient (Abadi et al. 2016).
//
// ClipAndSumRows treats each row of `rows` as one record's gradient, scales it to L2 norm at most
// `clip`, and returns the sum of the scaled rows. `rows` is not modified. Pure; thread-safe.
#pragma once

#include "common/base/eigen_types.h"

namespace fedsilo {

// *sum = sum_i rows_i * min(1, clip / ||rows_i||). Returns how many rows were scaled down.
int ClipAndSumRows(const Matrix& rows, double clip, Vector* sum);

}  // namespace fedsilo
