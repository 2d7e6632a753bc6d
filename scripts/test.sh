#!/usr/bin/env bash
# Runs the test suite with ctest. Pass -LE slow for the fast set only: bash scripts/test.sh -LE slow
# In CI (CI=true), or with FEDSILO_COMPOSE_SMOKE=1, it then runs docker-compose.yml under a real
# Docker engine too (tests/deploy/compose_smoke.sh: root, about 10 minutes on 2 cores).
# In CI (CI=true), or with FEDSILO_FUZZ_SMOKE=1, it then runs every libFuzzer target for 30 s and
# replays its saved crashes (tests/fuzz/run_fuzzers.sh, clang). The fuzz targets are built while
# ctest runs, at the lowest priority, in the CPU its process tests leave idle (not during the
# compose smoke: Docker's build steps run in their own cgroups, where nice does not reach).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FEDSILO_BUILD_DIR:-build}"
cmake --build "$BUILD_DIR" -j "$(nproc)"

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
  # Its own process group, so that a failing step below stops the whole build with it.
  setsid nice -n 19 cmake --build "$fuzz_build" --target fedsilo_fuzzers -j "$(nproc)" \
    >"$fuzz_build/build.log" 2>&1 &
  fuzz_build_pid=$!
  trap '[[ -n "$fuzz_build_pid" ]] && kill -- -"$fuzz_build_pid" 2>/dev/null; true' EXIT
fi
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
if $fuzz; then
  if ! wait "$fuzz_build_pid"; then
    tail -n 30 "$fuzz_build/build.log" >&2
    echo "test: the fuzz build failed ($fuzz_build/build.log)" >&2
    exit 1
  fi
  fuzz_build_pid=""
fi
if [[ $ci == true || "${FEDSILO_COMPOSE_SMOKE:-}" == 1 ]]; then
  bash tests/deploy/compose_smoke.sh
fi
if $fuzz; then
  bash tests/fuzz/run_fuzzers.sh --seconds 30 --jobs "$(nproc)" --build-dir "$fuzz_build"
fi
