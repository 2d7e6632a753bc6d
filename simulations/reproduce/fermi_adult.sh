#!/usr/bin/env bash
# Reproduction 3 of docs/experiments.md: private fair FL with DP-FERMI on UCI Adult, demographic
# parity (sex), 10 silos by age (simulations/configs/fermi/), against the published centralized
# DP-FERMI points at epsilon 1 (Lowy, Gupta, Razaviyayn 2023). The error / violation trade-off for
# epsilon in {0.5, 1, 3}, with ISRL-DP (isrl_dp_fair_fermi) and through the shuffle model's
# secure sum (sdp_sum_fair_fermi), and without privacy: lambda from 0 to 64, and for the
# private runs the theta clip (1, 3 or 10) and the output (the last model, or the mean of the
# last 200 rounds' models, algorithm.average_last). Which settings form each curve is decided on a
# validation split (a tenth of each silo's records) by simulations/reproduce/fairness_front.py:
# the validation Pareto front of error and violation; the table and the plot give those settings'
# test numbers, mean and std over the seeds.
# Writes OUT/private/, OUT/secure_sum/ and OUT/plain/ (sweeps; a half-finished one is resumed),
# OUT/table.md, OUT/chosen/ (the front's rows), OUT/tradeoff.png and OUT/tradeoff_secure_sum.png.
# About 2 minutes on 2 idle cores (4,180 runs).
# Usage: simulations/reproduce/fermi_adult.sh [OUT] [SEEDS]
#   defaults: runs/reproduce/fermi_adult, seeds 1 to 10.  FEDSILO=path/to/fedsilo, JOBS=2.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/reproduce/fermi_adult}
seeds=${2:-1,2,3,4,5,6,7,8,9,10}
bin=${FEDSILO:-./build/fedsilo}
jobs=${JOBS:-2}
lambdas=0,0.25,0.5,1,2,4,8,16,32,48,64

source simulations/reproduce/sweep_helpers.sh
sweep() {  # OUT_SUBDIR CONFIG, then sweep arguments
  local dir=$out/$1 config=$2
  shift 2
  run_sweep "$dir" "$config" --set data.validation=0.1 --set-list fairness.lambda=$lambdas \
    --set-list algorithm.average_last=0,200 --set-list seed="$seeds" "$@"
}
sweep private simulations/configs/fermi/adult_fermi_dp.yaml \
  --set-list privacy.epsilon=0.5,1,3 --set-list privacy.clip=1,3,10
sweep secure_sum simulations/configs/fermi/adult_fermi_sdp_sum.yaml \
  --set-list privacy.epsilon=0.5,1,3 --set-list privacy.clip=1,3,10
sweep plain simulations/configs/fermi/adult_fermi.yaml

python3 simulations/reproduce/fairness_front.py --chosen "$out/chosen" "$out/private" \
  "$out/secure_sum" "$out/plain" | tee "$out/table.md"
# The published centralized points (epsilon 1; lambda 0, 0.25, 0.5, 0.75, 1), as a sweep table.
cat >"$out/chosen/published.csv" <<'CSV'
privacy.epsilon,fairness.lambda,rounds_completed,epsilon,test_error,dp_violation
1 (published),0,1,1,0.159,0.202
1 (published),0.25,1,1,0.160,0.142
1 (published),0.5,1,1,0.166,0.098
1 (published),0.75,1,1,0.176,0.046
1 (published),1,1,1,0.187,0.010
CSV
bash simulations/plot_fairness_tradeoff.sh -t "Adult, demographic parity, 10 silos" \
  -o "$out/tradeoff.png" "$out/chosen/private.csv" "$out/chosen/plain.csv" \
  "$out/chosen/published.csv"
# The secure sum's fronts against ISRL-DP's at epsilon 1: the curves are named by their
# privacy.epsilon column, so each table's rows get a name after their epsilon.
# name_curves IN OUT NAME [EPSILON]: IN's rows (those of EPSILON only, when given) with
# privacy.epsilon "<epsilon> NAME", into OUT.
name_curves() {
  awk -F, -v OFS=, -v name="$3" -v only="${4:-}" '
    NR == 1 { for (i = 1; i <= NF; ++i) if ($i == "privacy.epsilon") c = i; print; next }
    only == "" || $c == only { $c = $c " " name; print }' "$1" >"$2"
}
name_curves "$out/chosen/secure_sum.csv" "$out/chosen/secure_sum_named.csv" "secure sum"
name_curves "$out/chosen/private.csv" "$out/chosen/private_eps1.csv" ISRL-DP 1
bash simulations/plot_fairness_tradeoff.sh -t "Adult, demographic parity, 10 silos: secure sum" \
  -o "$out/tradeoff_secure_sum.png" "$out/chosen/secure_sum_named.csv" \
  "$out/chosen/private_eps1.csv" "$out/chosen/plain.csv" "$out/chosen/published.csv"
