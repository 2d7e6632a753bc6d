#!/usr/bin/env bash
# Runs the test suite with ctest. Pass -LE slow for the fast set only: bash scripts/test.sh -LE slow
# In CI (CI=true), or with FEDSILO_COMPOSE_SMOKE=1, it then runs docker-compose.yml under a real
# Docker engine too (tests/deploy/compose_smoke.sh: root, about 9 minutes on 2 cores).
# In CI (CI=true), or with FEDSILO_FUZZ_SMOKE=1, it runs every libFuzzer target for 30 s and
# replays its saved crashes (tests/fuzz/run_fuzzers.sh, clang). CI's 2 cores are used where they
# would idle (docs/reliability.md, "In CI"): the fuzz targets are built (at the lowest
# priority) while ctest runs, and run while the compose smoke's networked runs wait on Docker.
# Neither overlaps the compose smoke's image build, whose steps run in Docker's own cgroups,
# where nice does not reach.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${FEDSILO_BUILD_DIR:-build}"
cmake --build "$BUILD_DIR" -j "$(nproc)"

ci=false
[[ "${CI:-}" == true ]] && ci=true
fuzz=false
[[ $ci == true || "${FEDSILO_FUZZ_SMOKE:-}" == 1 ]] && fuzz=true
compose=false
[[ $ci == true || "${FEDSILO_COMPOSE_SMOKE:-}" == 1 ]] && compose=true
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
run_fuzzers=(bash tests/fuzz/run_fuzzers.sh --seconds 30 --jobs "$(nproc)" --build-dir "$fuzz_build")
if $compose && $fuzz; then
  # At the lowest priority, so that the runs' deadlines are not at stake; printed when done.
  bash tests/deploy/compose_smoke.sh \
    --beside "nice -n 19 ${run_fuzzers[*]} >$fuzz_build/run.log 2>&1; status=\$?; cat $fuzz_build/run.log; exit \$status"
elif $compose; then
  bash tests/deploy/compose_smoke.sh
elif $fuzz; then
  "${run_fuzzers[@]}"
fi
