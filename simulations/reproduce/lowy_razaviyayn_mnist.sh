#!/usr/bin/env bash
# Reproduction 1 of docs/experiments.md: Lowy & Razaviyayn, MNIST even/odd (PCA-50, logistic,
# 25 silos, 12 per round, 35 rounds): ISRL-DP minibatch SGD (batch 64, and batch 320 = the
# gradients local SGD computes in a round) against ISRL-DP local SGD (FedAvg, 5 local steps of 64)
# and the non-private versions, test error against epsilon in {0.75, 1.5, 3, 6, 12, 18}
# (delta = 1/n_i^2 per silo, RDP accountant). For every algorithm and epsilon the step size is
# chosen on the validation split from {0.25, 0.5, 1, 2, 4, 8, 16}; the table gives the test error
# at that choice, mean and std over the seeds.
# Writes OUT/<sweep>/ (a sweep that stopped half-way is resumed), OUT/table.md and
# OUT/test_error.png (+ .csv with the plotted numbers). About 25 seconds on 2 idle cores (the
# MNIST load and PCA, once per seed, were nearly all of its 13 minutes before sweeps shared it).
# Usage: simulations/reproduce/lowy_razaviyayn_mnist.sh [OUT] [SEEDS]
#   defaults: runs/reproduce/lowy_razaviyayn_mnist, 1,2,3.  FEDSILO=path/to/fedsilo, JOBS=2.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/reproduce/lowy_razaviyayn_mnist}
seeds=${2:-1,2,3}
bin=${FEDSILO:-./build/fedsilo}
jobs=${JOBS:-2}
config=simulations/reproduce/lowy_razaviyayn_mnist.yaml
lrs=0.25,0.5,1,2,4,8,16

source simulations/reproduce/sweep_helpers.sh
sweep() {  # OUT_SUBDIR, then sweep arguments
  local dir=$out/$1
  shift
  run_sweep "$dir" "$config" --set-list algorithm.lr=$lrs --set-list seed="$seeds" "$@"
}
sweep isrl_dp_minibatch_sgd --set algorithm.name=isrl_dp_minibatch_sgd \
  --set-list privacy.epsilon=0.75,1.5,3,6,12,18
sweep isrl_dp_minibatch_sgd_b320 --set algorithm.name=isrl_dp_minibatch_sgd \
  --set algorithm.batch_size=320 --set-list privacy.epsilon=0.75,1.5,3,6,12,18
sweep isrl_dp_fedavg --set algorithm.name=isrl_dp_fedavg --set algorithm.local_steps=5 \
  --set-list privacy.epsilon=0.75,1.5,3,6,12,18
sweep minibatch_sgd --set algorithm.name=minibatch_sgd --set privacy=none
sweep fedavg --set algorithm.name=fedavg --set algorithm.local_steps=5 --set privacy=none

python3 simulations/reproduce/select_on_validation.py --tune algorithm.lr --by privacy.epsilon \
  --runs "$out/chosen_runs.txt" --references "$out/references.txt" \
  "$out/isrl_dp_minibatch_sgd" "$out/isrl_dp_minibatch_sgd_b320" "$out/isrl_dp_fedavg" \
  "$out/minibatch_sgd" "$out/fedavg" |
  tee "$out/table.md"
mapfile -t private_runs < <(grep isrl_dp "$out/chosen_runs.txt")
references=()
while read -r line; do references+=(--reference "${line/=/ (non-private)=}"); done \
  < "$out/references.txt"
"$bin" plot "${private_runs[@]}" "${references[@]}" --x-key privacy.epsilon --y test_error \
  --curve-by algorithm.name --curve-by algorithm.batch_size --log-x --band std \
  --out "$out/test_error.png" --x-label "epsilon (per silo, delta = 1/n^2)" --y-label "test error" \
  --title "MNIST even/odd, 25 silos, 12 per round, 35 rounds (lr chosen on validation)"
