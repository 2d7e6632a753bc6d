// The start-up check of the instruction set (common/base/cpu_guard.cc), with processors described
// by hand: which features of a level a machine lacks, and the run of a real binary here.
#define FEDSILO_CPU_GUARD_NO_CHECK
#include "common/base/cpu_guard.cc"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace {

std::set<std::string> g_features;
bool Has(const char* feature) { return g_features.count(feature) > 0; }

std::string Missing(const char* level, int* count) {
  char out[256];
  *count = MissingCpuFeatures(level, Has, out, sizeof out);
  return out;
}

TEST(CpuGuardTest, NamesWhatAnOlderProcessorLacks) {
  // A Sandy Bridge: SSE4.2 and AVX, but no AVX2, FMA or BMI.
  g_features = {"sse3", "ssse3", "sse4.1", "sse4.2", "popcnt", "avx"};
  int count = 0;
  EXPECT_EQ(Missing("x86-64-v3", &count), "avx2, fma, bmi, bmi2");
  EXPECT_EQ(count, 4);
  EXPECT_EQ(Missing("x86-64-v2", &count), "");
  EXPECT_EQ(count, 0);
  EXPECT_EQ(Missing("portable", &count), "");
  EXPECT_EQ(count, 0);
  // A Zen 3: all of v3, none of AVX-512.
  g_features.insert({"avx2", "fma", "bmi", "bmi2"});
  EXPECT_EQ(Missing("x86-64-v3", &count), "");
  EXPECT_EQ(Missing("x86-64-v4", &count), "avx512f, avx512bw, avx512cd, avx512dq, avx512vl");
  EXPECT_EQ(count, 5);
  // A processor with nothing: every feature of v4 and below, 15 in all.
  g_features.clear();
  Missing("x86-64-v4", &count);
  EXPECT_EQ(count, 15);
}

TEST(CpuGuardTest, TheBinaryStartsHereAndNamesItsLevel) {
  FILE* pipe = popen(FEDSILO_BINARY_PATH " --version 2>&1", "r");
  ASSERT_NE(pipe, nullptr);
  char line[256] = {0};
  ASSERT_NE(fgets(line, sizeof line, pipe), nullptr);
  EXPECT_EQ(pclose(pipe), 0);
  EXPECT_NE(std::string(line).find("instruction set " FEDSILO_ARCH_LEVEL), std::string::npos)
      << line;
}

// The real binary on an emulated older processor (qemu-user, installed by scripts/setup.sh): a
// Nehalem has SSE4.2 but no AVX, a Haswell AVX2 and FMA but no AVX-512. A build above the
// processor's level exits 2 naming what it lacks, before running anything; one at or below it runs.
TEST(CpuGuardTest, AnOlderProcessorGetsANamedErrorNotAnIllegalInstruction) {
  if (std::system("command -v qemu-x86_64 > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "qemu-x86_64 (Debian package qemu-user) is not installed";
  }
  const std::string level = FEDSILO_ARCH_LEVEL;
  for (const std::string cpu : {"Nehalem", "Haswell"}) {
    const bool above = (cpu == "Nehalem" && level != "portable" && level != "x86-64-v2") ||
                       (cpu == "Haswell" && level == "x86-64-v4");
    const std::string command = "qemu-x86_64 -cpu " + cpu + " " FEDSILO_BINARY_PATH " --version 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[512];
    while (fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    const int status = pclose(pipe);
    ASSERT_TRUE(WIFEXITED(status)) << cpu << ": " << output;  // no SIGILL
    if (above) {
      EXPECT_EQ(WEXITSTATUS(status), 2) << cpu << ": " << output;
      EXPECT_NE(output.find("built for " + level), std::string::npos) << output;
      EXPECT_NE(output.find(cpu == "Nehalem" ? "lacks avx, avx2, fma" : "lacks avx512f"),
                std::string::npos)
          << output;
    } else {
      EXPECT_EQ(WEXITSTATUS(status), 0) << cpu << ": " << output;
      EXPECT_NE(output.find("instruction set " + level), std::string::npos) << output;
    }
  }
}

}  // namespace
