// Status helpers shared by every layer.
//
// fedsilo reports bad input as values: absl::Status / absl::StatusOr (which gRPC already brings in).
// Aborts are reserved for broken internal invariants. These macros propagate errors without
// exceptions. They are header-only and thread-safe.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FEDSILO_CONCAT_INNER(a, b) a##b
#define FEDSILO_CONCAT(a, b) FEDSILO_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define FEDSILO_RETURN_IF_ERROR(expr)                 \
  do {                                                \
    ::absl::Status fedsilo_status_ = (expr);          \
    if (!fedsilo_status_.ok()) return fedsilo_status_; \
  } while (0)

// `FEDSILO_ASSIGN_OR_RETURN(auto x, MakeX());` declares/assigns x, or returns the error.
#define FEDSILO_ASSIGN_OR_RETURN(lhs, expr) \
  FEDSILO_ASSIGN_OR_RETURN_IMPL(FEDSILO_CONCAT(fedsilo_statusor_, __LINE__), lhs, expr)
#define FEDSILO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return std::move(tmp).status();      \
  lhs = std::move(tmp).value()
