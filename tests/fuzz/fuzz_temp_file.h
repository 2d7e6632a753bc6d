// FuzzTempFile: the fuzzer's bytes as a file, for readers whose production entry takes a path
// (ReadIdxImages, ReadSiloJournal, ReadCheckpoint). One file per process under /dev/shm (memory,
// no disk wear), named by the pid so parallel fuzzers never share one; rewritten for every input
// and removed when the object is destroyed. Used by the targets of tests/fuzz only; not
// thread-safe (libFuzzer calls a target from one thread).
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace fedsilo::fuzz {

class FuzzTempFile {
 public:
  explicit FuzzTempFile(const std::string& stem)
      : path_("/dev/shm/fedsilo_fuzz_" + stem + "_" + std::to_string(::getpid())) {}
  ~FuzzTempFile() { std::remove(path_.c_str()); }
  FuzzTempFile(const FuzzTempFile&) = delete;
  FuzzTempFile& operator=(const FuzzTempFile&) = delete;

  // Replaces the file's content with `size` bytes; the path to read it back.
  const std::string& Write(const void* data, size_t size) {
    std::FILE* file = std::fopen(path_.c_str(), "wb");
    if (file == nullptr) __builtin_trap();  // /dev/shm unusable: the harness, not the input
    if (size > 0 && std::fwrite(data, 1, size, file) != size) __builtin_trap();
    std::fclose(file);
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace fedsilo::fuzz
