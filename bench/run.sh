#!/usr/bin/env bash
# The benchmark suite, side by side with Erlang/OTP and the raw ZeroMQ ceiling
# on this machine, in the same run. Builds in release mode (build-bench/),
# runs every workload of ours, the matching Erlang cases (bench/erlang/) and a
# bare ZeroMQ DEALER -> ROUTER pair, interleaved so machine drift hits all
# alike, and hands the raw samples to bench/report.py: one table (medians,
# spread, ratio, ceiling, per-issue targets), bench/results/latest.json and the
# plots. Not part of the test suite.
#
#   bench/run.sh [--quick] [--reps N]
#     --quick   smaller workloads, one repetition, no Erlang SIGSTOP trial
#               (Erlang takes ~75 s to notice one): a smoke check of under
#               2 minutes once built
#     --reps N  repetitions of the interleaved workloads (default 3; the full
#               run takes about 11 minutes once built)
# Needs root for the idle-node case (network namespaces); without it that
# case is skipped. Raw samples: bench/results/raw.txt; what the workloads
# said on stderr: bench/results/stderr.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0 reps=3
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; reps=1 ;;
    --reps) reps=${2:-}; shift ;;
    *) echo "usage: bench/run.sh [--quick] [--reps N]" >&2; exit 2 ;;
  esac
  shift
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh: --reps takes a positive number" >&2; exit 2; }

bash scripts/install-deps.sh
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
for tool in erl:erlang-nox gnuplot:gnuplot-nox; do
  command -v "${tool%%:*}" >/dev/null || $sudo apt-get install -y -qq "${tool#*:}" >/dev/null
done
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCLUSTER_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target noded clusterctl bench_runtime bench_dist bench_zmq_ceiling bench_cpu_gaps \
  bench_groups bench_membership_sim >/dev/null
erl_out=$(mktemp -d)
trap 'rm -rf "$erl_out"' EXIT
erlc -o "$erl_out" bench/erlang/*.erl
mkdir -p bench/results
raw=bench/results/raw.txt
: > "$raw"
: > bench/results/stderr.txt

# Workload sizes: the full ones are those of the issues' targets.
if [ $quick = 1 ]; then
  spawns=200000 sends=1000000 ring="1000 100" pings=20000 dist_n=300000 detect=2 erl_stop=--no-stop idle_s=5
  members="10 100" sim="--seconds 10 --seeds 1"
else
  spawns=1000000 sends=5000000 ring="10000 100" pings=100000 dist_n=2000000 detect=10 erl_stop="" idle_s=30
  members="10 100 1000" sim=""
fi

# Every line a benchmark prints is `name value unit`; tag it with who ran it.
tag() { sed "s/^/$1 /" >> "$raw"; }
# `bounded WHO SECONDS CMD...`: one workload, tagged, within a time limit; a
# workload that fails or hangs is recorded (`WHO failed CMD rc`) and the suite
# goes on: report.py lists it.
bounded() {
  local who=$1 limit=$2 rc=0
  shift 2
  # Through bash, so that a workload may be one of the functions below.
  timeout --kill-after=10 "$limit" bash -c '"$@"' bounded "$@" 2>>bench/results/stderr.txt | tag "$who" || rc=$?
  [ $rc -eq 0 ] && return
  echo "$who failed $(basename "$1")_${2:-} $rc" >> "$raw"
  pkill -9 -f 'beam.smp.* -name bench_' || true  # detached Erlang nodes a failed run left
}
bin=build-bench/bench
erl_local() {
  erl -noshell +P 2000000 -pa "$erl_out" -eval "bench_local:run_sized($1, [${2// /, }]), halt()."
}
# Two Erlang nodes on loopback, as ours: b detached, a runs the workloads and stops b.
erl_dist() {
  erl -detached -noshell -name bench_eb@127.4.0.12 -setcookie bench -pa "$erl_out"
  sleep 1
  erl -noshell -name bench_ea@127.4.0.11 -setcookie bench -pa "$erl_out" \
    -eval "bench_dist:main('bench_eb@127.4.0.12', $dist_n), halt()."
}
# Three Erlang nodes for group fan-out: b and c detached, a publishes and stops them.
erl_groups() {
  erl -detached -noshell -name bench_gb@127.4.0.22 -setcookie bench -pa "$erl_out"
  erl -detached -noshell -name bench_gc@127.4.0.23 -setcookie bench -pa "$erl_out"
  sleep 1
  erl -noshell -name bench_ga@127.4.0.21 -setcookie bench -pa "$erl_out" \
    -eval "bench_groups:main(['bench_gb@127.4.0.22', 'bench_gc@127.4.0.23']), halt()."
}

per_trial() {
  awk '/^per trial: kill9/ { for (i = 4; i <= NF; i++) print "detect_kill_ms", $i, "ms" }
       /^per trial: stop/  { for (i = 4; i <= NF; i++) print "detect_stop_ms", $i, "ms" }'
}
detect_ours() { BUILD_DIR=build-bench bash bench/failure_detection.sh "$detect" | per_trial; }
export -f erl_local erl_dist erl_groups per_trial detect_ours
export erl_out dist_n detect

for i in $(seq 1 "$reps"); do
  echo "repetition $i of $reps" >&2
  bounded ours 300 "$bin/bench_runtime" spawn_event "$spawns"
  bounded ours 300 "$bin/bench_runtime" spawn_coroutine "$spawns"
  bounded erlang 300 erl_local spawn "$spawns"
  # Where the two vCPUs sit, right before and after our local sends (see report.py).
  bounded ours 60 "$bin/bench_runtime" core_to_core
  bounded ours 300 "$bin/bench_runtime" send "$sends"
  bounded ours 60 "$bin/bench_runtime" core_to_core
  bounded erlang 300 erl_local send "$sends"
  bounded ours 300 "$bin/bench_runtime" ring $ring
  bounded erlang 300 erl_local ring "$ring"
  bounded ours 300 "$bin/bench_runtime" pingpong "$pings"
  bounded erlang 300 erl_local pingpong "$pings"
  # What the machine takes from a running thread (ticks): the floor under the round trips' tail.
  bounded ours 60 "$bin/bench_cpu_gaps"
  bounded ours 600 "$bin/bench_dist" all "$dist_n"
  bounded ours 300 "$bin/bench_dist" one_way_plaintext "$dist_n"
  bounded erlang 600 erl_dist
  bounded zmq 300 "$bin/bench_zmq_ceiling" all "$dist_n"
  bounded ours 600 "$bin/bench_groups" all
  bounded erlang 600 erl_groups
done

# Failure detection, 5 nodes each: per-trial figures become samples.
echo "failure detection" >&2
bounded ours 900 detect_ours
# One SIGSTOP trial: Erlang takes 45-75 s to notice each.
STOP_TRIALS=1 bounded erlang 900 bash bench/erlang_detect.sh "$detect" $erl_stop

echo "membership at scale (simulation)" >&2
# shellcheck disable=SC2086
bounded ours 900 "$bin/bench_membership_sim" $members $sim

if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v nft >/dev/null; then
  echo "idle nodes" >&2
  NODED=build-bench/noded/noded CLUSTERCTL=build-bench/tools/clusterctl bounded ours 300 bash bench/idle.sh ours "$idle_s"
  bounded erlang 300 bash bench/idle.sh erlang "$idle_s"
fi

mode=full; [ $quick = 1 ] && mode=quick
python3 bench/report.py "$raw" --mode "$mode" --reps "$reps" --out bench/results
