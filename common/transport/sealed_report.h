// Sealed reports: public-key encryption of a report for the coordinator (libsodium sealed boxes).
//
// The coordinator owns a key pair (CoordinatorKeyPair::Generate). A silo seals each report with
// the coordinator's public key only (SealReport: crypto_box_seal, X25519 + XSalsa20-Poly1305 with
// a fresh ephemeral key per seal, so two seals of the same payload differ and a seal names no
// sender). Whoever holds only the public key, the shuffler included, cannot open a sealed report;
// OpenSealedReport needs the secret key and fails with DataLoss on any modified, truncated or
// foreign ciphertext (the box is authenticated), InvalidArgument on a malformed payload inside.
// The secret key never leaves the CoordinatorKeyPair (wiped on destruction). Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "common/transport/report_payload.h"

namespace fedsilo {

inline constexpr size_t kReportPublicKeyBytes = 32;
using ReportPublicKey = std::array<uint8_t, kReportPublicKeyBytes>;

class CoordinatorKeyPair {
 public:
  // A fresh key pair from libsodium's CSPRNG (Internal error if libsodium cannot initialize).
  static absl::StatusOr<CoordinatorKeyPair> Generate();
  CoordinatorKeyPair(const CoordinatorKeyPair&) = delete;
  CoordinatorKeyPair& operator=(const CoordinatorKeyPair&) = delete;
  CoordinatorKeyPair(CoordinatorKeyPair&& other) noexcept;
  CoordinatorKeyPair& operator=(CoordinatorKeyPair&& other) noexcept;
  ~CoordinatorKeyPair();

  const ReportPublicKey& public_key() const { return public_key_; }
  // Opens a report sealed for this key pair's public key.
  absl::StatusOr<ReportPayload> Open(std::span<const uint8_t> sealed) const;

 private:
  CoordinatorKeyPair() = default;
  ReportPublicKey public_key_{};
  std::array<uint8_t, 32> secret_key_{};
};

// Seals a report for `coordinator` (Internal error only if libsodium fails).
absl::StatusOr<std::vector<uint8_t>> SealReport(const ReportPayload& payload,
                                                const ReportPublicKey& coordinator);

}  // namespace fedsilo
