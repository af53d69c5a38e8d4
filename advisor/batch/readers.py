"""Reading cases: one registry from input format to reader (also what ``evaluate(read_paths(...))``
reads, and ``case.read_case``, what ``--case`` reads). Every reader streams, is bounded in memory (a maximum line and document size, with a clear
error) and turns whatever it cannot read into an ``error`` case naming the place, so the other cases
still come out. A new format is one function here, registered with ``@reader("name")``.

JSONL is handed on as blocks of whole lines, which a worker process splits and decodes; CSV, JSON and
YAML are read here case by case.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, BinaryIO, TypeVar

from advisor.batch.casefile import CaseFileError, DuplicateKey, json_nesting, nesting_error, parse_yaml_stream, unique_keys
from advisor.errors import FileError, InvalidFacts
from advisor.core.models import float_from_text, int_from_text
from advisor.batch.sources import (DELIMITERS, SUFFIXES, CsvRow, JsonlBlock, Progress, RawCase, ReadOptions, error_case,
                      expand, format_of, nonblank, open_input, size_of)
from advisor.batch.text import BLOCK_BYTES, escape_controls

__all__ = ["READERS", "reader", "read_items", "read_paths", "split_block", "RawCase", "CsvRow", "JsonlBlock",
           "ReadOptions", "Progress"]

# --- the registry ------------------------------------------------------------------------------------

Reader = Callable[[BinaryIO, str, ReadOptions], Iterator["RawCase | JsonlBlock"]]
READERS: dict[str, Reader] = {}
R = TypeVar("R", bound=Reader)  # a reader keeps its own signature (read_jsonl's path=) when registered


def reader(fmt: str) -> Callable[[R], R]:
    def register(f: R) -> R:
        READERS[fmt] = f
        return f
    return register


def read_items(paths: Iterable[str], options: ReadOptions = ReadOptions(), progress: Progress | None = None
               ) -> Iterator[RawCase | JsonlBlock]:
    """The raw cases of every path, JSONL as blocks."""
    if isinstance(paths, (str, bytes)):  # one path would be read as its characters, each a path
        raise TypeError("paths must be a list of paths, e.g. read_paths([path]), not one path")
    expanded = list(expand(paths))
    if progress is not None:
        sizes = [None if isinstance(p, RawCase) or p == "-" else size_of(p) for p in expanded]
        progress.total = None if None in sizes else sum(s or 0 for s in sizes)
    for p in expanded:
        if isinstance(p, RawCase):
            yield p
            continue
        name = "<stdin>" if p == "-" else p
        fmt = format_of(p, options) if p != "-" else (options.input_format or "jsonl")
        if fmt is None:
            yield error_case(name, f"{escape_controls(name)}: unknown file type (known: {', '.join(SUFFIXES)}, "
                               "each also .gz; or give --input-format)")
            continue
        try:
            opened = open_input(p, options.max_decompressed_bytes)
        except (OSError, ValueError) as e:
            yield error_case(name, f"cannot read {escape_controls(name)}: {getattr(e, 'strerror', None) or e}")
            continue
        if progress is not None:
            progress.current = opened.raw
        try:
            if fmt == "jsonl" and opened.stream is opened.raw and opened.size is not None:
                yield from read_jsonl(opened.stream, name, options, path=p)  # workers read the blocks
            else:
                yield from READERS[fmt](opened.stream, name, options)
        except (OSError, EOFError, zlib.error) as e:  # a broken gzip stream, a read error
            yield error_case(name, f"cannot read {escape_controls(name)}: {getattr(e, 'strerror', None) or e}; "
                               "the cases after this point are not read")
        finally:
            if progress is not None:
                progress.finished += opened.size or 0
                progress.current = None
            if p != "-":
                opened.stream.close()
                if opened.raw is not None:
                    opened.raw.close()


def read_paths(paths: Iterable[str], options: ReadOptions = ReadOptions()) -> Iterator[RawCase]:
    """Stream the raw cases of every path (files, directories, '-'), one by one: the input of
    :func:`advisor.batch.evaluate`. A file that cannot be read, or a bad case inside one, becomes a raw
    case of kind ``error`` (its record says why), never an exception that loses the other cases.

        >>> from advisor.batch import evaluate, read_paths
        >>> [r["error"] for r in evaluate(read_paths(["/nonexistent/cases.jsonl"]))]
        ['(case): cannot read /nonexistent/cases.jsonl: No such file or directory']
    """
    for item in read_items(paths, options):
        yield from (split_block(item) if isinstance(item, JsonlBlock) else (item,))


def csv_headers(paths: Iterable[str], options: ReadOptions = ReadOptions()) -> list[tuple[str, ...]]:
    """The header of each CSV file among ``paths`` (directories searched as batch searches them;
    stdin is not read ahead), read as batch reads it: for output columns known before any case is."""
    headers: list[tuple[str, ...]] = []
    for p in expand(paths):
        if isinstance(p, RawCase) or p == "-" or format_of(p, options) != "csv" or size_of(p) is None:
            continue  # (a FIFO is not read ahead: what is read from it is gone)
        try:
            opened = open_input(p, options.max_decompressed_bytes)
        except (OSError, ValueError):
            continue  # said when the file is read
        try:
            rows = read_csv(opened.stream, p, options)
            for item in rows:
                if item.kind == "csv":
                    headers.append(item.payload.header)
                    break
            rows.close()
        except (OSError, EOFError, zlib.error):
            pass
        finally:
            opened.stream.close()
            if opened.raw is not None:
                opened.raw.close()
    return headers


def split_block(block: JsonlBlock) -> list[RawCase]:
    """The raw cases of a block: one per line that is not blank (the blank ones are skipped in C)."""
    name, first = block.name, block.first_line
    numbers, lines = nonblank(block.bytes())
    return [RawCase(f"{name}:{first + i}", "line", line) for i, line in zip(numbers, lines)]


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
                yield error_case(f"{name}:{line}", f"line {line} is longer than {options.max_line_bytes:,} bytes; "
                                               f"the rest of {escape_controls(name)} is not read")
                return
            continue
        block = bytes(carry) + data[:cut] if carry else data[:cut]
        carry = bytearray(data[cut + 1:])
        if block.isspace():  # nothing but blank lines (checked in C): no block to hand on
            offset += len(block) + 1
        else:
            yield block_of(block)
        line += block.count(b"\n") + 1
    if carry and not carry.isspace():  # a last line with no newline after it
        yield block_of(bytes(carry))


def _text(stream: BinaryIO, options: ReadOptions) -> io.TextIOWrapper:
    encoding = "utf-8-sig" if codecs.lookup(options.encoding).name == "utf-8" else options.encoding
    # A byte that is not valid text becomes a lone surrogate: the row that holds it is refused alone.
    return io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")


def _document(stream: BinaryIO, name: str, options: ReadOptions) -> str | RawCase:
    data = stream.read(options.max_document_bytes + 1)
    if len(data) > options.max_document_bytes:
        return error_case(name, f"{escape_controls(name)} is larger than {options.max_document_bytes:,} bytes "
                            "(write large inputs as JSONL or CSV)")
    text = _text(io.BytesIO(data), options).read()
    bad = _bad_text(text)
    if bad is not None:
        return error_case(name, f"{escape_controls(name)}: not valid {options.encoding} text (character {bad + 1})")
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
    # An integer of any length: an over-long one is refused by its field, not the whole file.
    decoder = json.JSONDecoder(parse_int=int_from_text, parse_float=float_from_text, object_pairs_hook=_marking)
    at = _skip_space(text, 0)
    listed = text.startswith("[", at)
    count = 0
    try:
        if not listed:
            yield _json_case(name, decoder.decode(text), False)
            return
        # A list of cases is decoded one case at a time: decoded whole, 15 MiB of `{},` took 1.2 GiB.
        at = _skip_space(text, at + 1)
        if text.startswith("]", at):
            at += 1
        else:
            while True:
                item, at = decoder.raw_decode(text, at)
                count += 1
                yield _json_case(f"{name}:{count}", item, True)
                at = _skip_space(text, at)
                if text.startswith(",", at):
                    at = _skip_space(text, at + 1)
                elif text.startswith("]", at):
                    at += 1
                    break
                else:
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
        if _skip_space(text, at) != len(text):
            raise json.JSONDecodeError("Extra data", text, _skip_space(text, at))
    except json.JSONDecodeError as e:
        yield error_case(f"{name}:{e.lineno}", f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
                         + (f"; the rest of {escape_controls(name)} is not read" if count else ""))
    except RecursionError:  # too deep for the decoder: the fact it happens under is named, if any
        key = json_nesting(text)
        yield RawCase(name, "invalid", nesting_error(key).errors) if key else error_case(name, "not valid JSON: nested too deeply")
    except ValueError as e:
        yield error_case(name, f"not valid JSON: {_why(e)}")


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _skip_space(text: str, at: int) -> int:
    """Where the JSON whitespace from ``at`` ends."""
    space = _JSON_SPACE.match(text, at)
    return space.end() if space else at


def _json_case(source: str, item: Any, listed: bool) -> RawCase:
    return RawCase(source, "invalid", item.invalid_facts().errors) if isinstance(item, DuplicateKey) \
        else RawCase(source, "item" if listed else "object", item)


def _marking(pairs: list[tuple[str, Any]]) -> Any:
    """An object with a key given twice becomes the DuplicateKey itself: that case alone is refused."""
    try:
        return unique_keys(pairs)
    except DuplicateKey as e:
        return e


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
        for line, item, listed in parse_yaml_stream(text, name, with_lists=True):
            if isinstance(item, CaseFileError):
                yield error_case(f"{name}:{line}", escape_controls(str(item)))
            elif isinstance(item, InvalidFacts):
                yield RawCase(f"{name}:{line}", "invalid", item.errors)
            else:
                yield RawCase(f"{name}:{line}", "item" if listed else "object", item)
    except (ValueError, RecursionError) as e:  # a number too long to read, nesting too deep
        yield error_case(f"{name}:{line}", f"{escape_controls(name)}: not valid YAML: {_why(e)}; the rest is not read")


class _LineTooLong(FileError):
    pass


# A line with its line break, or a run of line breaks (blank lines) as one piece: csv reads a run as one
# empty row outside a quoted cell and keeps its line breaks inside one, so a file of blank lines costs
# one search in C per block, not a Python step per line.
_PIECE = re.compile(r"[^\r\n]+(?:\r\n|\r|\n)?|[\r\n]+")
_TEXT_BLOCK = 1 << 20  # characters read at a time


def _breaks(text: str) -> int:
    """How many lines ``text`` holds (line breaks: LF, CR LF or a lone CR, as csv reads them)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _run_breaks(run: str) -> int:
    """How many lines a run of nothing but line breaks holds: its length when it has only LF or only CR."""
    return len(run) if "\r" not in run or "\n" not in run else _breaks(run)


class _Lines:
    """The lines of a text for csv: ``count`` lines read so far, ``taken`` the pieces of the row being
    read (kept to tell a quote never closed from one closed at the end of the file), ``ended`` once the
    text is read to its end. A line longer than ``limit`` raises _LineTooLong."""

    def __init__(self, text: io.TextIOWrapper, limit: int):
        self.text, self.limit = text, limit
        self.count = 0
        self.taken: list[str] = []
        self.ended = False
        self.pending = ""  # the rest of a run of line breaks whose first csv has been given

    def __iter__(self) -> Iterator[str]:
        carry, limit, taken = "", self.limit, self.taken
        while True:
            chunk = self.text.read(_TEXT_BLOCK)
            if chunk:
                buf = carry + chunk if carry else chunk
                end = len(buf) - 1 if buf.endswith("\r") else len(buf)  # a CR may be the first half of CR LF
                cut = max(buf.rfind("\n", 0, end), buf.rfind("\r", 0, end))
                if cut < 0:
                    if len(buf) > limit:
                        raise _LineTooLong
                    carry = buf
                    continue
                buf, carry = buf[:cut + 1], buf[cut + 1:]
            else:
                self.ended = True
                buf, carry = carry, ""
                if not buf:
                    return
            for m in _PIECE.finditer(buf):
                piece = m.group()
                if piece[0] in "\r\n":  # a run of line breaks: its first alone, then the rest if csv asks for it
                    first = "\r\n" if piece.startswith("\r\n") else piece[0]
                    self.count += 1
                    taken.append(first)
                    self.pending = piece[len(first):]
                    yield first
                    if self.pending:  # inside a quoted cell: the line breaks are the cell's
                        rest, self.pending = self.pending, ""
                        self.count += _run_breaks(rest)
                        taken.append(rest)
                        yield rest
                    continue
                if len(piece) > limit:
                    raise _LineTooLong
                self.count += 1
                taken.append(piece)
                yield piece

    def skip_blank(self) -> None:
        """csv has ended an empty row (so it is not inside a quoted cell): the rest of the run of line
        breaks is blank lines, counted and never handed to csv."""
        if self.pending:
            self.count += _run_breaks(self.pending)
            self.pending = ""


# What csv says when a quoted cell is still open at the end of its text (in strict mode).
_OPEN_QUOTE = "unexpected end of data"


def _open_quote(text: str, delimiter: str) -> bool:
    """Whether ``text`` (one row, read to the end of the file) ends inside a quoted cell."""
    try:
        for _ in csv.reader([text], delimiter=delimiter, strict=True):
            pass
    except csv.Error as e:
        return str(e) == _OPEN_QUOTE
    return False


@reader("csv")
def read_csv(stream: BinaryIO, name: str, options: ReadOptions) -> Generator[RawCase, None, None]:
    text = _text(stream, options)
    lines = _Lines(text, options.max_line_bytes)
    pieces = iter(lines)
    shown = escape_controls(name)
    try:
        first = next(pieces, "")
        delimiter = options.delimiter or max(DELIMITERS, key=first.count)
        rows = csv.reader(_chain(first, pieces), delimiter=delimiter)
        header: tuple[str, ...] | None = None
        fresh = True  # the first piece is read already, to find the delimiter
        while True:
            start = lines.count + 1 if header is not None else 1
            if not fresh:
                lines.taken.clear()
            fresh = False
            try:
                cells = next(rows)
            except StopIteration:
                return
            except csv.Error as e:
                if str(e).startswith("field larger than field limit"):  # csv cannot find the next row after it
                    yield error_case(f"{name}:{start}", f"not valid CSV: a cell of the row on line {start} is longer than "
                                     f"{csv.field_size_limit():,} characters (a quote (\") never closed?); the rest of "
                                     f"{shown} is not read")
                    return
                yield error_case(f"{name}:{start}", f"not valid CSV: {escape_controls(str(e))}")
                continue
            if lines.ended and cells:  # the last row: is a quote still open at the end of the file?
                row = "".join(lines.taken)
                if '"' in row and _open_quote(row, delimiter):
                    opened = start + _breaks(row) - _breaks(cells[-1])
                    column = (f" ({escape_controls(header[len(cells) - 1])})" if header is not None
                              and len(cells) <= len(header) else "")
                    yield error_case(f"{name}:{start}", f'not valid CSV: the quote (") that opens cell {len(cells)}{column} '
                                     f"on line {opened} is never closed, so the rest of {shown} (lines {start} to "
                                     f"{max(lines.count, start)}) was not read")
                    return
            if not cells:
                lines.skip_blank()
                continue
            if header is None:
                header = tuple(c.strip() for c in cells)
                continue
            source = f"{name}:{start}"
            if any(_bad_text(c) is not None for c in cells):
                yield error_case(source, f"row is not valid {options.encoding} text")
                continue
            yield RawCase(source, "csv", CsvRow(header, cells, delimiter))
    except _LineTooLong:
        yield error_case(f"{name}:{lines.count + 1}", f"line {lines.count + 1} is longer than {options.max_line_bytes:,} "
                                                   f"characters; the rest of {shown} is not read")
    finally:
        text.detach()


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest
