// Sealed reports: public-key encryption of a report for the coordinator (libsodium sealed boxes).
//
// The coordinator owns a key pair (CoordinatorKeyPair::Generate). A silo seals each report with
// the coordinator's public key only (SealReport: crypto_box_seal, X25519 + XSalsa20-Poly1305 with
// a fresh ephemeral key per seal, so two seals of the same payload differ and a seal names no
// sender). Whoever holds only the public key, the shuffler included, cannot open a sealed report;
// OpenSealedReport needs the secret key and fails with DataLoss on any modified, truncated or
// foreign ciphertext (the box is authenticated), InvalidArgument on a malformed payload inside.
// The secret key never leaves the CoordinatorKeyPair (wiped on destruction) except into the
// coordinator's own key file (LoadOrCreate). Thread-safe.
//
// Sessions (SealingSession): for messages whose sender may be known to the coordinator anyway (a
// secure sum's coordinator share, uniform on its own), a silo makes one X25519 exchange with the
// coordinator's key when the session starts and then encrypts each report with the shared key
// (crypto_box_easy_afternm, XSalsa20-Poly1305, a fresh random nonce): "FSX1", the session's
// public key, the nonce, the box. The coordinator computes each session's shared key once and
// keeps it (at most kMaxSessions, then it starts over). Every report of one session is linkable
// to the others, so reports that a shuffler must keep unlinkable use SealReport, never a session.
// Open() reads both forms.
//
// Key files (networked mode): the coordinator keeps its key pair in a file it alone can read
// (`fedsilo coordinator --sealing-key FILE`, mode 0600: the secret key as 64 hex digits) and
// writes the public key beside it (FILE.pub: 64 hex digits). Each silo pins the public key from
// its own copy of FILE.pub (`fedsilo silo --coordinator-public-key FILE.pub`), never from the
// peer it connects to: a shuffler that handed out its own key could read every report.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
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
  // Reads the key pair from `path` (written by an earlier call), or generates one and writes it
  // there (mode 0600) when there is no such file; either way (re)writes the public key to
  // `path`.pub. DataLoss when the file is not a key file; PermissionDenied when it cannot be
  // written. There is no way to build a key pair from a public key alone.
  static absl::StatusOr<CoordinatorKeyPair> LoadOrCreate(const std::string& path);
  CoordinatorKeyPair(const CoordinatorKeyPair&) = delete;
  CoordinatorKeyPair& operator=(const CoordinatorKeyPair&) = delete;
  CoordinatorKeyPair(CoordinatorKeyPair&& other) noexcept;
  CoordinatorKeyPair& operator=(CoordinatorKeyPair&& other) noexcept;
  ~CoordinatorKeyPair();

  const ReportPublicKey& public_key() const { return public_key_; }
  // Opens a report sealed for this key pair's public key (by SealReport or a SealingSession).
  absl::StatusOr<ReportPayload> Open(std::span<const uint8_t> sealed) const;

  static constexpr size_t kMaxSessions = 1 << 20;

 private:
  struct SessionKeys;  // session public key -> shared key, behind a mutex
  CoordinatorKeyPair();
  absl::StatusOr<ReportPayload> OpenSession(std::span<const uint8_t> sealed) const;
  ReportPublicKey public_key_{};
  std::array<uint8_t, 32> secret_key_{};
  std::unique_ptr<SessionKeys> sessions_;
};

// A silo's end of a sealing session (see above): one key exchange at Create, then cheap seals.
// Movable; the shared key is wiped on destruction. Seal is thread-safe.
class SealingSession {
 public:
  // Internal error only if libsodium fails.
  static absl::StatusOr<SealingSession> Create(const ReportPublicKey& coordinator);
  SealingSession(const SealingSession&) = delete;
  SealingSession& operator=(const SealingSession&) = delete;
  SealingSession(SealingSession&& other) noexcept;
  SealingSession& operator=(SealingSession&& other) noexcept;
  ~SealingSession();

  absl::StatusOr<std::vector<uint8_t>> Seal(const ReportPayload& payload) const;

 private:
  SealingSession() = default;
  std::array<uint8_t, 32> session_public_{};
  std::array<uint8_t, 32> shared_key_{};
};

// Reads a public key file (64 hex digits, surrounding whitespace allowed); NotFound without the
// file, InvalidArgument naming the file when it holds anything else.
absl::StatusOr<ReportPublicKey> ReadReportPublicKey(const std::string& path);
std::string ReportPublicKeyHex(const ReportPublicKey& key);

// Seals a report for `coordinator` (Internal error only if libsodium fails).
absl::StatusOr<std::vector<uint8_t>> SealReport(const ReportPayload& payload,
                                                const ReportPublicKey& coordinator);

}  // namespace fedsilo
