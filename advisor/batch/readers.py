"""Reading cases: one registry from input format to reader. Every reader streams, is bounded in memory
(a maximum line and document size, with a clear error) and turns whatever it cannot read into an
``error`` case naming the place, so the other cases still come out.

JSONL is handed on as blocks of whole lines (bytes), which a worker process splits and decodes; CSV,
JSON and YAML are read here case by case.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO, NamedTuple

from ..casefile import CaseFileError, parse_yaml_stream
from .text import BLOCK_BYTES, MAX_DOCUMENT_BYTES, MAX_LINE_BYTES, escape_controls


class RawCase(NamedTuple):
    """A case as read, before parsing: ``kind`` says what ``payload`` is."""
    source: str      # file:line (of the line, row or item)
    kind: str        # "line" (one JSON text, bytes), "object" (parsed data), "csv" (CsvRow), "error" (a message)
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


SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "json", ".yaml": "yaml", ".yml": "yaml"}
DELIMITERS = (",", ";", "\t")


def format_of(path: str, options: ReadOptions) -> str | None:
    name = path.lower().removesuffix(".gz")
    return SUFFIXES.get(os.path.splitext(name)[1]) or options.input_format


def _error(source: str, message: str) -> RawCase:
    return RawCase(source, "error", message)


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
        yield _error(directory, f"cannot read directory {escape_controls(directory)}: {e.strerror}")
        return
    for entry in entries:
        path = entry.path
        try:
            if entry.is_symlink() and entry.is_dir():
                yield _error(path, f"{escape_controls(path)}: a symbolic link to a directory is not followed")
            elif entry.is_dir(follow_symlinks=False):
                yield from _walk(path)
            elif format_of(path, ReadOptions()) is not None:
                yield path
        except OSError as e:
            yield _error(path, f"cannot read {escape_controls(path)}: {e.strerror}")


# --- opening -----------------------------------------------------------------------------------------

class Opened(NamedTuple):
    stream: BinaryIO      # decompressed bytes
    raw: BinaryIO | None  # the file itself (its position is the share read), None for stdin
    size: int | None


def open_input(path: str) -> Opened:
    """Open an input as bytes, decompressing gzip. Devices are refused (an endless /dev/zero would
    never end); a FIFO is opened without waiting for a writer. Raises OSError or ValueError."""
    if path == "-":
        stream: Any = sys.stdin.buffer
        if not hasattr(stream, "peek"):
            stream = io.BufferedReader(stream)  # type: ignore[arg-type]
        if _gzipped(stream):
            stream = gzip.GzipFile(fileobj=stream, mode="rb")
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
    stream = gzip.GzipFile(fileobj=raw, mode="rb") if path.lower().endswith(".gz") else raw
    return Opened(stream, raw, size)


def _gzipped(stream: Any) -> bool:
    peek = getattr(stream, "peek", None)
    return bool(peek) and peek(2)[:2] == b"\x1f\x8b"


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


# --- the registry ------------------------------------------------------------------------------------

Reader = Callable[[BinaryIO, str, ReadOptions], Iterator["RawCase | JsonlBlock"]]
READERS: dict[str, Reader] = {}


def reader(fmt: str) -> Callable[[Reader], Reader]:
    def register(f: Reader) -> Reader:
        READERS[fmt] = f
        return f
    return register


def read_items(paths: Iterable[str], options: ReadOptions = ReadOptions(), progress: Progress | None = None
               ) -> Iterator[RawCase | JsonlBlock]:
    """The raw cases of every path, JSONL as blocks."""
    paths = list(expand(paths))
    if progress is not None:
        sizes = [None if isinstance(p, RawCase) or p == "-" else _size(p) for p in paths]
        progress.total = None if None in sizes else sum(s or 0 for s in sizes)
    for p in paths:
        if isinstance(p, RawCase):
            yield p
            continue
        name = "<stdin>" if p == "-" else p
        fmt = format_of(p, options) if p != "-" else (options.input_format or "jsonl")
        if fmt is None:
            yield _error(name, f"{escape_controls(name)}: unknown file type (known: {', '.join(SUFFIXES)}, "
                               "each also .gz; or give --input-format)")
            continue
        try:
            opened = open_input(p)
        except (OSError, ValueError) as e:
            yield _error(name, f"cannot read {escape_controls(name)}: {getattr(e, 'strerror', None) or e}")
            continue
        if progress is not None:
            progress.current = opened.raw
        try:
            if fmt == "jsonl" and opened.stream is opened.raw and opened.size is not None:
                yield from read_jsonl(opened.stream, name, options, path=p)  # workers read the blocks
            else:
                yield from READERS[fmt](opened.stream, name, options)
        except (OSError, EOFError, zlib.error) as e:  # a broken gzip stream, a read error
            yield _error(name, f"cannot read {escape_controls(name)}: {getattr(e, 'strerror', None) or e}; "
                               "the cases after this point are not read")
        finally:
            if progress is not None:
                progress.finished += opened.size or 0
                progress.current = None
            if p != "-":
                opened.stream.close()
                if opened.raw is not None:
                    opened.raw.close()


def _size(path: str) -> int | None:
    try:
        st = os.stat(path)
    except OSError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def read_paths(paths: Iterable[str], options: ReadOptions = ReadOptions()) -> Iterator[RawCase]:
    """Stream the raw cases of every path (files, directories, '-'), one by one: the input of
    :func:`advisor.batch.evaluate`."""
    for item in read_items(paths, options):
        yield from (split_block(item) if isinstance(item, JsonlBlock) else (item,))


def split_block(block: JsonlBlock) -> list[RawCase]:
    return [RawCase(f"{block.name}:{block.first_line + i}", "line", line)
            for i, line in enumerate(block.bytes().split(b"\n")) if line.strip()]


@reader("jsonl")
def read_jsonl(stream: BinaryIO, name: str, options: ReadOptions, path: str | None = None) -> Iterator[RawCase | JsonlBlock]:
    line, carry = 1, bytearray()
    first = True
    offset = 0  # in the file, of the first byte not yet handed on

    def block_of(data: bytes) -> JsonlBlock:
        nonlocal offset
        start, offset = offset, offset + len(data) + 1
        return JsonlBlock(name, line, data, None) if path is None else JsonlBlock(name, line, None, path, start, len(data))

    while True:
        data = stream.read(BLOCK_BYTES)
        if not data:
            break
        if first:
            first = False
            if data.startswith(codecs.BOM_UTF8):
                data, offset = data[len(codecs.BOM_UTF8):], len(codecs.BOM_UTF8)
        cut = data.rfind(b"\n")
        if cut < 0:  # a long line: keep reading, up to the limit
            carry += data
            if len(carry) > options.max_line_bytes:
                yield _error(f"{name}:{line}", f"line {line} is longer than {options.max_line_bytes:,} bytes; "
                                               f"the rest of {escape_controls(name)} is not read")
                return
            continue
        block = bytes(carry) + data[:cut] if carry else data[:cut]
        carry = bytearray(data[cut + 1:])
        yield block_of(block)
        line += block.count(b"\n") + 1
    if carry:  # a last line with no newline after it
        yield block_of(bytes(carry))


def _text(stream: BinaryIO, options: ReadOptions) -> io.TextIOWrapper:
    encoding = "utf-8-sig" if codecs.lookup(options.encoding).name == "utf-8" else options.encoding
    # A byte that is not valid text becomes a lone surrogate: the row that holds it is refused alone.
    return io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")


def _document(stream: BinaryIO, name: str, options: ReadOptions) -> str | RawCase:
    data = stream.read(options.max_document_bytes + 1)
    if len(data) > options.max_document_bytes:
        return _error(name, f"{escape_controls(name)} is larger than {options.max_document_bytes:,} bytes "
                            "(write large inputs as JSONL or CSV)")
    text = _text(io.BytesIO(data), options).read()
    bad = _bad_text(text)
    if bad is not None:
        return _error(name, f"{escape_controls(name)}: not valid {options.encoding} text (character {bad + 1})")
    return text


def _bad_text(text: str) -> int | None:
    for i, c in enumerate(text):
        if "\udc80" <= c <= "\udcff":
            return i
    return None


@reader("json")
def read_json(stream: BinaryIO, name: str, options: ReadOptions) -> Iterator[RawCase]:
    text = _document(stream, name, options)
    if isinstance(text, RawCase):
        yield text
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        yield _error(f"{name}:{e.lineno}", f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})")
        return
    except (ValueError, RecursionError) as e:  # a number too long to read, nesting too deep
        yield _error(name, f"not valid JSON: {_why(e)}")
        return
    if isinstance(data, list):
        for i, item in enumerate(data, 1):
            yield RawCase(f"{name}:{i}", "object", item)
    else:
        yield RawCase(name, "object", data)


def _why(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "nested too deeply"
    return escape_controls(str(e).split(";")[0])


@reader("yaml")
def read_yaml(stream: BinaryIO, name: str, options: ReadOptions) -> Iterator[RawCase]:
    text = _document(stream, name, options)
    if isinstance(text, RawCase):
        yield text
        return
    line = 1
    try:
        for line, item in parse_yaml_stream(io.StringIO(text), name):
            yield RawCase(f"{name}:{line}", "object", item) if not isinstance(item, CaseFileError) \
                else _error(f"{name}:{line}", escape_controls(str(item)))
    except (ValueError, RecursionError) as e:  # a number too long to read, nesting too deep
        yield _error(f"{name}:{line}", f"{escape_controls(name)}: not valid YAML: {_why(e)}; the rest is not read")


class _LineTooLong(Exception):
    pass


def _lines(text: io.TextIOWrapper, limit: int, count: list[int]) -> Iterator[str]:
    while True:
        line = text.readline(limit + 1)
        if not line:
            return
        if len(line) > limit:
            raise _LineTooLong
        count[0] += 1
        yield line


@reader("csv")
def read_csv(stream: BinaryIO, name: str, options: ReadOptions) -> Iterator[RawCase]:
    text = _text(stream, options)
    count = [0]
    lines = _lines(text, options.max_line_bytes, count)
    try:
        first = next(lines, "")
        delimiter = options.delimiter or max(DELIMITERS, key=first.count)
        rows = csv.reader(_chain(first, lines), delimiter=delimiter)
        header: tuple[str, ...] | None = None
        while True:
            start = count[0] + 1 if header is not None else 1
            try:
                cells = next(rows)
            except StopIteration:
                return
            except csv.Error as e:
                yield _error(f"{name}:{start}", f"not valid CSV: {escape_controls(str(e))}")
                continue
            if not cells:
                continue
            if header is None:
                header = tuple(c.strip() for c in cells)
                continue
            source = f"{name}:{start}"
            if any(_bad_text(c) is not None for c in cells):
                yield _error(source, f"row is not valid {options.encoding} text")
                continue
            yield RawCase(source, "csv", CsvRow(header, cells, delimiter))
    except _LineTooLong:
        yield _error(f"{name}:{count[0] + 1}", f"line {count[0] + 1} is longer than {options.max_line_bytes:,} "
                                               f"characters; the rest of {escape_controls(name)} is not read")
    finally:
        text.detach()


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest
