"""The HTTP edges of a real `ms-advisor serve` process on loopback: oversized request heads, refused
large bodies the client can always read, and clients that send slowly (see advisor/serve/protocol.py)."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import httpx
import pytest

from test_serve_process import EXE, free_port, wait_ready

pytestmark = pytest.mark.slow  # a real server process
HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the module, with short timeouts so that the slow clients' tests are fast."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = tmp_path_factory.mktemp("limits") / "d.sqlite3"
    proc = subprocess.Popen([EXE, "serve", "--port", str(port), "--db", str(db), "--header-timeout", "1", "--body-timeout", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(base, proc)
        yield port, proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Ctrl-C the server and wait for it (killed if it has not ended in 20 s)."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def rss_mib(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def exchange(port: int, data: bytes, wait: float = 10) -> bytes:
    """Send ``data`` while reading the answer (a sender that stops at the first error), return it all."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(wait)

        def sender() -> None:
            try:
                s.sendall(data)
            except OSError:
                pass

        thread = threading.Thread(target=sender, daemon=True)
        thread.start()
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except OSError:
            pass
        thread.join(10)
        return answer


def status_and_error(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)["errors"][0]


@pytest.mark.parametrize("request_bytes,status,message", [
    (HEAD + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431, "16 KiB each"),
    (HEAD + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 15_000) for i in range(5)) + b"\r\n", 431, "64 KiB together"),
    (HEAD + b"".join(b"X-%d: a\r\n" % i for i in range(101)) + b"\r\n", 431, "more than 100 header fields"),
    (b"GET /health?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, "URL is longer than 16 KiB"),
    (HEAD + b"X-Big: " + b"a" * 2 * 2**20 + b"\r\n\r\n", 431, "header lines are longer"),  # a line still arriving
])
def test_an_oversized_request_head_is_refused_before_any_work(server, request_bytes, status, message):
    port, _ = server
    got, error = status_and_error(exchange(port, request_bytes))
    assert got == status and message in error["message"], error


def test_a_head_of_hundreds_of_mib_leaves_memory_flat_and_the_service_answering(server):
    port, proc = server
    before = rss_mib(proc.pid)
    for _ in range(2):  # 200 header lines of 1 MiB, twice: uvicorn's own httptools protocol kept ~200 MiB
        answer = exchange(port, HEAD + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 2**20) for i in range(200)) + b"\r\n")
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:100]
    assert rss_mib(proc.pid) - before < 30
    normal = {f"X-Field-{i}": "v" * 100 for i in range(90)}  # within the limits: answered as before
    assert httpx.get(f"http://127.0.0.1:{port}/health", headers=normal, timeout=5).status_code == 200


def test_every_large_post_gets_its_413_even_when_the_client_closes_each_connection(server):
    port, _ = server
    body = json.dumps({"a": "x" * 2_000_000}).encode()
    answers = []
    for i in range(40):  # urllib sends Connection: close and the whole body before it reads the answer
        path = "/advise" if i % 2 else "/cds-services/ms-infusion-advisor"
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers={"Content-Type": "application/json"})
        try:
            answers.append(urllib.request.urlopen(request, timeout=10).status)
        except urllib.error.HTTPError as e:
            assert json.loads(e.read())["errors"][0]["message"] == "the body is larger than 1024 KiB"
            answers.append(e.code)
        except (urllib.error.URLError, OSError) as e:
            answers.append(type(getattr(e, "reason", e)).__name__)
    assert answers == [413] * 40


def test_clients_that_send_their_head_slowly_or_nothing_are_cut_off(server):
    port, _ = server
    results: list[tuple[float, bytes]] = []

    def trickler() -> None:
        start = time.monotonic()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(HEAD)
            s.settimeout(0.25)
            answer = b""
            while time.monotonic() - start < 8:
                try:
                    s.sendall(b"X-Slow: a\r\n")
                    answer = s.recv(4096)
                    break
                except socket.timeout:
                    continue
                except OSError:
                    break
            results.append((time.monotonic() - start, answer))

    threads = [threading.Thread(target=trickler) for _ in range(4)]
    for t in threads:
        t.start()
    with socket.create_connection(("127.0.0.1", port)) as idle:  # sends nothing at all
        idle.settimeout(8)
        start = time.monotonic()
        assert idle.recv(100) == b""  # closed, without an answer (no request to answer)
        assert time.monotonic() - start < 3
    for t in threads:
        t.join(10)
    assert len(results) == 4
    for took, answer in results:
        assert took < 3 and answer.startswith(b"HTTP/1.1 408 "), (took, answer[:100])
        assert b"headers did not arrive within 1 s" in answer


def test_a_body_sent_slowly_gets_408(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(8)
        start = time.monotonic()
        s.sendall(b"POST /advise HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ms")
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert time.monotonic() - start < 3
    got, error = status_and_error(answer)
    assert got == 408 and error == {"field": "(body)", "message": "the request's body did not arrive within 1 s"}


def test_a_stopping_server_answers_requests_still_arriving_with_503_at_once(tmp_path):
    """SIGTERM while one client trickles its head and another its body: each gets 503 now, and the
    server exits, instead of waiting for them up to the header or body timeout (here 60 s)."""
    port = free_port()
    proc = subprocess.Popen([EXE, "serve", "--port", str(port), "--db", str(tmp_path / "d.sqlite3"),
                             "--header-timeout", "60", "--body-timeout", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        partial = [HEAD + b"X-Slow: a",
                   b"POST /advise HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ms"]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in partial]
        for s, data in zip(clients, partial):
            s.sendall(data)
        time.sleep(0.5)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        for s in clients:
            s.settimeout(10)
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            s.close()
            got, error = status_and_error(answer)
            assert got == 503 and error == {"field": "(request)", "message": "the service is shutting down; send the request again"}
        proc.communicate(timeout=10)
        assert time.monotonic() - start < 8
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_the_pages_on_their_own_bound_request_heads_too(tmp_path):
    """`python -m advisor.web` runs on the service's protocol: 200 header lines of 1 MiB were 200 OK there.
    (It is `ms-advisor serve` by another name, so it takes --db as the service does.)"""
    import sys

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "advisor.web", "--port", str(port), "--db", str(tmp_path / "d.sqlite3")],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "the pages' server did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        for request_bytes, status, message in [
            (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431, "16 KiB each"),
            (b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(101)) + b"\r\n", 431, "more than 100 header fields"),
            (b"GET /?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414, "URL is longer than 16 KiB"),
        ]:
            got, error = status_and_error(exchange(port, request_bytes))
            assert got == status and message in error["message"], error
    finally:
        stop(proc)


def test_connections_past_the_most_are_refused_so_incomplete_heads_cannot_pile_up(tmp_path):
    """Each open connection may hold an incomplete head of up to 64 KiB: past MAX_CONNECTIONS a new one
    gets 503 at once (uvicorn accepted and read any number: 3,000 took the server from 77 to 261 MiB)."""
    import resource

    from advisor.serve.protocol import MAX_CONNECTIONS

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_CONNECTIONS + 200
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs {wanted} open files (the hard limit is {hard})")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # the server inherits it
    port = free_port()
    proc = subprocess.Popen([EXE, "serve", "--port", str(port), "--db", str(tmp_path / "d.sqlite3"), "--header-timeout", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    idle: list[socket.socket] = []
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(MAX_CONNECTIONS)]
        time.sleep(0.5)
        got, error = status_and_error(exchange(port, HEAD + b"X-A: " + b"a" * 60_000, wait=5))
        assert got == 503 and error == {"field": "(connection)", "message": f"the service has {MAX_CONNECTIONS} connections open, "
                                                                            "its most; try again shortly"}
        for s in idle:
            s.close()
        idle = []
        time.sleep(0.5)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    finally:
        for s in idle:
            s.close()
        stop(proc)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_pipelined_request_refused_is_answered_after_the_requests_before_it(server):
    """A refusal sent at once would be read as the answer to the first request still being handled
    (whose own answer was dropped): each request gets its own answer, in order."""
    port, _ = server
    body = b'{"ms_type": "ppms", "severity": "mild"}'
    advise = b"POST /advise HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    for later, status, message in [(HEAD + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n", 431, "16 KiB each"),
                                   (HEAD + b"X-Slow: a", 408, "headers did not arrive within 1 s")]:
        answer = exchange(port, advise + HEAD + b"\r\n" + later)
        statuses = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", answer)]
        assert statuses == [200, 200, status], answer[:300]
        assert message in json.loads(answer.rpartition(b"\r\n\r\n")[2])["errors"][0]["message"]
