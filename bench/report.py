#!/usr/bin/env python3
"""Turns bench/run.sh's raw samples into the suite's table, its JSON and its plots.

    bench/report.py RAW [--mode full|quick] [--reps N] [--out DIR]

RAW holds one sample per line: `who name value unit`, who being ours, erlang
or zmq (the ceiling). Each case below names the benchmark lines it is made of;
a case nobody measured is left out of the table and is null in the JSON.
Writes DIR/latest.json (a list of case objects with their raw repetitions),
DIR/latest.txt (the table as printed) and, if gnuplot is there, DIR/*.png.
"""
import argparse
import collections
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess

# case id, ours, erlang, ceiling (zmq), unit, better, target
# target: ("x", k) ours/erlang >= k (higher) or <= k (lower); ("max", v) ours <= v;
#         ("min", v) ours >= v; ("of", case, k) ours <= k * that case's ours figure;
#         None: no target. Our links are encrypted unless a case says plaintext.
CASES = [
    ("remote_tput_64b_1", "dist_one_way_64B", "dist_one_way_64B", "zmq_one_way_64B", "msg/s", "higher", ("x", 2)),
    ("remote_tput_64b_1_plaintext", "dist_one_way_64B_plaintext", "dist_one_way_64B", "zmq_one_way_64B", "msg/s",
     "higher", ("x", 2)),
    ("remote_tput_1k_1", "dist_one_way_1K", "dist_one_way_1K", "zmq_one_way_1K", "msg/s", "higher", None),
    ("remote_tput_64b_16", "dist_one_way_64B_16senders", "dist_one_way_64B_16senders", "zmq_one_way_64B", "msg/s",
     "higher", None),
    ("remote_rtt_p50_us", "dist_pingpong_p50", "dist_pingpong_p50", "zmq_pingpong_p50", "us", "lower", ("x", 1)),
    ("remote_rtt_p99_us", "dist_pingpong_p99", "dist_pingpong_p99", "zmq_pingpong_p99", "us", "lower",
     ("of", "remote_rtt_p50_us", 2)),
    ("remote_rtt_p999_us", "dist_pingpong_p999", "dist_pingpong_p999", "zmq_pingpong_p999", "us", "lower", None),
    ("remote_call_rate_1", "dist_call_1caller", "dist_call_1caller", None, "call/s", "higher", None),
    ("remote_call_rate_16", "dist_call_16callers", "dist_call_16callers", None, "call/s", "higher", ("x", 2)),
    ("remote_call_p50_us", "dist_call_latency_p50", "dist_call_latency_p50", None, "us", "lower", None),
    ("remote_call_p99_us", "dist_call_latency_p99", "dist_call_latency_p99", None, "us", "lower", None),
    ("remote_spawn_rate", "dist_spawn_pipelined", "dist_spawn_pipelined", None, "spawn/s", "higher", ("x", 2)),
    ("remote_spawn_rate_16", "dist_spawn_16spawners", "dist_spawn_16spawners", None, "spawn/s", "higher", None),
    ("local_spawn_rate", "spawn_coroutine_rate", "spawn_rate", None, "spawn/s", "higher", ("x", 2)),
    ("local_bytes_per_process", "spawn_coroutine_memory", "spawn_memory", None, "B", "lower", ("x", 0.25)),
    ("local_spawn_rate_event", "spawn_event_rate", "spawn_rate", None, "spawn/s", "higher", ("x", 2)),
    ("local_bytes_per_process_event", "spawn_event_memory", "spawn_memory", None, "B", "lower", ("x", 0.25)),
    ("local_msg_tput", "local_send_rate", "local_send_rate", None, "msg/s", "higher", ("x", 2)),
    ("local_rtt_p50_us", "local_pingpong_p50", "local_pingpong_p50", None, "us", "lower", None),
    ("ring_ms", "ring_ms", "ring_ms", None, "ms", "lower", ("x", 1)),
    ("detect_kill_ms", "detect_kill_ms", "detect_kill_ms", None, "ms", "lower", ("max", 100)),
    ("detect_stop_ms", "detect_stop_ms", "detect_stop_ms", None, "ms", "lower", ("max", 2000)),
    ("membership_join_ms_n10", "membership_join_ms_N10", None, None, "ms", "lower", None),
    ("membership_join_ms_n100", "membership_join_ms_N100", None, None, "ms", "lower", None),
    ("membership_join_ms_n1000", "membership_join_ms_N1000", None, None, "ms", "lower", ("max", 3000)),
    ("membership_bytes_n10", "membership_Bps_N10", None, None, "B/s", "lower", None),
    ("membership_bytes_n100", "membership_Bps_N100", None, None, "B/s", "lower", None),
    ("membership_bytes_n1000", "membership_Bps_N1000", None, None, "B/s", "lower", None),
    ("publish_fanout", "publish_fanout", "pg_send_loop", None, "msg/s", "higher", ("x", 2)),
    ("publish_naive_loop", "publish_naive_loop", "pg_send_loop", None, "msg/s", "higher", None),
    ("global_register_rate", "global_register_rate", None, None, "reg/s", "higher", None),
    ("global_visible_p50_us", "global_visible_5_nodes_p50", None, None, "us", "lower", None),
    ("idle_rss_kib", "idle_rss_kib", "idle_rss_kib", None, "KiB", "lower", ("x", 0.25)),
    ("idle_traffic_Bps", "idle_traffic_Bps", "idle_traffic_Bps", None, "B/s", "lower", None),
    # Not a comparison: what moving a cache line between two CPUs cost right before and after
    # each of our local-send runs (vCPU placement on the host; local sends follow it).
    ("core_to_core_rtt_ns", "core_to_core_rtt_ns", None, None, "ns", "lower", None),
    # Not a comparison: what the machine took from a lone spinning thread right before each of
    # the distribution runs (timer ticks, the hypervisor): the floor under a round trip's tail.
    ("cpu_gaps_per_s", "cpu_gaps_per_s", None, None, "gaps", "lower", None),
    ("cpu_gap_p50_us", "cpu_gap_p50", None, None, "us", "lower", None),
    ("cpu_gap_p99_us", "cpu_gap_p99", None, None, "us", "lower", None),
    # Not a comparison: a bare TCP pair's round trip, p99 over p50, per repetition (derived in
    # load()): how far the machine alone spreads a short round trip's tail.
    ("bare_tcp_rtt_p99_over_p50", "bare_tcp_rtt_p99_over_p50", None, None, "ratio", "lower", None),
    # Encrypted over plaintext one-way 64 B throughput, per repetition (derived in load()).
    ("encrypt_tput_ratio", "encrypt_tput_ratio", None, None, "ratio", "higher", ("min", 0.7)),
]
PERCENTILES = ["p10", "p25", "p50", "p75", "p90", "p99", "p999"]


def load(path):
    samples, failures = collections.defaultdict(list), []
    for line in open(path):
        parts = line.split()
        if len(parts) != 4:
            continue
        who, name, value, _unit = parts
        if name == "failed":  # bench/run.sh: `WHO failed WORKLOAD EXIT_CODE`
            failures.append(f"{who} {value} (exit {_unit}{', timed out' if _unit in ('124', '137') else ''})")
            continue
        try:
            samples[(who, name)].append(float(value))
        except ValueError:
            pass
    # The cost of encryption: each repetition's encrypted figure over the
    # plaintext one measured right after it.
    pairs = zip(samples.get(("ours", "dist_one_way_64B"), []), samples.get(("ours", "dist_one_way_64B_plaintext"), []))
    samples[("ours", "encrypt_tput_ratio")] = [enc / plain for enc, plain in pairs if plain > 0]
    # The machine's own spread of a round trip (no code of ours in it), for remote_rtt_p99_us.
    bare = zip(samples.get(("zmq", "tcp_pingpong_p99"), []), samples.get(("zmq", "tcp_pingpong_p50"), []))
    samples[("ours", "bare_tcp_rtt_p99_over_p50")] = [p99 / p50 for p99, p50 in bare if p50 > 0]
    return samples, failures


def median(values):
    return statistics.median(values) if values else None


def target_text(target, better):
    if target is None:
        return ""
    kind = target[0]
    if kind == "x":
        k = target[1]
        if better == "higher":
            return f">= {k:g}x erlang"
        return "<= erlang" if k == 1 else f"<= {k:g}x erlang"
    if kind == "max":
        return f"<= {target[1]:g}"
    if kind == "min":
        return f">= {target[1]:g}"
    return f"<= {target[2]:g}x {target[1]}"


def target_met(target, better, ours, erlang, by_case):
    if target is None or ours is None:
        return None
    kind = target[0]
    if kind == "x":
        if erlang is None:
            return None
        return ours >= target[1] * erlang if better == "higher" else ours <= target[1] * erlang
    if kind == "max":
        return ours <= target[1]
    if kind == "min":
        return ours >= target[1]
    other = by_case.get(target[1], {}).get("ours")
    return None if other is None else ours <= target[2] * other


def build_cases(samples):
    rows, by_case = [], {}
    for case, ours_name, erl_name, zmq_name, unit, better, target in CASES:
        raw = {column: samples.get((who, name), []) for column, who, name in
               (("ours", "ours", ours_name), ("erlang", "erlang", erl_name), ("ceiling", "zmq", zmq_name)) if name}
        row = {
            "case": case, "unit": unit,
            "ours": median(raw.get("ours", [])), "erlang": median(raw.get("erlang", [])),
            "ceiling": median(raw.get("ceiling", [])), "better": better,
        }
        row["ratio"] = row["ours"] / row["erlang"] if row["ours"] and row["erlang"] else None
        row["spread"] = {who: [min(v), max(v)] for who, v in raw.items() if v}
        row["target"] = target_text(target, better) or None
        row["raw"] = {who: v for who, v in raw.items() if v}
        by_case[case] = row
        rows.append((row, target))
    for row, target in rows:
        row["target_met"] = target_met(target, row["better"], row["ours"], row["erlang"], by_case)
    return [row for row, _ in rows]


def fmt(v):
    if v is None:
        return ""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}"


def spread(row, who):
    s = row["spread"].get(who)
    return f"{fmt(s[0])}-{fmt(s[1])}" if s and len(row["raw"][who]) > 1 else ""


def table(cases, header):
    lines = header + [
        f"{'case':30} {'ours':>12} {'(spread)':>19} {'erlang':>12} {'(spread)':>19} {'unit':>8} {'ratio':>6}"
        f" {'ceiling':>12}  target",
    ]
    for r in cases:
        if r["ours"] is None and r["erlang"] is None:
            continue
        met = {True: "met", False: "MISSED", None: ""}[r["target_met"]]
        target = f"{r['target']} {met}" if r["target"] else ""
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else ""
        lines.append(f"{r['case']:30} {fmt(r['ours']):>12} {spread(r, 'ours'):>19} {fmt(r['erlang']):>12}"
                     f" {spread(r, 'erlang'):>19} {r['unit']:>8} {ratio:>6} {fmt(r['ceiling']):>12}  {target}")
    missing = [r["case"] for r in cases if r["ours"] is None and r["erlang"] is None]
    if missing:
        lines.append("not measured in this run: " + ", ".join(missing))
    return "\n".join(lines)


def plot(samples, out):
    if not shutil.which("gnuplot"):
        print("gnuplot not found: no plots (apt-get install gnuplot-nox)")
        return
    # Latency distributions: medians over the repetitions of each percentile.
    series = {
        "rtt": [("ours", "dist_pingpong", "libcluster"), ("erlang", "dist_pingpong", "Erlang/OTP"),
                ("zmq", "zmq_pingpong", "bare ZeroMQ, busy-waiting"),
                ("zmq", "zmq_pingpong_blocking", "bare ZeroMQ, blocking"),
                ("zmq", "tcp_pingpong", "bare TCP, busy-waiting")],
        "call": [("ours", "dist_call_latency", "libcluster call"), ("erlang", "dist_call_latency", "Erlang erpc:call")],
    }
    data = os.path.join(out, "latency.dat")
    blocks, plots = 0, {"rtt": [], "call": []}
    with open(data, "w") as f:
        for key, lines in series.items():
            for who, prefix, title in lines:
                points = [(i, median(samples.get((who, f"{prefix}_{p}"), []))) for i, p in enumerate(PERCENTILES)]
                points = [(i, v) for i, v in points if v is not None]
                if not points:
                    continue
                f.write("".join(f"{i} {v}\n" for i, v in points) + "\n\n")
                plots[key].append(f"'{data}' index {blocks} with linespoints lw 2 title '{title}'")
                blocks += 1
    xtics = ", ".join(f'"{p}" {i}' for i, p in enumerate(PERCENTILES))
    panels = [(title, plots[key]) for key, title in (("rtt", "Remote ping-pong round trip, 2 nodes on loopback"),
                                                     ("call", "Remote call latency, 1 caller")) if plots[key]]
    script = ""
    if panels:
        script += f"""
set terminal pngcairo size {500 * len(panels)},420 font ',10'
set output '{os.path.join(out, "latency.png")}'
set multiplot layout 1,{len(panels)}
set logscale y
set grid
set xrange [-0.2:{len(PERCENTILES) - 0.8}]
set xtics ({xtics})
set ylabel 'microseconds (log)'
set key top left
"""
        for title, lines in panels:
            script += f"set title '{title}'\nplot {', '.join(lines)}\n"
        script += "unset multiplot\nreset\n"
    # Membership at scale, in simulation.
    scale = os.path.join(out, "membership.dat")
    with open(scale, "w") as f:
        for n in (10, 100, 1000):
            join = median(samples.get(("ours", f"membership_join_ms_N{n}"), []))
            bps = median(samples.get(("ours", f"membership_Bps_N{n}"), []))
            if join is not None and bps is not None:
                f.write(f"{n} {join} {bps}\n")
    script += f"""
set terminal pngcairo size 1000,420 font ',10'
set output '{os.path.join(out, "membership_scale.png")}'
set grid
set logscale x
set xlabel 'members (simulation, lan preset)'
set multiplot layout 1,2
set ylabel 'ms'
set title 'A join known to 99% of the members'
plot '{scale}' using 1:2 with linespoints lw 2 notitle
set ylabel 'bytes per member per second'
set title 'Membership traffic in steady state'
set yrange [0:*]
plot '{scale}' using 1:3 with linespoints lw 2 notitle
unset multiplot
"""
    done = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    for f in (data, scale):
        os.remove(f)
    if done.returncode != 0:
        print("gnuplot failed, no plots:\n" + done.stderr)
    else:
        print(f"wrote {out}/latency.png and membership_scale.png")


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    erl = subprocess.run(["erl", "-noshell", "-eval", "io:format(\"~s\", [erlang:system_info(otp_release)]), halt()."],
                         capture_output=True, text=True).stdout.strip() if shutil.which("erl") else "?"
    return f"{os.cpu_count()} x {cpu}, Linux {platform.release()}, Erlang/OTP {erl}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--reps", type=int, default=0)
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    samples, failures = load(args.raw)
    cases = build_cases(samples)
    os.makedirs(args.out, exist_ok=True)
    header = [
        f"libcluster benchmark suite ({args.mode} run, {args.reps} interleaved repetitions), "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"machine: {machine()}",
        "medians (spread: min-max over repetitions or trials); ratio = ours / erlang; "
        "ceiling = bare ZeroMQ DEALER -> ROUTER (round trips: busy-waiting, as ours and Erlang's threads)",
    ]
    text = table(cases, header)
    if failures:
        text += "\nworkloads that failed (their cases lack those samples; see bench/results/stderr.txt):\n  "
        text += "\n  ".join(failures)
    print(text)
    with open(os.path.join(args.out, "latest.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}/latest.json and latest.txt")
    plot(samples, args.out)


if __name__ == "__main__":
    main()
