#include "fedsilo/v1/grpc_edge.h"

#include <openssl/crypto.h>

#include "common/base/binary_record.h"

namespace fedsilo::wire {

void KeepOpenSslStateUntilExit() { OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr); }

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFrom(
    const ServerTlsFiles& files) {
  if (files.insecure) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      files.client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  FEDSILO_ASSIGN_OR_RETURN(pair.cert_chain, ReadWholeFile(files.cert));
  FEDSILO_ASSIGN_OR_RETURN(pair.private_key, ReadWholeFile(files.key));
  ssl.pem_key_cert_pairs.push_back(pair);
  if (!files.client_ca.empty()) {
    FEDSILO_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadWholeFile(files.client_ca));
  }
  return grpc::SslServerCredentials(ssl);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                           const ClientTlsFiles& files,
                                                           double max_message_mb,
                                                           double keepalive_seconds) {
  grpc::ChannelArguments arguments;
  const int max_bytes = static_cast<int>(max_message_mb * 1024 * 1024);
  arguments.SetMaxReceiveMessageSize(max_bytes);
  arguments.SetMaxSendMessageSize(max_bytes);
  const int keepalive_ms = static_cast<int>(keepalive_seconds * 1000);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, keepalive_ms);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, keepalive_ms);
  arguments.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  arguments.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);  // a long silent wait is normal
  arguments.SetInt(GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS, keepalive_ms);
  if (files.insecure) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), arguments);
  }
  grpc::SslCredentialsOptions ssl;
  FEDSILO_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadWholeFile(files.ca));
  if (!files.cert.empty()) {
    FEDSILO_ASSIGN_OR_RETURN(ssl.pem_cert_chain, ReadWholeFile(files.cert));
    FEDSILO_ASSIGN_OR_RETURN(ssl.pem_private_key, ReadWholeFile(files.key));
  }
  if (!files.server_name.empty()) arguments.SetSslTargetNameOverride(files.server_name);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), arguments);
}

void ApplyServerLimits(grpc::ServerBuilder* builder, double max_message_mb, int max_threads) {
  const int max_bytes = static_cast<int>(max_message_mb * 1024 * 1024);
  builder->SetMaxReceiveMessageSize(max_bytes);
  builder->SetMaxSendMessageSize(max_bytes);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 100);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);  // never GOAWAY a pinging silo
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  grpc::ResourceQuota quota("fedsilo-server");
  quota.SetMaxThreads(max_threads);
  builder->SetResourceQuota(quota);
}

bool WorthReconnecting(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::ALREADY_EXISTS ||
         code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::UNKNOWN || code == grpc::StatusCode::INTERNAL;
}

}  // namespace fedsilo::wire
