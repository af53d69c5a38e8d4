"""One case: parse, validate, decide, and build its record. Never raises for bad input: the record
says what is wrong. Field types (and so the CSV coercions) come from the facts model, drugs from the KB.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from advisor.batch.casefile import CASE_KEYS, DuplicateKey, unique_keys
from advisor.core.advisor import Advisor
from advisor.core.decision import Decision
from advisor.errors import InvalidFacts
from advisor.core.models import PatientFacts, Status, float_from_text, int_from_text, type_name
from advisor.values import ValueTextError, number_from_text, yes_no_value
from advisor.batch.sources import CsvRow, RawCase
from advisor.batch.text import escape_controls


@dataclass(frozen=True)
class CaseOptions:
    extra: str = "error"                      # unknown fields: name them in an error, drop them, or keep them
    mapping: tuple[tuple[str, str], ...] = ()  # (source name, fact name) renames
    echo_facts: bool = False                  # the validated facts in each record
    full: bool = False                        # the whole Recommendation in each record


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


def _cell(kind: str, value: str, separators: str) -> Any:
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


def _given_twice(plan: Columns, cells: list[str]) -> list[dict[str, Any]]:
    """The facts this row fills in two columns of its header (an empty cell is not given)."""
    found: list[dict[str, Any]] = []
    for key, idx in plan.repeated:
        filled = [i for i in idx if i < len(cells) and cells[i].strip()]
        if len(filled) > 1 and len(found) < _NAMED:
            found.append({"field": key, "message": f"{DuplicateKey.WHY}: columns {plan.labels[filled[0]]} and "
                                                   f"{plan.labels[filled[1]]} of the header"})
    return found


def from_csv(row: CsvRow, options: CaseOptions = CaseOptions(), model: type[BaseModel] = PatientFacts) -> dict[str, Any]:
    """A CSV row (all text) as case data, each cell typed as the fact its column is (after --map): an
    empty cell means not given. A list cell separates its items with ';', ',' or '|', whichever is not
    the delimiter. A row that gives one fact in two columns of its header is refused, naming it."""
    header, cells = row.header, row.cells
    plan = columns(header, options.mapping, options.extra, model)
    kinds = kinds_of(model)
    if plan.repeated and (twice := _given_twice(plan, cells)):
        raise InvalidFacts(twice)
    if len(cells) > len(header):
        raise InvalidFacts([{"field": "(row)", "message": f"{len(cells) - len(header)} more cell(s) than the header has columns"}])
    if len(cells) < len(header):
        raise InvalidFacts([{"field": k, "message": "cell missing: the row has fewer cells than the header"} for k in header[len(cells):]])
    separators = "".join(s for s in ";,|" if s != row.delimiter)
    data: dict[str, Any] = {}
    expect: dict[str, Any] = {}
    for key, cell in zip(plan.keys, cells):
        value = cell.strip()
        if value == "":
            continue
        if key == "expect.listed":
            expect["listed"] = [] if value.lower() == "none" else _cell("list", value, separators)
        elif key.startswith("expect.status."):
            expect.setdefault("status", {})[key.removeprefix("expect.status.")] = value
        else:
            data[key] = _cell(kinds.get(key, "text"), value, separators)
    if expect:
        data["expect"] = expect
    return data


def parse(raw: RawCase, options: CaseOptions = CaseOptions(), model: type[BaseModel] = PatientFacts) -> dict[str, Any]:
    if raw.kind == "error":
        raise InvalidFacts([{"field": "(case)", "message": raw.payload}])
    if raw.kind == "invalid":
        raise InvalidFacts(raw.payload)
    if raw.kind == "line":
        try:
            text = raw.payload.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidFacts([{"field": "(case)", "message": f"line is not UTF-8 text (byte {e.start + 1} of the line)"}]) from None
        try:
            data = json.loads(text, parse_int=int_from_text, parse_float=float_from_text, object_pairs_hook=unique_keys)
        except DuplicateKey as e:
            raise e.invalid_facts() from None
        except json.JSONDecodeError as e:
            hint = (" (its lines end with a carriage return only? JSONL's end with a line feed)"
                    if e.msg == "Extra data" and "\r" in text[:e.pos] else "")
            raise InvalidFacts([{"field": "(case)", "message": f"not valid JSON: {e.msg.removesuffix(' at')} at column {e.colno}"
                                                               f"{hint}"}]) from None
        except (ValueError, RecursionError) as e:  # a number too long to read, nesting too deep
            why = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0]
            raise InvalidFacts([{"field": "(case)", "message": f"not valid JSON: {why}"}]) from None
    elif raw.kind == "csv":
        data = from_csv(raw.payload, options, model)
    else:
        data = raw.payload
    if not isinstance(data, dict):
        raise InvalidFacts([{"field": "(case)", "message": f"a case must be a mapping of fact names to values, got {type_name(data)}"}])
    if any(not isinstance(k, str) for k in data):
        raise InvalidFacts([{"field": "(case)", "message": "fact names must be strings"}])
    return data


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listed: list[str] | None = None
    status: dict[str, Any] | None = None  # drug -> a Status of the KB in use (validated with it as the context)

    @field_validator("status", mode="before")
    @classmethod
    def _statuses(cls, v: Any, info: ValidationInfo) -> Any:
        if not isinstance(v, dict):
            return v  # left to the dict check, which names it
        enum = info.context.get("statuses", Status) if isinstance(info.context, dict) else Status
        return {d: _status(enum, s) for d, s in v.items()}


def _status(enum: Any, value: Any) -> Any:
    from advisor.kb.vocabulary import enum_value

    return enum_value(enum, value)


def check_expectation(raw: Any, drug_ids: tuple[str, ...], statuses: Any = Status) -> Expectation:
    """An ``expect`` block, checked against the drugs and the statuses (``statuses``: the Status enum of
    the KB in use) of the Advisor."""
    try:
        exp = Expectation.model_validate(raw, context={"statuses": statuses})
    except ValidationError as e:
        raise InvalidFacts([{"field": ".".join(["expect", *map(str, err["loc"])]), "message": err["msg"].lower(),
                             **({"allowed": list(Expectation.model_fields)} if err["type"] == "extra_forbidden" else {})}
                            for err in e.errors()]) from None
    unknown = [d for d in (exp.listed or []) if d not in drug_ids] + [d for d in (exp.status or {}) if d not in drug_ids]
    if unknown:
        raise InvalidFacts([{"field": "expect", "message": f"unknown drug(s) {', '.join(unknown)}", "allowed": list(drug_ids)}])
    return exp


def differences(exp: Expectation, decision: Decision) -> tuple[str, ...]:
    out = []
    if exp.listed is not None and list(decision.listed) != exp.listed:
        out.append(f"listed: expected {exp.listed}, got {list(decision.listed)}")
    for drug, want in (exp.status or {}).items():
        if decision.status[drug] is not want:
            out.append(f"status.{drug}: expected {want.value}, got {decision.status[drug].value}")
    return tuple(out)


def prepare(data: dict[str, Any], options: CaseOptions, renamed: bool = False,
            model: type[BaseModel] = PatientFacts) -> tuple[dict[str, Any], dict[str, Any]]:
    """Renames (--map; ``renamed``: done already, as for a CSV row), unknown fields (--extra), and
    counts written as whole floats (2.0 is 2, in every format). Returns the data to validate and the
    unknown fields kept."""
    data = dict(data)
    for source, target in () if renamed else options.mapping:
        if source in data:
            if target in data and target != source:
                raise InvalidFacts([{"field": target, "message": f"given twice: as {target} and as {source} (--map {source}={target})"}])
            data[target] = data.pop(source)
    kept: dict[str, Any] = {}
    if options.extra != "error":
        for key in [k for k in data if k not in model.model_fields and k not in CASE_KEYS]:
            value = data.pop(key)
            if options.extra == "keep":
                inexact: list[Decimal] = []
                try:
                    text = json.dumps(value, default=lambda v: _as_float(v, inexact))
                except (ValueError, TypeError, RecursionError):
                    raise InvalidFacts([{"field": key, "message": "cannot be kept (--extra keep): nested too deeply, "
                                                                  "a number too long, or not JSON data"}]) from None
                kept[key] = json.loads(text) if inexact else value
    for key, value in data.items():
        if type(value) is float and kinds_of(model).get(key) == "int" and value.is_integer():
            data[key] = int(value)
    bad = [key for key, value in data.items() if _has_surrogate(value)]
    if bad:
        raise InvalidFacts([{"field": key, "message": "holds a lone surrogate (a \\ud800-\\udfff escape that is not text)"} for key in bad])
    return data, kept


_SURROGATE = re.compile("[\ud800-\udfff]")


def _as_float(value: Any, found: list[Decimal]) -> float:
    """A number no float holds exactly (a Decimal, see models.float_from_text) in a field that is only
    kept (--extra keep): its nearest float, as before such numbers were told apart (no decision rests
    on it)."""
    if isinstance(value, Decimal):
        found.append(value)
        return float(value)
    raise TypeError(type(value).__name__)


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, (list, tuple)):
        return any(_has_surrogate(v) for v in value[:1000])
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in list(value.items())[:1000])
    return False


class Assessed:
    """One case assessed: its id, and either an error or the validated facts with the decision (and what
    its file's header says, to be said once per file)."""
    __slots__ = ("record_id", "error", "given_id", "facts", "decision", "caution_ids", "expectation", "differences", "kept",
                 "notes", "problems")

    def __init__(self, record_id: str, error: str | None, given_id: bool, facts: PatientFacts | None = None,
                 decision: Decision | None = None, caution_ids: tuple[str, ...] = (), expectation: Expectation | None = None,
                 diffs: tuple[str, ...] = (), kept: dict[str, Any] | None = None, notes: tuple[str, ...] = (),
                 problems: tuple[str, ...] = ()):
        self.record_id, self.error, self.given_id, self.facts, self.decision = record_id, error, given_id, facts, decision
        self.caution_ids, self.expectation, self.differences, self.kept = caution_ids, expectation, diffs, kept
        self.notes, self.problems = notes, problems  # problems: each error of an invalid case, one text each


def assess(advisor: Advisor, raw: RawCase, options: CaseOptions = CaseOptions()) -> Assessed:
    record_id = raw.source
    kept = None
    plan = None
    model = advisor.facts_model
    if raw.kind == "csv":  # the id is known even when the rest of the row is broken
        row = raw.payload
        plan = columns(row.header, options.mapping, options.extra, model)
        if plan.id_index is not None and plan.id_index < len(row.cells):
            record_id = row.cells[plan.id_index].strip() or record_id
    notes = plan.notes if plan is not None else ()
    try:
        data, kept = prepare(parse(raw, options, model), options, renamed=plan is not None, model=model)
        given = data.get("id")
        if isinstance(given, str) and given:
            record_id = given
        errors: list[dict[str, Any]] = []
        unknown: list[dict[str, Any]] = []
        if plan is not None and plan.unknown:  # the unknown columns this row fills, with the facts' names once
            unknown = [e for e in plan.unknown if data.pop(e["field"], None) is not None]
            if unknown:
                unknown[-1] = {**unknown[-1], "allowed": list(model.model_fields)}
        facts = expectation = None
        try:
            facts = model.parse({k: v for k, v in data.items() if k not in CASE_KEYS} if "expect" in data else data)
        except InvalidFacts as e:
            errors += e.errors
        if "expect" in data:
            try:
                expectation = check_expectation(data["expect"], advisor.drug_ids, advisor.status_set.enum)
            except InvalidFacts as e:
                errors += e.errors
        errors += unknown
        if errors or facts is None:
            raise InvalidFacts(errors)
    except InvalidFacts as e:
        problems = tuple(escape_controls(str(InvalidFacts([{**p, "allowed": None}])), 300) for p in e.errors[:20])
        return Assessed(record_id, escape_controls(str(e), 2000), record_id != raw.source, kept=kept, notes=notes,
                        problems=problems)
    decision = advisor.decide(facts)
    diffs = differences(expectation, decision) if expectation is not None else ()
    return Assessed(record_id, None, record_id != raw.source, facts, decision, advisor.caution_rules(facts),
                    expectation, diffs, kept, notes)


def to_record(advisor: Advisor, source: str, a: Assessed, options: CaseOptions = CaseOptions()) -> dict[str, Any]:
    """The record of one assessed case (the duplicate flag is the writer's)."""
    record: dict[str, Any] = {"id": a.record_id, "source": source, "ok": a.error is None, "error": a.error}
    if a.error is None:
        assert a.decision is not None and a.facts is not None
        record.update(listed=list(a.decision.listed), status={d: s.value for d, s in a.decision.status.items()},
                      cautions=advisor.cautions_by_drug(a.caution_ids), rules=[*a.decision.fired, *a.caution_ids])
        if a.expectation is not None:
            record.update(expected_ok=not a.differences, differences=list(a.differences))
        if options.echo_facts:
            record["facts"] = a.facts.model_dump(mode="json")
        if options.full:
            record["recommendation"] = advisor.advise(a.facts).model_dump(mode="json")
    if a.kept:
        record["input"] = a.kept
    return record
