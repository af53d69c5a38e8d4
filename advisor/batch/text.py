"""Small text helpers shared by the batch modules: untrusted text made safe for a terminal, a log
line or a spreadsheet, and the size limits of what is read."""

from __future__ import annotations

import re

MAX_LINE_BYTES = 8 * 2**20       # one JSONL line or CSV row; longer ends the reading of that input
MAX_DOCUMENT_BYTES = 64 * 2**20  # a whole .json file, or a YAML stream
BLOCK_BYTES = 256 * 1024         # JSONL is handed to workers in line-aligned blocks of about this size

# C0 and C1 controls, DEL, the line/paragraph separators and the bidirectional overrides and isolates:
# anything that could move a terminal's cursor, fake a line or reorder what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def escape_controls(text: str, limit: int = 300) -> str:
    """``text`` on one line with every control character (and lone surrogate) shown as an escape,
    cut to ``limit`` characters. (Written here for batch; the same rule as the rest of the project's
    echo of untrusted text.)"""
    if len(text) > limit:
        text = text[:limit] + "…"
    return _CONTROL.sub(_escape, text)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(cell: str) -> str:
    """A CSV cell a spreadsheet would run as a formula gets the usual leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
