#!/usr/bin/env bash
# Two-thread scaling of a run's training (issue 14) against what two cores of this machine can
# give (see BENCHMARKS.md).
#   simulations/bench/thread_scaling.sh [REPS] [CONFIG:ROUNDS...]
# CONFIG:ROUNDS defaults to issue 14's two workloads, run longer than configured so that the
# control's two trainings overlap whatever their loading takes (simulations/configs/
# adult_isrl_dp.yaml:2000, simulations/configs/bench_mnist_mlp_isrl_dp.yaml:100; a round's work
# does not depend on the number of rounds). For each, REPS times, one after the other:
#   one      the run with --threads 1                                   train_seconds t1
#   two      the run with --threads 2                                   train_seconds t2
#   control  two --threads 1 runs started together, two processes       train_seconds c, c'
# The control is the same work twice on two cores with nothing shared, so a perfect two-thread
# split of one run would take (c + c') / 4 and 4 t1 / (c + c') is the machine's ceiling for
# the scaling t1 / t2. Prints the medians. Run from the repository root after building, on an
# idle machine.
set -euo pipefail
REPS=${1:-7}
shift || true
CONFIGS=("$@")
[[ ${#CONFIGS[@]} -gt 0 ]] ||
  CONFIGS=(simulations/configs/adult_isrl_dp.yaml:2000
           simulations/configs/bench_mnist_mlp_isrl_dp.yaml:100)
BIN=${FEDSILO_BIN:-build/fedsilo}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fedsilo_thread_scaling_XXXX")
trap 'rm -rf "$WORK"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
train_seconds() { grep -o '"train_seconds": *[-0-9.e+]*' "$1/summary.json" | sed 's/.*: *//'; }
run() {  # run OUT THREADS: one quiet run of $config for $rounds rounds, one evaluation at the end
  "$BIN" run "$config" --threads "$2" --quiet --set "output.dir=$1" --set "algorithm.rounds=$rounds" \
    --set output.eval_every=1000000 \
    >"$1.log" 2>&1 || { cat "$1.log" >&2; return 1; }
}

for item in "${CONFIGS[@]}"; do
  config=${item%:*} rounds=${item##*:}
  name=$(basename "$config" .yaml)
  ones="" twos="" scalings="" ceilings=""
  for rep in $(seq "$REPS"); do
    run "$WORK/$name.one.$rep" 1
    run "$WORK/$name.two.$rep" 2
    run "$WORK/$name.ca.$rep" 1 & a=$!
    run "$WORK/$name.cb.$rep" 1 & b=$!
    wait $a; wait $b
    read -r t1 t2 ca cb < <(echo "$(train_seconds "$WORK/$name.one.$rep")" \
      "$(train_seconds "$WORK/$name.two.$rep")" "$(train_seconds "$WORK/$name.ca.$rep")" \
      "$(train_seconds "$WORK/$name.cb.$rep")")
    read -r scaling ceiling < <(awk -v t1="$t1" -v t2="$t2" -v ca="$ca" -v cb="$cb" \
      'BEGIN {printf "%.3f %.3f\n", t1 / t2, 4 * t1 / (ca + cb)}')
    printf '%s rep %d: 1 thread %.4f s, 2 threads %.4f s, two 1-thread runs at once %.4f / %.4f s:' \
      "$name" "$rep" "$t1" "$t2" "$ca" "$cb"
    echo " scaling ${scaling}x, machine ceiling ${ceiling}x"
    ones+="$t1 " twos+="$t2 " scalings+="$scaling " ceilings+="$ceiling "
  done
  med() { echo $1 | tr ' ' '\n' | median; }
  echo "$name ($rounds rounds), medians over $REPS: 1 thread $(med "$ones") s, 2 threads $(med "$twos") s;" \
       "scaling $(med "$scalings")x against a ceiling of $(med "$ceilings")x"
done
