// The closed-form ISRL-DP noise of Lowy & Razaviyayn ("Private Federated Learning Without a
// Trusted Server", 2023), from the noisy-SGD lemma of Bassily, Feldman, Talwar, Thakurta (2019):
//
//   sigma^2 = 8 L^2 T ln(1/delta) / (n^2 eps^2)
//
// sigma is the standard deviation of the noise on a silo's minibatch-MEAN gradient, L the
// per-record clipping bound, T the number of noisy gradient queries the silo makes, n its number
// of records. The papers state it for eps <= 2 ln(1/delta) and batch K >= n sqrt(eps / (4 T)), with
// sampling WITH replacement; fedsilo reports the epsilon it targets, labelled as such. No
// accountant certifies it in general (see dp_test_vectors.md). Pure; thread-safe.
#pragma once

#include <cstdint>

namespace fedsilo {

double PaperIsrlDpSigma(double clip, int64_t queries, double n, double epsilon, double delta);

}  // namespace fedsilo
