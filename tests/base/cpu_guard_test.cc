// The start-up check of the instruction set (common/base/cpu_guard.cc), with processors described
// by hand: which features of a level a machine lacks, and the run of a real binary here.
#define FEDSILO_CPU_GUARD_NO_CHECK
#include "common/base/cpu_guard.cc"

#include <cstdio>
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
  EXPECT_NE(std::string(line).find(std::string("instruction set ") + FEDSILO_ARCH_LEVEL),
            std::string::npos)
      << line;
}

}  // namespace
