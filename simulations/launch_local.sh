#!/usr/bin/env bash
# Runs the docker-compose topology as plain processes on this machine: one coordinator on
# 127.0.0.1 and N silos (--shard 0..N-1, names silo0..silo<N-1>), with mutual TLS from
# scripts/make_certs.sh by default.
#
# Usage: simulations/launch_local.sh [OPTIONS] N CONFIG.yaml [COORDINATOR ARGS...]
#   --insecure          plaintext on 127.0.0.1 instead of TLS (no certificates)
#   --certs DIR         use the certificates in DIR (ca.crt, server.crt/.key, silo<i>.crt/.key)
#                       instead of generating fresh ones in a temporary directory
#   --run-dir DIR       logs/, state/ and the coordinator's out/ go here
#                       (default: runs/local_<config name>)
#   --port PORT         the coordinator's port (default: a free one)
#   --binary PATH       the fedsilo binary (default: $FEDSILO_BIN, else build/fedsilo)
#   --wait SECONDS      how long to wait for the coordinator to listen (default 60)
#   --grace SECONDS     how long the silos may take to finish after the coordinator (default 10)
#   --print-commands    print what would run, one process a line (its name, then its
#                       arguments, separated by tabs), and exit without running anything
# COORDINATOR ARGS go to the coordinator (e.g. --resume, --quiet, --out DIR); every `--set k=v`
# among them goes to the silos too, since they read the same config.
#
# Layout of the run directory: out/ (the coordinator's run directory, unless --out is given),
# logs/coordinator.log, logs/silo<i>.log, state/silo<i>/ (each silo's --state-dir: its ledger).
# The script waits for the coordinator, starts the silos, waits for the coordinator to finish,
# stops the silos and exits with the coordinator's status. Ctrl-C (or SIGTERM) stops everything.
# N should equal the config's partition.silos (each silo serves one shard); change both with
# `--set partition.silos=N`.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  echo "launch_local: $*" >&2
  exit 2
}

insecure=false
certs=""
run_dir=""
port=""
binary="${FEDSILO_BIN:-$root/build/fedsilo}"
wait_seconds=60
grace_seconds=10
print_only=false
while [ $# -gt 0 ]; do
  case "$1" in
    --insecure) insecure=true; shift ;;
    --certs) [ $# -ge 2 ] || usage; certs="$2"; shift 2 ;;
    --run-dir) [ $# -ge 2 ] || usage; run_dir="$2"; shift 2 ;;
    --port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
    --binary) [ $# -ge 2 ] || usage; binary="$2"; shift 2 ;;
    --wait) [ $# -ge 2 ] || usage; wait_seconds="$2"; shift 2 ;;
    --grace) [ $# -ge 2 ] || usage; grace_seconds="$2"; shift 2 ;;
    --print-commands) print_only=true; shift ;;
    -h|--help) usage ;;
    --) shift; break ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
n="$1"
config="$2"
shift 2
coordinator_args=("$@")

[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number of silos, got '$n'"
[ -f "$config" ] || die "config not found: $config"
[[ "$wait_seconds" =~ ^[1-9][0-9]*$ ]] || die "--wait needs a positive number of seconds"
[[ "$grace_seconds" =~ ^[0-9]+$ ]] || die "--grace needs a number of seconds"
if [ -n "$port" ] && ! [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1 && "$port" -le 65535 ]]; then
  die "--port must be in 1..65535, got '$port'"
fi
$insecure && [ -n "$certs" ] && die "--insecure and --certs exclude each other"

# The silos read the same config, so they get the same overrides.
silo_sets=()
user_out=false
for ((i = 0; i < ${#coordinator_args[@]}; i++)); do
  case "${coordinator_args[$i]}" in
    --set)
      [ $((i + 1)) -lt ${#coordinator_args[@]} ] || die "--set needs key.path=value"
      silo_sets+=(--set "${coordinator_args[$((i + 1))]}") ;;
    --set=*) silo_sets+=("${coordinator_args[$i]}") ;;
    --out|--out=*) user_out=true ;;
  esac
done

if [ -z "$run_dir" ]; then
  stem="$(basename "$config")"
  run_dir="runs/local_${stem%.*}"
fi

# A port nothing listens on (IPv4 or IPv6), from /proc; the coordinator reports a clash anyway.
listening() {
  local hex
  hex=$(printf '%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
}
if [ -z "$port" ]; then
  for _ in $(seq 1 200); do
    candidate=$((20000 + RANDOM % 40000))
    if ! listening "$candidate"; then port=$candidate; break; fi
  done
  [ -n "$port" ] || die "no free port found"
fi
address="127.0.0.1:$port"

temp_certs=""
if ! $insecure && [ -z "$certs" ]; then
  if $print_only; then
    certs="<temporary directory>"
  else
    temp_certs="$(mktemp -d)"
    certs="$temp_certs"
  fi
fi

names=()
for ((i = 0; i < n; i++)); do names+=("silo$i"); done

coordinator_cmd=("$binary" coordinator "$config" --listen "$address")
$user_out || coordinator_cmd+=(--out "$run_dir/out")
if $insecure; then
  coordinator_cmd+=(--insecure)
else
  coordinator_cmd+=(--tls-cert "$certs/server.crt" --tls-key "$certs/server.key"
                    --client-ca "$certs/ca.crt")
fi
coordinator_cmd+=("${coordinator_args[@]}")

silo_cmd() {  # silo_cmd I: fills the array `cmd`
  local i="$1"
  cmd=("$binary" silo --coordinator "$address" --name "${names[$i]}" --shard "$i"
       --config "$config" --state-dir "$run_dir/state/${names[$i]}")
  if $insecure; then
    cmd+=(--insecure)
  else
    cmd+=(--ca "$certs/ca.crt" --cert "$certs/${names[$i]}.crt" --key "$certs/${names[$i]}.key")
  fi
  cmd+=("${silo_sets[@]}")
}

print_line() {  # print_line NAME ARGS...: tab-separated
  local IFS=$'\t'
  printf '%s\n' "$*"
}

if $print_only; then
  if ! $insecure; then print_line certs bash "$root/scripts/make_certs.sh" "$certs" "${names[@]}"; fi
  print_line coordinator "${coordinator_cmd[@]}"
  for ((i = 0; i < n; i++)); do
    silo_cmd "$i"
    print_line "${names[$i]}" "${cmd[@]}"
  done
  exit 0
fi

[ -x "$binary" ] || die "fedsilo binary not found at $binary (build it, or pass --binary / set FEDSILO_BIN)"
mkdir -p "$run_dir/logs" "$run_dir/state"

pids=()
coordinator_pid=""
stop_all() {  # SIGTERM, then SIGKILL whatever is still running after 5 seconds
  local all=("${pids[@]}")
  [ -n "$coordinator_pid" ] && all+=("$coordinator_pid")
  [ ${#all[@]} -gt 0 ] || return 0
  kill -TERM "${all[@]}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    local alive=false
    for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=true; done
    $alive || break
    sleep 0.1
  done
  kill -KILL "${all[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
cleanup() {
  stop_all
  [ -n "$temp_certs" ] && rm -rf "$temp_certs"
  return 0
}
trap cleanup EXIT
trap 'echo "launch_local: interrupted; stopping" >&2; exit 130' INT
trap 'echo "launch_local: terminated; stopping" >&2; exit 143' TERM

if [ -n "$temp_certs" ]; then
  bash "$root/scripts/make_certs.sh" "$certs" "${names[@]}" > "$run_dir/logs/certs.log" 2>&1 ||
    { cat "$run_dir/logs/certs.log" >&2; die "certificate generation failed"; }
fi

echo "launch_local: coordinator on $address, $n silos; logs in $run_dir/logs" >&2
"${coordinator_cmd[@]}" > "$run_dir/logs/coordinator.log" 2>&1 &
coordinator_pid=$!

# Wait until the coordinator accepts connections (or dies).
deadline=$((SECONDS + wait_seconds))
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  if ! kill -0 "$coordinator_pid" 2>/dev/null; then
    status=0
    wait "$coordinator_pid" || status=$?
    coordinator_pid=""
    echo "launch_local: the coordinator exited with status $status before listening; its log:" >&2
    tail -n 20 "$run_dir/logs/coordinator.log" >&2
    exit "$status"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "launch_local: the coordinator did not listen on $address within ${wait_seconds}s" >&2
    exit 1
  fi
  sleep 0.2
done

for ((i = 0; i < n; i++)); do
  silo_cmd "$i"
  "${cmd[@]}" > "$run_dir/logs/${names[$i]}.log" 2>&1 &
  pids+=($!)
done

status=0
wait "$coordinator_pid" || status=$?
coordinator_pid=""
echo "launch_local: the coordinator exited with status $status; logs in $run_dir/logs" >&2
# Give the silos --grace seconds to finish on their own (a silo writes its ledger before it
# exits), report the ones that failed, and let the exit trap stop the rest.
for _ in $(seq 1 $((grace_seconds * 10))); do
  alive=false
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=true; done
  $alive || break
  sleep 0.1
done
for ((i = 0; i < n; i++)); do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    silo_status=0
    wait "${pids[$i]}" || silo_status=$?
    [ "$silo_status" -eq 0 ] ||
      echo "launch_local: ${names[$i]} exited with status $silo_status (see $run_dir/logs/${names[$i]}.log)" >&2
  fi
done
exit "$status"
