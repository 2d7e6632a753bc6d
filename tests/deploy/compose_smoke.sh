#!/usr/bin/env bash
# docker-compose.yml under a real Docker engine, as a new user runs it, on loopback only.
#
#   sudo bash tests/deploy/compose_smoke.sh [--keep-daemon] [--beside COMMAND]
#
# 1. Docker: installs docker.io, docker-compose (v1) and debootstrap from Debian when absent and
#    starts dockerd (vfs storage, no iptables, no default bridge) when none answers; stops the
#    daemon it started at the end (unless --keep-daemon).
# 2. Images: debian:bookworm from debootstrap when absent (scripts/make_base_image.sh; no registry
#    is reachable here), then `docker build --network host -t fedsilo:local .`; reports the time
#    and the image size.
# 3. Runs the checkout's docker-compose.yml and .env, copied into a scratch project folder (so the
#    checkout's ./runs is left alone), with a test-only override (tests/deploy/compose_override.py:
#    host networking, service names mapped to 127.0.0.1, listening on 127.0.0.1 only, silos with
#    --reproducible-noise), as a non-root user FEDSILO_UID:FEDSILO_GID (default 4242:4242), with
#    every Compose implementation on the machine (`docker compose` v2 and `docker-compose` v1):
#    a. the default services: every service exits 0, model.bin equals thread mode's (the same
#       image's `fedsilo run`) byte for byte, the accuracy is in `up`'s output, ./runs belongs to
#       the user;
#    b. `up` a second time: the coordinator refuses (exit 2) naming the run and the folder, the
#       silos stop non-zero, the first run's model.bin is unchanged;
#    c. a longer run in which silo2 is killed (SIGKILL) after it has answered rounds and started
#       again: it restores its ledger, rejoins, and the run completes with every service at 0;
#    d. the `shuffle` profile from a fresh folder: every service exits 0 and the test accuracy
#       equals thread mode's within 0.01;
#    e. `down -v` leaves no container, volume or network of the project.
# --beside COMMAND runs COMMAND (with bash, in its own process group) while the runs of 3 leave
# the cores mostly idle, from the moment the image is built; the script waits for it before its
# summary and fails if it failed (CI runs the fuzz targets there: scripts/test.sh).
# Prints one line per check and a summary (date, times, image size); exits non-zero on the first
# failed check, naming it. Needs root (Docker). Not a ctest: it takes minutes and a Docker engine.
set -euo pipefail

keep_daemon=false
beside=""
while (($#)); do
  case "$1" in
    --keep-daemon) keep_daemon=true; shift ;;
    --beside) [[ $# -ge 2 && -n "$2" ]] || { echo "compose_smoke: --beside needs a command" >&2; exit 2; }
      beside="$2"; shift 2 ;;
    *) echo "usage: sudo bash tests/deploy/compose_smoke.sh [--keep-daemon] [--beside COMMAND]" >&2
      exit 2 ;;
  esac
done
[[ "$(id -u)" == 0 ]] || { echo "compose_smoke: needs root (it installs and starts Docker)" >&2; exit 2; }

source_dir="$(cd "$(dirname "$0")/../.." && pwd)"
test_uid="${FEDSILO_UID:-4242}"
test_gid="${FEDSILO_GID:-4242}"
project=fedsilo_smoke
started_at=$(date +%s)
daemon_pid=""
beside_pid=""
work=""

say() { printf 'compose_smoke: %s\n' "$*"; }
fail() { printf 'compose_smoke: FAILED: %s\n' "$*" >&2; exit 1; }
check() {  # check "what" command...: runs the command, prints ok or fails naming "what"
  local what="$1"; shift
  if "$@"; then say "ok   $what"; else fail "$what"; fi
}

cleanup() {
  local status=$?
  trap - EXIT
  [[ -n "$beside_pid" ]] && { kill -- -"$beside_pid" 2>/dev/null || true; }
  if [[ -n "$work" && -d "$work" ]]; then
    for compose in "${composes[@]:-}"; do
      [[ -n "$compose" ]] && (cd "$work" && $compose -p "$project" --profile shuffle down -v \
        --remove-orphans >/dev/null 2>&1) || true
    done
    rm -rf "$work"
  fi
  if [[ -n "$daemon_pid" ]] && ! $keep_daemon; then
    kill "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 1; done
    say "stopped the Docker daemon it started"
  fi
  exit $status
}
trap cleanup EXIT

# ------------------------------------------------------------------------------------ 1. Docker
need=()
[[ -x /usr/sbin/dockerd ]] || need+=(docker.io)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v debootstrap >/dev/null || need+=(debootstrap)
/usr/bin/python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if ((${#need[@]})); then
  say "installing ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
# Debian's client, which matches Debian's daemon (another may come first on PATH).
docker=/usr/bin/docker
export DOCKER="$docker"
if ! "$docker" info >/dev/null 2>&1; then
  say "starting dockerd (vfs storage driver, no iptables, no default bridge)"
  /usr/sbin/dockerd --storage-driver vfs --iptables=false --ip-masq=false --bridge=none \
    >/tmp/compose_smoke_dockerd.log 2>&1 &
  daemon_pid=$!
  for _ in $(seq 1 60); do "$docker" info >/dev/null 2>&1 && break; sleep 1; done
  "$docker" info >/dev/null 2>&1 || fail "dockerd did not start (/tmp/compose_smoke_dockerd.log)"
fi
composes=()
if "$docker" compose version >/dev/null 2>&1; then composes+=("$docker compose"); fi
if command -v docker-compose >/dev/null; then composes+=("docker-compose"); fi
((${#composes[@]})) || fail "no Compose implementation (docker compose or docker-compose)"
say "Docker $("$docker" version -f '{{.Server.Version}}'); Compose: ${composes[*]}"

# ------------------------------------------------------------------------------------ 2. Images
bash "$source_dir/scripts/make_base_image.sh" debian:bookworm
t0=$(date +%s)
"$docker" build --network host -t fedsilo:local "$source_dir" >/tmp/compose_smoke_build.log 2>&1 \
  || { tail -n 30 /tmp/compose_smoke_build.log >&2; fail "docker build (/tmp/compose_smoke_build.log)"; }
build_seconds=$(( $(date +%s) - t0 ))
image_bytes=$("$docker" image inspect -f '{{.Size}}' fedsilo:local)
image_mb=$(( image_bytes / 1000000 ))
say "image fedsilo:local: ${image_mb} MB, built in ${build_seconds} s"
check "image smaller than 300 MB (${image_mb} MB)" test "$image_mb" -lt 300
image_uid=$("$docker" run --rm --network none --entrypoint id fedsilo:local -u) \
  || fail "the image does not run (id -u)"
check "image runs as a non-root user (uid $image_uid)" test "$image_uid" -gt 0
if [[ -n "$beside" ]]; then
  setsid bash -c "$beside" &
  beside_pid=$!
  say "running beside the runs: $beside"
fi

# ------------------------------------------------------------------------------------ 3. Runs
data_dir="${FEDSILO_HOST_DATA:-$(cd "$source_dir/.." && pwd)/shared/data}"
work=$(mktemp -d /tmp/compose_smoke.XXXXXX)
chmod 755 "$work"
cp "$source_dir/docker-compose.yml" "$source_dir/.env" "$work/"
export FEDSILO_UID="$test_uid" FEDSILO_GID="$test_gid"
if [[ -d "$data_dir" ]]; then export FEDSILO_HOST_DATA="$data_dir"; else
  mkdir -p "$work/data"; export FEDSILO_HOST_DATA="$work/data"; fi

fresh_runs() {  # an empty ./runs owned by the test user, as a clone gives its user
  rm -rf "$work/runs"; mkdir -p "$work/runs"; chown "$test_uid:$test_gid" "$work/runs"
}
override() { /usr/bin/python3 "$source_dir/tests/deploy/compose_override.py" \
  "$work/docker-compose.yml" "$work/override.yml" "$@"; }

# Thread mode in the same image: the reference for both runs.
thread_run() {  # thread_run CONFIG OUT
  "$docker" run --rm --network none --user "$test_uid:$test_gid" -v "$work/runs:/runs" \
    fedsilo:local run "simulations/configs/$1" --out "/runs/$2" >"$work/$2.log" 2>&1 \
    || { cat "$work/$2.log" >&2; fail "thread mode run of $1"; }
}
accuracy_of() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["final"]["test_accuracy"])' "$1"; }
# Exit codes of the project's containers (all of them, stopped ones included): "service code".
exit_codes() {
  "$docker" ps -a --filter "label=com.docker.compose.project=$project" \
    --format '{{.Label "com.docker.compose.service"}} {{.ID}}' | while read -r service id; do
    echo "$service $("$docker" inspect -f '{{.State.ExitCode}}' "$id")"; done | sort
}
all_exit_zero() {  # all_exit_zero EXPECTED_COUNT
  local codes; codes=$(exit_codes)
  [[ $(wc -l <<<"$codes") -eq $1 ]] && ! grep -qv ' 0$' <<<"$codes" || { echo "$codes" >&2; return 1; }
}
no_silo_exit_zero() { ! grep -qE '^silo[0-9] 0$' <<<"$(exit_codes)"; }
owned_by_user() { [[ -z $(find "$work/runs" ! -user "$test_uid" -print -quit) ]]; }
has_line() { grep -qF -- "$2" "$1" || { tail -n 40 "$1" >&2; return 1; }; }
project_left() {
  "$docker" ps -aq --filter "label=com.docker.compose.project=$project"
  "$docker" volume ls -q --filter "label=com.docker.compose.project=$project"
  "$docker" network ls -q --filter "label=com.docker.compose.project=$project"
}

declare -A seconds
for compose in "${composes[@]}"; do
  name=${compose##* }; [[ "$name" == compose ]] && name="docker compose" || name="docker-compose"
  say "--- with $name"
  up() { (cd "$work" && $compose -p "$project" -f docker-compose.yml -f override.yml "$@"); }

  # a. the default services, compared with thread mode bit for bit.
  fresh_runs
  thread_run network_mnist.yaml thread_mnist
  override
  t0=$(date +%s)
  up up --no-build --no-color >"$work/a.log" 2>&1 || true
  seconds["$name default run"]=$(( $(date +%s) - t0 ))
  check "[$name] default run: the 6 services exit 0" all_exit_zero 6
  check "[$name] default run: model.bin equals thread mode's byte for byte" \
    cmp -s "$work/runs/network_mnist/out/model.bin" "$work/runs/thread_mnist/model.bin"
  check "[$name] default run: the accuracy is in up's output" has_line "$work/a.log" "test accuracy"
  check "[$name] default run: ./runs belongs to $test_uid" owned_by_user
  first_model=$(sha256sum <"$work/runs/network_mnist/out/model.bin")

  # b. the same command again: a clear refusal, the first run kept. The silos, left without a
  # coordinator, give up after 10 s rather than the file's 60.
  override --replace=--connect-timeout=10
  t0=$(date +%s)
  up up --no-build --no-color >"$work/b.log" 2>&1 || true
  seconds["$name second up"]=$(( $(date +%s) - t0 ))
  check "[$name] second up: the coordinator refuses, naming the run and the folder" \
    has_line "$work/b.log" "the output folder /runs/network_mnist/out already holds run"
  check "[$name] second up: the coordinator exits 2" \
    grep -qx "coordinator 2" <(exit_codes)
  check "[$name] second up: no silo exits 0" no_silo_exit_zero
  check "[$name] second up: the first run's model.bin is unchanged" \
    test "$(sha256sum <"$work/runs/network_mnist/out/model.bin")" == "$first_model"
  up down -v --remove-orphans >/dev/null 2>&1

  # c. silo2 killed after answering rounds and started again: it rejoins with its ledger.
  fresh_runs
  override --coordinator-arg=--set --coordinator-arg=algorithm.rounds=400 \
    --silo-arg=--set --silo-arg=algorithm.rounds=400
  t0=$(date +%s)
  up up --no-build --no-color -d >/dev/null 2>&1
  journal="$work/runs/network_mnist/state/silo2/silo2.journal"
  for _ in $(seq 1 300); do [[ -s "$journal" ]] && break; sleep 0.2; done
  check "[$name] restart: silo2 answered a round (its journal exists)" test -s "$journal"
  silo2=$(up ps -q silo2)
  "$docker" kill -s KILL "$silo2" >/dev/null
  sleep 1
  "$docker" start "$silo2" >/dev/null
  coordinator=$(up ps -q coordinator)
  "$docker" wait "$coordinator" >/dev/null
  for id in $(up ps -q); do "$docker" wait "$id" >/dev/null; done
  seconds["$name restart run"]=$(( $(date +%s) - t0 ))
  up logs --no-color >"$work/c.log" 2>&1
  check "[$name] restart: silo2 restored its ledger" \
    grep -qE "silo 'silo2': restored its journal: [1-9][0-9]* noisy queries" "$work/c.log"
  check "[$name] restart: the run completed, every service exits 0" all_exit_zero 6
  # Only the restarted process can print this: the killed one never saw the end.
  check "[$name] restart: silo2's second process served until the end of the run" \
    has_line "$work/c.log" "silo 'silo2': the coordinator ended the run"
  up down -v --remove-orphans >/dev/null 2>&1

  # d. the shuffle profile from a fresh folder (only its chain).
  fresh_runs
  thread_run network_sdp_mnist.yaml thread_sdp
  override
  t0=$(date +%s)
  up --profile shuffle up --no-build --no-color shuffle-coordinator shuffler \
    shuffle-silo0 shuffle-silo1 shuffle-silo2 shuffle-silo3 >"$work/d.log" 2>&1 || true
  seconds["$name shuffle run"]=$(( $(date +%s) - t0 ))
  check "[$name] shuffle run: the 7 services exit 0" all_exit_zero 7
  network_acc=$(accuracy_of "$work/runs/network_sdp_mnist/out/summary.json")
  thread_acc=$(accuracy_of "$work/runs/thread_sdp/summary.json")
  check "[$name] shuffle run: accuracy $network_acc equals thread mode's $thread_acc within 0.01" \
    /usr/bin/python3 -c "import sys; sys.exit(abs($network_acc - $thread_acc) > 0.01)"
  check "[$name] shuffle run: the accuracy is in up's output" has_line "$work/d.log" "test accuracy"

  # e. down -v leaves nothing.
  up --profile shuffle down -v --remove-orphans >/dev/null 2>&1
  check "[$name] down -v leaves no container, volume or network" test -z "$(project_left)"
done

if [[ -n "$beside_pid" ]]; then
  wait "$beside_pid" || { beside_pid=""; fail "the command run beside the runs failed: $beside"; }
  beside_pid=""
fi
say "summary: $(date -u '+%Y-%m-%d %H:%M UTC'); image ${image_mb} MB, build ${build_seconds} s"
for key in "${!seconds[@]}"; do say "  $key: ${seconds[$key]} s"; done
say "all checks passed in $(( $(date +%s) - started_at )) s"
