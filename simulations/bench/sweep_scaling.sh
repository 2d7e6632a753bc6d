#!/usr/bin/env bash
# How close `fedsilo sweep --jobs 2` comes to what two cores of this machine can give (see
# BENCHMARKS.md, "Sweeps in parallel").
#   simulations/bench/sweep_scaling.sh [REPS]
# Each repetition runs, one after the other, on reproduction 3's grid class (sdp_sum_fair_fermi on
# Adult, 50 points of 300 rounds):
#   serial   one sweep, --jobs 1 --threads 1                                  wall T1
#   jobs2    the same sweep, --jobs 2 (one worker thread per point)           wall Tj
#   control  two independent serial sweeps started together, two processes   wall Tc
# The control is the same work split perfectly in two with nothing shared, so 2 T1 / Tc is the
# machine's own two-core ceiling for it; T1 / Tj is the sweep's speed-up. Prints the medians over
# REPS and checks that every sweep.csv is byte-identical. Run from the repository root after
# building, on an idle machine.
set -euo pipefail
REPS=${1:-5}
BIN=${FEDSILO_BIN:-build/fedsilo}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fedsilo_sweep_scaling_XXXX")
trap 'rm -rf "$WORK"' EXIT
GRID=(simulations/configs/fermi/adult_fermi_sdp_sum.yaml --quiet --set data.validation=0.1
      --set privacy.epsilon=1 --set-list fairness.lambda=0,1,4,16,32 --set-list privacy.clip=1,10
      --set-list seed=1,2,3,4,5)

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
sweep() {  # sweep OUT ARGS...: one sweep into a fresh OUT
  local out=$1; shift
  "$BIN" sweep "${GRID[@]}" --out "$out" "$@" >"$out.log" 2>&1 || { cat "$out.log" >&2; return 1; }
}

speedups="" ceilings="" serials="" jobs2s="" controls=""
for rep in $(seq "$REPS"); do
  t0=$(now); sweep "$WORK/serial.$rep" --jobs 1 --threads 1
  t1=$(now); sweep "$WORK/jobs2.$rep" --jobs 2
  t2=$(now)
  sweep "$WORK/control_a.$rep" --jobs 1 --threads 1 & a=$!
  sweep "$WORK/control_b.$rep" --jobs 1 --threads 1 & b=$!
  wait $a; wait $b
  t3=$(now)
  for other in jobs2 control_a control_b; do
    cmp -s "$WORK/serial.$rep/sweep.csv" "$WORK/$other.$rep/sweep.csv" ||
      { echo "sweep.csv of $other differs from the serial one (rep $rep)" >&2; exit 1; }
  done
  read -r serial jobs2 control speedup ceiling < <(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
    'BEGIN {s = b - a; j = c - b; k = d - c; printf "%.2f %.2f %.2f %.3f %.3f\n", s, j, k, s / j, 2 * s / k}')
  echo "rep $rep: serial ${serial} s, --jobs 2 ${jobs2} s, two serial sweeps at once ${control} s:" \
       "speed-up ${speedup}x, machine ceiling ${ceiling}x"
  serials+="$serial " jobs2s+="$jobs2 " controls+="$control " speedups+="$speedup " ceilings+="$ceiling "
done
med() { echo $1 | tr ' ' '\n' | median; }
echo "medians over $REPS: serial $(med "$serials") s, --jobs 2 $(med "$jobs2s") s," \
     "control $(med "$controls") s; speed-up $(med "$speedups")x against a ceiling of" \
     "$(med "$ceilings")x (every sweep.csv byte-identical)"
