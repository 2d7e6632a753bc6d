// AdviseHugePages: asks the kernel to back a large, not yet touched allocation with transparent
// huge pages (madvise MADV_HUGEPAGE on its 2 MiB-aligned interior), so that filling it takes a
// fault per 2 MiB instead of per 4 KiB: loading MNIST's 440 MB of doubles went from 0.75 s to
// 0.56 s (BENCHMARKS.md, issue 14). Call it right after allocating, before writing. Only advice:
// where the kernel or the platform does not take it, nothing changes. Header-only.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace fedsilo {

inline void AdviseHugePages(void* data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace fedsilo
