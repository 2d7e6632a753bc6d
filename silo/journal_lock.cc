#include "silo/journal_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fedsilo {

absl::StatusOr<JournalLock> JournalLock::Acquire(const std::string& state_dir,
                                                 const std::string& name) {
  std::error_code made;
  std::filesystem::create_directories(state_dir, made);
  if (made) {
    return absl::PermissionDeniedError("--state-dir " + state_dir +
                                       ": cannot create it: " + made.message());
  }
  const std::string path = (std::filesystem::path(state_dir) / (name + ".lock")).string();
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open the journal lock ", path, ": ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char holder[32] = {0};
    const ssize_t got = pread(fd, holder, sizeof(holder) - 1, 0);
    close(fd);
    if (error == EWOULDBLOCK) {
      const std::string pid = got > 0 ? std::string(holder, static_cast<size_t>(got)) : "?";
      return absl::FailedPreconditionError(absl::StrCat(
          "another silo process (pid ", pid,
          ") holds ", path, ": one silo is served by one process, since two would each keep "
          "their own privacy ledger and overwrite each other's journal, forgetting spent budget"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("cannot lock the journal lock ", path, ": ", std::strerror(error)));
  }
  // The pid only feeds the message another process prints; the lock holds without it.
  const std::string pid = std::to_string(getpid());
  const bool noted = ftruncate(fd, 0) == 0 &&
                     pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  (void)noted;
  return JournalLock(fd);
}

JournalLock::JournalLock(JournalLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

JournalLock& JournalLock::operator=(JournalLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

JournalLock::~JournalLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace fedsilo
