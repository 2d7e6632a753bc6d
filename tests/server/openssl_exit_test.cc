// KeepOpenSslStateUntilExit (proto/fedsilo/v1/grpc_edge.h): after it, OpenSSL's global state is
// still there when the process's exit handlers run, so gRPC threads that end during exit cannot
// touch freed state (the SIGSEGV of a fault-soak silo after "the coordinator ended the run").
// Each case runs in a freshly executed copy of this test binary (death-test style "threadsafe"),
// where OpenSSL starts uninitialized, as in `fedsilo`'s main().
#include <cstdlib>

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "fedsilo/v1/grpc_edge.h"

namespace {

// Registered before OpenSSL is initialized, so it runs after OpenSSL's own exit handler, if
// OpenSSL registered one. OpenSSL refuses to initialize again once its cleanup has run.
void ExitWithOpenSslState() {
  const bool state_alive = OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr) == 1;
  _exit(state_alive ? 0 : 3);
}

// What a process does: register the probe, optionally keep OpenSSL's state, initialize OpenSSL
// as gRPC does when it first builds TLS credentials, then leave main() through exit().
void RunProcess(bool keep_state) {
  std::atexit(ExitWithOpenSslState);
  if (keep_state) fedsilo::wire::KeepOpenSslStateUntilExit();
  OPENSSL_init_ssl(0, nullptr);
  std::exit(0);
}

TEST(OpenSslExitTest, TheStateOutlivesTheExitHandlersWhenKept) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(RunProcess(/*keep_state=*/true), ::testing::ExitedWithCode(0), "");
}

// The control: without the call, OpenSSL frees its state at exit, before later handlers and
// while other threads may still use it. Shows that the probe above can fail.
TEST(OpenSslExitTest, WithoutItOpenSslFreesItsStateAtExit) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(RunProcess(/*keep_state=*/false), ::testing::ExitedWithCode(3), "");
}

}  // namespace
