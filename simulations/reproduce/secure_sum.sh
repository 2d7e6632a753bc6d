#!/usr/bin/env bash
# Reproduction 4 of docs/experiments.md (issue 15): at equal per-silo (epsilon, delta = 1e-5),
# the shuffle-model secure summation (sdp_sum_minibatch_sgd) against central DP with a trusted
# server (central_dp_minibatch_sgd), ISRL-DP (isrl_dp_minibatch_sgd), the per-record shuffle
# protocol (sdp_minibatch_sgd, fixed-size batches) and non-private minibatch SGD, on MNIST
# even/odd (secure_sum_mnist.yaml) or UCI Adult (secure_sum_adult.yaml) with M in {5, 10, 25, 100}
# silos, all taking part every round (network.min_replies =
# M: the secure sum is calibrated for M honest silos), epsilon in {0.5, 1, 3, 8}. The clip is
# chosen on the validation split from {1, 3} for every algorithm, M and epsilon; the table gives
# the test error at that choice, mean and std over the seeds.
# Writes OUT/<algorithm>_M<silos>/ (a sweep that stopped half-way is resumed), OUT/table.md (one
# row per sweep and epsilon), OUT/by_epsilon.md (one table per epsilon, one row per M) and
# OUT/test_error_eps{0.5,1}.png (+ .csv). About 9 minutes (MNIST) or 8 (Adult) on 2 idle
# cores.
# Usage: simulations/reproduce/secure_sum.sh [mnist|adult] [OUT] [SEEDS]
#   defaults: mnist, runs/reproduce/secure_sum_<dataset>, 1,2,3.  FEDSILO=path/to/fedsilo, JOBS=2.
set -euo pipefail
cd "$(dirname "$0")/../.."
dataset=${1:-mnist}
out=${2:-runs/reproduce/secure_sum_$dataset}
seeds=${3:-1,2,3}
bin=${FEDSILO:-./build/fedsilo}
jobs=${JOBS:-2}
config=simulations/reproduce/secure_sum_$dataset.yaml
epsilons=0.5,1,3,8

source simulations/reproduce/sweep_helpers.sh
# The public lower bound on a silo's training records after the validation holdout, as the
# partitions give them. MNIST even_odd_pairs hands out 2,410 records a silo up to 10 silos, then
# splits 54,200 (5 and 10 silos hold 10,845 and 21,690 records in all, 25 and 100 hold 48,800);
# Adult splits its 30,162 records IID.
min_records() {
  case $dataset:$1 in
    mnist:5|mnist:10) echo 2169 ;; mnist:25) echo 1952 ;; mnist:100) echo 488 ;;
    adult:5) echo 5429 ;; adult:10) echo 2715 ;; adult:25) echo 1086 ;; adult:100) echo 271 ;;
    *) echo "unknown dataset $dataset" >&2; exit 2 ;;
  esac
}

sweeps=()
for m in 5 10 25 100; do
  common=(--set partition.silos=$m --set network.min_replies=$m
          --set privacy.min_silo_records="$(min_records $m)" --set-list seed="$seeds")
  for algorithm in sdp_sum_minibatch_sgd central_dp_minibatch_sgd isrl_dp_minibatch_sgd; do
    run_sweep "$out/${algorithm}_M$m" "$config" "${common[@]}" --set algorithm.name=$algorithm \
      --set-list privacy.epsilon=$epsilons --set-list privacy.clip=1,3
    sweeps+=("$out/${algorithm}_M$m")
  done
  run_sweep "$out/sdp_minibatch_sgd_M$m" "$config" "${common[@]}" \
    --set algorithm.name=sdp_minibatch_sgd --set privacy.sampling=without_replacement \
    --set-list privacy.epsilon=$epsilons --set-list privacy.clip=1,3
  sweeps+=("$out/sdp_minibatch_sgd_M$m")
  run_sweep "$out/minibatch_sgd_M$m" "$config" --set partition.silos=$m \
    --set-list seed="$seeds" --set algorithm.name=minibatch_sgd --set privacy=none
  sweeps+=("$out/minibatch_sgd_M$m")
done

python3 simulations/reproduce/select_on_validation.py --tune privacy.clip --by privacy.epsilon \
  --runs "$out/chosen_runs.txt" "${sweeps[@]}" > "$out/table.md"
python3 simulations/reproduce/secure_sum_table.py "$out/table.md" | tee "$out/by_epsilon.md"
for eps in 0.5 1; do
  mapfile -t runs < <(grep -v "/minibatch_sgd_M" "$out/chosen_runs.txt")
  "$bin" plot "${runs[@]}" --where privacy.epsilon=$eps --x-key partition.silos --log-x \
    --y test_error --curve-by algorithm.name --band std --out "$out/test_error_eps$eps.png" \
    --x-label "silos M (all take part; batch 32 each)" --y-label "test error" \
    --title "$dataset, epsilon $eps per silo, delta 1e-5, 100 rounds (clip chosen on validation)"
done
