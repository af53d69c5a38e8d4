"""Per-call latency of advise(): the median (and 90th/99th percentiles) over 10,000 calls.

    python benchmarks/advise.py

Each call validates the facts, decides (memoized engine decisions after the first call), computes
what-ifs and builds the full Recommendation. Timed one call at a time with time.perf_counter_ns,
after one warm-up call per fact set, cycling through a few typical fact sets.
"""

import statistics
import time

from advisor import advise

FACTS = [
    {"ms_type": "relapsing", "severity": "severe", "prior_failures": 1, "conditions": ["pml", "infections"]},
    {"ms_type": "ppms", "severity": "mild"},
    {"ms_type": "spms", "severity": "severe", "rapidly_worsening": True, "mitoxantrone_cumulative_mg_m2": 60.5},
    {"ms_type": "rrms", "severity": "moderate", "prior_failures": 3, "conditions": ["hepatitis_b"]},
]


def main(n: int = 10_000) -> None:
    t0 = time.perf_counter()
    advise(FACTS[0])
    first = time.perf_counter() - t0
    for f in FACTS:
        advise(f)
    times = []
    for i in range(n):
        f = FACTS[i % len(FACTS)]
        start = time.perf_counter_ns()
        advise(f)
        times.append(time.perf_counter_ns() - start)
    q = statistics.quantiles(times, n=100)
    print(f"first call (loads and compiles the KB): {first * 1000:.0f} ms")
    print(f"advise() over {n:,} calls: median {statistics.median(times) / 1000:.0f} µs, "
          f"p90 {q[89] / 1000:.0f} µs, p99 {q[98] / 1000:.0f} µs")


if __name__ == "__main__":
    main()
