"""Server time of the web pages: the advice page's median, p99 and worst over N requests.

    python benchmarks/web.py [N]

Each request goes through the whole ASGI app in this process (routing, the security headers, query
parsing, advise(), what-if links, Jinja2 rendering) with no network or client in the timing: the clock
starts when the app is called and stops when the last body chunk is sent. Goal: under 50 ms.
"""

import asyncio
import gc
import statistics
import sys
import time

from advisor import default_advisor
from advisor.web import create_app

ADVICE = [
    "ms_type=relapsing&severity=severe&prior_failures=2&condition=cancer&condition=pml",
    "ms_type=ppms&severity=mild",
    "ms_type=spms&severity=severe&rapidly_worsening=true&mitoxantrone_cumulative_mg_m2=60.5&condition=heart_failure",
    "ms_type=relapsing&severity=moderate&prior_failures=3&condition=hepatitis_b&condition=infections&condition=depression",
    "ms_type=x&severity=mild&prior_failures=-1",  # the 422 form page
]
OTHER = ["/", "/article", "/drugs", "/rules", "/schedule/natalizumab?start=2027-01-04&count=100"]


async def call(app, path: str, query: str) -> tuple[int, int, int, int]:
    """One GET through the app: (status, body bytes, wall nanoseconds, CPU nanoseconds of the process)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"accept", b"text/html")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 8000)}
    status, size = 0, 0

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))

    start, cpu = time.perf_counter_ns(), time.process_time_ns()
    await app(scope, receive, send)
    return status, size, time.perf_counter_ns() - start, time.process_time_ns() - cpu


def ms(ns: float) -> str:
    return f"{ns / 1e6:.2f} ms"


async def main(n: int) -> None:
    t0 = time.perf_counter()
    app = create_app(default_advisor())
    gc.collect()
    gc.freeze()  # as `python -m advisor.web` does before serving: long-lived objects out of full GC passes
    print(f"app built (KB compiled, article marked up, templates compiled, every type and severity warmed): {(time.perf_counter() - t0) * 1000:.0f} ms")
    status, size, first, _ = await call(app, "/advice", ADVICE[0])
    print(f"first advice request through the new app (FastAPI builds its middleware stack, starts its thread pool): {ms(first)}, HTTP {status}, {size:,} bytes")
    for q in ADVICE:
        await call(app, "/advice", q)
    times, cpu = [], []
    for i in range(n):
        status, size, ns, cpu_ns = await call(app, "/advice", ADVICE[i % len(ADVICE)])
        assert status in (200, 422), status
        times.append(ns)
        cpu.append(cpu_ns)
    q = statistics.quantiles(times, n=100)
    print(f"/advice over {n:,} requests: median {ms(statistics.median(times))}, p99 {ms(q[98])}, "
          f"max {ms(max(times))} (goal: under 50 ms)")
    c = statistics.quantiles(cpu, n=100)
    print(f"/advice CPU time (what other processes on the machine cannot inflate): median {ms(statistics.median(cpu))}, "
          f"p99 {ms(c[98])}")
    for path in OTHER:
        p, _, query = path.partition("?")
        runs = [(await call(app, p, query)) for _ in range(50)]
        print(f"{path}: median {ms(statistics.median(r[2] for r in runs))}, HTTP {runs[0][0]}, {runs[0][1]:,} bytes")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
