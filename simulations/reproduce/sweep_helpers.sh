# Sourced by the reproduction scripts (simulations/reproduce/*.sh), which set `bin` (fedsilo) and
# `jobs` first.
# run_sweep DIR CONFIG ARGS...: `fedsilo sweep CONFIG ARGS...` into DIR with `jobs` points at
# once; a sweep that stopped half-way in DIR is resumed (its finished points are not rerun).
run_sweep() {
  local dir=$1 config=$2
  shift 2
  local resume=()
  [[ -f $dir/sweep_points.txt ]] && resume=(--resume)
  "$bin" sweep "$config" --out "$dir" --jobs "$jobs" --quiet "${resume[@]}" "$@"
}
