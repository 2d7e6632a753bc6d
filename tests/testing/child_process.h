// A real child process for multi-process tests: the fedsilo binary started in the background with
// its output in a log file, signalled (SIGKILL, SIGSTOP, SIGCONT) and waited for with a deadline.
// The destructor kills a child that is still running, so a failing test leaves no process behind.
// Header-only.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace fedsilo::testing {

class ChildProcess {
 public:
  // Starts FEDSILO_BINARY_PATH (or `binary`) with `args` from the source directory; stdout and
  // stderr go to `log`.
  ChildProcess(const std::vector<std::string>& args, const std::filesystem::path& log,
               const std::string& binary_path = FEDSILO_BINARY_PATH)
      : log_(log) {
    pid_ = fork();
    if (pid_ == 0) {
      if (chdir(FEDSILO_SOURCE_DIR) != 0) _exit(126);
      FILE* out = std::freopen(log.c_str(), "w", stdout);
      if (out == nullptr || dup2(fileno(stdout), fileno(stderr)) < 0) _exit(126);
      std::vector<char*> argv;
      std::string binary = binary_path;
      argv.push_back(binary.data());
      std::vector<std::string> copy = args;
      for (std::string& arg : copy) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (running()) {
      Signal(SIGKILL);
      Wait(std::chrono::seconds(5));
    }
  }

  void Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
  }

  pid_t pid() const { return pid_; }
  bool running() {
    Poll();
    return pid_ > 0 && !exit_code_.has_value();
  }

  // The exit code (128 + signal when killed), or nullopt if still running after `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (!Poll() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
  }

  std::string log() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  bool Poll() {
    if (exit_code_.has_value() || pid_ <= 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }

  pid_t pid_ = -1;
  std::filesystem::path log_;
  std::optional<int> exit_code_;
};

}  // namespace fedsilo::testing
