// FEDSILO_CHECK: aborts with a message when an internal invariant is broken (a caller bug such
// as a parameter vector of the wrong length). Never used for user input: that is validated and
// reported as a Status. Header-only; thread-safe.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FEDSILO_CHECK(cond, what)                                                          \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "fedsilo: internal invariant broken: %s (%s:%d)\n", what, __FILE__, \
                   __LINE__);                                                              \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
