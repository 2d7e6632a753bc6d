// Silo journal file: a silo process's SiloJournal on disk (ledger, shuffled rounds, last round,
// last answer), rewritten atomically after every task (temporary file, fsync, rename) so that a
// silo killed at any moment restarts with every noisy query it ever made. It also names the run
// (run_id) its last round and answer belong to. Format: "FEDSILOJRN6",
// little-endian fields, 64-bit FNV-1a checksum; a torn or edited file is DataLoss naming it (the
// silo then refuses to start rather than forget spent budget). The last answer keeps its sealed
// reports (shuffle mode), so a restarted silo re-sends exactly what it sent: the same
// ciphertexts or token, no new noise, and its shuffler shares (secure sums: bits, shares, scale,
// range, silos, the values). Each event's sampler is stored as the numeric
// value of Subsampling; an unknown one is DataLoss. Files of the earlier formats are still read:
// "FEDSILOJRN5" (a secure-sum answer of the earlier protocol, which cannot be re-sent: its rounds
// are kept and the answer dropped), "FEDSILOJRN4" (no shuffler shares), "FEDSILOJRN3" (no run id:
// run ""; and see below), "FEDSILOJRN2" (one sealed report, no shuffled rounds) and "FEDSILOJRN1"
// (no sealed bytes). Before format 4 a silo recorded its
// Poisson queries as kPoisson (add/remove-one), although it released its size n_i: such events
// are read as kPoissonReplaceOne (same q and z), the relation that matches what the silo
// released, so a restarted silo's spent epsilon is honest (and larger than what it believed).
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/runtime/silo_runtime.h"

namespace fedsilo {

absl::Status WriteSiloJournal(const std::string& path, const SiloJournal& journal);
// NotFound when there is no file (a silo's first start).
absl::StatusOr<SiloJournal> ReadSiloJournal(const std::string& path);

}  // namespace fedsilo
