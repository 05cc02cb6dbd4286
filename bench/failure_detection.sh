#!/usr/bin/env bash
# Failure detection of gossip membership (SWIM + Lifeguard) with 5 real noded
# processes on loopback (127.4.50.1-5), lan preset.
#
#   bench/failure_detection.sh [TRIALS]          (default 10)
#     kill -9 of one node: ms from the kill until EVERY other node has logged
#     it down; then SIGSTOP (frozen, sockets stay open): ms until every other
#     node logs it down, and after SIGCONT ms until every other node logs it up
#     again (rejoined or refuted). Per trial the max over the 4 observers,
#     then the median over the trials.
#   bench/failure_detection.sh --soak [SECONDS]  (default 300)
#     5 nodes converge, then every core is kept busy by a shell loop for
#     SECONDS; nobody is killed, so every "member ... down" is a false one.
#     Prints false downs, suspicions and refutations.
#
# Times come from the nodes' own logs (one line per membership change, stamped
# to the ms), compared with the clock read just before the signal, so the
# polling of this script adds nothing to them. Needs a build (scripts/build.sh;
# BUILD_DIR=build-xyz for another build directory). Logs stay in a temporary
# directory, printed at the start and the end.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=detect trials=10 soak_s=300
case "${1:-}" in
  --soak) mode=soak; soak_s=${2:-300} ;;
  "") ;;
  *) trials=$1 ;;
esac
[[ $trials =~ ^[1-9][0-9]*$ && $soak_s =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: $0 [TRIALS] | --soak [SECONDS]" >&2
  exit 2
}

build=${BUILD_DIR:-build}
for b in "$build/noded/noded" "$build/tools/clusterctl/clusterctl"; do
  [ -x "$b" ] || { echo "$b not found: run scripts/build.sh first (or set BUILD_DIR)" >&2; exit 1; }
done

tmp=$(mktemp -d)
echo "logs: $tmp"
# Private copies, so a rebuild while the bench runs cannot mix two versions.
cp "$build/noded/noded" "$build/tools/clusterctl/clusterctl" "$tmp/"
head -c 24 /dev/urandom | base64 > "$tmp/cookie"
chmod 400 "$tmp/cookie"

N=5 net=127.4.50 preset=lan
name() { echo "n$1@$net.$1"; }
ctl() { "$tmp/clusterctl" --cookie-file "$tmp/cookie" --timeout 1000 "$@"; }

declare -a pid=() hog=()
cleanup() {
  for p in "${hog[@]}" "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_node() {  # i: appends to $tmp/n<i>.log, so a restarted node keeps one log
  local join=()
  [ "$1" -ne 1 ] && join=(--join "$(name 1)")
  "$tmp/noded" --name "$(name "$1")" --cookie-file "$tmp/cookie" --preset "$preset" "${join[@]}" \
    >>"$tmp/n$1.log" 2>&1 &
  pid[$1]=$!
  disown "${pid[$1]}"  # no "Killed" notices from bash; it still reaps them
}
gone() {  # pid: until it has exited
  local p=$1
  while kill -0 "$p" 2>/dev/null; do sleep 0.01; done
}
kill_node() {  # i
  kill -9 "${pid[$1]}" 2>/dev/null || true
  gone "${pid[$1]}"
}

# Every node sees all N members alive and holds a connection to the other N-1.
converged() {
  local i out
  for i in $(seq 1 $N); do
    out=$(ctl --node "$(name "$i")" --json members 2>/dev/null) || return 1
    [ "$(grep -o '"state":"alive"' <<<"$out" | wc -l)" -eq $N ] || return 1
    out=$(ctl --node "$(name "$i")" nodes 2>/dev/null) || return 1
    [ "$(grep -c . <<<"$out")" -eq $((N - 1)) ] || return 1
  done
}
wait_converged() {
  local deadline=$((SECONDS + 60))
  until converged; do
    if [ $SECONDS -ge $deadline ]; then
      echo "the cluster did not converge within 60 s; logs in $tmp" >&2
      for i in $(seq 1 $N); do ctl --node "$(name "$i")" members 2>&1 | sed "s/^/  n$i sees: /" >&2 || true; done
      exit 1
    fi
    for i in $(seq 1 $N); do
      kill -0 "${pid[$i]}" 2>/dev/null || { echo "n$i exited; its log:" >&2; tail -5 "$tmp/n$i.log" >&2; exit 1; }
    done
    sleep 0.2
  done
  sleep 1  # a few probe rounds in the steady state
}
start_cluster() {
  local i
  for i in $(seq 1 $N); do start_node "$i"; done
  wait_converged
}
stop_cluster() {
  local i
  for i in $(seq 1 $N); do kill_node "$i"; done
}

# The log is stamped by noded in UTC (HH:MM:SS.mmm); read the clock the same way.
now() { date -u +%H:%M:%S.%N; }
ms_of() { awk -F: '{ printf "%.3f\n", ($1 * 3600 + $2 * 60 + $3) * 1000 }' <<<"$1"; }
size() { stat -c %s "$1"; }

# ms of the first line after byte offset `off` of node i's log containing one
# of the fixed strings given; empty if none yet.
first_ms() {
  local i=$1 off=$2; shift 2
  local pats=() p
  for p in "$@"; do pats+=(-e "$p"); done
  tail -c +$((off + 1)) "$tmp/n$i.log" | grep -F -m1 "${pats[@]}" | awk '{ print $1 }' |
    { if read -r t; then ms_of "$t"; fi; } || true  # no match yet: grep fails
}

# Waits until every node but the victim has logged one of the strings after
# its offset in off[], or `limit` s passed. Prints the max latency over the
# observers in ms from t0 (ms of the day), or "timeout"; appends each
# observer's figure to raw.txt under `label` (none if empty).
declare -a off=()
max_latency() {
  local label=$1 victim=$2 t0=$3 limit=$4; shift 4
  local deadline=$((SECONDS + limit)) i t lat worst=0 missing
  declare -A seen=()
  while :; do
    missing=0
    for i in $(seq 1 $N); do
      [ "$i" -eq "$victim" ] && continue
      [ -n "${seen[$i]:-}" ] && continue
      t=$(first_ms "$i" "${off[$i]}" "$@")
      if [ -n "$t" ]; then seen[$i]=$t; else missing=1; fi
    done
    [ $missing -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      echo "${label:-wait} victim=n$victim observers_missing_after_${limit}s" >> "$tmp/raw.txt"
      echo timeout
      return
    fi
    sleep 0.05
  done
  for i in "${!seen[@]}"; do
    # A negative difference means midnight passed: add a day.
    lat=$(awk -v a="${seen[$i]}" -v b="$t0" 'BEGIN { d = a - b; if (d < -1) d += 86400000; printf "%.1f", d }')
    if [ -n "$label" ]; then echo "$label victim=n$victim observer=n$i ms=$lat" >> "$tmp/raw.txt"; fi
    worst=$(awk -v a="$lat" -v b="$worst" 'BEGIN { print (a > b) ? a : b }')
  done
  echo "$worst"
}

# After a kill, let the survivors' probes of the dead process run out before
# its successor (same name, new creation) starts, so trials stay independent.
settle_and_restart() {  # i
  sleep 1
  start_node "$1"
  wait_converged
}

mark_offsets() {
  local i
  for i in $(seq 1 $N); do off[i]=$(size "$tmp/n$i.log"); done
}

median() {  # of the arguments; "timeout" counts as longer than anything
  printf '%s\n' "$@" | sed 's/^timeout$/inf/' | sort -g |
    awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] == "inf" || v[NR / 2 + 1] == "inf") ? "inf" : (v[NR / 2] + v[NR / 2 + 1]) / 2
      if (m == "inf") print "timeout"; else printf "%.1f\n", m }'
}

detect() {
  local t k9=() stop=() cont=() convs=() victim t0 v conv
  echo "failure detection: $N noded on $net.1-$N, preset $preset, $trials trials, victims n2..n$N in turn"

  echo "-- kill -9: ms until every other node logs it down"
  start_cluster
  for t in $(seq 1 "$trials"); do
    victim=$((2 + (t - 1) % (N - 1)))
    v=$(name "$victim")
    mark_offsets
    t0=$(ms_of "$(now)")
    kill -9 "${pid[$victim]}"
    k9+=("$(max_latency kill9 "$victim" "$t0" 30 "member $v down (")")
    gone "${pid[$victim]}"
    echo "   trial $t  n$victim  ${k9[-1]} ms"
    settle_and_restart "$victim"
  done
  stop_cluster

  echo "-- SIGSTOP: ms until every other node logs it down; SIGCONT: ms until every other logs it up again"
  start_cluster
  for t in $(seq 1 "$trials"); do
    victim=$((2 + (t - 1) % (N - 1)))
    v=$(name "$victim")
    mark_offsets
    t0=$(ms_of "$(now)")
    kill -STOP "${pid[$victim]}"
    stop+=("$(max_latency stop "$victim" "$t0" 30 "member $v down (")")
    mark_offsets
    t0=$(ms_of "$(now)")
    kill -CONT "${pid[$victim]}"
    cont+=("$(max_latency cont "$victim" "$t0" 30 "member $v up (" "member $v refuted (")")
    # Polled, so coarse (a round of clusterctl calls is ~0.1-0.3 s): until all
    # N nodes, the thawed one too, see all N alive and connected again.
    conv=timeout
    for _ in $(seq 1 300); do
      if converged; then conv=$(awk -v a="$(ms_of "$(now)")" -v b="$t0" 'BEGIN { printf "%.0f", a - b }'); break; fi
      sleep 0.1
    done
    echo "   trial $t  n$victim  down ${stop[-1]} ms  up again ${cont[-1]} ms  (all converged, polled: $conv ms)"
    convs+=("$conv")
    echo "cont_converged_polled victim=n$victim ms=$conv" >> "$tmp/raw.txt"
    # What the thawed node itself made of its nap (it missed every probe).
    tail -c +$((off[victim] + 1)) "$tmp/n$victim.log" | grep -E ': member [^ ]+ (down|suspect) \(' |
      sed "s/^/stop trial $t thawed n$victim logged: /" >> "$tmp/raw.txt" || true
    # A fresh process for the next trial, so trials do not share state.
    mark_offsets
    kill -9 "${pid[$victim]}"
    max_latency "" "$victim" 0 30 "member $v down (" >/dev/null
    gone "${pid[$victim]}"
    settle_and_restart "$victim"
  done
  stop_cluster

  echo
  echo "medians of $trials trials, ms (per trial: the slowest of the 4 observers)"
  printf '%-44s %10s %10s %10s\n' measurement median min max
  row() {
    local label=$1; shift
    local sorted
    sorted=$(printf '%s\n' "$@" | sed 's/^timeout$/inf/' | sort -g)
    printf '%-44s %10s %10s %10s\n' "$label" "$(median "$@")" "$(head -1 <<<"$sorted")" "$(tail -1 <<<"$sorted")"
  }
  row "kill -9 -> down at every other node" "${k9[@]}"
  row "SIGSTOP -> down at every other node" "${stop[@]}"
  row "SIGCONT -> up again at every other node" "${cont[@]}"
  row "SIGCONT -> all converged (polled, coarse)" "${convs[@]}"
  echo "per trial: kill9 ${k9[*]}"
  echo "per trial: stop  ${stop[*]}"
  echo "per trial: cont  ${cont[*]}"
  echo "thawed nodes' own suspicions/downs of others: $(grep -c '^stop trial' "$tmp/raw.txt" || true) (listed in raw.txt)"
}

count() {  # lines matching an ERE, after the offsets in off[], over all logs
  local i c total=0
  for i in $(seq 1 $N); do
    c=$(tail -c +$((off[i] + 1)) "$tmp/n$i.log" | grep -c -E -e "$1" || true)
    total=$((total + c))
  done
  echo "$total"
}

soak() {
  local cores i
  cores=$(nproc)
  echo "soak: $N noded on $net.1-$N, preset $preset, $cores busy-loop hogs for $soak_s s, nobody killed"
  start_cluster
  mark_offsets
  for i in $(seq 1 "$cores"); do
    (while :; do :; done) &
    hog+=($!)
    disown $!
  done
  local end=$((SECONDS + soak_s)) next=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do
    sleep 1
    if [ $SECONDS -ge $next ] && [ $SECONDS -lt $end ]; then
      echo "   $((soak_s - end + SECONDS)) s: $(count ': member [^ ]+ down \(') false downs so far"
      next=$((next + 60))
    fi
  done
  for i in "${hog[@]}"; do kill -9 "$i" 2>/dev/null || true; gone "$i"; done
  hog=()
  local downs suspects refuted rejoined links
  # member lines only: "<node>: member <name> <event> (".
  downs=0 suspects=0 refuted=0 rejoined=0 links=0
  for i in $(seq 1 $N); do
    local part
    part=$(tail -c +$((off[i] + 1)) "$tmp/n$i.log")
    downs=$((downs + $(grep -c -E ': member [^ ]+ down \(' <<<"$part" || true)))
    suspects=$((suspects + $(grep -c -E ': member [^ ]+ suspect \(' <<<"$part" || true)))
    refuted=$((refuted + $(grep -c -E ': member [^ ]+ refuted \(' <<<"$part" || true)))
    rejoined=$((rejoined + $(grep -c -E ': member [^ ]+ up \(rejoined' <<<"$part" || true)))
    links=$((links + $(grep -c -E ': node [^ ]+ down' <<<"$part" || true)))
    grep -E ': member [^ ]+ (down|suspect|refuted|up) \(|: node [^ ]+ down' <<<"$part" |
      sed "s/^/n$i: /" >> "$tmp/soak_events.txt" || true
  done
  # One verdict is logged by every node that hears of it: count (member, incarnation) pairs too.
  local verdicts=0
  if [ -s "$tmp/soak_events.txt" ]; then
    verdicts=$(grep -E ': member [^ ]+ down \(' "$tmp/soak_events.txt" |
      sed -E 's/.*: member ([^ ]+) down \(.*incarnation ([0-9]+)\)$/\1 \2/' | sort -u | grep -c . || true)
  fi
  echo
  echo "after $soak_s s with every core busy:"
  printf '  %-44s %6s\n' "false downs (member ... down lines)" "$downs" \
    "  distinct (member, incarnation) downed" "$verdicts" \
    "suspicions (member ... suspect)" "$suspects" \
    "refutations (member ... refuted)" "$refuted" \
    "rejoins after a false down (up, rejoined)" "$rejoined" \
    "dropped connections (node ... down)" "$links"
  [ -s "$tmp/soak_events.txt" ] && echo "  events, by observing node: $tmp/soak_events.txt"
  if converged; then echo "  hog stopped: the cluster is converged (all $N alive everywhere)"
  else
    sleep 10
    if converged; then echo "  hog stopped: converged again within 10 s"
    else echo "  hog stopped: NOT converged 10 s later"; fi
  fi
  stop_cluster
}

if [ "$mode" = soak ]; then soak; else detect; fi
echo "logs: $tmp (raw per-observer figures: $tmp/raw.txt)"
