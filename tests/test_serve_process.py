"""`ms-advisor serve` as a real process on a free loopback port, and its start-up errors."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from advisor.cli import main
from serve_helpers import hook, person

pytestmark = pytest.mark.slow  # real server processes

EXE = str(Path(sys.executable).parent / "ms-advisor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(base: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read()}")
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("server did not become ready")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_answers_on_a_free_port_and_stops_cleanly(tmp_path, workers):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([EXE, "serve", "--port", str(port), "--db", str(tmp_path / "d.sqlite3"), "--workers", workers],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(base, proc)
        r = httpx.post(base + "/advise", json={"ms_type": "ppms", "severity": "mild"}, timeout=10)
        assert r.status_code == 200 and r.json()["listed"] == ["ocrelizumab"]
        conds, obs = person("ppms", "mild")
        cards = httpx.post(base + "/cds-services/ms-infusion-advisor", json=hook(conds, obs), timeout=10).json()["cards"]
        assert cards[0]["links"][0]["url"].startswith(base + "/advice?")
        assert "server" not in r.headers  # no server banner
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert err.startswith(f"ms-advisor serve: pages at {base}/ (JSON API: {base}/docs; CDS Hooks: {base}/cds-services)\n"
                          f"ms-advisor serve: decisions logged in {tmp_path / 'd.sqlite3'} (no patient ids stored)\n"
                          "ms-advisor serve: CDS Hooks calls need no token: anyone who can reach the port can call them "
                          "(--trust requires one)\n"), err
    r = CliRunner().invoke(main, ["log", "--db", str(tmp_path / "d.sqlite3"), "--format", "json"])
    assert r.exit_code == 0 and '"channel": "cds"' in r.output


@pytest.mark.parametrize("args,message", [
    (["--rules-dir", "/nonexistent/rules"], "no such directory"),
    (["--trust", "nojwks", "--public-url", "https://cds.example.org"], "ISSUER=JWKS_FILE"),
    (["--trust", "https://ehr.example.org=jwks.json"], "--trust needs --public-url: the address EHRs call this service at"),
])
def test_serve_refuses_bad_options_before_listening(tmp_path, args, message):
    r = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "d.sqlite3"), *args])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


def test_serve_refuses_a_kb_whose_codes_are_broken(tmp_path, kb_copy):
    (kb_copy / "fhir.toml").write_text("[[condition]]\nid = 'nothing'\n", "utf-8")
    r = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "d.sqlite3"), "--rules-dir", str(kb_copy)])
    assert r.exit_code == 2 and "fhir.toml" in r.output


def test_serve_refuses_a_public_url_that_is_not_one(tmp_path):
    r = CliRunner().invoke(main, ["serve", "--db", str(tmp_path / "d.sqlite3"), "--public-url", "javascript:alert(1)"])
    assert r.exit_code == 2 and "--public-url" in r.output


def test_serve_says_at_start_that_tokens_are_required_and_where_the_log_is(tmp_path):
    import json

    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                          "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}))
    port = free_port()
    db = tmp_path / "log\x1b[31m.sqlite3"  # a control character in the path is shown escaped, never raw
    proc = subprocess.Popen([EXE, "serve", "--port", str(port), "--db", str(db), "--log-patient-ids", "--public-url",
                             "https://cds.example.org/ms/", "--trust", f"https://ehr.example.org={jwks}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert err.startswith("ms-advisor serve: pages at https://cds.example.org/ms/ (JSON API: https://cds.example.org/ms/docs; "
                          "CDS Hooks: https://cds.example.org/ms/cds-services)\n"
                          f"ms-advisor serve: decisions logged in {tmp_path}/log\\x1b[31m.sqlite3 (patient ids stored: --log-patient-ids)\n"
                          "ms-advisor serve: CDS Hooks calls need a JWT from https://ehr.example.org with aud "
                          "https://cds.example.org/ms/cds-services/… (--trust)\n"), err
