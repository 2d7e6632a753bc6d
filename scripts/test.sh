#!/usr/bin/env bash
# Runs the test suite with ctest. Pass -LE slow for the fast set only: bash scripts/test.sh -LE slow
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FEDSILO_BUILD_DIR:-build}"
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
