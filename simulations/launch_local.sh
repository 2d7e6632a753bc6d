#!/usr/bin/env bash
# Runs the docker-compose topology as plain processes on this machine: one coordinator on
# 127.0.0.1 and N silos (--shard 0..N-1, names silo0..silo<N-1>), with mutual TLS from
# scripts/make_certs.sh by default. A shuffle-model config (its algorithm has
# AlgorithmSpec::requires_shuffler, e.g. sdp_minibatch_sgd) also gets a `fedsilo shuffler`
# between them: the coordinator gets --sealing-key RUN_DIR/coordinator.key, the shuffler (TLS
# certificate CN "shuffler", from make_certs.sh --shuffler) dials it, and the silos dial the
# shuffler with --coordinator-public-key RUN_DIR/coordinator.key.pub. The binary decides which
# configs are shuffle-model: the coordinator's --dry-run accepts --sealing-key for those only.
#
# Usage: simulations/launch_local.sh [OPTIONS] N CONFIG.yaml [COORDINATOR ARGS...]
#   --insecure          plaintext on 127.0.0.1 instead of TLS (no certificates)
#   --certs DIR         use the certificates in DIR (ca.crt, server.crt/.key, silo<i>.crt/.key)
#                       instead of generating fresh ones in a temporary directory
#   --run-dir DIR       logs/, state/ and the coordinator's out/ go here
#                       (default: runs/local_<config name>)
#   --port PORT         the coordinator's port (default: a free one)
#   --shuffler-port PORT  the shuffler's port, shuffle-model configs only (default: a free one)
#   --binary PATH       the fedsilo binary (default: $FEDSILO_BIN, else build/fedsilo)
#   --wait SECONDS      how long to wait for the coordinator to listen (default 60)
#   --grace SECONDS     how long the silos may take to finish after the coordinator (default 10)
#   --reproducible-noise  testing only: each silo gets --reproducible-noise (noise derived from
#                       the config's seed, so the run ends where thread mode ends; the
#                       coordinator could then recompute every silo's noise). Default: each
#                       silo draws its noise from its own OS entropy.
#   --print-commands    print what would run, one process a line (its name, then its
#                       arguments, separated by tabs), and exit without running anything
#                       (it still runs the binary's --dry-run to tell a shuffle-model config)
# COORDINATOR ARGS go to the coordinator (e.g. --resume, --quiet, --out DIR); every `--set k=v`
# among them goes to the silos too, since they read the same config.
#
# Layout of the run directory: out/ (the coordinator's run directory, unless --out is given),
# logs/coordinator.log, logs/silo<i>.log, state/silo<i>/ (each silo's --state-dir: its ledger);
# shuffle-model: also logs/shuffler.log and coordinator.key(.pub) (kept, for --resume).
# The script waits for the coordinator (and then the shuffler) to listen, starts the silos, waits
# for the coordinator to finish, stops the others and exits with the coordinator's status.
# Ctrl-C (or SIGTERM) stops everything.
# N should equal the config's partition.silos (each silo serves one shard); change both with
# `--set partition.silos=N`.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//' >&2
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
shuffler_port=""
binary="${FEDSILO_BIN:-$root/build/fedsilo}"
wait_seconds=60
grace_seconds=10
print_only=false
reproducible_noise=false
while [ $# -gt 0 ]; do
  case "$1" in
    --insecure) insecure=true; shift ;;
    --certs) [ $# -ge 2 ] || usage; certs="$2"; shift 2 ;;
    --run-dir) [ $# -ge 2 ] || usage; run_dir="$2"; shift 2 ;;
    --port) [ $# -ge 2 ] || usage; port="$2"; shift 2 ;;
    --shuffler-port) [ $# -ge 2 ] || usage; shuffler_port="$2"; shift 2 ;;
    --binary) [ $# -ge 2 ] || usage; binary="$2"; shift 2 ;;
    --wait) [ $# -ge 2 ] || usage; wait_seconds="$2"; shift 2 ;;
    --grace) [ $# -ge 2 ] || usage; grace_seconds="$2"; shift 2 ;;
    --print-commands) print_only=true; shift ;;
    --reproducible-noise) reproducible_noise=true; shift ;;
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
if [ -n "$shuffler_port" ] && ! [[ "$shuffler_port" =~ ^[0-9]+$ && "$shuffler_port" -ge 1 &&
                                   "$shuffler_port" -le 65535 ]]; then
  die "--shuffler-port must be in 1..65535, got '$shuffler_port'"
fi
$insecure && [ -n "$certs" ] && die "--insecure and --certs exclude each other"

# The silos read the same config, so they get the same overrides.
silo_sets=()
user_out=false
sealing_key=""
user_sealing_key=false
for ((i = 0; i < ${#coordinator_args[@]}; i++)); do
  case "${coordinator_args[$i]}" in
    --set)
      [ $((i + 1)) -lt ${#coordinator_args[@]} ] || die "--set needs key.path=value"
      silo_sets+=(--set "${coordinator_args[$((i + 1))]}") ;;
    --set=*) silo_sets+=("${coordinator_args[$i]}") ;;
    --out|--out=*) user_out=true ;;
    --sealing-key)
      [ $((i + 1)) -lt ${#coordinator_args[@]} ] || die "--sealing-key needs FILE"
      sealing_key="${coordinator_args[$((i + 1))]}"; user_sealing_key=true ;;
    --sealing-key=*) sealing_key="${coordinator_args[$i]#--sealing-key=}"; user_sealing_key=true ;;
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
free_port() {  # free_port EXCEPT: prints a port nothing listens on, other than EXCEPT
  local candidate
  for _ in $(seq 1 200); do
    candidate=$((20000 + RANDOM % 40000))
    if [ "$candidate" != "$1" ] && ! listening "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}
if [ -z "$port" ]; then
  port="$(free_port "$shuffler_port")" || die "no free port found"
fi
address="127.0.0.1:$port"

# Shuffle-model or not, as the binary sees the config (with the same --set overrides): its
# coordinator --dry-run refuses a shuffle-model config without --sealing-key and any other config
# with one (exit status only; the key file is not touched). When both refuse, the config itself is
# wrong: launch as before and let the coordinator report it.
[ -x "$binary" ] || die "fedsilo binary not found at $binary (build it, or pass --binary / set FEDSILO_BIN)"
probe=("$binary" coordinator "$config" --listen 127.0.0.1:0 --insecure --dry-run "${silo_sets[@]}")
shuffle_model=false
if ! "${probe[@]}" > /dev/null 2>&1 &&
   "${probe[@]}" --sealing-key "$run_dir/coordinator.key" > /dev/null 2>&1; then
  shuffle_model=true
fi
if $shuffle_model; then
  [ -n "$sealing_key" ] || sealing_key="$run_dir/coordinator.key"
  if [ -z "$shuffler_port" ]; then
    shuffler_port="$(free_port "$port")" || die "no free port found for the shuffler"
  fi
  [ "$shuffler_port" != "$port" ] || die "the shuffler and the coordinator need different ports"
  shuffler_address="127.0.0.1:$shuffler_port"
fi

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
# A --sealing-key among the coordinator arguments is used as given.
if $shuffle_model && ! $user_sealing_key; then
  coordinator_cmd+=(--sealing-key "$sealing_key")
fi
coordinator_cmd+=("${coordinator_args[@]}")

# Shuffle-model only: the shuffler serves the silos (TLS server) and dials the coordinator (TLS
# client, CN "shuffler": the coordinator's default --shuffler-name), one certificate for both.
shuffler_cmd=()
if $shuffle_model; then
  shuffler_cmd=("$binary" shuffler --listen "$shuffler_address" --coordinator "$address")
  if $insecure; then
    shuffler_cmd+=(--insecure)
  else
    shuffler_cmd+=(--tls-cert "$certs/shuffler.crt" --tls-key "$certs/shuffler.key"
                   --client-ca "$certs/ca.crt" --ca "$certs/ca.crt"
                   --cert "$certs/shuffler.crt" --key "$certs/shuffler.key"
                   --state-dir "$run_dir/state/shuffler")
  fi
fi

certs_cmd=(bash "$root/scripts/make_certs.sh")
$shuffle_model && certs_cmd+=(--shuffler)
certs_cmd+=("$certs" "${names[@]}")

silo_cmd() {  # silo_cmd I: fills the array `cmd`
  local i="$1"
  if $shuffle_model; then
    cmd=("$binary" silo --coordinator "$shuffler_address")
  else
    cmd=("$binary" silo --coordinator "$address")
  fi
  cmd+=(--name "${names[$i]}" --shard "$i" --config "$config"
        --state-dir "$run_dir/state/${names[$i]}" --connect-timeout 60)
  if $insecure; then
    cmd+=(--insecure)
  else
    cmd+=(--ca "$certs/ca.crt" --cert "$certs/${names[$i]}.crt" --key "$certs/${names[$i]}.key")
  fi
  $shuffle_model && cmd+=(--coordinator-public-key "$sealing_key.pub")
  $reproducible_noise && cmd+=(--reproducible-noise)
  cmd+=("${silo_sets[@]}")
}

print_line() {  # print_line NAME ARGS...: tab-separated
  local IFS=$'\t'
  printf '%s\n' "$*"
}

if $print_only; then
  if ! $insecure; then print_line certs "${certs_cmd[@]}"; fi
  print_line coordinator "${coordinator_cmd[@]}"
  if $shuffle_model; then print_line shuffler "${shuffler_cmd[@]}"; fi
  for ((i = 0; i < n; i++)); do
    silo_cmd "$i"
    print_line "${names[$i]}" "${cmd[@]}"
  done
  exit 0
fi

mkdir -p "$run_dir/logs" "$run_dir/state"

pids=()
coordinator_pid=""
shuffler_pid=""
stop_all() {  # SIGTERM, then SIGKILL whatever is still running after 5 seconds
  local all=("${pids[@]}")
  [ -n "$shuffler_pid" ] && all+=("$shuffler_pid")
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
  "${certs_cmd[@]}" > "$run_dir/logs/certs.log" 2>&1 ||
    { cat "$run_dir/logs/certs.log" >&2; die "certificate generation failed"; }
fi

# wait_listening NAME PORT: until process NAME (its pid in NAME_pid) accepts connections on
# PORT; exits the script (with the process's status, its log shown) if it dies first, with 1
# after --wait seconds.
wait_listening() {
  local name="$1" listen_port="$2" deadline=$((SECONDS + wait_seconds)) status
  local -n pid_var="${1}_pid"
  until (exec 3<>"/dev/tcp/127.0.0.1/$listen_port") 2>/dev/null; do
    if ! kill -0 "$pid_var" 2>/dev/null; then
      status=0
      wait "$pid_var" || status=$?
      pid_var=""
      echo "launch_local: the $name exited with status $status before listening; its log:" >&2
      tail -n 20 "$run_dir/logs/$name.log" >&2
      exit "$status"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "launch_local: the $name did not listen on 127.0.0.1:$listen_port within ${wait_seconds}s" >&2
      exit 1
    fi
    sleep 0.2
  done
}

if $shuffle_model; then
  echo "launch_local: coordinator on $address, shuffler on $shuffler_address, $n silos" \
       "(shuffle model); logs in $run_dir/logs" >&2
else
  echo "launch_local: coordinator on $address, $n silos; logs in $run_dir/logs" >&2
fi
"${coordinator_cmd[@]}" > "$run_dir/logs/coordinator.log" 2>&1 &
coordinator_pid=$!
wait_listening coordinator "$port"

# The shuffler listens for silos only once the coordinator has welcomed it.
if $shuffle_model; then
  "${shuffler_cmd[@]}" > "$run_dir/logs/shuffler.log" 2>&1 &
  shuffler_pid=$!
  wait_listening shuffler "$shuffler_port"
fi

for ((i = 0; i < n; i++)); do
  silo_cmd "$i"
  "${cmd[@]}" > "$run_dir/logs/${names[$i]}.log" 2>&1 &
  pids+=($!)
done

status=0
wait "$coordinator_pid" || status=$?
coordinator_pid=""
echo "launch_local: the coordinator exited with status $status; logs in $run_dir/logs" >&2
# Give the silos (and the shuffler) --grace seconds to finish on their own (a silo writes its
# ledger before it exits), report the ones that failed, and let the exit trap stop the rest.
for _ in $(seq 1 $((grace_seconds * 10))); do
  alive=false
  for pid in "${pids[@]}" $shuffler_pid; do kill -0 "$pid" 2>/dev/null && alive=true; done
  $alive || break
  sleep 0.1
done
if [ -n "$shuffler_pid" ] && ! kill -0 "$shuffler_pid" 2>/dev/null; then
  shuffler_status=0
  wait "$shuffler_pid" || shuffler_status=$?
  [ "$shuffler_status" -eq 0 ] ||
    echo "launch_local: the shuffler exited with status $shuffler_status (see $run_dir/logs/shuffler.log)" >&2
fi
for ((i = 0; i < n; i++)); do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    silo_status=0
    wait "${pids[$i]}" || silo_status=$?
    [ "$silo_status" -eq 0 ] ||
      echo "launch_local: ${names[$i]} exited with status $silo_status (see $run_dir/logs/${names[$i]}.log)" >&2
  fi
done
exit "$status"
