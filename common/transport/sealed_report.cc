#include "common/transport/sealed_report.h"

#include <sys/stat.h>

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <unordered_map>

#include <sodium.h>

#include "common/base/binary_record.h"

namespace fedsilo {
namespace {

static_assert(crypto_box_PUBLICKEYBYTES == kReportPublicKeyBytes);
static_assert(crypto_box_SECRETKEYBYTES == 32);
static_assert(crypto_box_BEFORENMBYTES == 32);

static_assert(crypto_kdf_KEYBYTES == crypto_box_BEFORENMBYTES);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32);
static_assert(crypto_stream_chacha20_ietf_KEYBYTES == 32);

// A session's token (sealed_report.h): magic, session public key, round, bits, shares, scale,
// range, length, then the tag over everything before it.
constexpr uint8_t kTokenMagic[4] = {'F', 'S', 'D', '1'};
constexpr size_t kTokenBody = 4 + crypto_box_PUBLICKEYBYTES + 4 + 4 + 4 + 8 + 8 + 8;
constexpr size_t kTokenBytes = kTokenBody + crypto_aead_chacha20poly1305_ietf_ABYTES;
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "FSSHARE1";

// A session's two keys, derived from its X25519 shared secret.
struct SessionKeyPair {
  std::array<uint8_t, 32> mask{};
  std::array<uint8_t, 32> tag{};
  void Wipe() {
    sodium_memzero(mask.data(), mask.size());
    sodium_memzero(tag.data(), tag.size());
  }
};

SessionKeyPair DeriveSessionKeys(const std::array<uint8_t, 32>& shared) {
  SessionKeyPair keys;
  crypto_kdf_derive_from_key(keys.mask.data(), keys.mask.size(), 1, kKdfContext, shared.data());
  crypto_kdf_derive_from_key(keys.tag.data(), keys.tag.size(), 2, kKdfContext, shared.data());
  return keys;
}

std::array<uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> RoundNonce(uint32_t round) {
  std::array<uint8_t, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> nonce{};
  for (int i = 0; i < 4; ++i) nonce[i] = static_cast<uint8_t>(round >> (8 * i));
  return nonce;
}

// The first `length` little-endian 64-bit words of the round's keystream, mod 2^bits. The
// keystream is drawn in whole 512-byte blocks (libsodium's vectorized path; a stream cipher's
// prefix does not depend on how much is drawn), straight into the words.
std::vector<uint64_t> DerivedValues(const std::array<uint8_t, 32>& mask_key, uint32_t round,
                                    uint64_t length, int bits) {
  std::vector<uint64_t> values((length + 63) / 64 * 64);
  const auto nonce = RoundNonce(round);
  crypto_stream_chacha20_ietf(reinterpret_cast<uint8_t*>(values.data()), 8 * values.size(),
                              nonce.data(), mask_key.data());
  values.resize(length);
  const uint64_t mask = (uint64_t{1} << bits) - 1;
  for (uint64_t& v : values) {
    if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
    v &= mask;
  }
  return values;
}

void PutLe(uint64_t value, int bytes, uint8_t** at) {
  for (int i = 0; i < bytes; ++i) *(*at)++ = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t GetLe(const uint8_t** at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(*(*at)++) << (8 * i);
  return value;
}

absl::Status InitSodium() {
  // sodium_init is thread-safe and idempotent (0 first time, 1 afterwards, -1 on failure).
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialize");
  return absl::OkStatus();
}

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

// 32 bytes from 64 hex digits (whitespace around them ignored); false on anything else.
bool FromHex(const std::string& text, std::array<uint8_t, 32>* out) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(text[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
  if (end - begin != 64) return false;
  const auto digit = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    const int hi = digit(text[begin + 2 * i]), lo = digit(text[begin + 2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

}  // namespace

std::string ReportPublicKeyHex(const ReportPublicKey& key) { return Hex(key); }

absl::StatusOr<ReportPublicKey> ReadReportPublicKey(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError("no coordinator public key file " + path);
  }
  FEDSILO_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  ReportPublicKey key{};
  if (!FromHex(text, &key)) {
    return absl::InvalidArgumentError("coordinator public key file " + path +
                                      " must hold 64 hex digits (the coordinator's " +
                                      "--sealing-key FILE.pub)");
  }
  return key;
}

absl::StatusOr<CoordinatorKeyPair> CoordinatorKeyPair::LoadOrCreate(const std::string& path) {
  FEDSILO_RETURN_IF_ERROR(InitSodium());
  CoordinatorKeyPair keys;
  if (std::filesystem::exists(path)) {
    FEDSILO_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
    const bool parsed = FromHex(text, &keys.secret_key_);
    sodium_memzero(text.data(), text.size());
    if (!parsed) {
      return absl::DataLossError("sealing key file " + path +
                                 " is not a key file (expected 64 hex digits)");
    }
    if (crypto_scalarmult_base(keys.public_key_.data(), keys.secret_key_.data()) != 0) {
      return absl::DataLossError("sealing key file " + path + " holds an unusable key");
    }
  } else {
    FEDSILO_ASSIGN_OR_RETURN(keys, Generate());
    if (const std::filesystem::path folder = std::filesystem::path(path).parent_path();
        !folder.empty()) {
      std::error_code error;
      std::filesystem::create_directories(folder, error);
      if (error) {
        return absl::PermissionDeniedError("cannot create the folder " + folder.string() +
                                           " of the sealing key file " + path + ": " +
                                           error.message());
      }
    }
    std::string text = Hex(keys.secret_key_) + "\n";
    {
      // Created with mode 0600 before the secret is written.
      const mode_t old_mask = umask(077);
      std::ofstream out(path, std::ios::trunc);
      umask(old_mask);
      out << text;
      out.flush();
      sodium_memzero(text.data(), text.size());
      if (!out) {
        return absl::PermissionDeniedError("cannot write the sealing key file " + path + ": " +
                                           std::strerror(errno));
      }
    }
    std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_write);
  }
  FEDSILO_RETURN_IF_ERROR(WriteFileAtomically(path + ".pub", Hex(keys.public_key_) + "\n"));
  return keys;
}

struct CoordinatorKeyPair::SessionKeys {
  using PublicKey = std::array<uint8_t, crypto_box_PUBLICKEYBYTES>;
  // SipHash under a random key (crypto_shorthash): session keys come from the shuffler's side,
  // which must not be able to pick keys that collide in the map.
  struct Hash {
    Hash() {
      if (sodium_init() >= 0) randombytes_buf(seed.data(), seed.size());
    }
    size_t operator()(const PublicKey& key) const {
      std::array<uint8_t, crypto_shorthash_BYTES> out{};
      crypto_shorthash(out.data(), key.data(), key.size(), seed.data());
      uint64_t value = 0;
      for (size_t i = 0; i < out.size(); ++i) value |= static_cast<uint64_t>(out[i]) << (8 * i);
      return static_cast<size_t>(value);
    }
    std::array<uint8_t, crypto_shorthash_KEYBYTES> seed{};
  };
  std::mutex mutex;
  std::unordered_map<PublicKey, SessionKeyPair, Hash> keys;  // session public key -> its keys
  ~SessionKeys() {
    for (auto& [session, pair] : keys) pair.Wipe();
  }
};

CoordinatorKeyPair::CoordinatorKeyPair() : sessions_(std::make_unique<SessionKeys>()) {}

absl::StatusOr<CoordinatorKeyPair> CoordinatorKeyPair::Generate() {
  FEDSILO_RETURN_IF_ERROR(InitSodium());
  CoordinatorKeyPair keys;
  if (crypto_box_keypair(keys.public_key_.data(), keys.secret_key_.data()) != 0) {
    return absl::InternalError("libsodium could not generate the coordinator's key pair");
  }
  return keys;
}

CoordinatorKeyPair::CoordinatorKeyPair(CoordinatorKeyPair&& other) noexcept
    : public_key_(other.public_key_),
      secret_key_(other.secret_key_),
      sessions_(std::move(other.sessions_)) {
  sodium_memzero(other.secret_key_.data(), other.secret_key_.size());
  other.sessions_ = std::make_unique<SessionKeys>();
}

CoordinatorKeyPair& CoordinatorKeyPair::operator=(CoordinatorKeyPair&& other) noexcept {
  if (this != &other) {
    public_key_ = other.public_key_;
    secret_key_ = other.secret_key_;
    sessions_ = std::move(other.sessions_);
    sodium_memzero(other.secret_key_.data(), other.secret_key_.size());
    other.sessions_ = std::make_unique<SessionKeys>();
  }
  return *this;
}

CoordinatorKeyPair::~CoordinatorKeyPair() {
  sodium_memzero(secret_key_.data(), secret_key_.size());
}

absl::StatusOr<ReportPayload> CoordinatorKeyPair::OpenToken(
    std::span<const uint8_t> token) const {
  SessionKeys::PublicKey session;
  std::memcpy(session.data(), token.data() + 4, session.size());
  SessionKeyPair keys;
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(sessions_->mutex);
    if (auto it = sessions_->keys.find(session); it != sessions_->keys.end()) {
      keys = it->second;
      known = true;
    }
  }
  if (!known) {
    std::array<uint8_t, 32> shared{};
    if (crypto_box_beforenm(shared.data(), token.data() + 4, secret_key_.data()) != 0) {
      return absl::DataLossError("a session token names a session key that is not a valid point");
    }
    keys = DeriveSessionKeys(shared);
    sodium_memzero(shared.data(), shared.size());
    std::lock_guard<std::mutex> lock(sessions_->mutex);
    if (sessions_->keys.size() >= kMaxSessions) {
      for (auto& [other, pair] : sessions_->keys) pair.Wipe();
      sessions_->keys.clear();
    }
    sessions_->keys.emplace(session, keys);
  }
  const uint8_t* at = token.data() + 4 + crypto_box_PUBLICKEYBYTES;
  const auto round = static_cast<uint32_t>(GetLe(&at, 4));
  const auto nonce = RoundNonce(round);
  uint8_t nothing = 0;
  const int verified = crypto_aead_chacha20poly1305_ietf_decrypt_detached(
      &nothing, nullptr, &nothing, 0, token.data() + kTokenBody, token.data(), kTokenBody,
      nonce.data(), keys.tag.data());
  if (verified != 0) {
    keys.Wipe();
    return absl::DataLossError(
        "session token failed authentication: it was modified in transit or made for another "
        "coordinator key");
  }
  ReportPayload payload;
  payload.round = static_cast<int>(round);
  SumShare share;
  share.bits = static_cast<int>(GetLe(&at, 4));
  share.shares = static_cast<int>(GetLe(&at, 4));
  share.scale = std::bit_cast<double>(GetLe(&at, 8));
  share.range = std::bit_cast<double>(GetLe(&at, 8));
  const uint64_t length = GetLe(&at, 8);
  if (share.bits < 1 || share.bits > 62 || length > kMaxDerivedLength) {
    keys.Wipe();
    return absl::InvalidArgumentError(
        "session token states " + std::to_string(share.bits) + " modulus bits and " +
        std::to_string(length) + " values (bits in [1, 62], at most " +
        std::to_string(kMaxDerivedLength) + " values)");
  }
  share.values = DerivedValues(keys.mask, round, length, share.bits);
  keys.Wipe();
  payload.share = std::move(share);
  return payload;
}

absl::StatusOr<ReportPayload> CoordinatorKeyPair::Open(std::span<const uint8_t> sealed) const {
  FEDSILO_RETURN_IF_ERROR(InitSodium());
  if (sealed.size() == kTokenBytes && std::memcmp(sealed.data(), kTokenMagic, 4) == 0) {
    // A session token; a sealed box of that size whose random first bytes happen to read "FSD1"
    // (2^-32) fails the tag and is opened as a sealed box below.
    absl::StatusOr<ReportPayload> payload = OpenToken(sealed);
    if (payload.ok() || payload.status().code() != absl::StatusCode::kDataLoss) return payload;
  }
  if (sealed.size() < crypto_box_SEALBYTES) {
    return absl::DataLossError("sealed report of " + std::to_string(sealed.size()) +
                               " bytes is shorter than a sealed box's " +
                               std::to_string(crypto_box_SEALBYTES) + "-byte overhead");
  }
  std::vector<uint8_t> plain(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(plain.data(), sealed.data(), sealed.size(), public_key_.data(),
                           secret_key_.data()) != 0) {
    return absl::DataLossError(
        "sealed report failed authentication: it was modified in transit or sealed for another "
        "coordinator key");
  }
  return ParseReportPayload(plain);
}

absl::StatusOr<std::vector<uint8_t>> SealReport(const ReportPayload& payload,
                                                const ReportPublicKey& coordinator) {
  FEDSILO_RETURN_IF_ERROR(InitSodium());
  const std::vector<uint8_t> plain = SerializeReportPayload(payload);
  std::vector<uint8_t> sealed(plain.size() + crypto_box_SEALBYTES);
  if (crypto_box_seal(sealed.data(), plain.data(), plain.size(), coordinator.data()) != 0) {
    return absl::InternalError("libsodium could not seal a report");
  }
  return sealed;
}

absl::StatusOr<SealingSession> SealingSession::Create(const ReportPublicKey& coordinator) {
  FEDSILO_RETURN_IF_ERROR(InitSodium());
  SealingSession session;
  std::array<uint8_t, 32> secret{}, shared{};
  if (crypto_box_keypair(session.session_public_.data(), secret.data()) != 0 ||
      crypto_box_beforenm(shared.data(), coordinator.data(), secret.data()) != 0) {
    sodium_memzero(secret.data(), secret.size());
    return absl::InternalError("libsodium could not start a sealing session");
  }
  sodium_memzero(secret.data(), secret.size());
  SessionKeyPair keys = DeriveSessionKeys(shared);
  sodium_memzero(shared.data(), shared.size());
  session.mask_key_ = keys.mask;
  session.tag_key_ = keys.tag;
  keys.Wipe();
  return session;
}

SealingSession::SealingSession(SealingSession&& other) noexcept
    : session_public_(other.session_public_),
      mask_key_(other.mask_key_),
      tag_key_(other.tag_key_) {
  sodium_memzero(other.mask_key_.data(), other.mask_key_.size());
  sodium_memzero(other.tag_key_.data(), other.tag_key_.size());
}

SealingSession& SealingSession::operator=(SealingSession&& other) noexcept {
  if (this != &other) {
    session_public_ = other.session_public_;
    mask_key_ = other.mask_key_;
    tag_key_ = other.tag_key_;
    sodium_memzero(other.mask_key_.data(), other.mask_key_.size());
    sodium_memzero(other.tag_key_.data(), other.tag_key_.size());
  }
  return *this;
}

SealingSession::~SealingSession() {
  sodium_memzero(mask_key_.data(), mask_key_.size());
  sodium_memzero(tag_key_.data(), tag_key_.size());
}

absl::StatusOr<DerivedShare> SealingSession::DeriveCoordinatorShare(int round,
                                                                    const SumShare& like) const {
  const uint64_t length = like.values.size();
  if (like.bits < 1 || like.bits > 62 || length > CoordinatorKeyPair::kMaxDerivedLength) {
    return absl::InvalidArgumentError(
        "a derived share needs modulus bits in [1, 62] and at most " +
        std::to_string(CoordinatorKeyPair::kMaxDerivedLength) + " values, got " +
        std::to_string(like.bits) + " bits and " + std::to_string(length) + " values");
  }
  DerivedShare out;
  out.token.resize(kTokenBytes);
  uint8_t* at = out.token.data();
  for (uint8_t byte : kTokenMagic) *at++ = byte;
  std::memcpy(at, session_public_.data(), session_public_.size());
  at += session_public_.size();
  PutLe(static_cast<uint32_t>(round), 4, &at);
  PutLe(static_cast<uint32_t>(like.bits), 4, &at);
  PutLe(static_cast<uint32_t>(like.shares), 4, &at);
  PutLe(std::bit_cast<uint64_t>(like.scale), 8, &at);
  PutLe(std::bit_cast<uint64_t>(like.range), 8, &at);
  PutLe(length, 8, &at);
  const auto nonce = RoundNonce(static_cast<uint32_t>(round));
  uint8_t nothing = 0;
  if (crypto_aead_chacha20poly1305_ietf_encrypt_detached(
          &nothing, out.token.data() + kTokenBody, nullptr, &nothing, 0, out.token.data(),
          kTokenBody, nullptr, nonce.data(), tag_key_.data()) != 0) {
    return absl::InternalError("libsodium could not tag a session token");
  }
  out.values = DerivedValues(mask_key_, static_cast<uint32_t>(round), length, like.bits);
  return out;
}

}  // namespace fedsilo
