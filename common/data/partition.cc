// Partitioners (see partition.h). Every scheme works on index lists only: the pooled Dataset is
// never copied. The train and the test split are partitioned with the same scheme, each from its
// own random stream (DeriveSeed(seed, "partition/<scheme>", 0 for train, 1 for test)). Each silo's
// lists are returned sorted ascending, which makes the result canonical.
//
// Coverage: no record is given to two silos. iid, dirichlet, label_per_silo and by_attribute use
// every train record; shards leaves a class unused only when silos * k < number of classes;
// even_odd_pairs and per_fedavg_split use a subset (see below).
//
// Test splits of the label-skew schemes (dirichlet, shards, label_per_silo): the test records of
// class c (shuffled) are cut among the silos in proportion to their train counts of class c, by
// cumulative rounding. So a silo's test labels follow its train labels, no test record is used
// twice, and every test record of a class seen in training is used. Test classes absent from the
// train split stay unassigned. With fewer test than train records per silo, small silos may get
// an empty test list; this is not an error (only empty train lists are).

#include "common/data/partition.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <queue>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/base/rng.h"

namespace fedsilo {
namespace {

using IndexList = std::vector<int>;
using Field = IndexList SiloShard::*;  // &SiloShard::train or &SiloShard::test

constexpr const char* kSchemes[] = {"iid",          "dirichlet",    "shards",
                                    "label_per_silo", "by_attribute", "even_odd_pairs",
                                    "per_fedavg_split", "contiguous"};

// Dirichlet: draws of the whole partition before falling back to the documented fix.
constexpr int kDirichletMaxDraws = 10;
// Shards: attempted edge switches per shard when randomizing the silo-label assignment.
constexpr int kShardSwitchesPerShard = 10;

// Start of piece j when n items are cut into k near-equal consecutive pieces (sizes differ <= 1).
size_t CutPoint(size_t n, size_t k, size_t j) { return n * j / k; }

IndexList ShuffledRange(int n, Rng& rng) {
  IndexList rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  rng.Shuffle(std::span<int>(rows));
  return rows;
}

// Gives silo s the s-th of `silos` near-equal consecutive pieces of `items`.
void DealEqual(std::span<const int> items, int silos, std::vector<SiloShard>& shards, Field field) {
  const size_t n = items.size(), k = static_cast<size_t>(silos);
  for (size_t s = 0; s < k; ++s) {
    (shards[s].*field)
        .assign(items.begin() + CutPoint(n, k, s), items.begin() + CutPoint(n, k, s + 1));
  }
}

// ------------------------------------------------------------------ labels and class lists

// Number of classes: Dataset::num_classes when set, else 1 + the largest label seen. Checks that
// every train and test label lies in [0, num_classes).
absl::StatusOr<int> CheckedNumClasses(const TrainTest& data) {
  int num_classes = data.train.num_classes;
  if (num_classes <= 0) {
    for (const Dataset* d : {&data.train, &data.test}) {
      for (int label : d->y) num_classes = std::max(num_classes, label + 1);
    }
  }
  for (const Dataset* d : {&data.train, &data.test}) {
    const char* split = d == &data.train ? "train" : "test";
    for (size_t i = 0; i < d->y.size(); ++i) {
      if (d->y[i] < 0 || d->y[i] >= num_classes) {
        return absl::InvalidArgumentError(absl::StrCat("partition: ", split, " label ", d->y[i],
                                                       " at row ", i, " is outside [0, ",
                                                       num_classes, ")"));
      }
    }
  }
  return num_classes;
}

// Row indices grouped by label, each group in random order.
std::vector<IndexList> ShuffledByClass(std::span<const int> labels, int num_classes, Rng& rng) {
  std::vector<IndexList> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int>(i));
  for (IndexList& rows : by_class) rng.Shuffle(std::span<int>(rows));
  return by_class;
}

// counts[c * silos + s] = number of class-c records of silo s.
using ClassSiloCounts = std::vector<int64_t>;

// Silo s receives the next counts[c][s] records of by_class[c], for every class c, in silo order.
void MaterializeCounts(const std::vector<IndexList>& by_class, const ClassSiloCounts& counts,
                       int silos, std::vector<SiloShard>& shards, Field field) {
  for (size_t c = 0; c < by_class.size(); ++c) {
    size_t offset = 0;
    for (int s = 0; s < silos; ++s) {
      const size_t take = static_cast<size_t>(counts[c * silos + s]);
      if (take == 0) continue;
      IndexList& out = shards[s].*field;
      out.insert(out.end(), by_class[c].begin() + offset, by_class[c].begin() + offset + take);
      offset += take;
    }
  }
}

// The label-skew test split: test class c is cut in proportion to the silos' train counts of c
// (cumulative rounding: silo s gets floor(T_c * cum_s / N_c) - floor(T_c * cum_{s-1} / N_c)).
void LabelSkewTestSplit(const Dataset& test, int num_classes, const ClassSiloCounts& train_counts,
                        int silos, Rng& rng, std::vector<SiloShard>& shards) {
  const std::vector<IndexList> by_class = ShuffledByClass(test.y, num_classes, rng);
  ClassSiloCounts counts(train_counts.size(), 0);
  for (int c = 0; c < num_classes; ++c) {
    int64_t train_total = 0;
    for (int s = 0; s < silos; ++s) train_total += train_counts[c * silos + s];
    const int64_t test_total = static_cast<int64_t>(by_class[c].size());
    if (train_total == 0 || test_total == 0) continue;
    int64_t cum = 0, previous = 0;
    for (int s = 0; s < silos; ++s) {
      cum += train_counts[c * silos + s];
      const int64_t point = test_total * cum / train_total;
      counts[c * silos + s] = point - previous;
      previous = point;
    }
  }
  MaterializeCounts(by_class, counts, silos, shards, &SiloShard::test);
}

// ------------------------------------------------------------------ dirichlet

// log of a Gamma(shape, 1) draw, finite even when the draw itself underflows (tiny alpha):
// Gamma(a) = Gamma(a + 1) * U^(1/a) for a < 1, as in Rng::Gamma.
double LogGammaDraw(Rng& rng, double shape) {
  if (shape < 1.0) return std::log(rng.Gamma(shape + 1.0)) + std::log(rng.UniformOpen()) / shape;
  return std::log(rng.Gamma(shape));
}

// Label skew by per-class Dirichlet proportions over silos: the "hetero-dir" construction of
// Yurochkin et al. 2019 / Wang et al. 2020 as implemented in FedLab's hetero_dir_partition and
// NIID-Bench (Li et al. 2021), the per-class variant of Hsu et al. 2019's Dirichlet label skew.
// For each class c in order: p ~ Dir(alpha, ..., alpha) over silos; silos that already hold
// >= N / silos records get p_s = 0 ("balance" step) and p is renormalized; class c's shuffled
// records are cut at floor(cumsum(p) * N_c). Draws are done in log space so tiny alpha cannot
// underflow to an all-zero vector.
// Empty silos: the whole partition is redrawn up to kDirichletMaxDraws times until every silo has
// a train record (FedLab redraws until a minimum size). If the last draw still leaves silos empty
// (tiny alpha with many silos), the documented fix moves one record to each empty silo, in
// ascending silo order, from the silo that currently holds the most records (ties: lowest id),
// taking a record of that silo's most frequent class.
ClassSiloCounts DirichletTrainCounts(const std::vector<IndexList>& by_class, int silos,
                                     double alpha, Rng& rng) {
  const int num_classes = static_cast<int>(by_class.size());
  int64_t n = 0;
  for (const IndexList& rows : by_class) n += static_cast<int64_t>(rows.size());
  ClassSiloCounts counts(static_cast<size_t>(num_classes) * silos, 0);
  std::vector<int64_t> totals(static_cast<size_t>(silos), 0);
  std::vector<double> log_gamma(static_cast<size_t>(silos)), weight(static_cast<size_t>(silos));

  for (int draw = 0; draw < kDirichletMaxDraws; ++draw) {
    std::fill(counts.begin(), counts.end(), 0);
    std::fill(totals.begin(), totals.end(), 0);
    for (int c = 0; c < num_classes; ++c) {
      const int64_t n_c = static_cast<int64_t>(by_class[c].size());
      if (n_c == 0) continue;
      for (int s = 0; s < silos; ++s) log_gamma[s] = LogGammaDraw(rng, alpha);
      // Balance step: only silos below N / silos records stay eligible.
      bool any_eligible = false;
      for (int s = 0; s < silos; ++s) any_eligible |= totals[s] * silos < n;
      double max_log = -std::numeric_limits<double>::infinity();
      int last_eligible = -1;
      for (int s = 0; s < silos; ++s) {
        if (any_eligible && totals[s] * silos >= n) continue;
        max_log = std::max(max_log, log_gamma[s]);
        last_eligible = s;
      }
      double sum = 0.0;
      for (int s = 0; s < silos; ++s) {
        const bool eligible = !any_eligible || totals[s] * silos < n;
        weight[s] = eligible ? std::exp(log_gamma[s] - max_log) : 0.0;
        sum += weight[s];
      }
      double cum = 0.0;
      int64_t previous = 0;
      for (int s = 0; s < silos; ++s) {
        cum += weight[s];
        int64_t point = std::min<int64_t>(n_c, static_cast<int64_t>(std::floor(cum / sum * n_c)));
        if (s >= last_eligible) point = n_c;  // rounding leftovers go to the last eligible silo
        point = std::max(point, previous);
        counts[c * silos + s] = point - previous;
        totals[s] += point - previous;
        previous = point;
      }
    }
    if (*std::min_element(totals.begin(), totals.end()) > 0) return counts;
  }

  // Documented fix for silos still empty after the last draw.
  std::priority_queue<std::pair<int64_t, int>> largest;  // (total, -silo)
  for (int s = 0; s < silos; ++s) largest.push({totals[s], -s});
  for (int s = 0; s < silos; ++s) {
    if (totals[s] > 0) continue;
    auto [donor_total, neg_donor] = largest.top();
    largest.pop();
    const int donor = -neg_donor;
    int best_class = 0;
    for (int c = 1; c < num_classes; ++c) {
      if (counts[c * silos + donor] > counts[best_class * silos + donor]) best_class = c;
    }
    --counts[best_class * silos + donor];
    ++counts[best_class * silos + s];
    --totals[donor];
    ++totals[s];
    largest.push({donor_total - 1, neg_donor});
    // Silo s is not in the queue with its new total; it holds 1 record and never donates.
  }
  return counts;
}

// ------------------------------------------------------------------ shards

// Shards, McMahan et al. 2017 style, made exact: every silo gets exactly k shards of k distinct
// labels. The records are sorted by label (random order within a label) and each label's run is
// cut into near-equal shards, so no shard straddles two labels (McMahan cuts the sorted list
// blindly, so a client may end up with 1 or 3 labels). The silos * k shards are apportioned among
// labels in proportion to label frequency (D'Hondt, each present label first getting one shard
// when silos * k >= #labels), capped at `silos` shards per label (a label cannot give two shards
// to one silo) and at its record count. Shards are then assigned to silos: a deterministic valid
// assignment (the label-sorted shard list dealt round-robin) is randomized by edge switches (swap
// the labels of two silos' shards when neither silo already has the other's label), which
// preserves "exactly k distinct labels per silo" and gives random label combinations.
absl::StatusOr<ClassSiloCounts> ShardTrainCounts(const std::vector<IndexList>& by_class, int silos,
                                                 int k, Rng& rng) {
  const int num_classes = static_cast<int>(by_class.size());
  std::vector<int64_t> sizes(static_cast<size_t>(num_classes));
  int present = 0;
  for (int c = 0; c < num_classes; ++c) {
    sizes[c] = static_cast<int64_t>(by_class[c].size());
    present += sizes[c] > 0;
  }
  if (k > present) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition.labels_per_silo = ", k, " but the training set has only ", present,
        " distinct labels"));
  }
  const int64_t total_shards = static_cast<int64_t>(silos) * k;
  std::vector<int64_t> caps(static_cast<size_t>(num_classes));
  int64_t cap_sum = 0;
  for (int c = 0; c < num_classes; ++c) cap_sum += caps[c] = std::min<int64_t>(silos, sizes[c]);
  if (cap_sum < total_shards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition: shards cannot give each of ", silos, " silos ", k,
        " distinct labels: the labels have too few records (a label can give at most one shard to "
        "each silo and needs one record per shard); lower partition.labels_per_silo or "
        "partition.silos"));
  }

  // Apportion shards among labels.
  std::vector<int64_t> shards_of(static_cast<size_t>(num_classes), 0);
  int64_t assigned = 0;
  if (total_shards >= present) {
    for (int c = 0; c < num_classes; ++c) {
      if (sizes[c] > 0) shards_of[c] = 1, ++assigned;
    }
  }
  // D'Hondt: next shard to the label with the largest size / (shards + 1); ties to the lower label.
  auto before = [&](int a, int b) {  // true if a has lower priority than b
    const int64_t lhs = sizes[a] * (shards_of[b] + 1), rhs = sizes[b] * (shards_of[a] + 1);
    return lhs != rhs ? lhs < rhs : a > b;
  };
  std::priority_queue<int, std::vector<int>, decltype(before)> queue(before);
  for (int c = 0; c < num_classes; ++c) {
    if (shards_of[c] < caps[c]) queue.push(c);
  }
  while (assigned < total_shards) {
    const int c = queue.top();  // non-empty: cap_sum >= total_shards
    queue.pop();
    ++shards_of[c];
    ++assigned;
    if (shards_of[c] < caps[c]) queue.push(c);
  }

  // Valid initial assignment: label-sorted shard list, position j -> silo j % silos. A label's
  // run has <= silos positions, so no silo gets a label twice; each silo gets exactly k shards.
  // label_of[s * k + r] = label of silo s's r-th shard.
  std::vector<int> label_of(static_cast<size_t>(total_shards));
  {
    int64_t position = 0;
    for (int c = 0; c < num_classes; ++c) {
      for (int64_t i = 0; i < shards_of[c]; ++i, ++position) {
        const int64_t silo = position % silos, slot = position / silos;
        label_of[silo * k + slot] = c;
      }
    }
  }
  auto has_label = [&](int64_t silo, int label) {
    for (int r = 0; r < k; ++r) {
      if (label_of[silo * k + r] == label) return true;
    }
    return false;
  };
  const uint64_t switches = static_cast<uint64_t>(total_shards) * kShardSwitchesPerShard;
  for (uint64_t t = 0; t < switches; ++t) {
    const int64_t a = static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(total_shards)));
    const int64_t b = static_cast<int64_t>(rng.UniformInt(static_cast<uint64_t>(total_shards)));
    const int64_t silo_a = a / k, silo_b = b / k;
    const int x = label_of[a], y = label_of[b];
    if (silo_a == silo_b || x == y || has_label(silo_a, y) || has_label(silo_b, x)) continue;
    std::swap(label_of[a], label_of[b]);
  }

  // Label c's shards go to its holders in ascending silo order (its records are shuffled, so
  // which shard a holder gets is random).
  ClassSiloCounts counts(static_cast<size_t>(num_classes) * silos, 0);
  std::vector<int64_t> next_shard(static_cast<size_t>(num_classes), 0);
  for (int64_t s = 0; s < silos; ++s) {
    for (int r = 0; r < k; ++r) {
      const int c = label_of[s * k + r];
      const size_t j = static_cast<size_t>(next_shard[c]++);
      const size_t n_c = static_cast<size_t>(sizes[c]), pieces = static_cast<size_t>(shards_of[c]);
      counts[c * silos + s] =
          static_cast<int64_t>(CutPoint(n_c, pieces, j + 1) - CutPoint(n_c, pieces, j));
    }
  }
  return counts;
}

// ------------------------------------------------------------------ label_per_silo

// Silo s holds only class s mod C; requires silos >= C so that every class has a silo (otherwise
// classes would silently vanish; use shards with labels_per_silo = 1 for fewer silos). The silos
// sharing a class split its records into near-equal random parts.
absl::StatusOr<ClassSiloCounts> LabelPerSiloTrainCounts(const std::vector<IndexList>& by_class,
                                                        int silos) {
  const int num_classes = static_cast<int>(by_class.size());
  if (silos < num_classes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition.scheme = label_per_silo needs partition.silos >= the number of classes (",
        num_classes, ") so that every class has a silo, but partition.silos = ", silos,
        "; use scheme shards with labels_per_silo = 1 instead"));
  }
  ClassSiloCounts counts(static_cast<size_t>(num_classes) * silos, 0);
  for (int c = 0; c < num_classes; ++c) {
    const size_t holders = static_cast<size_t>((silos - 1 - c) / num_classes + 1);
    const size_t n_c = by_class[c].size();
    if (n_c < holders) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition: label_per_silo leaves silo ", c + static_cast<int>(n_c) * num_classes,
          " with no train records: class ", c, " has ", n_c, " records for ", holders,
          " silos"));
    }
    for (size_t j = 0; j < holders; ++j) {
      counts[c * silos + c + j * num_classes] =
          static_cast<int64_t>(CutPoint(n_c, holders, j + 1) - CutPoint(n_c, holders, j));
    }
  }
  return counts;
}

// ------------------------------------------------------------------ by_attribute

// Sort by the column (ties in random order), cut into `silos` contiguous near-equal blocks (silo s
// gets the s-th block, so attribute ranges increase with the silo id). Each silo keeps a random
// round(h * |block|) of its block's records; all other records are pooled, shuffled and dealt to
// the silos to refill each to its block size. So h = 1 gives pure blocks, h = 0 a uniformly random
// split with the same sizes, and in between exactly a fraction ~h of each silo comes from its own
// block (plus, by chance, some of the random part).
void ByAttributeSplit(const Dataset& data, int column, int silos, double h, Rng& rng,
                      std::vector<SiloShard>& shards, Field field) {
  const int n = data.size();
  IndexList order = ShuffledRange(n, rng);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const double va = data.x(a, column), vb = data.x(b, column);
    return va < vb || (!std::isnan(va) && std::isnan(vb));  // NaN last
  });
  IndexList pool;
  std::vector<size_t> kept(static_cast<size_t>(silos));
  const size_t total = order.size(), k = static_cast<size_t>(silos);
  for (size_t s = 0; s < k; ++s) {
    const std::span<int> block(order.data() + CutPoint(total, k, s),
                               CutPoint(total, k, s + 1) - CutPoint(total, k, s));
    rng.Shuffle(block);
    kept[s] = static_cast<size_t>(std::llround(h * static_cast<double>(block.size())));
    (shards[s].*field).assign(block.begin(), block.begin() + kept[s]);
    pool.insert(pool.end(), block.begin() + kept[s], block.end());
  }
  rng.Shuffle(std::span<int>(pool));
  size_t offset = 0;
  for (size_t s = 0; s < k; ++s) {
    const size_t fill = CutPoint(total, k, s + 1) - CutPoint(total, k, s) - kept[s];
    IndexList& out = shards[s].*field;
    out.insert(out.end(), pool.begin() + offset, pool.begin() + offset + fill);
    offset += fill;
  }
}

absl::StatusOr<int> FindColumn(const TrainTest& data, const std::string& attribute) {
  if (attribute.empty()) {
    return absl::InvalidArgumentError(
        "partition.scheme = by_attribute needs partition.attribute (a feature column name)");
  }
  const std::vector<std::string>& names = data.train.feature_names;
  const auto it = std::find(names.begin(), names.end(), attribute);
  if (it == names.end()) {
    constexpr size_t kShown = 8;
    std::vector<std::string> shown(names.begin(), names.begin() + std::min(kShown, names.size()));
    std::string available = shown.empty() ? "none" : absl::StrJoin(shown, ", ");
    if (names.size() > kShown) absl::StrAppend(&available, ", ... (", names.size(), " in all)");
    // One-hot columns are named "column=value": point at them when the user gave the column.
    std::vector<std::string> one_hot;
    for (const std::string& name : names) {
      if (name.rfind(attribute + "=", 0) == 0 && one_hot.size() < 3) one_hot.push_back(name);
    }
    std::string hint;
    if (!one_hot.empty()) {
      hint = absl::StrCat("; it was one-hot encoded, e.g. ", absl::StrJoin(one_hot, ", "));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "partition.attribute '", attribute, "' is not a feature column of dataset '", data.name,
        "'", hint, "; available: ", available));
  }
  const int column = static_cast<int>(it - names.begin());
  if (column >= data.train.dim() || (data.test.size() > 0 && column >= data.test.dim())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition.attribute '", attribute, "' names column ", column,
        " but the feature matrices have ", data.train.dim(), " (train) and ", data.test.dim(),
        " (test) columns"));
  }
  return column;
}

// ------------------------------------------------------------------ even_odd_pairs

constexpr int kDigits = 10;
constexpr int kPairs = 25;  // (even, odd) pairs
int PairEven(int silo) { return 2 * ((silo % kPairs) / 5); }
int PairOdd(int silo) { return 2 * ((silo % kPairs) % 5) + 1; }

// The digit of every record: fine_label when present (y is then its parity), else y.
absl::StatusOr<std::span<const int>> Digits(const Dataset& data, const char* split) {
  std::span<const int> digits = data.fine_label.empty() ? std::span<const int>(data.y)
                                                        : std::span<const int>(data.fine_label);
  if (digits.size() != data.y.size()) {
    return absl::InvalidArgumentError(absl::StrCat("partition: the ", split, " split has ",
                                                   data.y.size(), " labels but ", digits.size(),
                                                   " fine labels"));
  }
  for (size_t i = 0; i < digits.size(); ++i) {
    if (digits[i] < 0 || digits[i] >= kDigits) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition.scheme = even_odd_pairs needs digit labels 0-9 (MNIST; the digit is "
          "fine_label when the labels were mapped to parity), but ", split, " row ", i,
          " has label ", digits[i]));
    }
  }
  return digits;
}

// Follows the MNIST construction of Woodworth, Patel & Srebro 2020 ("Minibatch vs Local SGD for
// Heterogeneous Distributed Learning", Sec. 7), reused by Lowy & Razaviyayn ("Private Federated
// Learning Without a Trusted Server", code: github.com/lowya/Private-Federated-Learning-Without-
// a-Trusted-Server, load_MNIST2): every digit is cut to n_m = the smallest digit count (a
// class-balanced pool), machine m is given the pair m of itertools.product(evens, odds) =
// (0,1), (0,3), ..., (0,9), (2,1), ..., (8,9) (25 pairs; more or fewer silos cycle through them),
// and its data mixes its own pair's records with records drawn from the whole balanced pool.
// Differences, on purpose:
//  * Mixing parameter: the papers' p is the fraction drawn from the WHOLE pool (p = 0: fully
//    heterogeneous); here p is the fraction from the silo's OWN pair (partition.h), i.e.
//    p_here = 1 - p_paper. p = 1: only the silo's two digits; p = 0: an iid split of the pool.
//  * No replacement, no overlap: the reference draws with replacement and silos share records
//    (each of 25 machines gets 2 n_m records from a pool of 10 n_m). Here every record goes to at
//    most one silo: all silos get m records, own = round(p m) of them from their pair (ceil(own/2)
//    of the even digit, floor(own/2) of the odd digit), the rest dealt from the records of the
//    balanced pool left after all own parts were taken. m is the largest size for which this
//    fits (silos * m <= 10 n_m and no digit is over-demanded); with 25 silos m = floor(0.4 n_m)
//    and the leftover pool stays class-balanced, so the mixed part matches the papers' draw.
//  * The reference splits each machine's records 80/20 into train/test; here the pooled test set
//    is partitioned by the same construction (its own n_m and m).
// Returns the per-silo size m (0 when the split cannot give every silo a record).
int64_t EvenOddPairsSplit(std::span<const int> digits, int silos, double p, Rng& rng,
                          std::vector<SiloShard>& shards, Field field) {
  std::vector<IndexList> by_digit = ShuffledByClass(digits, kDigits, rng);
  int64_t n_m = std::numeric_limits<int64_t>::max();
  for (const IndexList& rows : by_digit) n_m = std::min<int64_t>(n_m, rows.size());
  if (n_m == 0) return 0;
  for (IndexList& rows : by_digit) rows.resize(static_cast<size_t>(n_m));  // balanced pool

  std::vector<int64_t> users(kDigits, 0);  // silos whose pair contains each digit
  for (int s = 0; s < silos; ++s) ++users[PairEven(s)], ++users[PairOdd(s)];
  auto own_of = [&](int64_t m) {
    return static_cast<int64_t>(std::llround(p * static_cast<double>(m)));
  };
  auto feasible = [&](int64_t m) {
    if (m * silos > kDigits * n_m) return false;
    const int64_t own = own_of(m), even = (own + 1) / 2, odd = own / 2;
    for (int d = 0; d < kDigits; ++d) {
      if (users[d] * (d % 2 == 0 ? even : odd) > n_m) return false;
    }
    return true;
  };
  int64_t lo = 0, hi = kDigits * n_m / silos;  // feasible(lo) holds; find the largest feasible m
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (feasible(mid)) lo = mid; else hi = mid - 1;
  }
  const int64_t m = lo;
  if (m == 0) return 0;
  const int64_t own = own_of(m), even = (own + 1) / 2, odd = own / 2;

  std::vector<size_t> cursor(kDigits, 0);
  for (int s = 0; s < silos; ++s) {
    IndexList& out = shards[s].*field;
    out.reserve(static_cast<size_t>(m));
    for (const auto& [digit, take] : {std::pair<int, int64_t>{PairEven(s), even},
                                     std::pair<int, int64_t>{PairOdd(s), odd}}) {
      const IndexList& rows = by_digit[digit];
      out.insert(out.end(), rows.begin() + cursor[digit], rows.begin() + cursor[digit] + take);
      cursor[digit] += static_cast<size_t>(take);
    }
  }
  IndexList pool;
  for (int d = 0; d < kDigits; ++d) {
    pool.insert(pool.end(), by_digit[d].begin() + cursor[d], by_digit[d].end());
  }
  rng.Shuffle(std::span<int>(pool));
  size_t offset = 0;
  for (int s = 0; s < silos; ++s) {
    IndexList& out = shards[s].*field;
    const size_t fill = static_cast<size_t>(m - own);
    out.insert(out.end(), pool.begin() + offset, pool.begin() + offset + fill);
    offset += fill;
  }
  return m;
}

// ------------------------------------------------------------------ per_fedavg_split

// The heterogeneous split of Fallah, Mokhtari & Ozdaglar 2020 (Per-FedAvg, Sec. 5): the first
// ceil(S/2) silos ("type A") hold a records of each of the classes 0-4; silo nA + j of the others
// ("type B") holds a/2 (rounded down) records of class j mod 5 and 2a of class
// 5 + ((j + j / 5) mod 5), so 25 type-B silos cover all 25 (low, high) pairs and every class is
// asked for evenly. Labels are the digit (fine_label when present, else y); other labels go
// unused. Records are drawn without replacement from each class's shuffled list, in silo order.
// The test split uses the same construction with a_test = min(a, the largest a it can serve).
constexpr int kSplitClasses = 5;

int SplitTypeA(int silos) { return (silos + 1) / 2; }
int SplitLow(int j) { return j % kSplitClasses; }
int SplitHigh(int j) { return kSplitClasses + (j + j / kSplitClasses) % kSplitClasses; }

// Whether every class has the records the split asks for with this a.
bool SplitFits(const std::vector<IndexList>& by_class, int silos, int64_t a) {
  const int type_a = SplitTypeA(silos);
  std::vector<int64_t> demand(2 * kSplitClasses, 0);
  for (int c = 0; c < kSplitClasses; ++c) demand[c] = type_a * a;
  for (int j = 0; j < silos - type_a; ++j) {
    demand[SplitLow(j)] += a / 2;
    demand[SplitHigh(j)] += 2 * a;
  }
  for (int c = 0; c < 2 * kSplitClasses; ++c) {
    if (demand[c] > static_cast<int64_t>(by_class[c].size())) return false;
  }
  return true;
}

// The largest a >= 2 that fits (0 when none does).
int64_t LargestSplitA(const std::vector<IndexList>& by_class, int silos) {
  int64_t lo = 0, hi = 0;
  for (const IndexList& rows : by_class) hi += static_cast<int64_t>(rows.size());
  while (lo < hi) {  // invariant: lo == 0 or SplitFits(lo)
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (mid >= 2 && SplitFits(by_class, silos, mid)) lo = mid; else hi = mid - 1;
  }
  return lo;
}

void PerFedAvgSplit(const std::vector<IndexList>& by_class, int silos, int64_t a,
                    std::vector<SiloShard>& shards, Field field) {
  std::vector<size_t> cursor(2 * kSplitClasses, 0);
  auto take = [&](int s, int c, int64_t count) {
    IndexList& out = shards[s].*field;
    const IndexList& rows = by_class[c];
    out.insert(out.end(), rows.begin() + cursor[c], rows.begin() + cursor[c] + count);
    cursor[c] += static_cast<size_t>(count);
  };
  const int type_a = SplitTypeA(silos);
  for (int s = 0; s < silos; ++s) {
    if (s < type_a) {
      for (int c = 0; c < kSplitClasses; ++c) take(s, c, a);
    } else {
      take(s, SplitLow(s - type_a), a / 2);
      take(s, SplitHigh(s - type_a), 2 * a);
    }
  }
}

// Row indices of labels 0-9 grouped by label, shuffled (other labels are not used).
std::vector<IndexList> SplitClasses(const Dataset& data, Rng& rng) {
  std::span<const int> labels = data.fine_label.empty() || data.fine_label.size() != data.y.size()
                                    ? std::span<const int>(data.y)
                                    : std::span<const int>(data.fine_label);
  std::vector<IndexList> by_class(2 * kSplitClasses);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= 0 && labels[i] < 2 * kSplitClasses) by_class[labels[i]].push_back(static_cast<int>(i));
  }
  for (IndexList& rows : by_class) rng.Shuffle(std::span<int>(rows));
  return by_class;
}

// ------------------------------------------------------------------ validation

bool InUnitInterval(double v) { return v >= 0.0 && v <= 1.0; }  // false for NaN

absl::Status ValidateConfig(const PartitionConfig& config, int train_records) {
  const auto known = std::find(std::begin(kSchemes), std::end(kSchemes), config.scheme);
  if (known == std::end(kSchemes)) {
    return absl::InvalidArgumentError(absl::StrCat("unknown partition.scheme '", config.scheme,
                                                   "' (known: ", absl::StrJoin(kSchemes, ", "),
                                                   ")"));
  }
  if (config.silos < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition.silos = ", config.silos, " but at least 1 silo is needed"));
  }
  if (config.silos > train_records) {
    return absl::InvalidArgumentError(absl::StrCat("partition.silos = ", config.silos,
                                                   " but the training set has ", train_records,
                                                   " records"));
  }
  if (config.scheme == "dirichlet" && !(config.alpha > 0.0 && std::isfinite(config.alpha))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition.alpha = ", config.alpha, " but dirichlet needs a finite alpha > 0"));
  }
  if (config.scheme == "shards" && config.labels_per_silo < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition.labels_per_silo = ", config.labels_per_silo, " but shards needs at least 1"));
  }
  if (config.scheme == "by_attribute" && !InUnitInterval(config.h)) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition.h = ", config.h, " but by_attribute needs h in [0, 1]"));
  }
  if (config.scheme == "even_odd_pairs" && !InUnitInterval(config.p)) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition.p = ", config.p, " but even_odd_pairs needs p in [0, 1]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<SiloShard>> PartitionData(const TrainTest& data,
                                                     const PartitionConfig& config,
                                                     unsigned long long seed) {
  FEDSILO_RETURN_IF_ERROR(ValidateConfig(config, data.train.size()));
  const int silos = config.silos;
  const std::string purpose = "partition/" + config.scheme;
  Rng train_rng(DeriveSeed(seed, purpose, 0));
  Rng test_rng(DeriveSeed(seed, purpose, 1));
  std::vector<SiloShard> shards(static_cast<size_t>(silos));
  const std::string& scheme = config.scheme;

  if (scheme == "iid") {
    DealEqual(ShuffledRange(data.train.size(), train_rng), silos, shards, &SiloShard::train);
    DealEqual(ShuffledRange(data.test.size(), test_rng), silos, shards, &SiloShard::test);
  } else if (scheme == "contiguous") {  // silo s: the s-th block of the records, in file order
    IndexList train(static_cast<size_t>(data.train.size())), test(static_cast<size_t>(data.test.size()));
    std::iota(train.begin(), train.end(), 0);
    std::iota(test.begin(), test.end(), 0);
    DealEqual(train, silos, shards, &SiloShard::train);
    DealEqual(test, silos, shards, &SiloShard::test);
  } else if (scheme == "dirichlet" || scheme == "shards" || scheme == "label_per_silo") {
    FEDSILO_ASSIGN_OR_RETURN(const int num_classes, CheckedNumClasses(data));
    const std::vector<IndexList> by_class = ShuffledByClass(data.train.y, num_classes, train_rng);
    ClassSiloCounts counts;
    if (scheme == "dirichlet") {
      counts = DirichletTrainCounts(by_class, silos, config.alpha, train_rng);
    } else if (scheme == "shards") {
      FEDSILO_ASSIGN_OR_RETURN(
          counts, ShardTrainCounts(by_class, silos, config.labels_per_silo, train_rng));
    } else {
      FEDSILO_ASSIGN_OR_RETURN(counts, LabelPerSiloTrainCounts(by_class, silos));
    }
    MaterializeCounts(by_class, counts, silos, shards, &SiloShard::train);
    LabelSkewTestSplit(data.test, num_classes, counts, silos, test_rng, shards);
  } else if (scheme == "by_attribute") {
    FEDSILO_ASSIGN_OR_RETURN(const int column, FindColumn(data, config.attribute));
    ByAttributeSplit(data.train, column, silos, config.h, train_rng, shards, &SiloShard::train);
    ByAttributeSplit(data.test, column, silos, config.h, test_rng, shards, &SiloShard::test);
  } else if (scheme == "even_odd_pairs") {
    FEDSILO_ASSIGN_OR_RETURN(const std::span<const int> train_digits, Digits(data.train, "train"));
    FEDSILO_ASSIGN_OR_RETURN(const std::span<const int> test_digits, Digits(data.test, "test"));
    for (int d = 0; d < kDigits; ++d) {
      if (std::find(train_digits.begin(), train_digits.end(), d) == train_digits.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "partition.scheme = even_odd_pairs needs every digit 0-9 in the training set, but "
            "digit ", d, " has no records"));
      }
    }
    const int64_t m = EvenOddPairsSplit(train_digits, silos, config.p, train_rng, shards,
                                        &SiloShard::train);
    if (m == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition: even_odd_pairs leaves every silo with no train records: partition.silos = ",
          silos, " is more than the class-balanced training pool (10 x the rarest digit's count) "
          "can serve with partition.p = ", config.p));
    }
    EvenOddPairsSplit(test_digits, silos, config.p, test_rng, shards, &SiloShard::test);
  } else if (scheme == "per_fedavg_split") {
    const std::vector<IndexList> train_classes = SplitClasses(data.train, train_rng);
    const int64_t largest = LargestSplitA(train_classes, silos);
    if (largest < 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition: per_fedavg_split cannot give ", silos,
          " silos even a = 2 records per class (it needs labels 0-9, e.g. MNIST)"));
    }
    const int64_t a = config.per_class > 0 ? config.per_class : largest;
    if (a < 2 || a > largest) {
      return absl::InvalidArgumentError(absl::StrCat(
          "partition.per_class = ", config.per_class, " but per_fedavg_split with ", silos,
          " silos needs 2 <= per_class <= ", largest, " on this training set"));
    }
    PerFedAvgSplit(train_classes, silos, a, shards, &SiloShard::train);
    const std::vector<IndexList> test_classes = SplitClasses(data.test, test_rng);
    const int64_t a_test = std::min(a, LargestSplitA(test_classes, silos));
    if (a_test >= 2) PerFedAvgSplit(test_classes, silos, a_test, shards, &SiloShard::test);
  }

  for (int s = 0; s < silos; ++s) {
    if (shards[s].train.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("partition: scheme ", scheme, " left silo ", s,
                                                     " with no train records"));
    }
    std::sort(shards[s].train.begin(), shards[s].train.end());
    std::sort(shards[s].test.begin(), shards[s].test.end());
  }
  return shards;
}

// ------------------------------------------------------------------ summary

namespace {

struct SummaryColumns {
  std::span<const int> labels;  // what the histogram counts
  int num_labels = 0;
  std::string title;
};

SummaryColumns HistogramLabels(const Dataset& train) {
  SummaryColumns columns;
  const bool fine = !train.fine_label.empty() && train.fine_label.size() == train.y.size();
  columns.labels = fine ? std::span<const int>(train.fine_label) : std::span<const int>(train.y);
  columns.title = fine ? "train fine-label histogram" : "train label histogram";
  columns.num_labels = fine ? 0 : train.num_classes;
  for (int label : columns.labels) columns.num_labels = std::max(columns.num_labels, label + 1);
  return columns;
}

double Median(std::vector<int64_t> values) {
  if (values.empty()) return 0.0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + mid, values.end());
  const double upper = static_cast<double>(values[mid]);
  if (values.size() % 2 == 1) return upper;
  const double lower = static_cast<double>(*std::max_element(values.begin(), values.begin() + mid));
  return 0.5 * (lower + upper);
}

}  // namespace

std::string PartitionSummary(const TrainTest& data, const std::vector<SiloShard>& shards) {
  constexpr size_t kFullTable = 20, kHead = 10, kTail = 5;
  constexpr int kMaxHistogramColumns = 12, kMaxSparseEntries = 8;
  const SummaryColumns columns = HistogramLabels(data.train);
  const bool dense = columns.num_labels <= kMaxHistogramColumns;

  std::vector<int64_t> n_train, n_test;
  int64_t assigned_train = 0, assigned_test = 0;
  for (const SiloShard& shard : shards) {
    n_train.push_back(static_cast<int64_t>(shard.train.size()));
    n_test.push_back(static_cast<int64_t>(shard.test.size()));
    assigned_train += n_train.back();
    assigned_test += n_test.back();
  }

  // Rows of cells: silo, n_train, n_test, then the histogram (dense: one cell per label).
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"silo", "n_train", "n_test"};
  if (dense) {
    for (int c = 0; c < columns.num_labels; ++c) header.push_back(absl::StrCat(c));
  } else {
    header.push_back("label:count (largest first)");
  }
  rows.push_back(header);
  auto add_silo = [&](size_t s) {
    std::vector<int64_t> histogram(static_cast<size_t>(columns.num_labels), 0);
    for (int row : shards[s].train) {
      if (row >= 0 && static_cast<size_t>(row) < columns.labels.size()) {
        const int label = columns.labels[row];
        if (label >= 0 && label < columns.num_labels) ++histogram[label];
      }
    }
    std::vector<std::string> cells = {absl::StrCat(s), absl::StrCat(n_train[s]),
                                      absl::StrCat(n_test[s])};
    if (dense) {
      for (int64_t count : histogram) cells.push_back(absl::StrCat(count));
    } else {
      std::vector<int> order;
      for (int c = 0; c < columns.num_labels; ++c) {
        if (histogram[c] > 0) order.push_back(c);
      }
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return histogram[a] > histogram[b]; });
      std::vector<std::string> entries;
      for (size_t i = 0; i < order.size() && i < static_cast<size_t>(kMaxSparseEntries); ++i) {
        entries.push_back(absl::StrCat(order[i], ":", histogram[order[i]]));
      }
      if (order.size() > static_cast<size_t>(kMaxSparseEntries)) {
        entries.push_back(absl::StrCat("... (", order.size(), " labels)"));
      }
      cells.push_back(absl::StrJoin(entries, " "));
    }
    rows.push_back(std::move(cells));
  };
  const size_t silos = shards.size();
  const bool elide = silos > kFullTable;
  for (size_t s = 0; s < silos; ++s) {
    if (elide && s == kHead) rows.push_back({"..."});
    if (!elide || s < kHead || s >= silos - kTail) add_silo(s);
  }

  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (row.size() == 1) continue;  // the "..." line
    width.resize(std::max(width.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out = absl::StrFormat(
      "partition of '%s': %d silos; %d of %d train and %d of %d test records assigned\n"
      "columns: silo, n_train, n_test, %s\n",
      data.name, silos, assigned_train, data.train.size(), assigned_test, data.test.size(),
      dense ? columns.title + " (one column per label)" : columns.title);
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const bool last_sparse = !dense && i + 1 == row.size() && i >= 3;
      if (i > 0) line += "  ";
      const size_t pad = last_sparse ? 0 : width[i] - std::min(width[i], row[i].size());
      line += std::string(pad, ' ') + row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  if (!shards.empty()) {
    out += absl::StrFormat(
        "min/median/max  n_train %d/%g/%d  n_test %d/%g/%d\n",
        *std::min_element(n_train.begin(), n_train.end()), Median(n_train),
        *std::max_element(n_train.begin(), n_train.end()),
        *std::min_element(n_test.begin(), n_test.end()), Median(n_test),
        *std::max_element(n_test.begin(), n_test.end()));
  }
  return out;
}

}  // namespace fedsilo
