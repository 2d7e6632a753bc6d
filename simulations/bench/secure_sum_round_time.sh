#!/usr/bin/env bash
# Round time of the secure sum (sdp_sum_minibatch_sgd) against ISRL-DP, central DP and the
# per-record shuffle protocol (see BENCHMARKS.md, "Issue 15"): MNIST even/odd (PCA-50, logistic),
# batch 32, epsilon 0.5, clip 3, every silo every round.
#   simulations/bench/secure_sum_round_time.sh [REPS]
# Thread mode: 100 silos, each algorithm REPS times alternately (500 rounds; the per-record
# protocol 50), median train seconds per round. Networked: 10 silo processes on 127.0.0.1
# (simulations/launch_local.sh --insecure; the secure sum through a `fedsilo shuffler`), 200
# rounds, train seconds per round. Run from the repository root after building, on an idle
# machine.
set -euo pipefail
REPS=${1:-3}
BIN=${FEDSILO_BIN:-build/fedsilo}
CONFIG=simulations/reproduce/secure_sum_mnist.yaml
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fedsilo_sum_bench_XXXX")
COMMON=(--set data.validation=0 --set privacy.epsilon=0.5 --set privacy.clip=3
        --set output.eval_every=100000)

train_seconds() { grep -o '"train_seconds": *[-0-9.e+]*' "$1/summary.json" | sed 's/.*: *//'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

echo "thread mode, 100 silos: ms per round (median of $REPS, alternating)"
declare -A times
for rep in $(seq "$REPS"); do
  for algorithm in sdp_sum_minibatch_sgd isrl_dp_minibatch_sgd central_dp_minibatch_sgd sdp_minibatch_sgd; do
    rounds=500 sampling=poisson
    [ $algorithm = sdp_minibatch_sgd ] && rounds=50 sampling=without_replacement
    out="$WORK/$algorithm.$rep"
    "$BIN" run "$CONFIG" "${COMMON[@]}" --set algorithm.name=$algorithm --set partition.silos=100 \
      --set network.min_replies=100 --set privacy.min_silo_records=542 \
      --set privacy.sampling=$sampling --set algorithm.rounds=$rounds --quiet --out "$out" >/dev/null
    times[$algorithm]+="$(awk -v s="$(train_seconds "$out")" -v r=$rounds 'BEGIN {print 1000 * s / r}') "
  done
done
for algorithm in sdp_sum_minibatch_sgd isrl_dp_minibatch_sgd central_dp_minibatch_sgd sdp_minibatch_sgd; do
  printf '  %-28s %s ms  (runs: %s)\n' $algorithm \
    "$(echo ${times[$algorithm]} | tr ' ' '\n' | median)" "${times[$algorithm]}"
done

echo "networked, 10 silo processes on loopback, 200 rounds: ms per round"
for algorithm in sdp_sum_minibatch_sgd isrl_dp_minibatch_sgd; do
  simulations/launch_local.sh --insecure --run-dir "$WORK/net_$algorithm" --binary "$BIN" 10 \
    "$CONFIG" "${COMMON[@]}" --set algorithm.name=$algorithm --set partition.silos=10 \
    --set network.min_replies=10 --set privacy.min_silo_records=2169 \
    --set algorithm.rounds=200 --quiet >/dev/null 2>&1
  printf '  %-28s %s ms\n' $algorithm \
    "$(awk -v s="$(train_seconds "$WORK/net_$algorithm/out")" 'BEGIN {print 1000 * s / 200}')"
done
rm -rf "$WORK"
