// Dataset: the pooled, preprocessed records of one split (train or test), and Batch, a view of
// some of its rows.
//
// Features are a dense row-major matrix (one row per record, already one-hot encoded and
// standardized), labels are class ids in [0, num_classes), and an optional sensitive attribute
// gives each record a group id in [0, num_groups) for fairness algorithms. A Dataset is immutable
// once built and is shared read-only by every silo in thread mode: silos hold index lists, never
// copies. Safe to read from any number of threads.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/data/sparse_rows.h"

namespace fedsilo {

struct Dataset {
  Matrix x;                               // n x d features
  std::shared_ptr<const SparseRows> nonzeros;  // x's nonzeros when x is sparse, else null
                                          // (an index built once x is final, sparse_rows.h)
  std::vector<int> y;                     // n labels in [0, num_classes)
  std::vector<int> group;                 // n sensitive-group ids, or empty when none
  std::vector<int> fine_label;            // original class when y was relabeled (e.g. MNIST digit
                                          // when y is its parity); empty otherwise
  int num_classes = 0;
  int num_groups = 0;                     // 0 when there is no sensitive attribute
  std::vector<std::string> feature_names; // d names (after one-hot: "column=value")
  std::vector<std::string> class_names;   // num_classes names
  std::vector<std::string> group_names;   // num_groups names

  int size() const { return static_cast<int>(y.size()); }
  int dim() const { return static_cast<int>(x.cols()); }
  bool has_groups() const { return !group.empty(); }
};

// The train and test splits of one dataset, preprocessed with statistics of the train split.
struct TrainTest {
  Dataset train;
  Dataset test;
  std::string name;  // e.g. "adult", "mnist", or the CSV file name
};

// A minibatch: some rows of a Dataset. Borrows both; the caller keeps them alive.
struct Batch {
  const Dataset* data = nullptr;
  std::span<const int> rows;

  int size() const { return static_cast<int>(rows.size()); }
};

// All rows 0..n-1 of `data`, as an index list (for full-batch evaluation).
std::vector<int> AllRows(const Dataset& data);

}  // namespace fedsilo
