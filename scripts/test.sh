#!/usr/bin/env bash
# Runs the test suite with ctest. Pass -LE slow for the fast set only: bash scripts/test.sh -LE slow
# In CI (CI=true), or with FEDSILO_COMPOSE_SMOKE=1, it then runs docker-compose.yml under a real
# Docker engine too (tests/deploy/compose_smoke.sh: root, about 12 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FEDSILO_BUILD_DIR:-build}"
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
if [[ "${CI:-}" == true || "${FEDSILO_COMPOSE_SMOKE:-}" == 1 ]]; then
  bash tests/deploy/compose_smoke.sh
fi
