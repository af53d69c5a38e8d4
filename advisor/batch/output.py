"""The output of a run (``--out``), safely.

* ``-``: stdout. A device or a FIFO (also behind a symlink): written in place, never replaced.
* Otherwise (a symlink is followed to its target): records go to a temporary file created exclusively,
  with an unpredictable name, in the target's directory, and are renamed onto the target only when
  every case is done. An existing target's permission bits are kept; a new file follows the umask.
* Refused before any work: an empty path, a directory, an input file, a path inside an input directory,
  an existing file (or a link's target) that is not empty and not a batch output or summary.
* Interrupted or a write error (disk full): the temporary file is cut back to whole records and kept,
  and the error names it with the count of complete records.
"""

from __future__ import annotations

import io
import os
import select
import stat
import sys
import tempfile
import time
from typing import Any

from advisor.atomic import Kind, WriteError, same_kind
from advisor.core.advisor import Advisor
from advisor.batch.errors import OutputError
from advisor.stopping import Deferred, raise_pending, settle
from advisor.batch.runner import Sink, interrupted, run, stop_on_signals, terminal_progress
from advisor.batch.summary import Summary
from advisor.batch.text import escape_controls


RECORDS = Kind("batch records (JSONL, JSON or CSV)", (b"{", b"[", b"id"))
SUMMARY = Kind("a batch summary (JSON)", (b"{",))


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
    if os.path.isfile(target):  # replaced only when it is what a run writes: never another file
        kind = SUMMARY if option == "--summary-json" else RECORDS
        try:
            ours = same_kind(target, kind)
        except WriteError as e:
            raise OutputError(f"{option}: {shown}: {e}") from None
        if not ours:
            link = "" if target == os.path.abspath(out_path) else " (where its symbolic link leads)"
            raise OutputError(f"{option}: {shown} holds something else than {kind.name}{link}; refusing to replace it: "
                              "name a new file, or remove that one first")
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
        self.committed = False
        self.unfinished: tuple[bytes, int] = (b"", 0)  # a write that failed: its data and how much the OS took
        if target is None:
            sys.stdout.flush()
            buffer = sys.stdout.buffer
            buffer.flush()
            raw = getattr(buffer, "raw", None)  # unbuffered: a write that returns has reached the OS
            self.f: Any = raw if isinstance(raw, io.FileIO) else buffer
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
        self.f = open(fd, "wb", buffering=0)

    def write(self, data: bytes) -> None:
        """Write all of ``data`` unbuffered: when this returns, the OS has every byte, so the count of
        complete records given after a failure is what the file or device really holds."""
        view, self.unfinished = memoryview(data), (data, 0)
        while view:
            n = self.f.write(view)
            if n is None:  # a non-blocking device not ready: wait for it
                select.select([], [self.f], [])
                continue
            view = view[n:]
            self.unfinished = (data, len(data) - len(view))
        self.unfinished = (b"", 0)

    def commit(self) -> None:
        self.f.flush()
        if self.target is not None:
            self.f.close()
        if self.temp is not None:
            os.replace(self.temp, self.target)  # type: ignore[arg-type]
        self.committed = True

    def keep_whole_records(self, good: int, records: int, footer: bytes) -> str | None:
        """After a failure: the output cut back to ``good`` bytes (``records`` whole records) plus the
        footer; returns where they are, or None when the temporary file held no whole record and is gone."""
        where = "stdout" if self.target is None else escape_controls(self.temp or self.name)
        if self.target is None:
            sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
            return where
        try:
            self.f.close()
        except OSError:
            pass
        if self.temp is not None:
            if not records:
                _remove(self.temp)
                return None
            with open(self.temp, "r+b") as f:
                f.truncate(min(good, os.fstat(f.fileno()).st_size))  # never longer: a hole would read as NULs
                f.seek(0, os.SEEK_END)
                try:
                    f.write(footer)
                    f.flush()
                except OSError:
                    f.truncate(good)
        return where

    def discard(self) -> None:
        """After an error that keeps nothing: the temporary file is removed."""
        if self.target is None:
            sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
            return
        try:
            self.f.close()
        except OSError:
            pass
        if self.temp is not None:
            _remove(self.temp)


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _whole_records(writer: Any, data: bytes, written: int) -> int:
    """How many records of a chunk whose write failed a device took whole (the first ``written`` bytes of
    ``data``). Every record is one line: a newline ends it, or, with a separator (JSON's ",\n"), the
    separator after it begins where it ends."""
    if not writer.separator:
        return data.count(b"\n", 0, written)
    separator = writer.separator.encode()
    ends, at = 0, data.find(separator, 1)  # one at 0 follows the previous chunk's last record, counted already
    while 0 <= at <= written:
        ends, at = ends + 1, data.find(separator, at + 1)
    return ends + (0 < len(data) <= written)  # the chunk's last record ends where the chunk does


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
    from advisor.batch.writers import writer_for
    writer = writer_for(kwargs.get("fmt", "jsonl"), advisor.drug_ids, tuple(advisor.facts_model.model_fields))
    good = [0, 0]  # bytes and records up to the end of the last whole chunk the OS took
    show = terminal_progress() if kwargs.pop("progress", True) else None
    out: OutputFile | None = None
    sink: Sink | None = None

    def mark(cases: int, read: int, total: int | None) -> None:
        good[0], good[1] = sink.bytes, cases  # type: ignore[union-attr]
        if show:
            show(cases, read, total)

    def restore() -> None:  # until the handlers are installed: nothing to restore
        pass

    start = time.monotonic()
    try:
        try:
            restore = stop_on_signals()
            raise_pending()  # a signal held since start-up stops the run here, before any file is made
            with Deferred():  # a stop waits until the temporary file is made and known (to remove it)
                out = OutputFile(out_path, target)
            sink = Sink(out, writer)
            summary = run(paths, out, advisor=advisor, progress=mark, sink=sink, **kwargs)
            with Deferred():  # every record is written: the file is put in place whole, and a signal
                out.commit()  # from now on is only noted (the run is complete)
                settle()
        except BaseException:
            # The clean-up below must finish: a signal from now on is only noted. (A signal that came
            # just before this line raises Stop here instead, and the clean-up is that of a stop.)
            settle()
            raise
    except KeyboardInterrupt:
        end_progress()
        if out is None or not out.committed:  # else the run was complete before the signal took effect
            where = out.keep_whole_records(good[0], good[1], writer.footer(good[1] > 0).encode()) if out else None
            if out is not None and out.temp is None and sink is not None and sink.wrote_any:
                good[1] += _whole_records(writer, *out.unfinished)  # a stream keeps what it took: count it too
            raise interrupted(good[1], "nothing was written" if where is None else
                              f"they are in {where}" if out and out.temp else f"they were written to {where}") from None
    except OSError as e:
        end_progress()
        assert out is not None and sink is not None  # OutputFile raises OutputError, not OSError
        where = out.keep_whole_records(good[0], good[1], writer.footer(good[1] > 0).encode())
        if out.temp is None and sink.wrote_any:  # a device or stdout keeps what it took: count those whole too
            good[1] += _whole_records(writer, *out.unfinished)
        kept = f"{good[1]} complete record(s) kept in {where}" if out.temp and where else f"{good[1]} complete record(s) written"
        raise OutputError(f"{'--out' if out.target else 'stdout'}: cannot write {escape_controls(out_path)}: "
                          f"{e.strerror or e}; {kept}") from None
    except BaseException:
        end_progress()
        if out is not None:
            out.discard()
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
        out.discard()
        raise OutputError(f"--summary-json: cannot write {escape_controls(path)}: {e.strerror or e}") from None
    except BaseException:  # Ctrl-C once the records are in place: no temporary file stays behind
        out.discard()
        raise


def end_progress(stream: Any = None) -> None:
    stream = stream or sys.stderr
    if stream.isatty():
        stream.write("\r\033[K")

