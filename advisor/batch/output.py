"""The output of a run (``--out``), safely.

* ``-``: stdout. A device or a FIFO (also behind a symlink): written in place, never replaced.
* Otherwise (a symlink is followed to its target): records go to a temporary file created exclusively,
  with an unpredictable name, in the target's directory, and are renamed onto the target only when
  every case is done. An existing target's permission bits are kept; a new file follows the umask.
* Refused before any work: an empty path, a directory, an input file, a path inside an input directory.
* Interrupted or a write error (disk full): the temporary file is cut back to whole records and kept,
  and the error names it with the count of complete records.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
import time
from typing import Any

from ..core import Advisor
from .errors import OutputError
from .runner import Sink, interrupted, run, stop_on_signals, terminal_progress
from .summary import Summary
from .text import escape_controls


def check_output(out_path: str, inputs: list[str], option: str = "--out") -> str | None:
    """The real path to write (None for stdout); raises OutputError for a path that must not be used."""
    if out_path == "-":
        return None
    shown = escape_controls(out_path)
    if not out_path.strip():
        raise OutputError(f"{option}: the path is empty")
    target = os.path.realpath(out_path)
    if os.path.isdir(target):
        raise OutputError(f"{option}: {shown} is a directory")
    for p in inputs:
        if p == "-":
            continue
        real = os.path.realpath(p)
        if real == target:
            raise OutputError(f"{option}: {shown} is also an input")
        if os.path.isdir(real) and target.startswith(real.rstrip(os.sep) + os.sep):
            raise OutputError(f"{option}: {shown} is inside the input directory {escape_controls(p)} "
                              "(a later run would read these results as cases)")
    if not _special(target):
        directory = os.path.dirname(target)
        if not os.path.isdir(directory):
            raise OutputError(f"{option}: cannot write {shown}: no such directory {escape_controls(directory)}")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise OutputError(f"{option}: cannot write {shown}: directory not writable")
    return target


def _special(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)


class OutputFile:
    """An open output: ``temp`` is None when written in place (stdout, a device, a FIFO)."""

    def __init__(self, out_path: str, target: str | None, option: str = "--out"):
        self.name, self.target, self.option, self.temp = out_path, target, option, None
        if target is None:
            sys.stdout.flush()
            self.f: Any = sys.stdout.buffer
            return
        try:
            if _special(target):  # never replaced; a FIFO with no reader is an error, not a wait
                fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                os.set_blocking(fd, True)
            else:
                directory, base = os.path.split(target)
                fd, self.temp = tempfile.mkstemp(prefix=f".{base}.", suffix=".partial", dir=directory)
                os.fchmod(fd, _mode_for(target))
        except OSError as e:
            raise OutputError(f"{option}: cannot write {escape_controls(out_path)}: {e.strerror}") from None
        self.f = open(fd, "wb")

    def write(self, data: bytes) -> None:
        self.f.write(data)

    def commit(self) -> None:
        self.f.flush()
        if self.target is not None:
            self.f.close()
        if self.temp is not None:
            os.replace(self.temp, self.target)  # type: ignore[arg-type]

    def keep_whole_records(self, good: int, footer: bytes) -> str:
        """After a failure: the output cut back to ``good`` bytes (whole records) plus the footer;
        returns where they are."""
        where = "stdout" if self.target is None else escape_controls(self.temp or self.name)
        if self.target is None:
            sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
            return where
        try:
            self.f.flush()
        except OSError:
            pass
        if self.temp is not None:
            with open(self.temp, "r+b") as f:
                f.truncate(good)
                f.seek(good)
                try:
                    f.write(footer)
                    f.flush()
                except OSError:
                    f.truncate(good)
        try:
            self.f.close()
        except OSError:
            pass
        return where


def _mode_for(target: str) -> int:
    try:
        st = os.stat(target)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def run_to_file(paths: list[str], out_path: str, *, advisor: Advisor, summary_json: str | None = None,
                **kwargs: Any) -> Summary:
    """:func:`run` into ``out_path`` safely (see the module's text). Raises OutputError for a path
    that cannot be used or written, Interrupted for Ctrl-C, SIGTERM and SIGHUP, WorkerFailed."""
    target = check_output(out_path, paths)
    summary_target = check_output(summary_json, paths, "--summary-json") if summary_json is not None else None
    if summary_json is not None and summary_target == target:
        raise OutputError("--summary-json: the same file as --out")
    out = OutputFile(out_path, target)
    fmt = kwargs.get("fmt", "jsonl")
    from .writers import writer_for
    sink = Sink(out, writer_for(fmt, advisor.drug_ids))
    good = [0, 0]  # bytes and records up to the end of the last whole chunk written
    show = terminal_progress() if kwargs.pop("progress", True) else None

    def mark(cases: int, read: int, total: int | None) -> None:
        good[0], good[1] = sink.bytes, cases
        if show:
            show(cases, read, total)

    restore = stop_on_signals()
    start = time.monotonic()
    try:
        summary = run(paths, out, advisor=advisor, progress=mark, sink=sink, **kwargs)
        out.commit()
    except KeyboardInterrupt:
        end_progress()
        where = out.keep_whole_records(good[0], sink.writer.footer(good[1] > 0).encode())
        raise interrupted(good[1], f"they are in {where}" if out.temp else f"they were written to {where}") from None
    except OSError as e:
        end_progress()
        where = out.keep_whole_records(good[0], sink.writer.footer(good[1] > 0).encode())
        kept = f"{good[1]} complete record(s) kept in {where}" if out.temp else f"{good[1]} complete record(s) written"
        raise OutputError(f"{'--out' if out.target else 'stdout'}: cannot write {escape_controls(out_path)}: "
                          f"{e.strerror or e}; {kept}") from None
    except BaseException:
        end_progress()
        out.keep_whole_records(good[0], b"")
        if out.temp is not None and os.path.exists(out.temp):
            os.unlink(out.temp)
        raise
    finally:
        restore()
    end_progress()
    if summary_json is not None:
        _write_summary(summary_json, summary_target, summary.to_json(advisor.kb, time.monotonic() - start))
    return summary


def _write_summary(path: str, target: str | None, text: str) -> None:
    out = OutputFile(path, target, "--summary-json")
    try:
        out.write(text.encode("utf-8", "backslashreplace"))
        out.commit()
    except OSError as e:
        out.keep_whole_records(0, b"")
        raise OutputError(f"--summary-json: cannot write {escape_controls(path)}: {e.strerror or e}") from None


def end_progress(stream: Any = None) -> None:
    stream = stream or sys.stderr
    if stream.isatty():
        stream.write("\r\033[K")

