#!/usr/bin/env bash
# Runs the test suite with ctest. Pass -LE slow for the fast set only: bash scripts/test.sh -LE slow
# In CI (CI=true), or with FEDSILO_COMPOSE_SMOKE=1, it then runs docker-compose.yml under a real
# Docker engine too (tests/deploy/compose_smoke.sh: root, about 10 minutes on 2 cores).
# In CI (CI=true), or with FEDSILO_FUZZ_SMOKE=1, it then runs every libFuzzer target for 30 s and
# replays its saved crashes (tests/fuzz/run_fuzzers.sh, clang; about 6 minutes with the build).
# When both run, the fuzz targets are built during the compose smoke (niced), whose first minutes
# (making the base image, installing packages in the image) leave the processors mostly idle.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FEDSILO_BUILD_DIR:-build}"
cmake --build "$BUILD_DIR" -j "$(nproc)"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"

ci=false
[[ "${CI:-}" == true ]] && ci=true
fuzz=false
[[ $ci == true || "${FEDSILO_FUZZ_SMOKE:-}" == 1 ]] && fuzz=true
fuzz_build=build-fuzz
fuzz_build_pid=""
if $fuzz; then
  if [[ ! -f "$fuzz_build/CMakeCache.txt" ]]; then
    CC=clang CXX=clang++ cmake -S . -B "$fuzz_build" -DFEDSILO_FUZZ=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  nice -n 19 cmake --build "$fuzz_build" --target fedsilo_fuzzers -j "$(nproc)" \
    >"$fuzz_build/build.log" 2>&1 &
  fuzz_build_pid=$!
fi
if [[ $ci == true || "${FEDSILO_COMPOSE_SMOKE:-}" == 1 ]]; then
  bash tests/deploy/compose_smoke.sh
fi
if $fuzz; then
  if ! wait "$fuzz_build_pid"; then
    tail -n 30 "$fuzz_build/build.log" >&2
    echo "test: the fuzz build failed ($fuzz_build/build.log)" >&2
    exit 1
  fi
  bash tests/fuzz/run_fuzzers.sh --seconds 30 --jobs "$(nproc)" --build-dir "$fuzz_build"
fi
