// Fuzz target: the coordinator checkpoint reader (ReadCheckpoint, common/runtime/checkpoint.h),
// what `fedsilo coordinator --resume` reads. Input: a flag byte, then the file
// (RecordBytesFromFuzz: odd flag = checksum fixed up), written to /dev/shm because the reader
// takes a path.
// Contract checked: a checkpoint or DataLoss, never a crash, a hang or an allocation far beyond
// the file.
#include <cstddef>
#include <cstdint>

#include "common/runtime/checkpoint.h"
#include "tests/fuzz/fuzz_record_bytes.h"
#include "tests/fuzz/fuzz_temp_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fedsilo::fuzz::FuzzTempFile file("checkpoint");
  const std::string bytes = fedsilo::fuzz::RecordBytesFromFuzz(data, size);
  (void)fedsilo::ReadCheckpoint(file.Write(bytes.data(), bytes.size()));
  return 0;
}
