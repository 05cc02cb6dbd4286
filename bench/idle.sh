#!/usr/bin/env bash
# What an idle node costs: its resident memory, and the bytes it sends per
# second to keep a 2-node cluster alive (membership probes and gossip for ours;
# distribution ticks for Erlang). Two hosts of tests/netns/nscluster (network
# namespaces, 10.216.9.x), so the traffic is counted exactly on each host's
# interface, nothing else sharing it. Needs root.
#
#   bench/idle.sh ours|erlang [SECONDS]     (default 30 s of idleness)
#
# Prints `idle_rss_kib N KiB` (host 1's node, after SECONDS) and
# `idle_traffic_Bps N B/s` (per node, both directions' sends averaged). For
# ours, NODED and CLUSTERCTL name the programs (default: build-bench/).
set -euo pipefail
cd "$(dirname "$0")/.."
system=${1:-} seconds=${2:-30}
[[ $system == ours || $system == erlang ]] && [[ $seconds =~ ^[1-9][0-9]*$ ]] || {
  echo "usage: bench/idle.sh ours|erlang [SECONDS]" >&2
  exit 2
}
export NSCLUSTER_PREFIX=lcidle NSCLUSTER_SUBNET=10.216.9
export NODED=${NODED:-$PWD/build-bench/noded/noded} CLUSTERCTL=${CLUSTERCTL:-$PWD/build-bench/tools/clusterctl}
ns=tests/netns/nscluster
trap 'bash $ns down >/dev/null 2>&1 || true' EXIT
bash $ns up 2 >/dev/null

tx_bytes() { ip netns exec "lcidle-h$1" cat /sys/class/net/eth0/statistics/tx_bytes; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

if [[ $system == ours ]]; then
  bash $ns start 1 && bash $ns start 2
  for _ in $(seq 1 100); do
    bash $ns ctl 1 members 2>/dev/null | grep -q "10.216.9.2.*alive" && break
    sleep 0.1
  done
  pid=$(cat /tmp/nscluster-lcidle/node1.pid)
else
  # Each namespace has its own epmd, started by erl itself.
  start_erl() {
    ip netns exec "lcidle-h$1" erl -detached -noshell -name "idle$1@10.216.9.$1" -setcookie idle \
      -eval "file:write_file(\"/tmp/nscluster-lcidle/erl$1.pid\", os:getpid())" "${@:2}"
  }
  start_erl 1
  sleep 1
  start_erl 2 -eval "true = net_kernel:connect_node('idle1@10.216.9.1')"
  for _ in $(seq 1 100); do [ -s /tmp/nscluster-lcidle/erl1.pid ] && [ -s /tmp/nscluster-lcidle/erl2.pid ] && break; sleep 0.1; done
  pid=$(cat /tmp/nscluster-lcidle/erl1.pid)
  # The Erlang nodes and their epmds run in the namespaces: end them all
  # (one may end by itself between the listing and the kill: not a failure).
  trap 'for h in 1 2; do ip netns pids lcidle-h$h | xargs -r kill -9 2>/dev/null || true; done; bash $ns down >/dev/null 2>&1 || true' EXIT
fi
sleep 3  # joined; let the start-up traffic pass
a0=$(tx_bytes 1) b0=$(tx_bytes 2)
sleep "$seconds"
a1=$(tx_bytes 1) b1=$(tx_bytes 2)
echo "idle_rss_kib $(rss_kib "$pid") KiB"
awk -v a=$((a1 - a0)) -v b=$((b1 - b0)) -v s="$seconds" 'BEGIN { printf "idle_traffic_Bps %.1f B/s\n", (a + b) / 2 / s }'
