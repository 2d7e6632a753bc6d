// EstimateMeanFromCoordinateRr: the analyst's side of the shuffle model with the coordinate-RR
// randomizer (common/dp/coordinate_rr_randomizer.h): n shuffled reports (j_i, s_i), one per
// record, decode to the average (1/n) sum_i S s_i e_{j_i}, an unbiased estimate of the mean of
// the n clipped inputs (each decoded report is unbiased for its input; the average of unbiased
// estimates of x_i is unbiased for their mean). Its covariance is (1/n^2) sum_i Cov(Y_i), so
// E||estimate - mean||^2 = (1/n^2) sum_i (S^2 - ||x_i||^2) <= S^2 / n.
//
// The reports come from outside (a shuffler, over a wire): a report whose coordinate is outside
// [0, d) or whose sign is not +1 or -1 is refused with InvalidArgument naming its position (it
// could not have come from Randomize); no reports is InvalidArgument too (the mean of nothing is
// undefined). The order of the reports does not matter beyond floating-point rounding. Pure.
#pragma once

#include <span>

#include "absl/status/statusor.h"
#include "common/base/eigen_types.h"
#include "common/dp/coordinate_rr_randomizer.h"

namespace fedsilo {

absl::StatusOr<Vector> EstimateMeanFromCoordinateRr(const CoordinateRrRandomizer& randomizer,
                                                    std::span<const CoordinateRrReport> reports);

}  // namespace fedsilo
