// RecordBytesFromFuzz: turns a fuzzer's input into the bytes of a binary record file
// (common/base/binary_record.h) so that mutations reach the fields behind the checksum. When the
// first byte is odd, the rest gets its correct FNV-1a checksum appended (what a writer would
// produce, so the reader parses every field); when it is even, the rest is used as it is (the
// reader's magic and checksum checks). The checksum guards against torn writes, not against an
// attacker, so records with a valid checksum and hostile fields are the interesting inputs.
// Used by the journal and checkpoint targets only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/base/binary_record.h"

namespace fedsilo::fuzz {

inline std::string RecordBytesFromFuzz(const uint8_t* data, size_t size) {
  if (size == 0) return std::string();
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) {
    const uint64_t checksum = Fnv1a64(bytes.data(), bytes.size());
    bytes.append(reinterpret_cast<const char*>(&checksum), sizeof(checksum));
  }
  return bytes;
}

}  // namespace fedsilo::fuzz
