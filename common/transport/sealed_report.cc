#include "common/transport/sealed_report.h"

#include <string>

#include <sodium.h>

namespace fedsilo {
namespace {

static_assert(crypto_box_PUBLICKEYBYTES == kReportPublicKeyBytes);
static_assert(crypto_box_SECRETKEYBYTES == 32);

absl::Status InitSodium() {
  // sodium_init is thread-safe and idempotent (0 first time, 1 afterwards, -1 on failure).
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialize");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CoordinatorKeyPair> CoordinatorKeyPair::Generate() {
  FEDSILO_RETURN_IF_ERROR(InitSodium());
  CoordinatorKeyPair keys;
  if (crypto_box_keypair(keys.public_key_.data(), keys.secret_key_.data()) != 0) {
    return absl::InternalError("libsodium could not generate the coordinator's key pair");
  }
  return keys;
}

CoordinatorKeyPair::CoordinatorKeyPair(CoordinatorKeyPair&& other) noexcept
    : public_key_(other.public_key_), secret_key_(other.secret_key_) {
  sodium_memzero(other.secret_key_.data(), other.secret_key_.size());
}

CoordinatorKeyPair& CoordinatorKeyPair::operator=(CoordinatorKeyPair&& other) noexcept {
  if (this != &other) {
    public_key_ = other.public_key_;
    secret_key_ = other.secret_key_;
    sodium_memzero(other.secret_key_.data(), other.secret_key_.size());
  }
  return *this;
}

CoordinatorKeyPair::~CoordinatorKeyPair() {
  sodium_memzero(secret_key_.data(), secret_key_.size());
}

absl::StatusOr<ReportPayload> CoordinatorKeyPair::Open(std::span<const uint8_t> sealed) const {
  FEDSILO_RETURN_IF_ERROR(InitSodium());
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

}  // namespace fedsilo
