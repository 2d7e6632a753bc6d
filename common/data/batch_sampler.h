// Batch sampling inside a silo: which of the silo's records go into one gradient query.
//
// The sampler the code runs must be the one the privacy accountant assumes (a silo's relation is
// replace-one with its size n public, whatever the sampler):
//   kPoisson            each record independently with probability q = batch/n;
//   kWithoutReplacement a uniformly random subset of exactly `batch` records;
//   kWithReplacement    `batch` independent uniform draws (what the ISRL-DP papers' code does;
//                       no standard accountant certifies it).
// Deterministic given the Rng state. Thread-safe as long as each thread has its own Rng.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "common/base/rng.h"
#include "common/base/status.h"

namespace fedsilo {

enum class Sampling { kPoisson, kWithoutReplacement, kWithReplacement };

absl::StatusOr<Sampling> ParseSampling(const std::string& name);
std::string SamplingName(Sampling sampling);

// Writes the sampled rows (a subset/multiset of `pool`) into *out, replacing its contents.
// batch >= pool.size() with kWithoutReplacement yields the whole pool. kWithoutReplacement returns
// its records in pool order, from `batch` random draws (Floyd's algorithm); kPoisson in pool order.
void SampleBatch(std::span<const int> pool, int batch, Sampling sampling, Rng& rng,
                 std::vector<int>* out);

}  // namespace fedsilo
