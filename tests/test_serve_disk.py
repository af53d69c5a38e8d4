"""The decision log on a read-only or full disk, with the service run as an unprivileged user (root
would write through a read-only mode): a one-line start-up error, or 503 with the reason while
serving, and never a half-written log. Needs root to mount small tmpfs folders and `setpriv` to drop
to `nobody`; skipped, saying why, where either is missing."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest

from serve_helpers import hook, person
from test_serve_process import EXE, free_port, wait_ready

pytestmark = pytest.mark.slow  # server processes, mounts
NOBODY = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups"]
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def unprivileged():
    """(a prefix that runs a command as `nobody`, a fresh folder it can reach). The folder is not under
    pytest's own, which other pytest runs on the machine keep closed to other users."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run the service as an unprivileged user")
    if subprocess.run([*NOBODY, EXE, "--version"], capture_output=True).returncode != 0:
        pytest.skip("the user nobody cannot run this checkout's ms-advisor")
    place = Path(tempfile.mkdtemp(prefix="ms-advisor-disk-"))
    place.chmod(0o711)
    try:
        yield NOBODY, place
    finally:
        shutil.rmtree(place, ignore_errors=True)


@contextlib.contextmanager
def tmpfs(where: Path, size: str, read_only: bool = False):
    where.mkdir()
    options = f"size={size},mode=0777" + (",ro" if read_only else "")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in {where} (needs mount rights): {r.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(folder: Path) -> Path:
    """Take every free byte of the file system holding ``folder``; return the filler file."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC
    return filler


def start(prefix: list[str], db: Path, *args: str) -> subprocess.CompletedProcess:
    """`ms-advisor serve` with options that are all checked before it would listen on a host nobody can
    listen on: exit 2 with the first problem."""
    return subprocess.run([*prefix, EXE, "serve", "--host", "256.0.0.1", "--port", "0", "--db", str(db), *args],
                          capture_output=True, text=True, timeout=60)


def test_a_log_folder_that_cannot_be_written_stops_the_start_in_one_line_and_leaves_nothing(unprivileged):
    unprivileged, tmp_path = unprivileged
    folder = tmp_path / "read-only"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    folder.chmod(0o555)
    r = start(unprivileged, folder / "d.sqlite3")
    assert r.returncode == 2 and r.stderr == f"ms-advisor: {folder}/d.sqlite3: cannot be created: Permission denied\n"
    assert list(folder.iterdir()) == []

    with tmpfs(tmp_path / "ro-mount", "64k", read_only=True) as mounted:
        r = start(unprivileged, mounted / "d.sqlite3")
        assert r.returncode == 2 and r.stderr == f"ms-advisor: {mounted}/d.sqlite3: cannot be created: Read-only file system\n"



def test_a_log_the_user_may_read_but_not_write_is_refused_at_start_and_still_read_by_log(unprivileged):
    unprivileged, tmp_path = unprivileged
    existing = tmp_path / "kept"  # refused at start, not at the first request
    existing.mkdir()
    os.chown(existing, 65534, 65534)
    assert start(unprivileged, existing / "d.sqlite3").stderr.startswith("ms-advisor: --host 256.0.0.1")  # created and usable
    (existing / "d.sqlite3").chmod(0o444)
    before = hashlib.sha256((existing / "d.sqlite3").read_bytes()).hexdigest()
    r = start(unprivileged, existing / "d.sqlite3")
    assert r.returncode == 2 and r.stderr == (f"ms-advisor: {existing}/d.sqlite3: the decision log cannot be written: "
                                              "attempt to write a readonly database\n")
    assert hashlib.sha256((existing / "d.sqlite3").read_bytes()).hexdigest() == before
    log = subprocess.run([*unprivileged, EXE, "log", "--db", str(existing / "d.sqlite3")], capture_output=True, text=True)
    assert log.returncode == 0 and log.stdout.startswith("0 decision(s)")  # still readable as a log



def test_a_full_disk_stops_the_start_in_one_line_and_leaves_no_empty_log(unprivileged):
    unprivileged, tmp_path = unprivileged
    with tmpfs(tmp_path / "full", "64k") as mounted:
        fill(mounted)
        r = start(unprivileged, mounted / "d.sqlite3")
        assert r.returncode == 2 and r.stderr == f"ms-advisor: {mounted}/d.sqlite3: cannot be used as the decision log: database or disk is full\n"
        assert sorted(p.name for p in mounted.iterdir()) == ["filler"]  # no empty log left behind


def test_a_disk_that_fills_while_serving_gives_503_with_the_reason_and_a_whole_log(unprivileged):
    unprivileged, tmp_path = unprivileged
    with tmpfs(tmp_path / "small", "512k") as mounted:
        db = mounted / "d.sqlite3"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([*unprivileged, EXE, "serve", "--port", str(port), "--db", str(db)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ok = 0
        try:
            wait_ready(base, proc)
            facts = {"ms_type": "ppms", "severity": "mild"}
            for _ in range(3):
                assert httpx.post(base + "/advise", json=facts, timeout=10).status_code == 200
                ok += 1
            filler = fill(mounted)
            answers = []
            for _ in range(20):  # pages SQLite already holds take a few decisions; then the disk is full
                r = httpx.post(base + "/advise", json=facts, timeout=20)
                answers.append(r.status_code)
                ok += r.status_code == 200
                if r.status_code == 503:
                    break
            assert answers[-1] == 503, answers
            assert r.json() == {"errors": [{"field": "(decision log)", "message": "the decision log cannot be written (database or "
                                            "disk is full): no answer is given that cannot be logged; try again once the service's "
                                            "operator has fixed it"}]}
            conds, obs = person("ppms", "mild")
            r = httpx.post(base + "/cds-services/ms-infusion-advisor", json=hook(conds, obs), timeout=20)
            assert r.status_code == 503 and "database or disk is full" in r.text
            assert httpx.get(base + "/health", timeout=10).status_code == 200  # still up
            filler.unlink()  # room again: the service goes on without a restart
            assert httpx.post(base + "/advise", json=facts, timeout=10).status_code == 200
            ok += 1
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err, err
        assert "503" in err and "database or disk is full" in err  # the operator's log says why
        conn = sqlite3.connect(db)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == ok  # each 200 logged, no 503 half-logged
        log = subprocess.run([EXE, "log", "--db", str(db), "--format", "json"], capture_output=True, text=True)
        assert len(json.loads(log.stdout)["decisions"]) == ok
