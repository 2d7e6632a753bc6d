// The start-up check of the instruction set. A build for x86-64-v3 or v4 (CMake option
// FEDSILO_ARCH, BENCHMARKS.md) runs instructions an older processor lacks; this file is compiled
// into every fedsilo program (an interface source of fedsilo_common, not part of the library) and,
// before any other static initializer (constructor priority 101), exits 2 naming the features the
// processor lacks instead of letting the program die on an illegal instruction.
// It is plain C on purpose: its functions are compiled for baseline x86-64 (target attribute) and
// call only libc, never an inline C++ library function another object file may have compiled with
// the wider instruction set.
#if defined(__x86_64__)
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

// Writes the features (__builtin_cpu_supports spelling) of `level` and the levels below it that
// `has_feature` denies into `out` as "a, b, c" (truncated to `size`); returns how many. The
// levels also include LZCNT, MOVBE and F16C, which every processor with AVX2 and BMI2 has, and
// which clang's builtin cannot name.
__attribute__((target("arch=x86-64"), unused)) int MissingCpuFeatures(
    const char* level, bool (*has_feature)(const char*), char* out, size_t size) {
  static const char* const kLevels[][6] = {
      {"x86-64-v2", "sse3", "ssse3", "sse4.1", "sse4.2", "popcnt"},
      {"x86-64-v3", "avx", "avx2", "fma", "bmi", "bmi2"},
      {"x86-64-v4", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}};
  int rank = -1;
  for (int l = 0; l < 3; ++l) {
    if (std::strcmp(level, kLevels[l][0]) == 0) rank = l;
  }
  int missing = 0;
  out[0] = '\0';
  for (int l = 0; l <= rank; ++l) {
    for (int f = 1; f < 6; ++f) {
      if (has_feature(kLevels[l][f])) continue;
      if (missing++ > 0) std::strncat(out, ", ", size - std::strlen(out) - 1);
      std::strncat(out, kLevels[l][f], size - std::strlen(out) - 1);
    }
  }
  return missing;
}

#ifndef FEDSILO_CPU_GUARD_NO_CHECK
__attribute__((target("arch=x86-64"))) bool ProcessorHas(const char* feature) {
  // __builtin_cpu_supports takes a string literal only.
#define FEDSILO_FEATURE(name) \
  if (std::strcmp(feature, name) == 0) return __builtin_cpu_supports(name) != 0;
  FEDSILO_FEATURE("sse3") FEDSILO_FEATURE("ssse3") FEDSILO_FEATURE("sse4.1")
  FEDSILO_FEATURE("sse4.2") FEDSILO_FEATURE("popcnt") FEDSILO_FEATURE("avx")
  FEDSILO_FEATURE("avx2") FEDSILO_FEATURE("fma") FEDSILO_FEATURE("bmi") FEDSILO_FEATURE("bmi2")
  FEDSILO_FEATURE("avx512f") FEDSILO_FEATURE("avx512bw") FEDSILO_FEATURE("avx512cd")
  FEDSILO_FEATURE("avx512dq") FEDSILO_FEATURE("avx512vl")
#undef FEDSILO_FEATURE
  return false;
}

__attribute__((constructor(101), target("arch=x86-64"))) void CheckInstructionSet() {
#ifdef FEDSILO_ARCH_LEVEL
  __builtin_cpu_init();
  char missing[256];
  if (MissingCpuFeatures(FEDSILO_ARCH_LEVEL, ProcessorHas, missing, sizeof missing) == 0) return;
  std::fprintf(stderr,
               "fedsilo: this program was built for %s (cmake -DFEDSILO_ARCH=auto takes the build "
               "machine's level), but this processor lacks %s; rebuild on this machine, or with "
               "-DFEDSILO_ARCH=portable for any x86-64 processor\n",
               FEDSILO_ARCH_LEVEL, missing);
  std::_Exit(2);
#endif
}
#endif  // FEDSILO_CPU_GUARD_NO_CHECK

}  // namespace
#endif  // __x86_64__
