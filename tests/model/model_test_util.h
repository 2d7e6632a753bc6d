// Test helpers for the model tests: small random synthetic datasets and parameter vectors.
// Header-only, deterministic (driven by fedsilo::Rng), test code only.
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/eigen_types.h"
#include "common/base/rng.h"
#include "common/data/dataset.h"

namespace fedsilo::testing {

// n records with d standard-normal features and labels in [0, num_classes), loosely tied to the
// features so that the loss surface is not flat.
inline Dataset MakeSyntheticDataset(int n, int d, int num_classes, uint64_t seed) {
  Rng rng(seed);
  Dataset data;
  data.num_classes = num_classes;
  data.x.resize(n, d);
  data.y.resize(n);
  for (int i = 0; i < n; ++i) {
    double s = 0.0;
    for (int j = 0; j < d; ++j) {
      data.x(i, j) = rng.Normal();
      s += data.x(i, j) * ((j % 3) - 1.0);
    }
    const int noise = static_cast<int>(rng.UniformInt(static_cast<uint64_t>(num_classes)));
    data.y[i] = rng.Uniform() < 0.5 ? noise : (s > 0 ? num_classes - 1 : 0);
  }
  return data;
}

inline Vector RandomVector(int size, double scale, uint64_t seed) {
  Rng rng(seed);
  Vector v(size);
  for (int i = 0; i < size; ++i) v[i] = scale * rng.Normal();
  return v;
}

// `count` row indices in [0, n), with repeats allowed, in random order.
inline std::vector<int> RandomRows(int count, int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int> rows(count);
  for (int& r : rows) r = static_cast<int>(rng.UniformInt(static_cast<uint64_t>(n)));
  return rows;
}

}  // namespace fedsilo::testing
