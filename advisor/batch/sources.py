"""What the readers hand on (raw cases, JSONL blocks), their options, and the inputs themselves:
which files a path names, and opening them safely (gzip, FIFOs, no devices)."""

from __future__ import annotations

import gzip
import io
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

from advisor.errors import FileError
from advisor.batch.text import MAX_DECOMPRESSED_BYTES, MAX_DOCUMENT_BYTES, MAX_LINE_BYTES, escape_controls, size_text


class RawCase(NamedTuple):
    """A case as read, before parsing: ``kind`` says what ``payload`` is."""
    source: str      # file:line (of the line, row or item)
    kind: str        # "line" (one JSON text, bytes), "object" (parsed data; "item": one of a list of them),
                     # "csv" (CsvRow), "error" (a message), "invalid" (InvalidFacts' errors, naming the field)
    payload: Any


class CsvRow(NamedTuple):
    header: tuple[str, ...]
    cells: list[str]
    delimiter: str


class JsonlBlock(NamedTuple):
    """Whole lines of a JSONL file, starting at line ``first_line``: the bytes, or for a regular
    file only where they are (a worker reads them itself: far less to send between processes)."""
    name: str
    first_line: int
    data: bytes | None
    path: str | None = None
    offset: int = 0
    length: int = 0

    def bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        with open(self.path, "rb") as f:
            data = os.pread(f.fileno(), self.length, self.offset)
        if len(data) != self.length:
            raise OSError(f"{self.name} changed while it was read")
        return data


@dataclass(frozen=True)
class ReadOptions:
    input_format: str | None = None   # for stdin and unknown suffixes
    delimiter: str | None = None      # CSV; None: sniffed among , ; and tab
    encoding: str = "utf-8"           # text formats; a UTF-8 byte-order mark is read either way
    max_line_bytes: int = MAX_LINE_BYTES
    max_document_bytes: int = MAX_DOCUMENT_BYTES
    max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES  # each gzipped input, once decompressed


SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
DELIMITERS = (",", ";", "\t")


def format_of(path: str, options: ReadOptions) -> str | None:
    name = path.lower().removesuffix(".gz")
    return SUFFIXES.get(os.path.splitext(name)[1]) or options.input_format


def error_case(source: str, message: str) -> RawCase:
    return RawCase(source, "error", message)


# A line break followed by one or more blank lines (nothing but whitespace, as bytes.strip() sees it).
_BLANK_RUN = re.compile(rb"\n(?:[ \t\r\x0b\x0c]*\n)+")


def nonblank(data: bytes) -> tuple[range | list[int], list[bytes]]:
    """The lines of ``data`` (split at LF) that hold more than whitespace, and the index of each in
    ``data``. The blank lines are found in runs by one search in C, never looked at one by one in
    Python: a run of a million newlines is one match."""
    framed = b"\n" + data + b"\n"  # so that a blank first or last line is a run between two breaks too
    runs = _BLANK_RUN.finditer(framed)
    run = next(runs, None)
    if run is None:
        lines = data.split(b"\n")
        return range(len(lines)), lines
    numbers: list[int] = []
    kept: list[bytes] = []
    at, line = 1, 0  # where in `framed` the next line starts, and its index in `data`
    while run is not None:
        if run.start() > at:
            part = framed[at:run.start()].split(b"\n")
            kept += part
            numbers += range(line, line + len(part))
            line += len(part)
        line += framed.count(b"\n", run.start(), run.end()) - 1
        at = run.end()
        run = next(runs, None)
    if at < len(framed) - 1:
        part = framed[at:-1].split(b"\n")
        kept += part
        numbers += range(line, line + len(part))
    return numbers, kept


# --- which files -------------------------------------------------------------------------------------

def expand(paths: Iterable[str]) -> Iterator[str | RawCase]:
    """Each path as given ('-' is stdin), directories recursively in sorted order (files with a known
    suffix). A subdirectory that is a symbolic link or cannot be read gives an error case naming it."""
    for p in paths:
        if p != "-" and os.path.isdir(p):
            yield from _walk(p)
        else:
            yield p


def _walk(directory: str) -> Iterator[str | RawCase]:
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        yield error_case(directory, f"cannot read directory {escape_controls(directory)}: {e.strerror}")
        return
    for entry in entries:
        path = entry.path
        try:
            if entry.is_symlink() and entry.is_dir():
                yield error_case(path, f"{escape_controls(path)}: a symbolic link to a directory is not followed")
            elif entry.is_dir(follow_symlinks=False):
                yield from _walk(path)
            elif format_of(path, ReadOptions()) is not None:
                yield path
        except OSError as e:
            yield error_case(path, f"cannot read {escape_controls(path)}: {e.strerror}")


# --- opening -----------------------------------------------------------------------------------------

class Opened(NamedTuple):
    stream: BinaryIO      # decompressed bytes
    raw: BinaryIO | None  # the file itself (its position is the share read), None for stdin
    size: int | None


class TooLarge(FileError, OSError):
    """A gzipped input decompresses to more than its bound."""


class Bounded(io.BufferedIOBase):
    """A decompressing stream that raises TooLarge once more than ``limit`` bytes have come out of it
    (a gzip bomb: a 1 MiB file of newlines decompresses to 1 GiB)."""

    def __init__(self, stream: Any, limit: int):
        super().__init__()
        self.stream, self.limit, self.given = stream, limit, 0

    def readable(self) -> bool:
        return True

    def _counted(self, data: bytes) -> bytes:
        self.given += len(data)
        if self.given > self.limit:
            raise TooLarge(0, f"it is larger than {size_text(self.limit)} once decompressed (the bound of a gzipped "
                              "input; --max-decompressed sets it)")
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.limit + 1 - self.given
        return self._counted(self.stream.read(size))

    def read1(self, size: int = -1) -> bytes:
        if size < 0:
            size = self.limit + 1 - self.given
        return self._counted(self.stream.read1(size))

    def close(self) -> None:
        self.stream.close()
        super().close()


def open_input(path: str, limit: int = MAX_DECOMPRESSED_BYTES) -> Opened:
    """Open an input as bytes, decompressing gzip (at most ``limit`` bytes out of it: more raises
    TooLarge). Devices are refused (an endless /dev/zero would never end); a FIFO is opened without
    waiting for a writer. Raises OSError or ValueError."""
    if path == "-":
        stream: Any = sys.stdin.buffer
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream)
        if _gzipped(stream):
            stream = Bounded(gzip.GzipFile(fileobj=stream, mode="rb"), limit)
        return Opened(stream, None, None)
    st = os.stat(path)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        raise ValueError("is a device, not a file of cases")
    if stat.S_ISDIR(st.st_mode):
        raise ValueError("is a directory")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    os.set_blocking(fd, True)
    raw = open(fd, "rb")
    size = st.st_size if stat.S_ISREG(st.st_mode) else None
    stream = Bounded(gzip.GzipFile(fileobj=raw, mode="rb"), limit) if path.lower().endswith(".gz") else raw
    return Opened(stream, raw, size)


def _gzipped(stream: Any) -> bool:
    peek = getattr(stream, "peek", None)
    return peek is not None and bytes(peek(2)[:2]) == b"\x1f\x8b"


class Progress:
    """How much of the input has been read: bytes of the files (compressed size for gzip)."""

    def __init__(self) -> None:
        self.total: int | None = 0
        self.finished = 0
        self.current: BinaryIO | None = None

    def read(self) -> int:
        try:
            return self.finished + (self.current.tell() if self.current is not None else 0)
        except (OSError, ValueError):
            return self.finished


def size_of(path: str) -> int | None:
    try:
        st = os.stat(path)
    except OSError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else None
