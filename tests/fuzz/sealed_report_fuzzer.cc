// Fuzz target: opening a shuffle-model report at the coordinator (CoordinatorKeyPair::Open,
// common/transport/sealed_report.h, then ParseReportPayload inside it), what UnsealingTransport
// does with every report the shuffler forwards. The key pair is fixed (a constant secret written
// to a key file in /dev/shm and loaded with LoadOrCreate, as `fedsilo coordinator --sealing-key`).
// Input: a flag byte, then bytes. Odd flag: the bytes are a payload, sealed for the key here
// (crypto_box_seal, as a silo would), so mutations reach the payload parser behind the
// authentication. Even flag: the bytes are a ciphertext as the shuffler would forward it.
// Contract checked: Open returns a payload or an error, never crashes; a sealed payload opens
// exactly when ParseReportPayload accepts the plaintext; a forged ciphertext never opens.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <vector>

#include "common/transport/report_payload.h"
#include "common/transport/sealed_report.h"

namespace {

const fedsilo::CoordinatorKeyPair& Keys() {
  static const std::optional<fedsilo::CoordinatorKeyPair> keys = [] {
    const std::string path = "/dev/shm/fedsilo_fuzz_sealing_key_" + std::to_string(::getpid());
    if (std::FILE* file = std::fopen(path.c_str(), "w")) {
      std::fputs("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\n", file);
      std::fclose(file);
    }
    absl::StatusOr<fedsilo::CoordinatorKeyPair> loaded =
        fedsilo::CoordinatorKeyPair::LoadOrCreate(path);
    std::remove(path.c_str());
    std::remove((path + ".pub").c_str());
    if (!loaded.ok()) __builtin_trap();
    return std::optional<fedsilo::CoordinatorKeyPair>(std::move(loaded).value());
  }();
  return *keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const fedsilo::CoordinatorKeyPair& keys = Keys();
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  if ((data[0] & 1) != 0) {
    std::vector<uint8_t> sealed(bytes.size() + crypto_box_SEALBYTES);
    if (crypto_box_seal(sealed.data(), bytes.data(), bytes.size(), keys.public_key().data()) != 0) {
      __builtin_trap();
    }
    const bool opened = keys.Open(sealed).ok();
    const bool parsed = fedsilo::ParseReportPayload(bytes).ok();
    if (opened != parsed) __builtin_trap();
  } else if (keys.Open(bytes).ok()) {
    __builtin_trap();  // a ciphertext nobody sealed for this key opened
  }
  return 0;
}
