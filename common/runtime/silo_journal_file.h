// Silo journal file: a silo process's SiloJournal on disk (ledger, last round, last answer),
// rewritten atomically after every task (temporary file, fsync, rename) so that a silo killed at
// any moment restarts with every noisy query it ever made. Format: "FEDSILOJRN2", little-endian
// fields, 64-bit FNV-1a checksum; a torn or edited file is DataLoss naming it (the silo then
// refuses to start rather than forget spent budget). The last answer keeps its sealed bytes
// (shuffle mode), so a restarted silo re-sends exactly the sealed report it sent: the same
// ciphertext, no new noise and no new seal. Files of the earlier format "FEDSILOJRN1" (no sealed
// bytes) are still read.
#pragma once

#include <string>

#include "common/base/status.h"
#include "common/runtime/silo_runtime.h"

namespace fedsilo {

absl::Status WriteSiloJournal(const std::string& path, const SiloJournal& journal);
// NotFound when there is no file (a silo's first start).
absl::StatusOr<SiloJournal> ReadSiloJournal(const std::string& path);

}  // namespace fedsilo
