#include "common/base/alias_table.h"

#include <cmath>

#include "common/base/check.h"

namespace fedsilo {

AliasTable::AliasTable(std::span<const double> weights) {
  const size_t n = weights.size();
  FEDSILO_CHECK(n >= 1 && n <= (size_t{1} << 32), "an alias table has 1 to 2^32 entries");
  double total = 0.0;
  for (double w : weights) {
    FEDSILO_CHECK(w >= 0.0 && std::isfinite(w), "alias table weights are finite and >= 0");
    total += w;
  }
  FEDSILO_CHECK(total > 0.0, "an alias table needs a positive weight");
  // Vose: entries below their fair share take the rest of it from one above.
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = static_cast<double>(n) * weights[i] / total;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  entries_.resize(n);
  for (size_t i = 0; i < n; ++i) entries_[i] = Entry{uint64_t{1} << 53, i};
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back(), l = large.back();
    small.pop_back();
    entries_[s] = Entry{static_cast<uint64_t>(std::llround(std::ldexp(scaled[s], 53))), l};
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // What remains (rounding leaves entries near 1 on either list) keeps itself.
}

ExactBernoulli::ExactBernoulli(double p) {
  FEDSILO_CHECK(p >= 0.0 && p < 1.0, "an exact Bernoulli trial needs 0 <= p < 1");
  // Scaling by 2^64 and taking the integer part are exact in double arithmetic; a double's 53
  // bits end within two digits of its first nonzero one.
  while (p > 0.0) {
    p = std::ldexp(p, 64);
    const double whole = std::floor(p);
    digits_.push_back(static_cast<uint64_t>(whole));
    p -= whole;
  }
}

}  // namespace fedsilo
