"""A batch run's options as a person writes them (a CSV delimiter, an encoding, --map pairs, the
columns --extra keep adds), checked before any work: a bad one is a :class:`BatchError` saying what it
takes (the command line names the option it came from)."""

from __future__ import annotations

import codecs
from typing import Any

from advisor.batch.errors import BatchError


def delimiter(value: str | None) -> str | None:
    """A CSV delimiter as given: one character, or 'tab' (also written '\\t') for a tab; None: not given."""
    if value is None:
        return None
    value = "\t" if value.lower() in ("tab", "\\t") else value
    if len(value) != 1 or value in "\"\r\n" or (not value.isprintable() and value != "\t"):
        raise BatchError("one character (not a quote, a line break or another control character), or 'tab'")
    return value


def encoding(name: str) -> str:
    """An encoding Python knows (``codecs.lookup``), as given."""
    try:
        codecs.lookup(name)
    except LookupError:
        raise BatchError(f"unknown encoding '{name}'") from None
    return name


def map_pairs(mapping: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """SOURCE=FIELD pairs (renamed input fields or columns), checked before any work: FIELD must be a
    fact (or a case file's `expect`), and one SOURCE cannot be renamed twice."""
    from advisor.batch.csv_columns import FACTS
    from advisor.batch.casefile import CASE_KEYS
    from advisor.core.models import PatientFacts

    allowed = [*PatientFacts.model_fields, *(k for k in CASE_KEYS if k not in FACTS)]
    pairs: dict[str, str] = {}
    for m in mapping:
        source, sep, target = (part.strip() for part in m.partition("="))
        if not sep or not source or not target:
            raise BatchError(f"'{m}' is not SOURCE=FIELD (FIELD one of: {', '.join(allowed)})")
        if target not in allowed:
            raise BatchError(f"'{m}': '{target}' is not a field (FIELD one of: {', '.join(allowed)})")
        if source in pairs and pairs[source] != target:
            raise BatchError(f"'{source}' is renamed twice (to {pairs[source]} and to {target}): which is meant cannot be known")
        pairs[source] = target
    return list(pairs.items())


def kept_columns(paths: tuple[str, ...] | list[str], read: Any, options: Any) -> tuple[str, ...]:
    """With ``options.extra`` "keep", the CSV inputs' columns that are not facts: each its own output column."""
    if options.extra != "keep":
        return ()
    from advisor.batch.readers import csv_headers
    from advisor.batch.csv_columns import FACTS, columns

    kept: dict[str, None] = {}
    for header in csv_headers(paths, read):
        for key in columns(header, options.mapping, options.extra).keys:
            if key not in FACTS and not key.startswith("expect"):
                kept.setdefault(key)
    return tuple(kept)
