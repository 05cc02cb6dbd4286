#!/usr/bin/env bash
# Installs the dependencies, builds, starts a local 3-node cluster on
# 127.0.0.1-3 (default port), and shows it working with clusterctl: the
# nodes see each other, and a call asked of one node runs on another.
# The nodes keep running; `scripts/quickstart.sh --stop` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

run_dir=build/quickstart
stop_nodes() {
  if [ -d "$run_dir" ]; then
    for f in "$run_dir"/*.pid; do
      [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    done
  fi
}

if [ "${1:-}" = "--stop" ]; then
  stop_nodes
  echo "quickstart cluster stopped"
  exit 0
fi

bash scripts/install-deps.sh
bash scripts/build.sh >/dev/null
stop_nodes
mkdir -p "$run_dir"

# One cookie file for the demo cluster, readable only by us.
cookie="$run_dir/cookie"
if [ ! -s "$cookie" ]; then
  head -c 24 /dev/urandom | base64 > "$cookie"
  chmod 400 "$cookie"
fi

noded=build/noded/noded
ctl() { build/tools/clusterctl/clusterctl --cookie-file "$cookie" "$@"; }

start() {  # name, extra args...
  local name=$1; shift
  "$noded" --name "$name" --cookie-file "$cookie" "$@" >"$run_dir/${name%@*}.log" 2>&1 &
  echo $! > "$run_dir/${name%@*}.pid"
}

start n1@127.0.0.1
start n2@127.0.0.2 --join n1@127.0.0.1
start n3@127.0.0.3 --join n1@127.0.0.1

# Wait until every node sees the other two.
for _ in $(seq 1 100); do
  ok=1
  for n in n1@127.0.0.1 n2@127.0.0.2 n3@127.0.0.3; do
    [ "$(ctl --node $n --timeout 500 nodes 2>/dev/null | wc -l)" -eq 2 ] || ok=0
  done
  [ $ok -eq 1 ] && break
  sleep 0.1
done
[ $ok -eq 1 ] || { echo "the cluster did not form; see $run_dir/*.log" >&2; exit 1; }

echo "== a 3-node cluster is running (logs in $run_dir/)"
for n in n1@127.0.0.1 n2@127.0.0.2 n3@127.0.0.3; do
  echo "-- clusterctl --node $n nodes"
  ctl --node "$n" nodes
done
echo "-- clusterctl --node n3@127.0.0.3 info"
ctl --node n3@127.0.0.3 info
echo "-- clusterctl --node n2@127.0.0.2 ping"
ctl --node n2@127.0.0.2 ping
echo "-- a remote call across the cluster: asked of n1, run on n3"
echo "   clusterctl --node n1@127.0.0.1 call n3@127.0.0.3 sys:info"
ctl --node n1@127.0.0.1 call n3@127.0.0.3 sys:info
echo "   clusterctl --node n1@127.0.0.1 call n2@127.0.0.2 sys:echo '{\"hello\": [1, 2, 3]}'"
ctl --node n1@127.0.0.1 call n2@127.0.0.2 sys:echo '{"hello": [1, 2, 3]}'
echo
echo "Try:  build/tools/clusterctl/clusterctl --cookie-file $cookie --node n1@127.0.0.1 nodes --json"
echo "Stop: scripts/quickstart.sh --stop"
