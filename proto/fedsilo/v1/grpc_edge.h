// gRPC plumbing shared by the coordinator, shuffler and silo processes (which may not include one
// another): server credentials from PEM files, an outbound channel with a message-size limit,
// and which stream endings are worth reconnecting after. Validation of the options (loopback-only
// plaintext, required files) stays with each command, which knows its own flag names.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "common/base/status.h"

namespace fedsilo::wire {

struct ServerTlsFiles {
  bool insecure = false;   // plaintext (the caller has checked the address is loopback)
  std::string cert;        // PEM certificate chain
  std::string key;         // PEM private key
  std::string client_ca;   // PEM CA of client certificates; empty: clients are not asked for one
};

struct ClientTlsFiles {
  bool insecure = false;
  std::string ca;          // PEM CA of the server's certificate
  std::string cert;        // PEM client certificate (optional)
  std::string key;         // PEM client key (with cert)
  std::string server_name; // name to check on the server's certificate; empty: the host dialled
};

// TLS server credentials (mutual TLS when client_ca is set), or plaintext. NotFound naming a
// missing file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFrom(
    const ServerTlsFiles& files);

// A channel to `target` whose messages may be up to `max_message_mb` MiB either way. After
// `keepalive_seconds` without traffic it pings the peer, and a peer that does not answer within
// as long again is taken as gone: the open stream fails (UNAVAILABLE) instead of waiting forever
// on a coordinator that stopped.
absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenChannel(const std::string& target,
                                                           const ClientTlsFiles& files,
                                                           double max_message_mb,
                                                           double keepalive_seconds);

// What every fedsilo server sets on its builder: message-size limits, acceptance of its clients'
// keepalive pings (however often, without data), and at most `max_threads` threads serving
// streams (a stream beyond them is refused with RESOURCE_EXHAUSTED).
void ApplyServerLimits(grpc::ServerBuilder* builder, double max_message_mb, int max_threads);

// Call first in main() of a process that may speak TLS, before any gRPC credentials exist. Stops
// OpenSSL 3 from freeing its global state in an atexit handler: gRPC's worker threads may still be
// ending then, and their thread-local OpenSSL destructors crash on the freed state (a SIGSEGV
// after a clean run: grpc/grpc#38539; gRPC 1.83 initializes OpenSSL the same way). The operating
// system reclaims the memory at exit instead.
void KeepOpenSslStateUntilExit();

// Stream endings after which a client retries (the peer is down, restarting or busy), as
// opposed to a refusal that names a problem of the client's own.
bool WorthReconnecting(grpc::StatusCode code);

}  // namespace fedsilo::wire
