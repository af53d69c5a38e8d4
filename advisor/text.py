"""Untrusted text on its way to a terminal, a log or a one-line message: shown, never obeyed.

One rule for every place that echoes a user's text (ids, values, file names, error messages): a
character that could act on a terminal or fake a line is shown as a Python-style escape, so
``"a\\x1b]0;x\\x07"`` prints as ``a\\x1b]0;x\\x07`` and cannot retitle a window or rewrite the screen.
Escaped: C0 and C1 controls and DEL (ESC/CSI/OSC, CR, LF, NUL, ...), the bidirectional controls
(U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), the line and paragraph separators
(U+2028, U+2029), the invisible word joiner and byte-order mark (U+2060,
U+FEFF: ``'\\ufeffid'`` would show as ``'id'``) and lone surrogates (which cannot even be encoded as UTF-8).
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff\ud800-\udfff]")
# json.dumps already escapes C0 controls inside strings; outside them its indentation uses \n.
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` (any object, as ``str()``) with every unsafe character escaped; one line always."""
    text = text if isinstance(text, str) else str(text)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def has_unsafe(text: str) -> bool:
    """Whether ``text`` holds a character :func:`visible` would escape."""
    return _UNSAFE.search(text) is not None


def json_safe(json_text: str) -> str:
    """JSON text (e.g. from ``json.dumps(..., ensure_ascii=False)``) with every unsafe character
    written as a ``\\uXXXX`` escape: the same JSON value, safe on a terminal and encodable as UTF-8
    (a lone surrogate becomes ``\\ud800``). Such characters only occur inside JSON strings, where the
    escape is valid (json.dumps itself escapes the C0 controls in strings; its line breaks stay)."""
    if not _UNSAFE_IN_JSON.search(json_text):
        return json_text
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)


def name_key(text: str) -> str:
    """How a drug's id, name or brand is matched: NFKC, case-folded, format characters dropped, white
    space collapsed. Two names with the same key are confusable."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.casefold().split())


# --- our own help text at the terminal's width ------------------------------------------------------
NB_HYPHEN = "\u2011"  # stands for '-' while click wraps help text: a line never breaks at it ('ms-advisor', '--case')
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def keep_hyphens(text: str) -> str:
    """``text`` with each '-' as a non-breaking hyphen (``NB_HYPHEN``), for a wrapper that breaks at hyphens;
    ``text.replace(NB_HYPHEN, "-")`` restores it."""
    return text.replace("-", NB_HYPHEN)


def fold_commands(text: str, width: int) -> str:
    """click help text whose unwrapped blocks (paragraphs after a ``\\b`` line: our examples) hold a
    line longer than ``width``: that line folded at spaces into shell continuation lines (`` \\``, the
    next line indented), never inside a word or a quoted argument."""
    import textwrap

    out, raw = [], False
    for line in text.splitlines():
        if not line.strip():
            raw = False
        elif line.strip() == "\b":
            raw = True
        elif raw and len(line) > width:
            indent = line[:len(line) - len(line.lstrip())]
            command = _QUOTED.sub(lambda m: m.group().replace(" ", "\u00a0"), line.strip())  # a quoted argument stays whole
            parts = textwrap.wrap(command, max(width - len(indent) - 2, 20), subsequent_indent="    ",
                                  break_long_words=False, break_on_hyphens=False)
            line = " \\\n".join(indent + part.replace("\u00a0", " ") for part in parts)
        out.append(line)
    return "\n".join(out)


def terminal_width() -> int:
    """Columns to wrap text to: $COLUMNS (ASCII digits, as every number the CLI reads), else the width of
    the terminal on stdout, else 100."""
    text = os.environ.get("COLUMNS", "").strip()
    if text.isascii() and text.isdigit() and 0 < len(text) <= 6 and int(text) > 0:
        return int(text)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 100  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 100


def fill(text: str, indent: str = "", hang: str | None = None, less: int = 0) -> str:
    """``text`` wrapped at the terminal's width (less ``less`` columns, at least 20) on word boundaries:
    never inside a word, nor at a hyphen."""
    import textwrap

    return textwrap.fill(text, width=max(terminal_width() - less, 20), initial_indent=indent,
                         subsequent_indent=indent if hang is None else hang, break_on_hyphens=False)
