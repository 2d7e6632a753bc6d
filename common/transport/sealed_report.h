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
// Sessions (SealingSession): a secure sum's coordinator share, uniform on its own, may name its
// silo, and need not travel at all. A silo makes one X25519 exchange with the coordinator's key
// when the session starts (a fresh session key pair; the coordinator's secret key on the other
// side) and derives two keys from the shared secret (crypto_kdf, BLAKE2b): a mask key and a tag
// key. For round r, DeriveCoordinatorShare returns the share itself, the first `length` 64-bit
// words of the ChaCha20 keystream (IETF, nonce r) under the mask key, each reduced mod 2^bits
// (uniform: the low bits of uniform words), and an 88-byte token: "FSD1", the session's public
// key, r, bits, shares, scale, range, length (little-endian), and a ChaCha20-Poly1305 tag (nonce
// r, the tag key) over all of that. The silo subtracts the share from its sum and sends the
// token; Open() checks the tag and derives the same share. Only the silo and the coordinator can
// compute it (the shuffler sees only the token); the tag makes an altered token, or one made
// for another coordinator key, DataLoss (it proves only that whoever opened the session made the
// token: sessions are ephemeral keys, not identities). A session derives one share per round: the
// caller (the silo runtime) never answers a round twice with different values, and the token for
// one round is always the same bytes.
// The coordinator keeps each session's keys (at most kMaxSessions, then it starts over; looked
// up by a SipHash of the session key under a random key, so chosen keys cannot collide). Every
// token of one session is linkable to the others, so reports that a shuffler must keep
// unlinkable use SealReport, never a session. Open() reads both forms.
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

#include "common/algorithms/messages.h"
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
  // Opens a report sealed for this key pair's public key (SealReport), or a session's token
  // (SealingSession::DeriveCoordinatorShare), whose payload is then the derived share.
  absl::StatusOr<ReportPayload> Open(std::span<const uint8_t> sealed) const;

  static constexpr size_t kMaxSessions = 1 << 20;
  // The longest share a token may ask the coordinator to derive.
  static constexpr uint64_t kMaxDerivedLength = uint64_t{1} << 27;

 private:
  struct SessionKeys;  // session public key -> shared key, behind a mutex
  CoordinatorKeyPair();
  absl::StatusOr<ReportPayload> OpenToken(std::span<const uint8_t> token) const;
  ReportPublicKey public_key_{};
  std::array<uint8_t, 32> secret_key_{};
  std::unique_ptr<SessionKeys> sessions_;
};

// A secure sum's coordinator share derived in a session: the values, for the silo to subtract
// from its sum, and the token from which the coordinator derives them too.
struct DerivedShare {
  std::vector<uint64_t> values;  // in [0, 2^bits)
  SealedReport token;
};

// A silo's end of a sealing session (see above): one key exchange at Create, then a cheap
// derivation per round. Movable; the keys are wiped on destruction. Thread-safe.
class SealingSession {
 public:
  // Internal error only if libsodium fails.
  static absl::StatusOr<SealingSession> Create(const ReportPublicKey& coordinator);
  SealingSession(const SealingSession&) = delete;
  SealingSession& operator=(const SealingSession&) = delete;
  SealingSession(SealingSession&& other) noexcept;
  SealingSession& operator=(SealingSession&& other) noexcept;
  ~SealingSession();

  // The coordinator's share of round `round`: `like.values.size()` values mod 2^like.bits, the
  // token carrying like's public fields (bits, shares, scale, range). InvalidArgument for bits
  // outside [1, 62] or a length above CoordinatorKeyPair::kMaxDerivedLength.
  absl::StatusOr<DerivedShare> DeriveCoordinatorShare(int round, const SumShare& like) const;

 private:
  SealingSession() = default;
  std::array<uint8_t, 32> session_public_{};
  std::array<uint8_t, 32> mask_key_{};
  std::array<uint8_t, 32> tag_key_{};
};

// Reads a public key file (64 hex digits, surrounding whitespace allowed); NotFound without the
// file, InvalidArgument naming the file when it holds anything else.
absl::StatusOr<ReportPublicKey> ReadReportPublicKey(const std::string& path);
std::string ReportPublicKeyHex(const ReportPublicKey& key);

// Seals a report for `coordinator` (Internal error only if libsodium fails).
absl::StatusOr<std::vector<uint8_t>> SealReport(const ReportPayload& payload,
                                                const ReportPublicKey& coordinator);

}  // namespace fedsilo
