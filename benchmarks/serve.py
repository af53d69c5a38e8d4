"""Loopback load on the CDS Hooks service: latency percentiles and throughput.

    python benchmarks/serve.py [--requests 4000] [--clients 8] [--workers 1]

Starts ``ms-advisor serve`` on a free 127.0.0.1 port with a fresh decision log in a temporary folder,
warms it up, then runs ``--clients`` concurrent clients (asyncio tasks, one keep-alive connection each)
that together make ``--requests`` CDS Hooks calls (patient-view with a full prefetch, cycling through a
few patients), bounded: each client waits for its answer before sending the next. The clients speak
HTTP/1.1 directly over asyncio streams (prepared request bytes), to keep client overhead out of the
figures; the server is measured, not a client library. Prints p50/p90/p99/max
latency as the client sees it, requests per second, and the number of errors (any status but 200, or
a body without cards); exits 1 on any error. The server is stopped at the end, whatever happens.
Goal on this machine: p99 under 50 ms, zero errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from serve_helpers import hook, person  # noqa: E402

PATIENTS = [
    hook(*person("spms", "severe", failures=0, worsening=True, dose=0, conditions=("84114007",))),
    hook(*person("relapsing", "severe", failures=2, worsening=False, dose=0, conditions=("363346000", "22255007"))),
    hook(*person("ppms", "mild", failures=None, worsening=None, dose=None)),
    hook(*person("spms", "severe", failures=1, worsening=False, dose=140)),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_bytes(body: dict, port: int) -> bytes:
    data = json.dumps(body).encode()
    return (f"POST /cds-services/ms-infusion-advisor HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data


async def client(port: int, n: int, offset: int, times: list[float], errors: list[str]) -> None:
    """One keep-alive connection sending prepared requests: a minimal HTTP/1.1 client, so the figures
    are the server's and not a client library's."""
    requests = [request_bytes(p, port) for p in PATIENTS]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i in range(n):
            start = time.perf_counter()
            try:
                writer.write(requests[(offset + i) % len(requests)])
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                status = int(head.split(b" ", 2)[1])
                length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:")))
                body = await asyncio.wait_for(reader.readexactly(length), 10)
                ok = status == 200 and b'"cards":[{' in body
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, StopIteration) as e:
                ok, status = False, repr(e)
            times.append(time.perf_counter() - start)
            if not ok:
                errors.append(str(status))
                if not isinstance(status, int):
                    return
    finally:
        writer.close()


async def load(port: int, requests: int, clients: int) -> tuple[list[float], list[str], float]:
    times: list[float] = []
    errors: list[str] = []
    share = [requests // clients + (1 if i < requests % clients else 0) for i in range(clients)]
    start = time.perf_counter()
    await asyncio.gather(*(client(port, share[i], i, times, errors) for i in range(clients)))
    return times, errors, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    exe = str(Path(sys.executable).parent / "ms-advisor")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([exe, "serve", "--port", str(port), "--workers", str(args.workers),
                                 "--db", os.path.join(tmp, "decisions.sqlite3")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    print(proc.stderr.read(), file=sys.stderr)
                    return 1
                try:
                    if httpx.get(base + "/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    print("server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.1)
            asyncio.run(load(port, 200, args.clients))  # warm-up: memoised decisions, connections
            times, errors, elapsed = asyncio.run(load(port, args.requests, args.clients))
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    q = statistics.quantiles(times, n=100)
    print(f"CDS Hooks patient-view, {len(times):,} calls, {args.clients} concurrent clients, {args.workers} server worker(s), "
          f"decision log on")
    print(f"latency: p50 {statistics.median(times) * 1000:.1f} ms, p90 {q[89] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, "
          f"max {max(times) * 1000:.1f} ms")
    print(f"throughput: {len(times) / elapsed:,.0f} requests/s over {elapsed:.1f} s; errors: {len(errors)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
