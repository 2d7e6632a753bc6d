#include "common/data/dataset.h"

#include <numeric>

namespace fedsilo {

std::vector<int> AllRows(const Dataset& data) {
  std::vector<int> rows(static_cast<size_t>(data.size()));
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

}  // namespace fedsilo
