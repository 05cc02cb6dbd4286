#!/usr/bin/env bash
# Runs the benchmark suite side by side with Erlang/OTP on this machine and
# prints a table of medians with the ratio ours/Erlang (higher is better for
# rates, lower for latency and memory), and for distribution the ceiling: a
# bare ZeroMQ DEALER -> ROUTER pair (bench/zmq_ceiling.cpp). Takes a few minutes.
#   bench/run.sh [REPS]        (default 5 repetitions, interleaved)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}

bash scripts/install-deps.sh
if ! command -v erl >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get install -y -qq erlang-nox >/dev/null
fi
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DCLUSTER_BUILD_TESTS=OFF >/dev/null
cmake --build build-bench -j "$(nproc)" --target bench_runtime bench_dist bench_zmq_ceiling bench_groups >/dev/null
out=$(mktemp -d)
erlc -o "$out" bench/erlang/bench_local.erl bench/erlang/bench_dist.erl bench/erlang/bench_groups.erl

ours=build-bench/bench/bench_runtime
erl_run() { erl -noshell +P 2000000 -pa "$out" -eval "bench_local:main([$1]), halt()."; }
# Two Erlang nodes on loopback, as ours: b detached, a runs the workloads and stops b.
erl_dist() {
  erl -detached -noshell -name bench_eb@127.4.0.12 -setcookie bench -pa "$out"
  sleep 1
  erl -noshell -name bench_ea@127.4.0.11 -setcookie bench -pa "$out" \
      -eval "bench_dist:main('bench_eb@127.4.0.12'), halt()."
}

# Three Erlang nodes for group fan-out: b and c detached, a publishes and stops them.
erl_groups() {
  erl -detached -noshell -name bench_gb@127.4.0.22 -setcookie bench -pa "$out"
  erl -detached -noshell -name bench_gc@127.4.0.23 -setcookie bench -pa "$out"
  sleep 1
  erl -noshell -name bench_ga@127.4.0.21 -setcookie bench -pa "$out" \
      -eval "bench_groups:main(['bench_gb@127.4.0.22', 'bench_gc@127.4.0.23']), halt()."
}

# Interleave the two systems so both see the same machine noise.
for i in $(seq 1 "$reps"); do
  for w in spawn_event spawn_coroutine send ring pingpong; do
    "$ours" "$w" | sed "s/^/ours /" >> "$out/raw.txt"
  done
  for w in spawn send ring pingpong; do
    erl_run "$w" | sed "s/^/erlang /" >> "$out/raw.txt"
  done
  build-bench/bench/bench_dist all 2>/dev/null | sed "s/^/ours /" >> "$out/raw.txt"
  erl_dist | sed "s/^/erlang /" >> "$out/raw.txt"
  build-bench/bench/bench_zmq_ceiling all | sed "s/^/zmq /" >> "$out/raw.txt"
  build-bench/bench/bench_groups all 2>/dev/null | sed "s/^/ours /" >> "$out/raw.txt"
  erl_groups | sed "s/^/erlang /" >> "$out/raw.txt"
done

python3 - "$out/raw.txt" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    who, name, value, unit = line.split()
    rows[(who, name)].append((float(value), unit))
def med(who, name):
    v = rows.get((who, name))
    return (statistics.median(x for x, _ in v), v[0][1]) if v else (None, "")
pairs = [("spawn_event_rate", "spawn_rate"), ("spawn_coroutine_rate", "spawn_rate"),
         ("spawn_event_memory", "spawn_memory"), ("spawn_coroutine_memory", "spawn_memory"),
         ("local_send_rate", "local_send_rate"), ("ring_hops", "ring_hops"),
         ("local_pingpong_p50", "local_pingpong_p50"), ("local_pingpong_p99", "local_pingpong_p99"),
         ("dist_one_way_64B", "dist_one_way_64B"), ("dist_pingpong_p50", "dist_pingpong_p50"),
         ("dist_pingpong_p99", "dist_pingpong_p99"), ("dist_call_1caller", "dist_call_1caller"),
         ("dist_call_16callers", "dist_call_16callers"), ("dist_spawn_16spawners", "dist_spawn_16spawners"),
         ("publish_fanout", "pg_send_loop"), ("publish_naive_loop", "pg_send_loop")]
# Ours only: nothing to set beside them.
alone = ["global_register_rate", "global_register_replicated_rate", "global_visible_5_nodes_p50",
         "global_visible_5_nodes_p99"]
ceilings = {"dist_one_way_64B": "zmq_one_way_64B", "dist_pingpong_p50": "zmq_pingpong_p50",
            "dist_pingpong_p99": "zmq_pingpong_p99"}
n = max(len(v) for v in rows.values())
print(f"medians of {n} interleaved runs; ratio = ours / erlang; ceiling = bare ZeroMQ DEALER -> ROUTER")
print(f"{'benchmark':26} {'ours':>14} {'erlang':>14} {'unit':>9} {'ratio':>7} {'ceiling':>14}")
for ours, theirs in pairs:
    a, unit = med("ours", ours)
    b, _ = med("erlang", theirs)
    if a is None or b is None: continue
    c, _ = med("zmq", ceilings.get(ours, ""))
    ceiling = f"{c:14.1f}" if c is not None else f"{'':14}"
    print(f"{ours:26} {a:14.1f} {b:14.1f} {unit:>9} {a / b:7.2f} {ceiling}")
for ours in alone:
    a, unit = med("ours", ours)
    if a is not None:
        print(f"{ours:26} {a:14.1f} {'':14} {unit:>9}")
c, unit = med("zmq", "zmq_msgpack_one_way_64B")
if c is not None:
    print(f"{'(zmq + msgpack one-way)':26} {'':14} {'':14} {unit:>9} {'':7} {c:14.1f}")
PY
echo "raw samples: $out/raw.txt"
