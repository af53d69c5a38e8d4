"""Stopping signals in `ms-advisor batch` from its first moment to its last, what a full device really
took, and the dead workers and errors that end a run without a hang (exceptions that cross a process
boundary, a killed worker, SIGTERM and SIGHUP, a KB error in the main process or a worker)."""

import io
import json
import os
import pickle
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from advisor.batch import run
from advisor.batch.casefile import CaseFileError
from advisor.batch.errors import BatchError, Interrupted, OutputError, WorkerFailed
from advisor.errors import InvalidFacts, KnowledgeBaseError

EXE = str(Path(sys.executable).parent / "ms-advisor")
STOPPING = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def cases(path, n):
    path.write_text("".join(f'{{"id":"c{i}","ms_type":"spms","severity":"mild","prior_failures":{i % 5}}}\n' for i in range(n)))
    return path


def children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def alive(pid):
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def leftovers(directory, *keep):
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def start(args, **kw):
    # A shell's background jobs start with SIGINT ignored, which Python keeps: give the child the default.
    return subprocess.Popen(args, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL), **kw)


# --- a second signal while the run cleans up after the first ---------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_signals_during_the_clean_up_do_not_kill_it(tmp_path, workers):
    big = cases(tmp_path / "big.jsonl", 400_000)
    out = tmp_path / "out.jsonl"
    p = start([EXE, "batch", str(big), "--out", str(out), "--workers", workers])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(f.stat().st_size > 3_000_000 for f in tmp_path.glob(".out.jsonl.*.partial")):
        time.sleep(0.02)
    pool = children(p.pid)
    p.send_signal(signal.SIGTERM)
    k = 0
    while p.poll() is None:  # more signals, of every kind, for as long as the process lives
        p.send_signal(STOPPING[k % 3])
        k += 1
        time.sleep(0.002)
    err = p.stderr.read()
    assert p.returncode == 2 and "Traceback" not in err and k > 0, (p.returncode, err)
    assert err.count("\n") == 1 and err.startswith("ms-advisor: interrupted after "), err
    n = int(err.split("interrupted after ")[1].split()[0])
    partials = [f for f in tmp_path.iterdir() if f.name.endswith(".partial")]
    assert len(partials) == 1, (err, leftovers(tmp_path))
    partial = partials[0]
    assert str(partial) in err and leftovers(tmp_path, "big.jsonl") == [partial.name]  # no other temporary file
    assert [json.loads(line)["id"] for line in partial.read_text().splitlines()] == [f"c{i}" for i in range(n)] and n > 0
    time.sleep(0.5)
    assert not any(alive(w) for w in pool)


# --- a signal before the run's handlers: imports, the knowledge base ------------------------------------

SELF_KILL = textwrap.dedent("""
    import importlib.abc, os, signal, sys
    sys.argv = [sys.argv[1] + "/ms-advisor", *sys.argv[2:]]
    when = os.environ["KILL_WHEN"]

    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == when:  # the signal arrives as this module starts to be imported
                os.kill(os.getpid(), signal.SIGTERM)
            return None
    sys.meta_path.insert(0, Hook())
    if when == "Advisor":
        import advisor.core.advisor
        build = advisor.core.advisor.Advisor.__init__
        def slow_start(self, *a, **kw):
            os.kill(os.getpid(), signal.SIGTERM)
            build(self, *a, **kw)
        advisor.core.advisor.Advisor.__init__ = slow_start
    from advisor.cli import main
    if when == "main":
        os.kill(os.getpid(), signal.SIGTERM)
    main()
""")


@pytest.mark.slow
@pytest.mark.parametrize("when", ["click", "pydantic", "advisor.core.advisor", "Advisor", "advisor.batch.output", "main"])
def test_a_signal_during_start_up_ends_as_an_interrupted_run(tmp_path, when):
    """SIGTERM as click or pydantic is imported (the CLI's own imports), as the knowledge base is built,
    as the batch modules load: exit 2 with the one line, and no file made."""
    f = cases(tmp_path / "c.jsonl", 50)
    script = tmp_path / "run.py"
    script.write_text(SELF_KILL)
    p = subprocess.run([sys.executable, str(script), str(Path(EXE).parent), "batch", str(f), "--out", str(tmp_path / "o.jsonl"),
                        "--workers", "2"], capture_output=True, text=True, timeout=60, env={**os.environ, "KILL_WHEN": when})
    assert p.returncode == 2 and p.stderr == "ms-advisor: interrupted after 0 complete case record(s); nothing was written\n", \
        (p.returncode, p.stderr)
    assert leftovers(tmp_path, "c.jsonl", "run.py") == []


def test_other_commands_do_not_hold_signals(tmp_path):
    """Only `ms-advisor batch` holds stopping signals from its start: another command still ends at
    once on SIGTERM (as the killed process it is: nothing of it is left to clean up)."""
    script = tmp_path / "run.py"
    script.write_text(SELF_KILL)
    p = subprocess.run([sys.executable, str(script), str(Path(EXE).parent), "rules"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "KILL_WHEN": "pydantic"})
    assert p.returncode == -signal.SIGTERM and p.stdout == ""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.2, 0.35, 0.5, 0.8, 1.2])
def test_sigterm_early_in_a_real_run_ends_it_the_documented_way(tmp_path, delay):
    big = cases(tmp_path / "big.jsonl", 200_000)
    out = tmp_path / "out.jsonl"
    p = start([EXE, "batch", str(big), "--out", str(out), "--workers", "2"])
    time.sleep(delay)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    if p.returncode == 0:  # a fast machine finished the run before the signal came: then it is all there
        assert leftovers(tmp_path, "big.jsonl") == ["out.jsonl"] and len(out.read_text().splitlines()) == 200_000
        return
    if p.returncode == -signal.SIGTERM:  # a loaded machine: the signal came while the interpreter itself was
        # starting, before the command's first line could hold it; then nothing of the run exists yet
        assert leftovers(tmp_path, "big.jsonl") == [] and "Traceback" not in err, err
        return
    assert p.returncode == 2 and "Traceback" not in err and err.startswith("ms-advisor: interrupted after "), (p.returncode, err)
    n = int(err.split("interrupted after ")[1].split()[0])
    left = leftovers(tmp_path, "big.jsonl")
    if n == 0:
        assert left == [] and "nothing was written" in err
    else:
        assert len(left) == 1 and left[0].endswith(".partial") and left[0] in err
        assert len((tmp_path / left[0]).read_text().splitlines()) == n


# --- a full device: the count is what the device took -------------------------------------------------

@pytest.fixture
def small_device(tmp_path):
    """A 64 KiB tmpfs mounted in the test's folder (root and mount rights needed), unmounted after."""
    where = tmp_path / "small"
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a 64 KiB tmpfs in {tmp_path} (needs root with mount rights): {r.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(where)], capture_output=True)


def one_case_per_file(folder, n):
    """``n`` inputs of one case each: every case is its own unit of work, its record a small write."""
    folder.mkdir()
    for i in range(n):
        (folder / f"{i:04d}.jsonl").write_text(f'{{"id":"c{i}","ms_type":"spms","severity":"mild"}}\n')
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_device_that_fills_up_keeps_exactly_the_records_counted(tmp_path, small_device, fmt):
    inputs = one_case_per_file(tmp_path / "in", 400)  # about 85 KB of records for 64 KiB
    p = subprocess.run([EXE, "batch", str(inputs), "--out", str(small_device / "o.out"), "--format", fmt, "--workers", "1"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "No space left on device" in p.stderr and "Traceback" not in p.stderr, p.stderr
    n = int(p.stderr.split("; ")[-1].split()[0])
    [kept] = [f for f in small_device.iterdir() if f.name.endswith(".partial")]
    assert f"{n} complete record(s) kept in {kept}" in p.stderr and not (small_device / "o.out").exists()
    data = kept.read_bytes()
    assert b"\0" not in data and data.endswith(b"\n")
    lines = data.decode().splitlines()
    if fmt == "csv":
        assert lines[0].startswith("id,") and len(lines) == n + 1
        ids = [line.split(",")[0] for line in lines[1:]]
    else:
        ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == n > 0 and sorted(ids, key=lambda i: int(i[1:])) == [f"c{i}" for i in range(n)]


@pytest.mark.slow
def test_a_device_that_takes_nothing_is_said_to_have_taken_nothing(tmp_path):
    full = tmp_path / "full"
    os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # like /dev/full: every write fails ENOSPC
    one = cases(tmp_path / "one.jsonl", 1)
    p = subprocess.run([EXE, "batch", str(one), "--out", str(full)], capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (2, f"ms-advisor: --out: cannot write {full}: No space left on device; "
                                           "0 complete record(s) written\n")
    with open(full, "wb") as stdout:
        p = subprocess.run([EXE, "batch", str(one), "--out", "-"], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (2, "ms-advisor: stdout: cannot write -: No space left on device; 0 complete record(s) written\n")


@pytest.mark.slow
def test_a_full_device_with_nothing_whole_leaves_no_temporary_file(tmp_path, small_device):
    (small_device / "filler").write_bytes(b"x" * 60_000)
    big = cases(tmp_path / "big.jsonl", 2_000)  # its first unit of work alone is larger than the space left
    p = subprocess.run([EXE, "batch", str(big), "--out", str(small_device / "o.jsonl")], capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (2, f"ms-advisor: --out: cannot write {small_device / 'o.jsonl'}: No space left on device; "
                                           "0 complete record(s) written\n")
    assert leftovers(small_device) == ["filler"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
@pytest.mark.parametrize("budget", [150, 123_457])
def test_a_device_that_fills_mid_chunk_is_counted_by_the_records_it_took_whole(tmp_path, monkeypatch, fmt, budget):
    """A device cannot be cut back: the count is of the records whose every byte it took, in the chunk
    that failed too (every record is one line)."""
    import io

    from advisor import Advisor
    from advisor.batch import OutputError, output

    device = tmp_path / "device"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
    taken = bytearray()

    class Filling(io.RawIOBase):  # takes ``budget`` bytes, then ENOSPC
        def writable(self):
            return True

        def write(self, b):
            n = min(len(b), budget - len(taken))
            if n <= 0:
                raise OSError(28, "No space left on device")
            taken.extend(bytes(b[:n]))
            return n
    real_init = output.OutputFile.__init__

    def init(self, *a, **kw):
        real_init(self, *a, **kw)
        self.f.close()
        self.f = Filling()
    monkeypatch.setattr(output.OutputFile, "__init__", init)
    big = cases(tmp_path / "big.jsonl", 3_000)
    with pytest.raises(OutputError) as e:
        output.run_to_file([str(big)], str(device), advisor=Advisor(), fmt=fmt, progress=False)
    n = int(str(e.value).split("; ")[-1].split()[0])
    lines = bytes(taken).decode().split("\n")
    if fmt == "csv":
        whole = max(len(lines) - 2, 0)  # the header, and the line in progress
    elif fmt == "json":
        records = bytes(taken)[2:].decode()  # after "[\n": records joined by ",\n"
        whole = len(records.split(",\n")) - 1 + records.endswith("}") if records else 0
    else:
        whole = len(lines) - 1
    assert n == whole and str(e.value).endswith(f"; {n} complete record(s) written")


# --- a stop while records stream out, and a stop as the clean-up begins (review findings) ----------------

def test_a_stop_during_a_write_to_stdout_counts_the_records_the_stream_took(tmp_path, monkeypatch):
    """stdout takes 64 KiB per write; SIGTERM comes as the third write begins: the message counts the
    whole records already on the stream (it said 0)."""
    import io

    from advisor.api import default_advisor
    from advisor.batch import Interrupted, run_to_file

    src = tmp_path / "in.jsonl"
    src.write_text("".join('{"id":"p%d","ms_type":"spms","severity":"severe"}\n' % i for i in range(3000)))

    class Pipe(io.BytesIO):
        calls = 0

        def write(self, b):
            Pipe.calls += 1
            if Pipe.calls == 3:
                os.kill(os.getpid(), signal.SIGTERM)
            return super().write(bytes(b[:65536]))

    pipe = Pipe()
    monkeypatch.setattr(sys, "stdout", type("Out", (), {"buffer": pipe, "flush": lambda self: None})())
    with pytest.raises(Interrupted) as e:
        run_to_file([str(src)], "-", advisor=default_advisor(), workers=1, progress=False)
    lines = pipe.getvalue().count(b"\n")
    assert lines > 0 and f"interrupted after {lines} complete case record(s)" in str(e.value)


def test_a_signal_as_an_errors_clean_up_begins_still_leaves_no_temporary_file(tmp_path, monkeypatch):
    """The run fails after writing; a SIGTERM lands as the clean-up starts: the stop's clean-up runs
    (whole records kept in the .partial file, Interrupted), never a bare Stop with a temporary file."""
    import advisor.batch.output as output
    from advisor.api import default_advisor
    from advisor.batch import Interrupted

    src = tmp_path / "in.jsonl"
    src.write_text('{"id":"a","ms_type":"spms","severity":"mild"}\n' * 10)
    real_run, real_settle = output.run, output.settle

    def failing_run(*a, **kw):
        real_run(*a, **kw)
        raise RuntimeError("a failure after the records were written")

    def settle():
        os.kill(os.getpid(), signal.SIGTERM)
        real_settle()
    monkeypatch.setattr(output, "run", failing_run)
    monkeypatch.setattr(output, "settle", settle)
    with pytest.raises(Interrupted) as e:
        output.run_to_file([str(src)], str(tmp_path / "out.jsonl"), advisor=default_advisor(), workers=1, progress=False)
    partial = [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert "interrupted after 10 complete case record(s)" in str(e.value) and len(partial) <= 1
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.jsonl.") and p.name not in partial]


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _start(tmp_path, n=400_000):
    f = tmp_path / "big.jsonl"
    f.write_text("".join(f'{{"id":"c{i}","ms_type":"spms","severity":"mild","prior_failures":{i % 5}}}\n' for i in range(n)))
    p = subprocess.Popen([EXE, "batch", str(f), "--out", str(tmp_path / "o.jsonl"), "--workers", "2"],
                         stderr=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(_children(p.pid)) < 2:
        time.sleep(0.05)
    time.sleep(0.5)
    return p


CASE = '{"id":"ok","ms_type":"spms","severity":"mild"}\n'


# --- dead workers and errors that end a run, never a hang ---------------------------------------------------

@pytest.mark.parametrize("exc", [
    InvalidFacts([{"field": "x", "message": "bad", "allowed": ["a"]}]),
    KnowledgeBaseError([("decisions.toml", "r", "two statuses")]),
    CaseFileError("f: not valid YAML"), BatchError("b"), OutputError("o"), Interrupted("i"), WorkerFailed("w"),
])
def test_every_exception_crossing_a_process_boundary_pickles(exc):
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc) and str(copy) == str(exc)
    assert getattr(copy, "errors", None) == getattr(exc, "errors", None)
    assert getattr(copy, "problems", None) == getattr(exc, "problems", None)


@pytest.mark.slow
def test_a_killed_worker_ends_the_run_within_30_seconds(tmp_path):
    p = _start(tmp_path)
    workers = _children(p.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    try:
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 2 and "worker" in err and "signal 9" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not any(Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text() for w in workers)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGTERM])
def test_sigterm_and_sighup_end_the_run_every_time(tmp_path, sig):
    p = _start(tmp_path)
    workers = _children(p.pid)
    p.send_signal(sig)
    try:
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 2 and "interrupted after" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not any(Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text() for w in workers)


@pytest.mark.parametrize("where", ["main", "worker"])
def test_a_kb_error_stops_the_run(tmp_path, monkeypatch, where):
    """Raised where the first unit is assessed (the main process) or in a worker (a later unit)."""
    from advisor.core.advisor import Advisor as A
    main_pid, original = os.getpid(), A._decide_uncached

    def broken(self, facts):
        if where == "main" or os.getpid() != main_pid:
            raise KnowledgeBaseError([("decisions.toml", "ocrelizumab", "rules disagree")])
        return original(self, facts)
    monkeypatch.setattr(A, "_decide_uncached", broken)  # forked workers inherit it
    f = tmp_path / "c.jsonl"
    # more than one 256 KB unit; the later units hold a case the first does not (not in any cache)
    f.write_text(CASE * 6000 + CASE.replace("mild", "severe") * 6000)
    with pytest.raises(KnowledgeBaseError, match="rules disagree"):
        run([str(f)], io.StringIO(), advisor=A(), workers=2)
