// Fuzz target: the silo journal reader (ReadSiloJournal, common/runtime/silo_journal_file.h), what
// a restarting silo process reads before it serves again; all four formats (FEDSILOJRN1-4).
// Input: a flag byte, then the file (RecordBytesFromFuzz: odd flag = checksum fixed up), written
// to /dev/shm because the reader takes a path.
// Contract checked: a journal or DataLoss, never a crash, a hang or an allocation far beyond the
// file; every event read back has a known sampler.
#include <cstddef>
#include <cstdint>

#include "common/runtime/silo_journal_file.h"
#include "tests/fuzz/fuzz_record_bytes.h"
#include "tests/fuzz/fuzz_temp_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fedsilo::fuzz::FuzzTempFile file("journal");
  const std::string bytes = fedsilo::fuzz::RecordBytesFromFuzz(data, size);
  auto journal = fedsilo::ReadSiloJournal(file.Write(bytes.data(), bytes.size()));
  if (!journal.ok()) return 0;
  for (const fedsilo::DpEvent& event : journal->ledger) {
    const int sampler = static_cast<int>(event.subsampling);
    if (sampler < 0 || sampler > static_cast<int>(fedsilo::Subsampling::kPoissonReplaceOne)) {
      __builtin_trap();
    }
  }
  return 0;
}
