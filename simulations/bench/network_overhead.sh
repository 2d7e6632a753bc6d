#!/usr/bin/env bash
# Networked mode against thread mode, same config and seed (see BENCHMARKS.md):
#   simulations/bench/network_overhead.sh [SILOS] [ROUNDS] [CONFIG] [extra --set ...]
# Runs the config in thread mode, then as one coordinator and SILOS silo processes on 127.0.0.1
# (plaintext loopback), and prints: training seconds of each, the per-round overhead of the
# network, protobuf bytes per round, the silos' peak memory, and whether the final models are
# bit-identical. Run from the repository root after building (build/fedsilo).
set -euo pipefail
SILOS=${1:-16}
ROUNDS=${2:-50}
CONFIG=${3:-simulations/configs/bench_network_mnist.yaml}
shift $(( $# < 3 ? $# : 3 ))
BIN=${FEDSILO_BIN:-build/fedsilo}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fedsilo_bench_XXXX")
SETS=(--set "partition.silos=$SILOS" --set "algorithm.rounds=$ROUNDS" "$@")
pids=()
cleanup() { for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

json_number() {  # json_number FILE KEY: the first number after "KEY":
  grep -o "\"$2\": *[-0-9.e+]*" "$1" | head -1 | sed 's/.*: *//'
}

"$BIN" run "$CONFIG" "${SETS[@]}" --out "$WORK/thread" --quiet
"$BIN" coordinator "$CONFIG" "${SETS[@]}" --listen 127.0.0.1:0 --port-file "$WORK/port" \
  --insecure --out "$WORK/net" --quiet >"$WORK/coordinator.log" 2>&1 &
coordinator=$!
pids+=("$coordinator")
for _ in $(seq 600); do [ -s "$WORK/port" ] && break; sleep 0.1; done
port=$(cat "$WORK/port")
for ((i = 0; i < SILOS; i++)); do
  "$BIN" silo --coordinator "127.0.0.1:$port" --name "silo-$i" --shard "$i" --insecure \
    --set "partition.silos=$SILOS" >"$WORK/silo$i.log" 2>&1 &
  pids+=($!)
done
wait "$coordinator" || { cat "$WORK/coordinator.log"; exit 1; }
for pid in "${pids[@]:1}"; do wait "$pid"; done

thread_s=$(json_number "$WORK/thread/summary.json" train_seconds)
net_s=$(json_number "$WORK/net/summary.json" train_seconds)
sent=$(json_number "$WORK/net/summary.json" bytes_sent_per_round)
received=$(json_number "$WORK/net/summary.json" bytes_received_per_round)
peaks=$(grep -ho "peak memory [0-9.]* MiB" "$WORK"/silo*.log | awk '{print $3}')
identical=no
cmp -s "$WORK/thread/model.bin" "$WORK/net/model.bin" && identical=yes
awk -v t="$thread_s" -v n="$net_s" -v r="$ROUNDS" -v s="$SILOS" -v sent="$sent" \
    -v received="$received" -v identical="$identical" -v peaks="$peaks" 'BEGIN {
  split(peaks, p, "\n"); max = 0; sum = 0; k = 0
  for (i in p) if (p[i] != "") { k++; sum += p[i]; if (p[i] > max) max = p[i] }
  printf "silos %d, rounds %d\n", s, r
  printf "thread mode     %.3f s training (%.2f ms/round)\n", t, 1000 * t / r
  printf "networked mode  %.3f s training (%.2f ms/round)\n", n, 1000 * n / r
  printf "overhead        %.2f ms/round\n", 1000 * (n - t) / r
  printf "bytes per round %.0f sent, %.0f received (protobuf)\n", sent, received
  printf "silo peak RSS   max %.1f MiB, mean %.1f MiB over %d silos\n", max, (k ? sum / k : 0), k
  printf "final models bit-identical: %s\n", identical
}'
rm -rf "$WORK"
