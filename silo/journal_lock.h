// JournalLock: one silo process per journal. A silo takes an exclusive lock (flock) on
// STATE_DIR/NAME.lock before it reads its journal and holds it for its whole life; the kernel
// releases it when the process ends, even by SIGKILL, so a restarted silo takes it again at once.
// Two processes serving one silo would each keep their own ledger in memory and overwrite each
// other's journal, so the budget one of them spent would be forgotten: the second is refused
// (FailedPrecondition naming the lock file and the holder's pid). Move-only; unlocks on
// destruction.
#pragma once

#include <string>

#include "common/base/status.h"

namespace fedsilo {

class JournalLock {
 public:
  // Creates state_dir when absent. PermissionDenied when the directory or the lock file cannot
  // be made.
  static absl::StatusOr<JournalLock> Acquire(const std::string& state_dir, const std::string& name);

  JournalLock(JournalLock&& other) noexcept;
  JournalLock& operator=(JournalLock&& other) noexcept;
  JournalLock(const JournalLock&) = delete;
  JournalLock& operator=(const JournalLock&) = delete;
  ~JournalLock();

 private:
  explicit JournalLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace fedsilo
