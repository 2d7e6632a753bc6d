// Fuzz target: the MNIST IDX readers (common/data/mnist_loader.h), as LoadMnist reaches them
// from the files in data.dir: ReadIdxImages and ReadIdxLabels on the same bytes (plain or gzip;
// the magic number picks the one that gets past the header). They take a path, so the bytes go
// to a file in /dev/shm (FuzzTempFile).
// Contract checked: a reader returns images/labels that agree with their header, or an error;
// never crashes, hangs or allocates far beyond the input (libFuzzer's -rss_limit_mb).
#include <cstddef>
#include <cstdint>

#include "common/data/mnist_loader.h"
#include "tests/fuzz/fuzz_temp_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fedsilo::fuzz::FuzzTempFile file("idx");
  const std::string& path = file.Write(data, size);
  auto images = fedsilo::ReadIdxImages(path);
  if (images.ok() && images->pixels.size() != static_cast<size_t>(images->count) *
                                                  static_cast<size_t>(images->rows) *
                                                  static_cast<size_t>(images->cols)) {
    __builtin_trap();
  }
  (void)fedsilo::ReadIdxLabels(path);
  return 0;
}
