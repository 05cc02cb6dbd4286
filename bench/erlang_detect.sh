#!/usr/bin/env bash
# Failure detection of Erlang/OTP with 5 real nodes on loopback
# (bdet_N@127.4.61.N), for comparison with bench/failure_detection.sh.
#
#   bench/erlang_detect.sh [TRIALS] [--no-stop]      (default 10 kill trials)
#     kill -9 of one node (n2..n5 in turn): ms from just before the kill until
#     EVERY other node has logged it down (net_kernel:monitor_nodes); then,
#     unless --no-stop, STOP_TRIALS (default 1) SIGSTOP trials: ms until every
#     other node logs the frozen node down. Per trial the max over the 4
#     observers, then the median over the trials. Prints "name value unit"
#     lines on stdout (detect_kill_ms, detect_stop_ms), details on stderr.
#
# Erlang notices a frozen node through its net ticks alone: every
# net_ticktime/4 a node checks each connection, on a timer that starts with
# the node, and drops one silent for 4 checks: 45-75 s at the default 60 s
# (TICKTIME=S to change it). Where in that range a trial falls depends on the
# phases of the nodes' timers and of the signal, which a script starting nodes
# back to back would fix (near the top, as measured): so before the SIGSTOP
# trials every node is restarted after a random pause of up to net_ticktime/4,
# and each signal (and each victim's restart) waits a random pause too.
# Times come from the nodes' own logs (bench/erlang/bench_detect.erl, wall
# clock in ms), compared with `date +%s%3N` read just before the signal.
# Every trial starts from a full mesh; the victim is restarted afterwards
# (after a SIGSTOP trial it is killed first). epmd is left running. Logs stay
# in a temporary directory, printed at the start.
set -euo pipefail
cd "$(dirname "$0")/.."

trials=10 stop=1
for a in "$@"; do
  case $a in
    --no-stop) stop=0 ;;
    *) trials=$a ;;
  esac
done
stop_trials=${STOP_TRIALS:-1} ticktime=${TICKTIME:-60}
[[ $trials =~ ^[1-9][0-9]*$ && $stop_trials =~ ^[1-9][0-9]*$ && $ticktime =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: [STOP_TRIALS=n] [TICKTIME=s] $0 [TRIALS] [--no-stop]" >&2
  exit 2
}
tick=()
[ -n "${TICKTIME:-}" ] && tick=(-kernel net_ticktime "$ticktime")

tmp=$(mktemp -d)
echo "logs: $tmp" >&2
erlc -o "$tmp" bench/erlang/bench_detect.erl

N=5 net=127.4.61
name() { echo "bdet_$1@$net.$1"; }
names=()
for i in $(seq 1 $N); do names+=("$(name "$i")"); done

declare -a pid=()
pending=""  # a node started whose pid file has not been read yet
cleanup() {
  local i
  if [ -n "$pending" ]; then  # -detached: its pid is known only from its file
    for _ in $(seq 1 100); do [ -s "$tmp/$(name "$pending").pid" ] && break; sleep 0.1; done
    pid[pending]=$(cat "$tmp/$(name "$pending").pid" 2>/dev/null || true)
  fi
  for i in "${!pid[@]}"; do [ -n "${pid[i]}" ] && kill -9 "${pid[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_node() {  # i
  local f
  f="$tmp/$(name "$1")"
  rm -f "$f.pid" "$f.view"
  pending=$1
  ERL_CRASH_DUMP="$f.dump" erl -detached -noshell -name "$(name "$1")" -setcookie bench \
    -kernel inet_dist_use_interface "{${net//./,},$1}" "${tick[@]}" -pa "$tmp" \
    -run bench_detect start "$tmp" "${names[@]}"
  for _ in $(seq 1 200); do [ -s "$f.pid" ] && break; sleep 0.05; done
  [ -s "$f.pid" ] || { echo "$(name "$1") did not start (name taken? see epmd -names)" >&2; exit 1; }
  pid[$1]=$(cat "$f.pid")
  pending=""
}
gone() {  # pid: until it has exited (a zombie counts: nobody may reap it here)
  while kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]; do
    sleep 0.01
  done
}

# Every node is connected to the N-1 others.
meshed() {
  local i
  for i in $(seq 1 $N); do
    [ "$(grep -c . "$tmp/$(name "$i").view" 2>/dev/null)" -eq $((N - 1)) ] || return 1
  done
}
wait_meshed() {
  local deadline=$((SECONDS + 30)) i
  until meshed; do
    for i in $(seq 1 $N); do
      kill -0 "${pid[i]}" 2>/dev/null || { echo "$(name "$i") exited" >&2; exit 1; }
    done
    [ $SECONDS -lt $deadline ] || { echo "no full mesh within 30 s; logs in $tmp" >&2; exit 1; }
    sleep 0.05
  done
}

declare -a off=()
mark_offsets() {
  local i
  for i in $(seq 1 $N); do off[i]=$(stat -c %s "$tmp/$(name "$i").log"); done
}
# "ms reason" of observer i's first "down" of node v after off[i]; empty if none yet.
down_at() {  # i v
  tail -c +$((off[$1] + 1)) "$tmp/$(name "$1").log" | awk -v v="$2" '$2 == "down" && $3 == v { print $1, $4; exit }'
}

# Waits until every node but the victim has logged it down after off[], up to
# `limit` s. Prints the slowest observer's ms since t0 (or "timeout") on
# stdout, each observer's figure and nodedown reason on stderr.
max_down() {  # label victim t0 limit
  local label=$1 victim=$2 t0=$3 deadline=$((SECONDS + $4)) i line missing worst=0 ms reason
  declare -A seen=()
  while :; do
    missing=0
    for i in $(seq 1 $N); do
      [ "$i" -eq "$victim" ] || [ -n "${seen[$i]:-}" ] && continue
      line=$(down_at "$i" "$(name "$victim")")
      if [ -n "$line" ]; then seen[$i]=$line; else missing=1; fi
    done
    [ $missing -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      echo "   $label n$victim: not down everywhere after $4 s" >&2
      echo timeout
      return
    fi
    sleep 0.02
  done
  local detail=""
  for i in $(seq 1 $N); do
    [ -n "${seen[$i]:-}" ] || continue
    read -r ms reason <<<"${seen[$i]}"
    detail+="  n$i $((ms - t0)) ($reason)"
    [ $((ms - t0)) -gt "$worst" ] && worst=$((ms - t0))
  done
  echo "   $label n$victim: $worst ms; per observer ms (nodedown reason):$detail" >&2
  echo "$worst"
}

median() {  # of the arguments; "timeout" counts as longer than anything
  printf '%s\n' "$@" | sed 's/^timeout$/1e18/' | sort -g |
    awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      if (m >= 1e17) print "timeout"; else printf "%.1f\n", m }'
}

# Kills node i for good and brings up a fresh one, back to a full mesh; with
# "pause", after a random pause (a random phase of its tick timer).
restart() {  # i [pause]
  kill -9 "${pid[$1]}" 2>/dev/null || true
  gone "${pid[$1]}"
  [ -n "${2:-}" ] && pause
  start_node "$1"
  wait_meshed
}
pause() {  # 0 to net_ticktime/4 s, uniformly
  local ms=$(((RANDOM * 32768 + RANDOM) % (ticktime * 250)))
  sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
}

echo "Erlang/OTP $(erl -noshell -eval 'io:put_chars(erlang:system_info(otp_release)), halt().'):" \
  "$N nodes on $net.1-$N, net_ticktime $ticktime s" >&2
for i in $(seq 1 $N); do start_node "$i"; done
wait_meshed

kills=()
echo "-- kill -9: $trials trials" >&2
for t in $(seq 1 "$trials"); do
  v=$((2 + (t - 1) % (N - 1)))
  mark_offsets
  t0=$(date +%s%3N)
  kill -9 "${pid[v]}"
  kills+=("$(max_down "trial $t" "$v" "$t0" 30)")
  restart "$v"
done
echo "detect_kill_ms $(median "${kills[@]}") ms"

if [ $stop -eq 1 ]; then
  stops=()
  echo "-- SIGSTOP: $stop_trials trial(s), each up to 1.25 net_ticktime plus random pauses" >&2
  for i in $(seq 1 $N); do restart "$i" pause; done  # random timer phases
  for t in $(seq 1 "$stop_trials"); do
    v=$((2 + (t - 1) % (N - 1)))
    pause
    mark_offsets
    t0=$(date +%s%3N)
    kill -STOP "${pid[v]}"
    stops+=("$(max_down "trial $t" "$v" "$t0" $((3 * ticktime)))")
    kill -CONT "${pid[v]}"
    restart "$v" pause  # a thawed node that was declared down is no clean start
  done
  echo "detect_stop_ms $(median "${stops[@]}") ms"
fi
