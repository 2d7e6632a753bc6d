// AdviseHugePages on a real allocation: after the advice and a write, the kernel reports the
// region backed by huge pages (/proc/self/smaps), where transparent huge pages are not disabled.
#include "common/base/huge_pages.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace fedsilo {
namespace {

// The AnonHugePages (kB) of the mapping that holds `address`, from /proc/self/smaps; -1 if absent.
long AnonHugePagesKbAt(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto where = reinterpret_cast<uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-') {
      inside = begin <= where && where < end;
    } else if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      return std::stol(line.substr(14));
    }
  }
  return -1;
}

TEST(HugePagesTest, AdvisedMemoryIsBackedByHugePagesOnceWritten) {
  std::ifstream mode("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string setting;
  std::getline(mode, setting);
  if (setting.empty() || setting.find("[never]") != std::string::npos) {
    GTEST_SKIP() << "transparent huge pages are off here: '" << setting << "'";
  }
  constexpr size_t kBytes = size_t{16} << 20;
  void* data = std::aligned_alloc(size_t{2} << 20, kBytes);
  ASSERT_NE(data, nullptr);
  AdviseHugePages(data, kBytes);
  std::memset(data, 1, kBytes);
  EXPECT_GT(AnonHugePagesKbAt(data), 0) << "THP setting: " << setting;
  std::free(data);
}

}  // namespace
}  // namespace fedsilo
