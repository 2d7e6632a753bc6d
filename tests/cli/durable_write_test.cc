// Atomic writes are durable (common/base/binary_record.h, WriteFileAtomically: the silo journal,
// the coordinator checkpoint, every result file): the temporary file is fsync'ed, renamed over
// the target, and then the DIRECTORY is fsync'ed, without which the rename itself may be lost in
// a crash. Checked on the real binary with strace (installed by scripts/setup.sh): after the
// rename of summary.json.tmp, the run directory is opened and that descriptor fsync'ed.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>

#include "tests/testing/loopback.h"
#include "tests/testing/process.h"

namespace fedsilo {
namespace {

namespace fs = std::filesystem;

TEST(DurableWriteTest, TheDirectoryIsSyncedAfterTheRename) {
  const fs::path dir = testing::FreshTempDir("durable_write");
  testing::WriteLogisticCsv(dir / "data.csv", 120, 3);
  testing::WriteFile(dir / "run.yaml",
                     "data: {dataset: csv, train: " + (dir / "data.csv").string() +
                         ", label: label, positive: \"yes\"}\n"
                         "partition: {silos: 2}\nmodel: {type: logistic}\n"
                         "algorithm: {name: fedavg, rounds: 2, batch_size: 16, "
                         "personalize_steps: 0}\n");
  const fs::path out = dir / "out";
  const fs::path trace = dir / "trace.txt";
  const std::string command = "strace -f -e trace=rename,openat,fsync -o '" + trace.string() +
                              "' '" + FEDSILO_BINARY_PATH + "' run '" + (dir / "run.yaml").string() +
                              "' --quiet --out '" + out.string() + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << "strace or the run failed: " << command;
  std::istringstream lines(testing::ReadFile(trace));
  const std::regex opened_dir("openat\\(AT_FDCWD, \"" + out.string() +
                              "\", O_RDONLY\\|O_CLOEXEC\\|O_DIRECTORY\\) = (\\d+)");
  enum { kBeforeRename, kAfterRename, kDirOpen, kSynced } state = kBeforeRename;
  std::string fd;
  for (std::string line; std::getline(lines, line) && state != kSynced;) {
    std::smatch match;
    if (state == kBeforeRename &&
        line.find("rename(\"" + (out / "summary.json.tmp").string() + "\", \"" +
                  (out / "summary.json").string() + "\") = 0") != std::string::npos) {
      state = kAfterRename;
    } else if (state == kAfterRename && std::regex_search(line, match, opened_dir)) {
      fd = match[1];
      state = kDirOpen;
    } else if (state == kDirOpen &&
               std::regex_search(line, std::regex("fsync\\(" + fd + "\\) +(= 0)"))) {
      state = kSynced;
    }
  }
  EXPECT_EQ(state, kSynced) << testing::ReadFile(trace);
}

}  // namespace
}  // namespace fedsilo
