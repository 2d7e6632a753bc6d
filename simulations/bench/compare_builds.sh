#!/usr/bin/env bash
# Times several builds of fedsilo on the same configs, alternately (binary 1, 2, ..., then again),
# and prints a markdown table of medians: training, evaluation and loading seconds from each run's
# summary.json, and peak resident memory. For "which change moved this figure" in BENCHMARKS.md.
# Not a test: never add it to ctest.
#
# usage: simulations/bench/compare_builds.sh [--reps N] [--threads "1 2"] [--config FILE]...
#            NAME=BINARY [NAME=BINARY ...]
#   --config   a config to run (repeatable; default: the MNIST MLP and Adult ISRL-DP workloads)
# env: FEDSILO_DATA (default ../shared/data)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
cd "$ROOT"
REPS=5 THREADS="1 2" CONFIGS=() BUILDS=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --reps) REPS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --config) CONFIGS+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *=*) BUILDS+=("$1"); shift ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#BUILDS[@]} -gt 0 ]] || { echo "name at least one build: NAME=path/to/fedsilo" >&2; exit 2; }
[[ ${#CONFIGS[@]} -gt 0 ]] || CONFIGS=(simulations/configs/bench_mnist_mlp_isrl_dp.yaml
                                       simulations/configs/adult_isrl_dp.yaml)
export FEDSILO_DATA=${FEDSILO_DATA:-$ROOT/../shared/data}
SCRATCH=$(mktemp -d /tmp/compare_builds.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
RAW=$SCRATCH/raw.tsv
for config in "${CONFIGS[@]}"; do
  for t in $THREADS; do
    for ((rep = 1; rep <= REPS; rep++)); do
      for build in "${BUILDS[@]}"; do
        name=${build%%=*} bin=${build#*=} out=$SCRATCH/run
        rm -rf "$out"
        if ! /usr/bin/time -f '%M' -o "$SCRATCH/rss" "$bin" run "$config" --threads "$t" --quiet \
            --set "output.dir=$out" >"$SCRATCH/log" 2>&1; then
          echo "failed: $bin run $config" >&2; tail -n 20 "$SCRATCH/log" >&2; exit 1
        fi
        /usr/bin/python3 - "$out/summary.json" "$(tail -n 1 "$SCRATCH/rss")" "$config" "$t" "$name" \
          >>"$RAW" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
t = s["timing"]
print("\t".join([sys.argv[3], sys.argv[4], sys.argv[5], str(t["train_seconds"]),
                 str(t["eval_seconds"]), str(t["load_seconds"]), sys.argv[2],
                 str(s["final"]["test_accuracy"])]))
EOF
      done
    done
  done
done
/usr/bin/python3 - "$RAW" "$REPS" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
groups = {}
for r in rows:
    groups.setdefault((r[0], r[1], r[2]), []).append(r)
print(f"median of {sys.argv[2]} alternating runs\n")
print("| config | threads | build | train s (min / max) | eval s | load s | peak RSS MB | test accuracy |")
print("|---|---|---|---|---|---|---|---|")
for (config, t, name), rs in groups.items():
    col = lambda i: [float(r[i]) for r in rs]
    print(f"| {config.split('/')[-1]} | {t} | {name} | {statistics.median(col(3)):.3f} "
          f"({min(col(3)):.3f} / {max(col(3)):.3f}) | {statistics.median(col(4)):.3f} "
          f"| {statistics.median(col(5)):.3f} | {statistics.median(col(6)) / 1024:.0f} "
          f"| {statistics.median(col(7)):.4f} |")
EOF
