#!/usr/bin/env python3
"""Which round trips a 1 ms timer tick slows: reads the samples that
`BENCH_PINGPONG_SAMPLES=FILE bench_dist pingpong` writes (start and length
of each round trip, in us), finds the phase of 1 ms at which slow round
trips start (over 1.6x the median), and prints the percentiles of the round
trips that start near that phase (within 150 us) and of the others.

  bench/tick_phase.py FILE
"""
import math
import sys


def percentile(values, q):
    values = sorted(values)
    return values[int(q * (len(values) - 1))]


def main(path):
    rows = [tuple(map(float, line.split())) for line in open(path) if line.strip()]
    if not rows:
        sys.exit(f"tick_phase.py: no round trips in {path}")
    median = percentile([length for _, length in rows], 0.5)
    slow = [start for start, length in rows if length > 1.6 * median]
    c = sum(math.cos(2 * math.pi * t / 1000) for t in slow)
    s = sum(math.sin(2 * math.pi * t / 1000) for t in slow)
    rhythm = math.hypot(c, s) / max(len(slow), 1)
    phase = (math.atan2(s, c) / (2 * math.pi) * 1000) % 1000

    def near(t):
        d = (t - phase) % 1000
        return min(d, 1000 - d) < 150

    groups = {
        "near_tick": [length for start, length in rows if near(start)],
        "away": [length for start, length in rows if not near(start)],
        "all": [length for _, length in rows],
    }
    print(f"slow round trips: {len(slow)} of {len(rows)}, rhythm at 1 ms {rhythm:.2f}")
    for name, values in groups.items():
        if not values:
            continue
        p50, p90, p99 = (percentile(values, q) for q in (0.5, 0.9, 0.99))
        print(f"{name:9} n {len(values):6}  p50 {p50:6.1f}  p90 {p90:6.1f}  p99 {p99:6.1f}  p99/p50 {p99 / p50:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
