"""Reading cases: one registry from input format to reader (also what ``evaluate(read_paths(...))``
reads, and ``case.read_case``, what ``--case`` reads). Every reader streams, is bounded in memory (a maximum line and document size, with a clear
error) and turns whatever it cannot read into an ``error`` case naming the place, so the other cases
still come out. A new format is one function (in a module of its own, as ``csv_reader.read_csv``) and
one entry in ``READERS``.

JSONL is handed on as blocks of whole lines, which a worker process splits and decodes; CSV, JSON and
YAML are read case by case.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from advisor.batch.sources import (SUFFIXES, CsvRow, JsonlBlock, Progress, RawCase, ReadOptions, error_case,
                      expand, format_of, nonblank, open_input, size_of)
from advisor.batch.text import escape_controls
from advisor.batch.csv_reader import read_csv
from advisor.batch.json_readers import read_json, read_jsonl, read_yaml

__all__ = ["READERS", "read_items", "read_paths", "split_block", "RawCase", "CsvRow", "JsonlBlock",
           "ReadOptions", "Progress"]

# --- the registry ------------------------------------------------------------------------------------

Reader = Callable[[BinaryIO, str, ReadOptions], Iterator["RawCase | JsonlBlock"]]
READERS: dict[str, Reader] = {"jsonl": read_jsonl, "json": read_json, "yaml": read_yaml, "csv": read_csv}


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


