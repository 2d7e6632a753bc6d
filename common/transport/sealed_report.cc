#include "common/transport/sealed_report.h"

#include <sys/stat.h>

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

constexpr uint8_t kSessionMagic[4] = {'F', 'S', 'X', '1'};
constexpr size_t kSessionHeader = 4 + crypto_box_PUBLICKEYBYTES + crypto_box_NONCEBYTES;

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
  std::mutex mutex;
  std::unordered_map<std::string, std::array<uint8_t, 32>> shared;
  ~SessionKeys() {
    for (auto& [key, value] : shared) sodium_memzero(value.data(), value.size());
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

absl::StatusOr<ReportPayload> CoordinatorKeyPair::OpenSession(
    std::span<const uint8_t> sealed) const {
  const std::string session(reinterpret_cast<const char*>(sealed.data()) + 4,
                            crypto_box_PUBLICKEYBYTES);
  std::array<uint8_t, 32> shared{};
  {
    std::lock_guard<std::mutex> lock(sessions_->mutex);
    auto it = sessions_->shared.find(session);
    if (it != sessions_->shared.end()) shared = it->second;
  }
  if (shared == std::array<uint8_t, 32>{}) {
    if (crypto_box_beforenm(shared.data(), sealed.data() + 4, secret_key_.data()) != 0) {
      return absl::DataLossError("a session report names a session key that is not a valid point");
    }
    std::lock_guard<std::mutex> lock(sessions_->mutex);
    if (sessions_->shared.size() >= kMaxSessions) sessions_->shared.clear();
    sessions_->shared.emplace(session, shared);
  }
  std::vector<uint8_t> plain(sealed.size() - kSessionHeader - crypto_box_MACBYTES);
  const int opened = crypto_box_open_easy_afternm(
      plain.data(), sealed.data() + kSessionHeader, sealed.size() - kSessionHeader,
      sealed.data() + 4 + crypto_box_PUBLICKEYBYTES, shared.data());
  sodium_memzero(shared.data(), shared.size());
  if (opened != 0) {
    return absl::DataLossError(
        "session report failed authentication: it was modified in transit or sealed for another "
        "coordinator key");
  }
  return ParseReportPayload(plain);
}

absl::StatusOr<ReportPayload> CoordinatorKeyPair::Open(std::span<const uint8_t> sealed) const {
  FEDSILO_RETURN_IF_ERROR(InitSodium());
  if (sealed.size() >= kSessionHeader + crypto_box_MACBYTES &&
      std::memcmp(sealed.data(), kSessionMagic, 4) == 0) {
    // A session report; a sealed box whose random first bytes happen to read "FSX1" (2^-32)
    // fails this and is opened as a sealed box below.
    absl::StatusOr<ReportPayload> payload = OpenSession(sealed);
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
  std::array<uint8_t, 32> secret{};
  if (crypto_box_keypair(session.session_public_.data(), secret.data()) != 0 ||
      crypto_box_beforenm(session.shared_key_.data(), coordinator.data(), secret.data()) != 0) {
    sodium_memzero(secret.data(), secret.size());
    return absl::InternalError("libsodium could not start a sealing session");
  }
  sodium_memzero(secret.data(), secret.size());
  return session;
}

SealingSession::SealingSession(SealingSession&& other) noexcept
    : session_public_(other.session_public_), shared_key_(other.shared_key_) {
  sodium_memzero(other.shared_key_.data(), other.shared_key_.size());
}

SealingSession& SealingSession::operator=(SealingSession&& other) noexcept {
  if (this != &other) {
    session_public_ = other.session_public_;
    shared_key_ = other.shared_key_;
    sodium_memzero(other.shared_key_.data(), other.shared_key_.size());
  }
  return *this;
}

SealingSession::~SealingSession() { sodium_memzero(shared_key_.data(), shared_key_.size()); }

absl::StatusOr<std::vector<uint8_t>> SealingSession::Seal(const ReportPayload& payload) const {
  const std::vector<uint8_t> plain = SerializeReportPayload(payload);
  std::vector<uint8_t> sealed(kSessionHeader + crypto_box_MACBYTES + plain.size());
  std::memcpy(sealed.data(), kSessionMagic, 4);
  std::memcpy(sealed.data() + 4, session_public_.data(), crypto_box_PUBLICKEYBYTES);
  uint8_t* nonce = sealed.data() + 4 + crypto_box_PUBLICKEYBYTES;
  randombytes_buf(nonce, crypto_box_NONCEBYTES);
  if (crypto_box_easy_afternm(sealed.data() + kSessionHeader, plain.data(), plain.size(), nonce,
                              shared_key_.data()) != 0) {
    return absl::InternalError("libsodium could not seal a session report");
  }
  return sealed;
}

}  // namespace fedsilo
