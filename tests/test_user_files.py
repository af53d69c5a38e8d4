"""Files a user names outside batch (advise --case, serve --trust, kb export --dmn): never a device,
never a wait on a FIFO with no writer or reader, never an unbounded read; one line, exit 2."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor.atomic import ReadError, read_limited
from advisor.cli import main

EXE = str(Path(sys.executable).with_name("ms-advisor"))


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def nodes(tmp_path):
    os.mknod(tmp_path / "zero", stat.S_IFCHR | 0o600, os.makedev(1, 5))  # like /dev/zero: endless
    os.mkfifo(tmp_path / "fifo")
    return tmp_path


def test_a_device_as_a_case_file_is_refused_without_reading_it(nodes):
    r = run("advise", "--case", str(nodes / "zero"))
    assert r.exit_code == 2 and r.output.strip().endswith("zero: is a device or socket, not a file")


def test_a_fifo_with_no_writer_is_an_empty_case_file_not_a_hang(nodes, hang_guard):
    with hang_guard(30):
        r = run("advise", "--case", str(nodes / "fifo"))
    assert r.exit_code == 2 and "is empty" in r.stderr and "Traceback" not in r.stderr


def test_a_huge_case_file_is_refused_by_size(tmp_path):
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(20 * 2**20)
    r = run("advise", "--case", str(big))
    assert r.exit_code == 2 and "is larger than 8 MiB" in r.output


def test_a_pipe_is_read_as_a_case_file(tmp_path):
    # what a shell's <(cat person.json) hands over: /dev/fd/N, a pipe with a writer
    r, w = os.pipe()
    os.write(w, b'{"ms_type": "spms", "severity": "severe"}')
    os.close(w)
    try:
        result = run("advise", "--case", f"/dev/fd/{r}", "--format", "json")
    finally:
        os.close(r)
    assert result.exit_code == 0, result.output
    assert '"listed": [\n    "mitoxantrone"' in result.stdout


def test_read_limited_stops_at_the_limit(nodes):
    with pytest.raises(ReadError, match="device"):
        read_limited(str(nodes / "zero"), 10)
    f = nodes / "f"
    f.write_bytes(b"x" * 11)
    with pytest.raises(ReadError, match="larger"):
        read_limited(str(f), 10)
    assert read_limited(str(f), 11) == b"x" * 11


def test_kb_export_into_a_fifo_with_no_reader_is_an_error_not_a_hang(nodes, hang_guard):
    with hang_guard(30):
        r = run("kb", "export", "--dmn", str(nodes / "fifo"))
    assert r.exit_code == 2 and "is a FIFO with no reader" in r.stderr


def test_kb_export_keeps_an_existing_file_whole(tmp_path):
    out = tmp_path / "kb.dmn"
    out.write_text("<?xml old")  # an earlier export (another kind of file is refused: test_output_files.py)
    out.chmod(0o600)
    assert run("kb", "export", "--dmn", str(out)).exit_code == 0
    assert out.read_text().startswith("<?xml") and stat.S_IMODE(out.stat().st_mode) == 0o600


@pytest.mark.slow
def test_a_device_as_a_trusted_key_set_is_refused_before_serving(nodes):
    p = subprocess.run([EXE, "serve", "--port", "0", "--db", str(nodes / "log.sqlite3"), "--trust", f"https://ehr.example={nodes / 'zero'}",
                        "--public-url", "https://cds.example"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "is a device or socket, not a file" in p.stderr


def test_ics_lines_are_at_most_75_octets_continuations_included(tmp_path):
    out = tmp_path / "o.ics"
    assert run("schedule", "ocrelizumab", "--start", "2027-01-01", "--count", "3", "--ics", str(out)).exit_code == 0
    lines = out.read_bytes().split(b"\r\n")
    assert any(line.startswith(b" ") for line in lines)  # something was folded
    assert max(map(len, lines)) <= 75


def test_a_new_decision_log_is_readable_by_its_owner_only(tmp_path):
    from advisor.serve.store import Store

    db = tmp_path / "log.sqlite3"
    old = os.umask(0o022)
    try:
        Store(str(db))
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_serve_on_a_busy_port_or_an_unknown_host_is_one_line_and_exit_2(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = run("serve", "--port", str(port), "--db", str(tmp_path / "log.sqlite3"))
    assert r.exit_code == 2 and f"--port {port}: cannot listen on 127.0.0.1:{port}" in r.output
    r = run("serve", "--host", "0.0.0.0.0", "--port", "0", "--db", str(tmp_path / "log.sqlite3"))
    assert r.exit_code == 2 and "--host 0.0.0.0.0: not an address" in r.output


def test_the_service_start_refuses_a_busy_port_and_bad_settings_with_a_service_error(tmp_path):
    """What `serve` says before its port opens comes from the library (advisor.serve.start), as a
    ServiceError: a program starting the service gets the same one-line reasons."""
    import socket

    from advisor.errors import ServiceError
    from advisor.serve import Settings
    from advisor.serve.start import can_listen, check, start_up_lines

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServiceError, match=rf"^--port {port}: cannot listen on 127.0.0.1:{port}: "):
            can_listen("127.0.0.1", port)
    with pytest.raises(ServiceError, match="^--host 0.0.0.0.0: not an address"):
        can_listen("0.0.0.0.0", 0)
    with pytest.raises(ServiceError, match="^--trust needs --public-url"):
        check(Settings(db=str(tmp_path / "log.sqlite3"), trust=["https://ehr.example.org=keys.json"]))
    with pytest.raises(ServiceError, match="^--public-url: 'ftp://x' is not an http"):
        check(Settings(db=str(tmp_path / "log.sqlite3"), public_url="ftp://x"))
    lines = start_up_lines(Settings(db="/x/log.sqlite3"), "::1", 8000)
    assert lines[0].startswith("pages at http://[::1]:8000/ ") and "no patient ids stored" in lines[1]


def test_read_paths_refuses_one_path_given_as_a_string(tmp_path):
    from advisor.batch import read_paths

    with pytest.raises(TypeError, match=r"read_paths\(\[path\]\)"):
        list(read_paths(str(tmp_path / "ok.jsonl")))


def test_dates_before_the_year_1000_keep_four_digits(tmp_path):
    out = tmp_path / "y.ics"
    r = run("schedule", "ocrelizumab", "--start", "0001-01-01", "--count", "1", "--ics", str(out))
    assert r.exit_code == 0 and "0001-01-01 (Mon)" in r.output
    assert b"DTSTART;VALUE=DATE:00010101" in out.read_bytes()
