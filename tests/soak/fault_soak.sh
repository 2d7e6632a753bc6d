#!/usr/bin/env bash
# Fault soak of networked mode over loopback (issue 18; docs/reliability.md, "Fault soak").
# A script, not a ctest: run it for 30 minutes after every change to the networked code.
#
#   bash tests/soak/fault_soak.sh [--minutes M] [--silos N] [--rounds R] [--seed S]
#                                 [--coordinator-kills K] [--only isrl|sdp]
#                                 [--binary PATH] [--run-dir DIR]
#
# Back to back until M minutes (default 30) have passed, runs of R rounds (default 300) with N
# silo processes (default 32), mutual TLS, each silo with its own --state-dir, alternating
#   isrl   ISRL-DP FedAvg, UCI Adult, MLP 80-60, 20 local steps (a round is real work), and
#   sdp    shuffle-model minibatch SGD, UCI Adult, logistic: silos seal 64 reports a round for the
#          coordinator and a `fedsilo shuffler` process mixes them.
# While a run goes, a chaos loop (seeded by --seed, printed) every 0.2 to 1.2 s does one of:
#   SIGKILL a silo and restart it (same arguments, same state dir) after 0 to 1.5 s;
#   SIGSTOP a silo for 0.5 to 6 s (longer than the round deadline of 3 s), then SIGCONT;
#   SIGKILL the coordinator (at most K times a run, default 2, once its checkpoint exists) and
#     restart it with --resume; SIGKILL the shuffler (sdp runs, at most twice a run) and restart
#     it (killed more often, its 32 silos spend the run reconnecting and no round reaches its
#     quorum);
#   a malformed or hostile peer, whose process must end non-zero without disturbing the run:
#     random bytes, or an HTTP/2 preface and random frames, sent to the coordinator's or the
#     shuffler's port; a silo with silo<j>'s certificate claiming to be silo<k>; a CA-signed
#     "intruder" claiming a silo's shard; a second process for a running silo (its journal lock).
# A sampler records the coordinator's resident memory and thread count every second.
# After each run it checks (and fails the soak naming the run and the silo otherwise):
#   - the coordinator ended with exit 0, summary.json says R rounds completed, and every silo
#     process still running at the end ended with exit 0, or, when it lost its stream in the
#     last rounds and so never heard the run end, with exit 1 "could not reach the coordinator"
#     after its --connect-timeout (counted as "missed the end"); one still running 75 s after
#     the coordinator ended is stuck (its stacks, by gdb, go to logs/NAME.stack); one that
#     crashed leaves a core (every process runs in cores/NAME/ with core dumps on), whose stacks
#     go to logs/NAME.crash;
#   - every silo's journal (`fedsilo journal`) names the run, its last round is at most R, it
#     holds at least the noisy queries the silo last reported, and its epsilon, recomputed from
#     the ledger at the silo's delta, is within the silo's budget (sdp: the silo's reported
#     epsilon and its shuffled rounds);
#   - no hostile peer got in: each ended non-zero, was never welcomed, and its output says why;
#   - the coordinator's memory and threads stayed flat: in every incarnation of 30 s or more, the
#     median resident memory of its last fifth is within 10% (+8 MiB) of its peak over the first
#     four fifths (memory rises while silos join and the first rounds fill gRPC's and malloc's
#     pools; a leak keeps rising to the end), and its thread count never exceeds what the server
#     may use (2 N + 32, plus 16 of its own). For one long incarnation: --coordinator-kills 0 and
#     many rounds.
# Prints one line per run and a summary; writes DIR/soak.csv (one row per run) and
# DIR/resources.csv. Exit 0 when every check held, 1 otherwise, 2 for a usage or set-up error.
set -u -o pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
minutes=30
silos=32
rounds=300
seed="$(( $(date +%s) % 100000 ))"
binary="${FEDSILO_BIN:-$root/build/fedsilo}"
run_dir="$root/runs/soak"
max_coordinator_kills=2
only=""
usage() { sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "fault_soak: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --silos) silos="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --coordinator-kills) max_coordinator_kills="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --run-dir) run_dir="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument $1" ;;
  esac
done
for value in "$minutes" "$silos" "$rounds" "$seed" "$max_coordinator_kills"; do
  [[ "$value" =~ ^[0-9]+$ ]] ||
    die "--minutes, --silos, --rounds, --seed and --coordinator-kills take whole numbers"
done
[[ -z "$only" || "$only" == isrl || "$only" == sdp ]] || die "--only takes isrl or sdp"
(( silos >= 4 )) || die "--silos must be at least 4"
[[ -x "$binary" ]] || die "no fedsilo binary at $binary (build it, or pass --binary)"
command -v python3 >/dev/null || die "python3 is needed for the end-of-run checks"
RANDOM=$seed
mkdir -p "$run_dir" || die "cannot create $run_dir"
run_dir="$(cd "$run_dir" && pwd)"
# A copy of the binary: a rebuild during the soak must not change (or briefly remove) what the
# restarted processes run.
cp "$binary" "$run_dir/fedsilo" || die "cannot copy $binary to $run_dir"
binary="$run_dir/fedsilo"
# The processes run in folders of their own (for their core dumps): they get the data directory
# they would have found from here, absolute, resolved as fedsilo does (FEDSILO_DATA, else
# ../shared/data when it exists, else ./data).
if [[ -z "${FEDSILO_DATA:-}" ]]; then
  if [[ -d ../shared/data ]]; then FEDSILO_DATA="$(cd ../shared/data && pwd)"; else FEDSILO_DATA="$PWD/data"; fi
  export FEDSILO_DATA
fi
say() { echo "fault_soak: $*"; }

# ------------------------------------------------------------------------- certificates
certs="$run_dir/certs"
names=()
for ((i = 0; i < silos; i++)); do names+=("silo$i"); done
if [[ ! -f "$certs/intruder.crt" ]]; then
  bash "$root/scripts/make_certs.sh" --shuffler "$certs" "${names[@]}" intruder >/dev/null 2>&1 ||
    die "scripts/make_certs.sh failed"
fi

# ------------------------------------------------------------------------- process table
declare -A pid=()       # process name -> pid of its live incarnation
declare -A command=()   # process name -> its command line, tab-separated
declare -A killed=()    # process name -> 1 when the chaos loop killed its last incarnation
coordinator_kills=0
hostile_log=""
hostile_failures=0
hostile_count=0

start() {  # start NAME [EXTRA ARG]: from its command line, output appended to logs/NAME.log
  local name="$1"
  local -a args
  IFS=$'\t' read -r -a args <<<"${command[$name]}"
  [[ -n "${2:-}" ]] && args+=("$2")
  # In its own folder with core dumps on, so that a crash leaves cores/NAME/core.
  mkdir -p "$current/cores/$name"
  (cd "$current/cores/$name" && ulimit -c unlimited && exec "${args[@]}") >>"$logs/$name.log" 2>&1 &
  pid[$name]=$!
  killed[$name]=0
  [[ "$name" == coordinator ]] && echo "${pid[$name]}" >"$current/coordinator.pid"
}

alive() { [[ -n "${pid[$1]:-}" ]] && kill -0 "${pid[$1]}" 2>/dev/null; }

kill_and_restart() {  # NAME SECONDS_DOWN [EXTRA ARG]
  local name="$1"
  alive "$name" || return 0
  kill -KILL "${pid[$name]}" 2>/dev/null
  wait "${pid[$name]}" 2>/dev/null
  killed[$name]=1
  sleep "$2"
  alive coordinator || [[ "$name" == coordinator ]] || return 0  # the run ended meanwhile
  start "$name" "${3:-}"
}

# A hostile peer: runs COMMAND... with a 20 s limit. It holds when the process ends non-zero,
# was never welcomed into the run (a silo logs "'NAME' is silo ID" when it joins) and its output
# matches PATTERN.
hostile() {
  local label="$1" pattern="$2"; shift 2
  hostile_count=$((hostile_count + 1))
  local out="$logs/hostile_$hostile_count.log"
  timeout 20 "$@" >"$out" 2>&1
  local status=$?
  if [[ $status -eq 0 ]] || grep -q "' is silo [0-9]" "$out" || ! grep -qE "$pattern" "$out"; then
    hostile_failures=$((hostile_failures + 1))
    hostile_log+="$label was not refused as expected (exit $status, $out); "
  fi
}

random_between() { echo $(( $1 + RANDOM % ($2 - $1 + 1) )); }  # integers
tenths() { printf '%d.%d' $(( $1 / 10 )) $(( $1 % 10 )); }

garbage_to() {  # PORT KIND: random bytes, or an HTTP/2 client preface and random frames
  local port="$1" kind="$2"
  if [[ "$kind" == preface ]]; then
    { printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'; head -c "$(random_between 9 4000)" /dev/urandom; } |
      timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/$port" 2>/dev/null
  else
    head -c "$(random_between 1 4000)" /dev/urandom |
      timeout 5 bash -c "cat >/dev/tcp/127.0.0.1/$port" 2>/dev/null
  fi
  hostile_count=$((hostile_count + 1))
}

# ------------------------------------------------------------------------- one run
configs=(
  "isrl $root/simulations/configs/adult_isrl_dp.yaml --set model.type=mlp --set model.hidden=[80,60] --set model.activation=elu --set algorithm.local_steps=20 --set algorithm.lr=0.1 --set privacy.epsilon=4 --set privacy.sampling=poisson --set privacy.calibration=rdp"
  "sdp $root/simulations/configs/sdp/adult_many_silos.yaml --set privacy.min_silo_records=900"
)
common_sets="--set partition.silos=$silos --set algorithm.rounds=$rounds --set output.eval_every=100 --set network.min_replies=$((silos / 2)) --set network.round_timeout_seconds=3 --set network.join_timeout_seconds=120"

echo "run,kind,seconds,exit,rounds_completed,test_accuracy,silo_kills,stalls,coordinator_kills,shuffler_kills,hostile_peers,missed_finish,checks" \
  >"$run_dir/soak.csv"
echo "run,seconds,pid,rss_kib,threads" >"$run_dir/resources.csv"
soak_start=$(date +%s)
deadline=$(( soak_start + minutes * 60 ))
failures=0
run=0
say "seed $seed, $silos silos, $rounds rounds a run, $minutes minutes, in $run_dir"

while (( $(date +%s) < deadline )) || (( run == 0 )); do
  run=$((run + 1))
  read -r kind base_config extra_sets <<<"${configs[$(( (run - 1) % ${#configs[@]} ))]}"
  if [[ -n "$only" && "$kind" != "$only" ]]; then
    read -r kind base_config extra_sets <<<"${configs[$(( run % ${#configs[@]} ))]}"
  fi
  current="$run_dir/run$run"
  logs="$current/logs"
  rm -rf "$current" && mkdir -p "$logs"
  pid=(); command=(); killed=(); coordinator_kills=0; hostile_log=""; hostile_failures=0
  hostile_count=0
  silo_kills=0; stalls=0; shuffler_kills=0; missed_finish=0
  # The process lines launch_local.sh would run (names, then tab-separated arguments).
  # shellcheck disable=SC2086
  if ! bash "$root/simulations/launch_local.sh" --print-commands --certs "$certs" \
      --run-dir "$current" --binary "$binary" "$silos" "$base_config" \
      $common_sets $extra_sets >"$current/commands.tsv" 2>"$logs/launch.log"; then
    die "launch_local.sh --print-commands failed ($logs/launch.log)"
  fi
  while IFS= read -r line; do
    name="${line%%$'\t'*}"
    command[$name]="${line#*$'\t'}"
  done <"$current/commands.tsv"
  [[ -n "${command[coordinator]:-}" ]] || die "no coordinator line in $current/commands.tsv"
  coordinator_port="${command[coordinator]#*--listen$'\t'127.0.0.1:}"
  coordinator_port="${coordinator_port%%$'\t'*}"
  shuffler_port=""
  if [[ -n "${command[shuffler]:-}" ]]; then
    shuffler_port="${command[shuffler]#*--listen$'\t'127.0.0.1:}"
    shuffler_port="${shuffler_port%%$'\t'*}"
  fi
  silo_port="${shuffler_port:-$coordinator_port}"

  run_start=$(date +%s)
  start coordinator
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$coordinator_port") 2>/dev/null && break
    sleep 0.1
  done
  if [[ -n "$shuffler_port" ]]; then
    start shuffler
    for _ in $(seq 1 200); do
      (exec 3<>"/dev/tcp/127.0.0.1/$shuffler_port") 2>/dev/null && break
      sleep 0.1
    done
  fi
  for name in "${names[@]}"; do start "$name"; done

  # Resource sampler: the coordinator's current pid from coordinator.pid.
  (
    while [[ -f "$current/coordinator.pid" ]]; do
      p="$(cat "$current/coordinator.pid" 2>/dev/null)"
      if [[ -n "$p" && -r "/proc/$p/status" ]]; then
        awk -v run="$run" -v t="$(( $(date +%s) - run_start ))" -v p="$p" \
          '/^VmRSS:/ {rss=$2} /^Threads:/ {th=$2} END {if (rss != "") print run "," t "," p "," rss "," th}' \
          "/proc/$p/status" >>"$run_dir/resources.csv" 2>/dev/null
      fi
      sleep 1
    done
  ) &
  sampler=$!

  # Chaos until the coordinator ends by itself.
  while alive coordinator; do
    sleep "$(tenths "$(random_between 2 12)")"
    alive coordinator || break
    roll=$(random_between 1 100)
    victim="silo$(random_between 0 $((silos - 1)))"
    if (( roll <= 40 )); then
      silo_kills=$((silo_kills + 1))
      kill_and_restart "$victim" "$(tenths "$(random_between 0 15)")"
    elif (( roll <= 55 )); then
      if alive "$victim"; then
        stalls=$((stalls + 1))
        kill -STOP "${pid[$victim]}"
        sleep "$(tenths "$(random_between 5 60)")"
        kill -CONT "${pid[$victim]}" 2>/dev/null
      fi
    elif (( roll <= 60 )); then
      if (( coordinator_kills < max_coordinator_kills )) &&
         [[ -f "$current/out/checkpoint.bin" ]]; then
        coordinator_kills=$((coordinator_kills + 1))
        kill_and_restart coordinator "$(tenths "$(random_between 0 10)")" --resume
      fi
    elif (( roll <= 68 )); then
      if [[ -n "$shuffler_port" ]] && (( shuffler_kills < 2 )); then
        shuffler_kills=$((shuffler_kills + 1))
        kill_and_restart shuffler "$(tenths "$(random_between 0 10)")"
      fi
    else
      target_port=$coordinator_port
      [[ -n "$shuffler_port" ]] && (( RANDOM % 2 )) && target_port=$shuffler_port
      j=$(random_between 0 $((silos - 1)))
      k=$(( (j + 1 + RANDOM % (silos - 1)) % silos ))
      case $(random_between 1 5) in
        1) garbage_to "$target_port" bytes ;;
        2) garbage_to "$target_port" preface ;;
        3) hostile "silo$j's certificate claiming silo$k" "refused|could not reach" "$binary" silo \
             --coordinator "127.0.0.1:$silo_port" --name "silo$k" --shard "$k" \
             --config "$base_config" $common_sets $extra_sets --connect-timeout 5 \
             --state-dir "$current/hostile/impersonator" --ca "$certs/ca.crt" \
             --cert "$certs/silo$j.crt" --key "$certs/silo$j.key" \
             $( [[ -n "$shuffler_port" ]] && echo --coordinator-public-key "$current/coordinator.key.pub") ;;
        4) hostile "intruder claiming shard $k" "refused|could not reach" "$binary" silo \
             --coordinator "127.0.0.1:$silo_port" --name intruder --shard "$k" \
             --config "$base_config" $common_sets $extra_sets --connect-timeout 5 \
             --state-dir "$current/hostile/intruder" --ca "$certs/ca.crt" \
             --cert "$certs/intruder.crt" --key "$certs/intruder.key" \
             $( [[ -n "$shuffler_port" ]] && echo --coordinator-public-key "$current/coordinator.key.pub") ;;
        5) if alive "silo$k"; then
             twin_args=()
             IFS=$'\t' read -r -a twin_args <<<"${command[silo$k]}"
             hostile "a second process for silo$k" "another silo process .* holds" "${twin_args[@]}"
           fi ;;
      esac
    fi
  done
  wait "${pid[coordinator]}"
  coordinator_exit=$?
  # The silos get the coordinator's Finish and end; a silo killed just before the end stays down.
  # A silo that lost its stream in the last rounds never hears the Finish: it keeps trying for
  # its --connect-timeout (60 s), then exits 1 "could not reach the coordinator", as designed.
  # A silo still running after that is stuck: its threads' stacks go to logs/NAME.stack.
  silo_exits=""
  wait_until=$(( $(date +%s) + 75 ))
  for name in "${names[@]}"; do
    [[ "${killed[$name]}" == 1 ]] && ! alive "$name" && continue
    while alive "$name" && (( $(date +%s) < wait_until )); do sleep 0.1; done
    if alive "$name"; then
      gdb -p "${pid[$name]}" -batch -ex 'thread apply all bt' >"$logs/$name.stack" 2>&1
      kill -KILL "${pid[$name]}" 2>/dev/null
      silo_exits+="$name still running 75 s after the coordinator ended ($logs/$name.stack); "
    fi
    wait "${pid[$name]}" 2>/dev/null
    status=$?
    if (( status == 1 )) && tail -n 1 "$logs/$name.log" | grep -q "could not reach the coordinator"; then
      missed_finish=$((missed_finish + 1))
    elif (( status > 128 )) && [[ -f "$current/cores/$name/core" ]]; then
      gdb "$binary" "$current/cores/$name/core" -batch -ex 'thread apply all bt' \
        >"$logs/$name.crash" 2>&1
      silo_exits+="$name exit $status, crashed ($logs/$name.crash); "
    elif (( status != 0 )); then
      silo_exits+="$name exit $status; "
    fi
  done
  if [[ -n "$shuffler_port" ]]; then
    for _ in $(seq 1 100); do alive shuffler || break; sleep 0.1; done
    alive shuffler && kill -TERM "${pid[shuffler]}" 2>/dev/null
    wait "${pid[shuffler]}" 2>/dev/null
  fi
  rm -f "$current/coordinator.pid"
  wait "$sampler" 2>/dev/null
  seconds=$(( $(date +%s) - run_start ))

  # The end-of-run checks: summary, journals, hostile peers, resources.
  checks="$(python3 - "$current" "$binary" "$rounds" "$silos" "$kind" "$run_dir/resources.csv" "$run" <<'PY'
import csv, json, math, statistics, subprocess, sys
current, binary, rounds, silos, kind, resources, run = sys.argv[1:8]
rounds, silos, run = int(rounds), int(silos), int(run)
problems = []
try:
    summary = json.load(open(f"{current}/out/summary.json"))
except Exception as error:
    print(f"no summary.json ({error})|nan|0")
    sys.exit(0)
if summary.get("rounds_completed") != rounds:
    problems.append(f"rounds_completed {summary.get('rounds_completed')} != {rounds}")
run_id = open(f"{current}/out/run_id").read().strip()
target = summary["privacy"].get("target_epsilon", summary["privacy"].get("epsilon"))
reports = {int(row["silo"]): row for row in csv.DictReader(open(f"{current}/out/silos.csv"))}
for silo in range(silos):
    path = f"{current}/state/silo{silo}/silo{silo}.journal"
    report = reports.get(silo)
    if report is None:
        problems.append(f"silo{silo}: not in silos.csv")
        continue
    delta = float(report["delta"])
    out = subprocess.run([binary, "journal", path, "--delta", repr(delta)], capture_output=True,
                         text=True)
    if out.returncode != 0:
        problems.append(f"silo{silo}: fedsilo journal exit {out.returncode}: {out.stderr.strip()}")
        continue
    journal = json.loads(out.stdout)
    if journal["run_id"] != run_id:
        problems.append(f"silo{silo}: journal run {journal['run_id']} != {run_id}")
    if journal["last_round"] > rounds:
        problems.append(f"silo{silo}: journal last round {journal['last_round']} > {rounds}")
    reported = float(report["noisy_queries"])
    spent_queries = journal["shuffled_rounds"] if kind == "sdp" else journal["noisy_queries"]
    if spent_queries < reported:
        problems.append(f"silo{silo}: journal holds {spent_queries} queries, it reported {reported}")
    epsilon = journal.get("epsilon")
    if kind == "sdp":
        epsilon = float(report["epsilon"])
    if epsilon is None or not epsilon <= float(report["target_epsilon"]) * (1 + 1e-9):
        problems.append(f"silo{silo}: epsilon {epsilon} over its budget {report['target_epsilon']}")
# Resources: flat within each coordinator incarnation of 30 s or more.
rows = [r for r in csv.DictReader(open(resources)) if int(r["run"]) == run]
by_pid = {}
for r in rows:
    by_pid.setdefault(r["pid"], []).append((int(r["seconds"]), int(r["rss_kib"]), int(r["threads"])))
figures = []
for p, samples in by_pid.items():
    threads_max = max(s[2] for s in samples)
    if threads_max > 2 * silos + 32 + 16:
        problems.append(f"coordinator pid {p}: {threads_max} threads")
    if samples[-1][0] - samples[0][0] < 30 or len(samples) < 10:
        continue
    n = len(samples)
    before = max(s[1] for s in samples[: 4 * n // 5])
    last = statistics.median(s[1] for s in samples[4 * n // 5:])
    figures.append(f"peak {before / 1024:.0f} then {last / 1024:.0f} MiB at the end, "
                   f"<= {threads_max} threads, {samples[-1][0] - samples[0][0]} s")
    if last > 1.10 * before + 8 * 1024:
        problems.append(f"coordinator pid {p}: memory grew to {last / 1024:.0f} MiB at the end, "
                        f"above its earlier peak {before / 1024:.0f} MiB")
accuracy = summary["final"].get("test_accuracy", float("nan"))
print(("; ".join(problems) or "ok") + "|" + str(accuracy) + "|" + ("; ".join(figures) or "-"))
PY
)"
  IFS='|' read -r verdict accuracy resource_figures <<<"$checks"
  problems=""
  [[ $coordinator_exit -ne 0 ]] && problems+="coordinator exit $coordinator_exit; "
  problems+="$silo_exits"
  [[ $hostile_failures -gt 0 ]] && problems+="$hostile_log"
  [[ -n "$problems" ]] && verdict="$problems${verdict#ok}"
  [[ "$verdict" != ok ]] && failures=$((failures + 1))
  echo "$run,$kind,$seconds,$coordinator_exit,$rounds,$accuracy,$silo_kills,$stalls,$coordinator_kills,$shuffler_kills,$hostile_count,$missed_finish,\"$verdict\"" \
    >>"$run_dir/soak.csv"
  say "run $run ($kind): ${seconds} s, test accuracy $accuracy, $silo_kills silo kills, $stalls stalls, $coordinator_kills coordinator kills, $shuffler_kills shuffler kills, $hostile_count hostile peers, $missed_finish silos missed the end; coordinator memory $resource_figures; $verdict"
done

total=$(( $(date +%s) - soak_start ))
say "summary: $run runs in $total s, $failures with a failed check (seed $seed; $run_dir/soak.csv)"
(( failures == 0 ))
