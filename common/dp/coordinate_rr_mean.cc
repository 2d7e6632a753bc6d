#include "common/dp/coordinate_rr_mean.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fedsilo {

absl::StatusOr<Vector> EstimateMeanFromCoordinateRr(const CoordinateRrRandomizer& randomizer,
                                                    std::span<const CoordinateRrReport> reports) {
  if (reports.empty()) {
    return absl::InvalidArgumentError("no coordinate-RR reports to average");
  }
  const int64_t d = randomizer.dimension();
  for (size_t i = 0; i < reports.size(); ++i) {
    const CoordinateRrReport& r = reports[i];
    if (r.coordinate < 0 || r.coordinate >= d) {
      return absl::InvalidArgumentError(absl::StrCat("coordinate-RR report ", i, " names coordinate ",
                                                     r.coordinate, ", outside [0, ", d, ")"));
    }
    if (r.sign != 1 && r.sign != -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("coordinate-RR report ", i, " has sign ", r.sign, ", not +1 or -1"));
    }
  }
  Vector sum = Vector::Zero(d);
  for (const CoordinateRrReport& r : reports) {
    randomizer.AddDecoded(r, std::span<double>(sum.data(), static_cast<size_t>(d)));
  }
  return Vector(sum / static_cast<double>(reports.size()));
}

}  // namespace fedsilo
