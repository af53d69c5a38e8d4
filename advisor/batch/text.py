"""Small text helpers shared by the batch modules: untrusted text made safe for a terminal, a log
line or a spreadsheet, and the size limits of what is read."""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

from advisor.text import visible

MAX_LINE_BYTES = 8 * 2**20       # one JSONL line or CSV row; longer ends the reading of that input
MAX_DOCUMENT_BYTES = 64 * 2**20  # a whole .json file, or a YAML stream
MAX_DECOMPRESSED_BYTES = 4 * 2**30  # each gzipped input once decompressed (a 4 MiB gzip of newlines is 4 GiB)
BLOCK_BYTES = 256 * 1024         # JSONL is handed to workers in line-aligned blocks of about this size


def size_text(n: int) -> str:
    """A size for people: '4 GiB', '512 MiB', '1,000 bytes'."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.{0 if n % scale == 0 else 1}f} {unit}"
    return f"{n:,} bytes"


def escape_controls(text: str, limit: int = 300) -> str:
    """``text`` on one line, cut to ``limit`` characters, with every control character (and lone
    surrogate) shown as an escape: :func:`advisor.text.visible`, the project's one rule for echoing
    untrusted text."""
    if len(text) > limit:
        text = text[:limit] + "…"
    return visible(text)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(cell: str) -> str:
    """A CSV cell a spreadsheet would run as a formula gets the usual leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def decoded(stream: BinaryIO, encoding: str) -> io.TextIOWrapper:
    """A file's bytes as text in ``encoding`` (UTF-8 without its byte-order mark). A byte that is not
    valid text becomes a lone surrogate, so the one row or document that holds it is refused alone."""
    encoding = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    return io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")


def undecodable_at(text: str) -> int | None:
    """Where the first byte that was not valid text stands in ``text`` (see :func:`decoded`), or None."""
    for i, c in enumerate(text):
        if "\udc80" <= c <= "\udcff":
            return i
    return None
