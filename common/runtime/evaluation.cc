#include "common/runtime/evaluation.h"

#include <algorithm>
#include <vector>

namespace fedsilo {

EvalResult Evaluate(const Model& model, const Vector& w, const Dataset& data,
                    std::span<const int> rows, ThreadPool* pool) {
  EvalResult result;
  result.count = static_cast<int>(rows.size());
  if (rows.empty()) return result;
  constexpr int kChunk = 2048;
  const int num_chunks = static_cast<int>((rows.size() + kChunk - 1) / kChunk);
  std::vector<double> loss_sums(static_cast<size_t>(num_chunks), 0.0);
  std::vector<int> correct(static_cast<size_t>(num_chunks), 0);
  auto run_chunk = [&](int c) {
    const size_t begin = static_cast<size_t>(c) * kChunk;
    const size_t end = std::min(rows.size(), begin + kChunk);
    const std::span<const int> chunk = rows.subspan(begin, end - begin);
    thread_local std::vector<int> predicted;
    loss_sums[static_cast<size_t>(c)] =
        model.LossSumAndPredictions(w, Batch{&data, chunk}, &predicted);
    int hits = 0;
    for (size_t i = 0; i < chunk.size(); ++i) {
      hits += predicted[i] == data.y[static_cast<size_t>(chunk[i])];
    }
    correct[static_cast<size_t>(c)] = hits;
  };
  if (pool != nullptr) {
    pool->ParallelFor(num_chunks, run_chunk);
  } else {
    for (int c = 0; c < num_chunks; ++c) run_chunk(c);
  }
  double loss = 0.0;
  long hits = 0;
  for (int c = 0; c < num_chunks; ++c) {
    loss += loss_sums[static_cast<size_t>(c)];
    hits += correct[static_cast<size_t>(c)];
  }
  result.loss = loss / static_cast<double>(rows.size());
  result.accuracy = static_cast<double>(hits) / static_cast<double>(rows.size());
  return result;
}

}  // namespace fedsilo
