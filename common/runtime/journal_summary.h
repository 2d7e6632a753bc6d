// SummarizeSiloJournal: what a silo's journal holds, as JSON (`fedsilo journal FILE`), so an
// operator can read its privacy ledger without starting the silo and a test or soak script can
// check it against the run: {"run_id", "last_round", "has_last_update", "noisy_queries",
// "shuffled_rounds", "events": [{"sampler", "sampling_rate", "noise_multiplier", "count"}]}.
// With a delta, also "epsilon" and "rdp_order": the ledger's Gaussian events composed by
// RdpAccountant (the accountant a silo uses) and converted at that delta; a ledger it cannot
// account (with-replacement events, mixed neighbouring relations) is an error naming why. A
// shuffle-model silo's budget lives in its shuffled rounds, whose epsilon needs the run's
// calibration: with a delta its "epsilon" is null (and says so in "epsilon_note").
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "common/base/status.h"
#include "common/runtime/silo_runtime.h"

namespace fedsilo {

absl::StatusOr<nlohmann::json> SummarizeSiloJournal(const SiloJournal& journal,
                                                    std::optional<double> delta);

}  // namespace fedsilo
