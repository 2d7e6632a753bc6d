#!/usr/bin/env bash
# Reproduction 2 of docs/experiments.md: Per-FedAvg (Fallah, Mokhtari, Ozdaglar 2020) on MNIST with
# the paper's split (n = 50, a = 196), MLP 80-60 ELU, 20% of silos a round, beta = 0.001 and the
# same step for FedAvg: FedAvg + update (FedAvg, then one step of size alpha at each silo) against
# Per-FedAvg FO and HF, for tau (local steps) in {4, 10} and alpha in {0.001, 0.01}, ROUNDS rounds.
# No step size is tuned: every one is the paper's. The table gives the personalized accuracy (mean
# over silos, and the worst silo), mean and std over the seeds.
# Writes OUT/<algorithm>/ (a sweep that stopped half-way is resumed), OUT/table.md and
# OUT/personalized_accuracy_tau<T>_alpha<A>.png (+ .csv with the plotted numbers).
# About 15 minutes on 2 idle cores (36 runs of 1,000 rounds).
# Usage: simulations/reproduce/per_fedavg_mnist.sh [OUT] [SEEDS] [ROUNDS]
#   defaults: runs/reproduce/per_fedavg_mnist, 1,2,3, 1000.  FEDSILO=path/to/fedsilo, JOBS=2.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/reproduce/per_fedavg_mnist}
seeds=${2:-1,2,3}
rounds=${3:-1000}
bin=${FEDSILO:-./build/fedsilo}
jobs=${JOBS:-2}
config=simulations/reproduce/per_fedavg_mnist.yaml

source simulations/reproduce/sweep_helpers.sh
sweep() {  # OUT_SUBDIR, then sweep arguments
  local dir=$out/$1
  shift
  run_sweep "$dir" "$config" --set algorithm.rounds="$rounds" \
    --set output.eval_every=$((rounds / 10 > 0 ? rounds / 10 : 1)) \
    --set-list algorithm.local_steps=4,10 --set-list algorithm.alpha=0.001,0.01 \
    --set-list seed="$seeds" "$@"
}
sweep fedavg_update --set algorithm.name=fedavg
sweep per_fedavg_fo --set algorithm.name=per_fedavg --set algorithm.variant=fo
sweep per_fedavg_hf --set algorithm.name=per_fedavg --set algorithm.variant=hf

python3 - "$out" "$rounds" <<'PY' | tee "$out/table.md"
import csv, sys
out, rounds = sys.argv[1], sys.argv[2]
names = [("fedavg_update", "FedAvg + update"), ("per_fedavg_fo", "Per-FedAvg (FO)"),
         ("per_fedavg_hf", "Per-FedAvg (HF)")]
rows = {}
for folder, _ in names:
    with open(f"{out}/{folder}/sweep_summary.csv") as f:
        for r in csv.DictReader(f):
            rows[(folder, r["algorithm.local_steps"], r["algorithm.alpha"])] = r
def cell(r, metric):
    std = r[f"{metric}_std"]
    return f"{float(r[metric + '_mean']):.4f} ± {float(std):.4f}" if std else \
        f"{float(r[metric + '_mean']):.4f}"
print(f"Personalized accuracy after one step of size alpha, mean over the 50 silos (worst silo "
      f"below it), mean ± std over {rows[next(iter(rows))]['runs']} seeds; {rounds} rounds.\n")
print("| tau | alpha | " + " | ".join(label for _, label in names) + " |")
print("|---|---|" + "---|" * len(names))
for tau in ("4", "10"):
    for alpha in ("0.001", "0.01"):
        cells = [rows[(folder, tau, alpha)] for folder, _ in names]
        print(f"| {tau} | {alpha} | " +
              " | ".join(cell(r, "personalized_accuracy_mean") for r in cells) + " |")
        print(f"| | worst silo | " +
              " | ".join(cell(r, "personalized_accuracy_min") for r in cells) + " |")
PY
for tau in 4 10; do
  for alpha in 0.001 0.01; do
    "$bin" plot "$out/fedavg_update" "$out/per_fedavg_fo" "$out/per_fedavg_hf" \
      --where algorithm.local_steps=$tau --where algorithm.alpha=$alpha \
      --y personalized_accuracy_mean --curve-by algorithm.name --curve-by algorithm.variant \
      --band std --out "$out/personalized_accuracy_tau${tau}_alpha${alpha}.png" \
      --y-label "personalized accuracy (mean over silos)" \
      --title "MNIST, n = 50, a = 196, tau = $tau, alpha = $alpha, beta = 0.001"
  done
done
