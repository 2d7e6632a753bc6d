#!/usr/bin/env bash
# Shuffle-model DP (sdp_minibatch_sgd) vs ISRL-DP (isrl_dp_minibatch_sgd) vs non-private
# minibatch SGD at equal (epsilon, delta) on the three setups of simulations/configs/sdp/, over
# epsilon in {0.5, 1, 3, 8} and the given seeds. Writes OUT/<setup>/{private,plain}/sweep.csv and
# prints one table: setup, algorithm, epsilon, mean and spread of the final test accuracy.
# Usage: simulations/sdp_comparison.sh [OUT_DIR] [SEEDS] [SETUPS]
#   defaults: runs/sdp_comparison, "1,2", "adult_many_silos adult_few_silos mnist_even_odd"
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/sdp_comparison}
seeds=${2:-1,2}
setups=${3:-adult_many_silos adult_few_silos mnist_even_odd}
bin=./build/fedsilo
for setup in $setups; do
  config=simulations/configs/sdp/$setup.yaml
  "$bin" sweep "$config" --out "$out/$setup/private" \
    --set-list algorithm.name=sdp_minibatch_sgd,isrl_dp_minibatch_sgd \
    --set-list privacy.epsilon=0.5,1,3,8 --set-list seed="$seeds"
  "$bin" sweep "$config" --out "$out/$setup/plain" \
    --set algorithm.name=minibatch_sgd --set privacy=none --set-list seed="$seeds"
done
python3 simulations/sdp_table.py "$out" $setups
