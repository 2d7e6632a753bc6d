#include "common/base/poisson_table.h"

#include <cmath>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fedsilo {
namespace {

// The base-2^64 digits of p in [0, 1), most significant first, exactly (scaling by 2^64 and
// taking the integer part are exact in double arithmetic; a double's 53 bits end within two
// digits of its first nonzero one).
std::vector<uint64_t> Base264Digits(double p) {
  std::vector<uint64_t> digits;
  while (p > 0.0) {
    p = std::ldexp(p, 64);
    const double whole = std::floor(p);
    digits.push_back(static_cast<uint64_t>(whole));
    p -= whole;
  }
  return digits;
}

}  // namespace

absl::StatusOr<PoissonTable> PoissonTable::Create(double mean, double window_sds) {
  if (!(mean >= 10.0 && mean <= kMaxTableMean)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Poisson table: the mean must be in [10, ", kMaxTableMean, "], got ", mean));
  }
  if (!(window_sds >= 0.5) || !std::isfinite(window_sds)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Poisson table: the window must be >= 0.5 standard deviations, got ",
                     window_sds));
  }
  PoissonTable table;
  table.mean_ = mean;
  table.log_mean_ = std::log(mean);
  const double half = window_sds * std::sqrt(mean);
  table.lo_ = static_cast<int64_t>(std::max(0.0, std::floor(mean - half)));
  const auto hi = static_cast<int64_t>(std::ceil(mean + half));
  const auto pmf = [&](int64_t k) {
    return std::exp(LogPoissonPmf(static_cast<double>(k), mean, table.log_mean_));
  };
  const size_t n = static_cast<size_t>(hi - table.lo_ + 1);
  std::vector<double> p(n);
  double inside = 0.0;
  for (size_t i = 0; i < n; ++i) inside += p[i] = pmf(table.lo_ + static_cast<int64_t>(i));
  // The tails, outward until their terms stop counting (they fall faster than geometrically).
  for (int64_t k = table.lo_ - 1; k >= 0; --k) {
    const double term = pmf(k);
    table.lower_mass_ += term;
    if (term < table.lower_mass_ * 1e-18 || term == 0.0) break;
  }
  for (int64_t k = hi + 1;; ++k) {
    const double term = pmf(k);
    table.upper_mass_ += term;
    if (term < table.upper_mass_ * 1e-18 || term == 0.0) break;
  }
  table.tail_digits_ = Base264Digits(table.lower_mass_ + table.upper_mass_);
  // Vose's alias construction on n * p_i / inside: each entry keeps its own index with
  // probability threshold / 2^53 and otherwise gives its alias.
  std::vector<double> scaled(n);
  std::vector<uint32_t> small, large;
  for (size_t i = 0; i < n; ++i) {
    scaled[i] = static_cast<double>(n) * p[i] / inside;
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
  }
  table.entries_.resize(n);
  for (size_t i = 0; i < n; ++i) table.entries_[i] = Entry{uint64_t{1} << 53, i};
  while (!small.empty() && !large.empty()) {
    const uint32_t s = small.back(), l = large.back();
    small.pop_back();
    table.entries_[s] =
        Entry{static_cast<uint64_t>(std::llround(std::ldexp(scaled[s], 53))), l};
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // What remains (rounding leaves entries near 1 on either list) keeps itself.
  return table;
}

int64_t PoissonTable::TailDraw(Rng& rng) const {
  const double total = lower_mass_ + upper_mass_;
  const bool lower = rng.Uniform() * total < lower_mass_;
  // Sequential inversion from the window's edge outward.
  const double target = rng.Uniform() * (lower ? lower_mass_ : upper_mass_);
  double sum = 0.0;
  const int64_t step = lower ? -1 : 1;
  int64_t k = lower ? lo_ - 1 : hi() + 1;
  while (true) {
    const double term = std::exp(LogPoissonPmf(static_cast<double>(k), mean_, log_mean_));
    sum += term;
    if (sum > target || term == 0.0 || (lower && k == 0)) return k;
    k += step;
  }
}

std::shared_ptr<const PoissonTable> SharedPoissonTable(double mean) {
  static std::mutex mutex;
  static std::vector<std::shared_ptr<const PoissonTable>> recent;  // newest last, at most 8
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto& table : recent) {
    if (table->mean() == mean) return table;
  }
  absl::StatusOr<PoissonTable> made = PoissonTable::Create(mean);
  if (!made.ok()) return nullptr;
  if (recent.size() == 8) recent.erase(recent.begin());
  recent.push_back(std::make_shared<const PoissonTable>(std::move(made).value()));
  return recent.back();
}

}  // namespace fedsilo
