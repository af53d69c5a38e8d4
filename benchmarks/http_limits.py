"""What each HTTP/1.1 implementation the service could run on enforces, measured on loopback.

    python benchmarks/http_limits.py

For uvicorn's h11 and httptools protocols and the service's own (advisor.serve.protocol, httptools with
limits), starts the app on a free 127.0.0.1 port and sends: a 20 KiB and a 100 KiB header line, a
100 KiB URL, 200 and 5,000 small header fields, 200 header lines of 1 MiB; then 40 POSTs of a 2 MB body
with urllib (which closes the connection after each answer) to see whether each gets its 413; then a
client that sends a header line every 0.5 s, to see how long the connection stays open (the service's
protocol runs with a 2 s header timeout here). Prints each answer's status line and the server's
resident memory (now and peak).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter

IMPLEMENTATIONS = ["h11", "httptools", "advisor.serve.protocol:LimitedHttpToolsProtocol"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def memory(pid: int) -> str:
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status"))
    return f"RSS {int(fields['VmRSS'].split()[0]) // 1024} MiB (peak {int(fields['VmHWM'].split()[0]) // 1024} MiB)"


def send(port: int, data: bytes, wait: float = 30) -> str:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(wait)
        try:
            s.sendall(data)
        except OSError as e:
            return f"send failed: {e.strerror}"
        try:
            return s.recv(200).split(b"\r\n")[0].decode() or "closed without an answer"
        except OSError as e:
            return f"no answer: {e.strerror or type(e).__name__}"


def trickle(port: int, seconds: float = 8) -> str:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        s.settimeout(0.5)
        while time.monotonic() - start < seconds:
            try:
                s.sendall(b"X-Slow: a\r\n")
                status = s.recv(200).split(b"\r\n")[0].decode() or "(no answer)"
                return f"closed after {time.monotonic() - start:.1f} s: {status}"
            except socket.timeout:
                continue
            except OSError as e:
                return f"closed after {time.monotonic() - start:.1f} s ({e.strerror})"
    return f"still open after {seconds:g} s"


def main() -> None:
    body = b'{"a":"' + b"x" * 2_000_000 + b'"}'
    head = b"GET /health HTTP/1.1\r\nHost: x\r\n"
    for impl in IMPLEMENTATIONS:
        port = free_port()
        db = tempfile.mkdtemp() + "/d.sqlite3"
        code = ("import uvicorn\nfrom advisor.serve import Settings, create_app\n"
                f"app = create_app(Settings(db={db!r}, header_timeout=2))\n"
                f"uvicorn.run(app, host='127.0.0.1', port={port}, http={impl!r}, ws='none', log_level='critical', "
                "timeout_keep_alive=30, limit_concurrency=256)\n")
        proc = subprocess.Popen([sys.executable, "-c", code])
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port)).close()
                    break
                except OSError:
                    time.sleep(0.05)
            print(f"{impl}: started, {memory(proc.pid)}")
            probes = {
                "one 20 KiB header line": head + b"X-A: " + b"a" * 20_000 + b"\r\n\r\n",
                "one 100 KiB header line": head + b"X-A: " + b"a" * 100_000 + b"\r\n\r\n",
                "a 100 KiB URL": b"GET /health?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                "200 header fields": head + b"".join(b"X-%d: a\r\n" % i for i in range(200)) + b"\r\n",
                "5,000 header fields": head + b"".join(b"X-%d: a\r\n" % i for i in range(5000)) + b"\r\n",
                "200 header lines of 1 MiB": head + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 2**20) for i in range(200)) + b"\r\n",
            }
            for name, data in probes.items():
                print(f"  {name:28} {send(port, data):40} {memory(proc.pid)}")
            answers: Counter[str] = Counter()
            for i in range(40):
                path = "/advise" if i % 2 else "/cds-services/ms-infusion-advisor"
                request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": "application/json"})
                try:
                    answers[str(urllib.request.urlopen(request, timeout=10).status)] += 1
                except urllib.error.HTTPError as e:
                    answers[str(e.code)] += 1
                except (urllib.error.URLError, OSError) as e:
                    answers[type(getattr(e, "reason", e)).__name__] += 1
            print(f"  {'40 POSTs of 2 MB (urllib)':28} {dict(answers)}")
            print(f"  {'a header line every 0.5 s':28} {trickle(port)}")
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
