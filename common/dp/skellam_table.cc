#include "common/dp/skellam_table.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/base/shared_by_key.h"

namespace fedsilo {

absl::StatusOr<SkellamTable> SkellamTable::Create(double variance, double window_sds) {
  // The window's size first: a table too large is refused before anything is built.
  if (variance / 2 >= 10.0 && variance / 2 <= PoissonTable::kMaxTableMean &&
      PoissonTable::WindowSize(variance / 2, window_sds) > kMaxWindow) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Skellam table: a variance of ", variance, " needs a window of ",
        PoissonTable::WindowSize(variance / 2, window_sds), " values, above ", kMaxWindow));
  }
  FEDSILO_ASSIGN_OR_RETURN(PoissonTable poisson, PoissonTable::Create(variance / 2, window_sds));
  SkellamTable table(std::move(poisson));
  const std::vector<double>& q = table.poisson_.window_pmf();
  const auto n = static_cast<int64_t>(q.size());
  // P(Y1 - Y2 = k) = sum_i q_i q_(i+k), symmetric in k.
  std::vector<double> difference(static_cast<size_t>(2 * n - 1));
  for (int64_t k = 0; k < n; ++k) {
    double sum = 0.0;
    for (int64_t i = 0; i + k < n; ++i) {
      sum += q[static_cast<size_t>(i)] * q[static_cast<size_t>(i + k)];
    }
    difference[static_cast<size_t>(n - 1 + k)] = sum;
    difference[static_cast<size_t>(n - 1 - k)] = sum;
  }
  table.inside_ = AliasTable(difference);
  table.lo_ = -(n - 1);
  const double t = table.poisson_.tail_mass();
  table.leaves_ = ExactBernoulli(t * (2.0 - t));
  return table;
}

int64_t SkellamTable::Outside(Rng& rng) const {
  // Given not both in the window: (in, out), (out, in), (out, out) in proportion
  // (1 - t) : (1 - t) : t.
  const double t = poisson_.tail_mass();
  const double u = rng.Uniform() * (2.0 - t);
  const bool first_inside = u < 1.0 - t;
  const bool second_inside = !first_inside && u < 2.0 * (1.0 - t);
  const int64_t first = first_inside ? poisson_.DrawInside(rng) : poisson_.DrawOutside(rng);
  const int64_t second = second_inside ? poisson_.DrawInside(rng) : poisson_.DrawOutside(rng);
  return first - second;
}

std::shared_ptr<const SkellamTable> SharedSkellamTable(double variance) {
  return SharedByKey<SkellamTable>(variance, [](double k) { return SkellamTable::Create(k); });
}

}  // namespace fedsilo
