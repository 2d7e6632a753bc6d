#!/usr/bin/env bash
# Two variants of simulations/configs/sdp/adult_many_silos.yaml for docs/experiments.md,
# "Shuffle-DP": smaller batches (K = 16: 1,600 reports per round) and more, smaller silos
# (300 silos of ~100 records, K = 32: 9,600 reports per round). Same algorithms, epsilons and
# table as simulations/sdp_comparison.sh. Usage: simulations/sdp_variants.sh [OUT_DIR] [SEEDS]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/sdp_variants}
seeds=${2:-1,2}
config=simulations/configs/sdp/adult_many_silos.yaml
declare -A variant=(
  [adult_many_silos_k16]="--set algorithm.batch_size=16"
  [adult_300_silos_k32]="--set partition.silos=300 --set network.min_replies=300 --set algorithm.batch_size=32 --set privacy.min_silo_records=100"
)
for name in adult_many_silos_k16 adult_300_silos_k32; do
  # shellcheck disable=SC2086
  ./build/fedsilo sweep "$config" --out "$out/$name/private" ${variant[$name]} \
    --set-list algorithm.name=sdp_minibatch_sgd,isrl_dp_minibatch_sgd \
    --set-list privacy.epsilon=0.5,1,3,8 --set-list seed="$seeds"
  # shellcheck disable=SC2086
  ./build/fedsilo sweep "$config" --out "$out/$name/plain" ${variant[$name]} \
    --set algorithm.name=minibatch_sgd --set privacy=none --set-list seed="$seeds"
done
python3 simulations/sdp_table.py "$out" adult_many_silos_k16 adult_300_silos_k32
