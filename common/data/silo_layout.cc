#include "common/data/silo_layout.h"

#include <string>

namespace fedsilo {
namespace {

// Applies new_position[old] to a per-record vector, following cycles in place.
template <typename Swap>
void PermuteInPlace(std::vector<int> destination, Swap swap_records) {
  // destination[i] = where the record now at i must go.
  for (size_t i = 0; i < destination.size(); ++i) {
    while (destination[i] != static_cast<int>(i)) {
      const int j = destination[i];
      swap_records(static_cast<int>(i), j);
      std::swap(destination[i], destination[static_cast<size_t>(j)]);
    }
  }
}

}  // namespace

absl::Status LayOutBySilo(Dataset* train, std::vector<SiloShard>* shards) {
  const int n = train->size();
  std::vector<int> new_position(static_cast<size_t>(n), -1);
  int next = 0;
  for (size_t s = 0; s < shards->size(); ++s) {
    for (int& row : (*shards)[s].train) {
      if (row < 0 || row >= n) {
        return absl::InvalidArgumentError("silo " + std::to_string(s) + " holds record " +
                                          std::to_string(row) + " outside the training set");
      }
      if (new_position[static_cast<size_t>(row)] >= 0) return absl::OkStatus();  // shared record
      new_position[static_cast<size_t>(row)] = next++;
    }
  }
  for (SiloShard& shard : *shards) {
    for (int& row : shard.train) row = new_position[static_cast<size_t>(row)];
  }
  for (int& position : new_position) {
    if (position < 0) position = next++;
  }
  for (SiloShard& shard : *shards) {
    for (int& row : shard.validation) row = new_position[static_cast<size_t>(row)];
  }
  Eigen::RowVectorXd buffer(train->dim());
  PermuteInPlace(std::move(new_position), [&](int a, int b) {
    buffer = train->x.row(a);
    train->x.row(a) = train->x.row(b);
    train->x.row(b) = buffer;
    std::swap(train->y[static_cast<size_t>(a)], train->y[static_cast<size_t>(b)]);
    if (!train->group.empty()) {
      std::swap(train->group[static_cast<size_t>(a)], train->group[static_cast<size_t>(b)]);
    }
    if (!train->fine_label.empty()) {
      std::swap(train->fine_label[static_cast<size_t>(a)], train->fine_label[static_cast<size_t>(b)]);
    }
  });
  return absl::OkStatus();
}

}  // namespace fedsilo
