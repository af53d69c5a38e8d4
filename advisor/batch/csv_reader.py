"""CSV cases: one row a case, read in bounded pieces (a quote never closed stops at the cell limit and says
where), the delimiter sniffed or given, each cell typed later by the facts it names (``csv_columns``)."""

from __future__ import annotations
import csv
import io
import re
from collections.abc import Generator, Iterator
from typing import BinaryIO
from advisor.errors import FileError
from advisor.batch.sources import (DELIMITERS, CsvRow, RawCase, ReadOptions, error_case)
from advisor.batch.text import decoded, escape_controls, undecodable_at


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


def read_csv(stream: BinaryIO, name: str, options: ReadOptions) -> Generator[RawCase, None, None]:
    text = decoded(stream, options.encoding)
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
            if any(undecodable_at(c) is not None for c in cells):
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
