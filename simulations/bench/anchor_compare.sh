#!/usr/bin/env bash
# Times fedsilo against the Python speed anchors (simulations/bench/isrl_dp_anchor_*.py), alternately:
# for each workload and thread count, --reps times: fedsilo, then every anchor, then fedsilo again...
# The anchors add the noise std that fedsilo's run just before them used (read from its silos.csv).
# Prints a markdown table of medians (and min/max, peak RSS, test accuracy); --out also writes it,
# with the raw measurements beside it (FILE.tsv). Not a test: never add it to ctest.
#
# usage: simulations/bench/anchor_compare.sh [--reps N] [--out FILE] [--quick] [--threads "1 2"]
#            [--workloads "mnist adult"] [--no-loop] [--blas-dir DIR] [--data-dir DIR] [--keep]
#   --quick      2 MNIST rounds and 20 Adult rounds instead of 20 and 200 (a smoke run)
#   --no-loop    skip the naive NumPy per-silo loop anchor on Adult
#   --blas-dir   a directory holding an optimized libblas.so.3 (e.g. OpenBLAS's openblas-openmp),
#                put first on the anchors' LD_LIBRARY_PATH; Debian's default libblas.so.3 is the
#                slow netlib reference, see simulations/bench/README.md
#   --keep       keep the scratch directory (fedsilo outputs, anchor logs)
# env: FEDSILO_BIN (default ./build/fedsilo), FEDSILO_DATA (default ../shared/data)
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SELF")/../.." && pwd)
cd "$ROOT"
PY=/usr/bin/python3
FEDSILO=${FEDSILO_BIN:-./build/fedsilo}  # FEDSILO_BIN: another build of fedsilo
REPS=5 OUT="" QUICK=0 THREADS="1 2" WORKLOADS="mnist adult" LOOP=1 BLAS_DIR="" KEEP=0
DATA_DIR=${FEDSILO_DATA:-$ROOT/../shared/data}
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --threads) THREADS=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --no-loop) LOOP=0; shift ;;
    --blas-dir) BLAS_DIR=$(cd "$2" && pwd); shift 2 ;;
    --data-dir) DATA_DIR=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,16p' "$SELF"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ -x $FEDSILO ]] || { echo "$FEDSILO not found: build first" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 1; }
"$PY" -c 'import numpy, torch' || { echo "$PY needs numpy and torch (python3-numpy, python3-torch)" >&2; exit 1; }
export FEDSILO_DATA=$DATA_DIR  # fedsilo and the anchors read the same files
ANCHOR_LDP=${LD_LIBRARY_PATH:-}
if [[ -z $BLAS_DIR && $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null) == */blas/libblas.so.3* ]]; then
  echo "warning: the anchors will use the netlib reference BLAS (slow); see --blas-dir in" \
    "simulations/bench/README.md" >&2
fi
[[ -n $BLAS_DIR ]] && ANCHOR_LDP=$BLAS_DIR${ANCHOR_LDP:+:$ANCHOR_LDP}

SCRATCH=$(mktemp -d /tmp/anchor_compare.XXXXXX)
if [[ $KEEP == 1 ]]; then echo "scratch: $SCRATCH" >&2; else trap 'rm -rf "$SCRATCH"' EXIT; fi
RAW=$SCRATCH/raw.tsv
printf 'workload\tthreads\timpl\trep\ttrain_seconds\tmax_rss_kb\ttest_accuracy\tsigma\tblas\n' >"$RAW"

# run LOG CMD...: runs CMD under /usr/bin/time, stdout to LOG.out; sets RSS_KB. Stops on failure.
run() {
  local log=$1; shift
  if ! /usr/bin/time -f '%M' -o "$log.rss" "$@" >"$log.out" 2>"$log.err"; then
    echo "failed: $*" >&2; tail -n 20 "$log.err" >&2; exit 1
  fi
  RSS_KB=$(tail -n 1 "$log.rss")
}

# fedsilo_result DIR: "train_seconds test_accuracy sigma z" from DIR/summary.json and DIR/silos.csv.
# sigma = noise std on a silo's clipped SUM / clip = noise_sigma_mean * batch / clip (the mean over
# silos; with calibration paper, silos of different sizes differ slightly); z is fedsilo's own
# noise multiplier (std_sum / (2 clip) for fixed-size batches), reported for reference.
fedsilo_result() {
  "$PY" - "$1" <<'EOF'
import csv, json, os, sys
d = sys.argv[1]
s = json.load(open(os.path.join(d, "summary.json")))
rows = list(csv.DictReader(open(os.path.join(d, "silos.csv"))))
clip, batch = float(s["privacy"]["clip"]), 64
sigma = sum(float(r["noise_sigma_mean"]) for r in rows) / len(rows) * batch / clip
z = sum(float(r["noise_multiplier"]) for r in rows) / len(rows)
print(s["timing"]["train_seconds"], s["final"]["test_accuracy"], repr(sigma), repr(z))
EOF
}

json_field() { "$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' "$1" "$2"; }

for wl in $WORKLOADS; do
  case $wl in
    mnist) CONFIG=simulations/configs/bench_mnist_mlp_isrl_dp.yaml; ROUNDS=20
           FS_EXTRA=(); ANCHORS=("torch") ;;
    adult) CONFIG=simulations/configs/adult_isrl_dp.yaml; ROUNDS=200
           FS_EXTRA=(--set output.eval_every=1000); ANCHORS=("numpy" "torch")
           [[ $LOOP == 1 ]] && ANCHORS+=("numpy_loop") ;;
    *) echo "unknown workload $wl (mnist, adult)" >&2; exit 2 ;;
  esac
  if [[ $QUICK == 1 ]]; then
    [[ $wl == mnist ]] && ROUNDS=2 || ROUNDS=20
    FS_EXTRA+=(--set "algorithm.rounds=$ROUNDS")
  fi
  for T in $THREADS; do
    export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T MKL_NUM_THREADS=$T
    for ((rep = 1; rep <= REPS; rep++)); do
      tag=${wl}_t${T}_r$rep
      run "$SCRATCH/$tag.fedsilo" "$FEDSILO" run "$CONFIG" --threads "$T" --quiet \
        --set "output.dir=$SCRATCH/$tag.fedsilo.dir" "${FS_EXTRA[@]}"
      read -r secs acc SIGMA Z < <(fedsilo_result "$SCRATCH/$tag.fedsilo.dir") || true
      [[ -n ${Z:-} ]] || { echo "cannot read $SCRATCH/$tag.fedsilo.dir/{summary.json,silos.csv}" >&2; exit 1; }
      printf '%s\t%s\tfedsilo\t%s\t%s\t%s\t%s\t%s\t-\n' "$wl" "$T" "$rep" "$secs" "$RSS_KB" "$acc" "$SIGMA" >>"$RAW"
      echo "$tag fedsilo: ${secs}s acc $acc sigma(sum/clip) $SIGMA (fedsilo z $Z)" >&2
      for impl in "${ANCHORS[@]}"; do
        cmd=(env "LD_LIBRARY_PATH=$ANCHOR_LDP")
        case $impl in
          torch) cmd+=("$PY" simulations/bench/isrl_dp_anchor_torch.py --workload "$wl") ;;
          numpy) cmd+=("$PY" simulations/bench/isrl_dp_anchor_numpy.py) ;;
          numpy_loop) cmd+=("$PY" simulations/bench/isrl_dp_anchor_numpy.py --loop) ;;
        esac
        cmd+=(--threads "$T" --rounds "$ROUNDS" --noise-multiplier "$SIGMA" --data-dir "$DATA_DIR")
        run "$SCRATCH/$tag.$impl" "${cmd[@]}"
        out=$SCRATCH/$tag.$impl.out
        secs=$(json_field "$out" train_seconds); acc=$(json_field "$out" test_accuracy)
        blas=$(json_field "$out" blas)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$T" "$impl" "$rep" "$secs" "$RSS_KB" "$acc" "$SIGMA" "$blas" >>"$RAW"
        echo "$tag $impl: ${secs}s acc $acc" >&2
      done
    done
  done
done

TABLE=$SCRATCH/table.md
"$PY" - "$RAW" "$REPS" "$QUICK" "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" >"$TABLE" <<'EOF'
import csv, statistics, sys, time
raw, reps, quick, rev = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
rows = list(csv.DictReader(open(raw), delimiter="\t"))
groups = {}
for r in rows:
    groups.setdefault((r["workload"], r["threads"], r["impl"]), []).append(r)
med = lambda rs, k: statistics.median(float(r[k]) for r in rs)
span = lambda rs: f'{min(float(r["train_seconds"]) for r in rs):.3f} / {max(float(r["train_seconds"]) for r in rs):.3f}'
names = {"mnist": "MNIST MLP 784-80-60-10 ELU, 20 silos, 5 local steps a round (20 rounds; --quick: 2)",
         "adult": "Adult logistic, 100 silos, 1 local step a round (200 rounds; --quick: 20)"}
print(f"fedsilo vs Python anchors: median train_seconds (round loop only) of {reps} alternating runs"
      f"{' (QUICK: fewer rounds)' if quick else ''}; commit {rev}, {time.strftime('%Y-%m-%d %H:%M')}\n")
print("| workload | threads | anchor | fedsilo median s | anchor median s | anchor / fedsilo "
      "| fedsilo min / max s | anchor min / max s | fedsilo peak RSS MB | anchor peak RSS MB "
      "| fedsilo test acc | anchor test acc |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
blas, sigmas = set(), {}
for (wl, t, impl), rs in groups.items():
    if impl == "fedsilo":
        continue
    fs = groups[(wl, t, "fedsilo")]
    blas.update(r["blas"] for r in rs)
    sigmas.setdefault(wl, set()).update(f'{float(r["sigma"]):.6g}' for r in rs)
    f, a = med(fs, "train_seconds"), med(rs, "train_seconds")
    print(f"| {wl} | {t} | {impl} | {f:.3f} | {a:.3f} | {a / f:.2f}x | {span(fs)} | {span(rs)} "
          f"| {med(fs, 'max_rss_kb') / 1024:.0f} | {med(rs, 'max_rss_kb') / 1024:.0f} "
          f"| {med(fs, 'test_accuracy'):.4f} | {med(rs, 'test_accuracy'):.4f} |")
print()
for wl, s in sigmas.items():
    print(f"- {wl}: {names.get(wl, wl)}; noise std on each clipped sum / clip (sigma) = {', '.join(sorted(s))}")
print(f"- anchors' BLAS: {'; '.join(sorted(blas))}")
EOF
cat "$TABLE"
if [[ -n $OUT ]]; then
  cp "$TABLE" "$OUT"
  cp "$RAW" "${OUT%.md}.tsv"
  echo "wrote $OUT and ${OUT%.md}.tsv" >&2
fi
