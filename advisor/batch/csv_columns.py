"""A CSV file's columns as facts: which fact each column of a header gives (--map, --extra, a fact's name
written loosely), and each cell typed as its fact. The types come from the facts model.
"""

from __future__ import annotations

import difflib
import functools
import re
import types
import typing
from typing import Any, NamedTuple

from pydantic import BaseModel

from advisor.batch.casefile import CASE_KEYS, DuplicateKey
from advisor.core.models import PatientFacts
from advisor.values import ValueTextError, number_from_text, yes_no_value
from advisor.batch.text import escape_controls


def _kind(annotation: Any) -> str:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # X | None
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    base = typing.get_origin(annotation) or annotation
    if base in (tuple, list):
        return "list"
    return {bool: "bool", int: "int", float: "float"}.get(base, "text")


@functools.lru_cache(maxsize=16)
def kinds_of(model: type[BaseModel]) -> dict[str, str]:
    """What each fact of a facts model (an Advisor's ``facts_model``: its KB's facts) is: how a CSV cell
    becomes a value."""
    return {name: _kind(f.annotation) for name, f in model.model_fields.items()}


# The packaged KB's facts (an Advisor over another KB reads its own: kinds_of(advisor.facts_model)).
KINDS: dict[str, str] = kinds_of(PatientFacts)
FACTS = frozenset(PatientFacts.model_fields)
_BOOLS = {"1": True, "0": False}  # a spreadsheet's checkbox, besides yes/no (advisor.values)


def typed_cell(kind: str, value: str, separators: str) -> Any:
    """A CSV cell as a value of its fact's type, read by the one text-to-value parser (advisor.values);
    a cell that does not parse stays text, so that validation names the field."""
    try:
        if kind == "bool":
            return _BOOLS[value] if value in _BOOLS else yes_no_value(value)
        if kind in ("int", "float"):  # the grammar only: range, wholeness (2.0 is 2) and exactness are the model's, as for JSON
            number = number_from_text(value)
            return value if number is None else number
    except ValueTextError:
        return value
    if kind == "list":
        return [item.strip() for item in re.split(f"[{re.escape(separators)}]", value) if item.strip()]
    return value


# --- a CSV header, read once per header: which fact each column is -----------------------------------

_SEPARATORS = re.compile(r"[\s_-]+")


def loose(name: str) -> str:
    """A column name as matched against the facts' names: case and separators aside ('MS Type',
    'ms-type' and 'MS_Type' are all 'ms_type')."""
    return _SEPARATORS.sub("_", name.strip().lower()).strip("_")


_LOOSE_FACTS = {loose(f): f for f in FACTS}


@functools.lru_cache(maxsize=16)
def _loose_facts(model: type[BaseModel]) -> dict[str, str]:
    """Each fact's name as a column may write it (case and separators aside), and each fact's ``column``
    in its KB's facts.toml (another name for its column)."""
    specs = getattr(model, "facts_specs", ())
    return {loose(f.column): f.id for f in specs if f.column} | {loose(f): f for f in model.model_fields}
_NAMED = 20  # unknown or repeated columns named (with a suggestion) per header; the rest are counted
_SHOWN = 5  # per fact, the columns named that give it (or are read loosely as it); the rest are counted


class Columns(NamedTuple):
    """What a CSV header means (with the --map renames and the --extra choice)."""
    keys: tuple[str, ...]                      # per column, the key its cells are read under
    id_index: int | None                       # the column of the id
    repeated: tuple[tuple[str, tuple[int, ...]], ...]  # a key several columns give, and those columns
    labels: dict[int, str]                     # those columns as named in errors: "3", or "2 (MS_Type)"
    unknown: tuple[dict[str, Any], ...]        # with --extra error: each unknown column's error
    notes: tuple[str, ...]                     # what to say once per file


@functools.lru_cache(maxsize=256)
def columns(header: tuple[str, ...], mapping: tuple[tuple[str, str], ...] = (), extra: str = "error",
            model: type[BaseModel] = PatientFacts) -> Columns:
    """The meaning of a header: a column named as a --map SOURCE is its FIELD; a fact's name (or an
    ``expect`` column) is itself; a name that is a fact's but for case and separators (``MS_Type``) is
    that fact, said once in a note; anything else is an unknown column, with the nearest fact's name
    when one is close."""
    renames = dict(mapping)
    facts, loose_facts = frozenset(model.model_fields), _loose_facts(model)
    keys: list[str] = []
    loosely: list[str] = []
    unknown: list[tuple[str, str | None]] = []
    for name in header:
        if name in renames:
            key = renames[name]
        elif name in facts or name in CASE_KEYS or name.startswith("expect."):
            key = name
        elif loose(name) in loose_facts:
            key = loose_facts[loose(name)]
            loosely.append(f"'{escape_controls(name, 60)}' as {key}")
        else:
            key = name
            close = difflib.get_close_matches(loose(name)[:100], list(loose_facts), n=1, cutoff=0.6) \
                if len(unknown) < _NAMED else ()
            unknown.append((name, loose_facts[close[0]] if close else None))
        keys.append(key)
    read = [i for i, (k, n) in enumerate(zip(keys, header))
            if k in facts or k.startswith("expect") or extra == "keep" or n in renames]
    def named(k: int) -> str:  # a column, by its number (and its name, if that is not the fact's)
        via = f", --map {header[k]}={keys[k]}" if header[k] in renames else ""
        return f"{k + 1} ({escape_controls(header[k], 60)}{via})" if header[k] != keys[k] or via else f"{k + 1}"

    by_key: dict[str, list[int]] = {}
    for i in read:
        by_key.setdefault(keys[i], []).append(i)
    repeated = tuple((k, tuple(idx)) for k, idx in by_key.items() if len(idx) > 1)
    labels = {i: named(i) for _, idx in repeated for i in idx}
    notes = []
    if loosely:
        loosely = list(dict.fromkeys(loosely))  # a name repeated is said once; many names are counted
        notes.append(f"column{'s' if len(loosely) > 1 else ''} read as facts: {', '.join(loosely[:2 * _SHOWN])}"
                     + (f" and {len(loosely) - 2 * _SHOWN:,} more" if len(loosely) > 2 * _SHOWN else ""))
    errors: list[dict[str, Any]] = []
    if extra == "error" and unknown:
        for column, near in unknown:
            errors.append({"field": column, "message": "unknown column" + (f", did you mean {near}?" if near else "")})
        notes.append("unknown column" + ("s " if len(unknown) > 1 else " ") + ", ".join(
            f"'{escape_controls(column, 60)}'" + (f" (did you mean {near}?)" if near else "") for column, near in unknown[:_NAMED])
            + (f" and {len(unknown) - _NAMED:,} more" if len(unknown) > _NAMED else "")
            + ": a row that fills " + ("one" if len(unknown) > 1 else "it") + " is refused naming it")
    if repeated:
        notes.append("fact" + ("s" if len(repeated) > 1 else "") + " given by two columns: "
                     + ", ".join(f"{k} (columns {', '.join(labels[i] for i in idx[:_SHOWN])}"
                                 + (f" and {len(idx) - _SHOWN:,} more" if len(idx) > _SHOWN else "") + ")"
                                 for k, idx in repeated[:_NAMED])
                     + (f" and {len(repeated) - _NAMED:,} more" if len(repeated) > _NAMED else "")
                     + ": a row that fills " + ("one of them" if len(repeated) > 1 else "it") + " twice is refused naming it")
    id_index = keys.index("id") if "id" in keys else None
    return Columns(tuple(keys), id_index, repeated, labels, tuple(errors), tuple(notes))


def given_twice(plan: Columns, cells: list[str]) -> list[dict[str, Any]]:
    """The facts this row fills in two columns of its header (an empty cell is not given)."""
    found: list[dict[str, Any]] = []
    for key, idx in plan.repeated:
        filled = [i for i in idx if i < len(cells) and cells[i].strip()]
        if len(filled) > 1 and len(found) < _NAMED:
            found.append({"field": key, "message": f"{DuplicateKey.WHY}: columns {plan.labels[filled[0]]} and "
                                                   f"{plan.labels[filled[1]]} of the header"})
    return found
