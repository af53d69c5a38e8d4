"""One case: parse, validate, decide, and build its record. Never raises for bad input: the record
says what is wrong. Field types (and so the CSV coercions) come from the facts model, drugs from the KB.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from ..casefile import CASE_KEYS, DuplicateKey, unique_keys
from ..core import Advisor
from ..decision import Decision
from ..errors import InvalidFacts
from ..models import PatientFacts, Status, float_from_text, int_from_text, type_name
from .sources import CsvRow, RawCase
from .text import escape_controls

EXTRA = ("error", "ignore", "keep")


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


# What each fact is, read from the facts model: how a CSV cell becomes a value.
KINDS: dict[str, str] = {name: _kind(f.annotation) for name, f in PatientFacts.model_fields.items()}
FACTS = frozenset(PatientFacts.model_fields)
_INT = re.compile(r"[+-]?[0-9]+(\.0*)?")
_FLOAT = re.compile(r"[+-]?([0-9]{1,30}\.?[0-9]{0,30}|\.[0-9]{1,30})([eE][+-]?[0-9]{1,4})?")
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def _cell(kind: str, value: str, separators: str) -> Any:
    """A CSV cell as a value of its fact's type; a cell that does not parse stays text, so that
    validation names the field. Digits are ASCII only; no underscores, no inf or nan."""
    if kind == "bool":
        return _BOOLS.get(value.lower(), value)
    if kind == "int":
        if _INT.fullmatch(value):
            return int_from_text(value.split(".")[0].removeprefix("+"))  # any length: thousands of digits are out of range
        return float_from_text(value) if _FLOAT.fullmatch(value) else value  # 2.5: refused as not whole
    if kind == "float":
        if _INT.fullmatch(value) and "." not in value:  # as JSON reads an integer: any length (thousands of digits: out of range)
            return int_from_text(value.removeprefix("+"))
        return float_from_text(value) if _FLOAT.fullmatch(value) else value
    if kind == "list":
        return [item.strip() for item in re.split(f"[{re.escape(separators)}]", value) if item.strip()]
    return value


def from_csv(row: CsvRow) -> dict[str, Any]:
    """A CSV row (all text) as case data: an empty cell means not given. A list cell separates its
    items with ';', ',' or '|', whichever is not the delimiter."""
    header, cells = row.header, row.cells
    if len(cells) > len(header):
        raise InvalidFacts([{"field": "(row)", "message": f"{len(cells) - len(header)} more cell(s) than the header has columns"}])
    if len(cells) < len(header):
        raise InvalidFacts([{"field": k, "message": "cell missing: the row has fewer cells than the header"} for k in header[len(cells):]])
    separators = "".join(s for s in ";,|" if s != row.delimiter)
    data: dict[str, Any] = {}
    expect: dict[str, Any] = {}
    for key, cell in zip(header, cells):
        value = cell.strip()
        if value == "":
            continue
        if key == "expect.listed":
            expect["listed"] = [] if value.lower() == "none" else _cell("list", value, separators)
        elif key.startswith("expect.status."):
            expect.setdefault("status", {})[key.removeprefix("expect.status.")] = value
        else:
            data[key] = _cell(KINDS.get(key, "text"), value, separators)
    if expect:
        data["expect"] = expect
    return data


def parse(raw: RawCase) -> dict[str, Any]:
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
            raise InvalidFacts([{"field": "(case)", "message": f"not valid JSON: {e.msg} at column {e.colno}"}]) from None
        except (ValueError, RecursionError) as e:  # a number too long to read, nesting too deep
            why = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0]
            raise InvalidFacts([{"field": "(case)", "message": f"not valid JSON: {why}"}]) from None
    elif raw.kind == "csv":
        data = from_csv(raw.payload)
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
    status: dict[str, Status] | None = None


def check_expectation(raw: Any, drug_ids: tuple[str, ...]) -> Expectation:
    try:
        exp = Expectation.model_validate(raw)
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


def prepare(data: dict[str, Any], options: CaseOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """Renames (--map), unknown fields (--extra), and counts written as whole floats (2.0 is 2, in
    every format). Returns the data to validate and the unknown fields kept."""
    data = dict(data)
    for source, target in options.mapping:
        if source in data:
            if target in data and target != source:
                raise InvalidFacts([{"field": target, "message": f"given twice: as {target} and as {source} (--map {source}={target})"}])
            data[target] = data.pop(source)
    kept: dict[str, Any] = {}
    if options.extra != "error":
        for key in [k for k in data if k not in FACTS and k not in CASE_KEYS]:
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
        if type(value) is float and KINDS.get(key) == "int" and value.is_integer():
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
    """One case assessed: its id, and either an error or the validated facts with the decision."""
    __slots__ = ("record_id", "error", "given_id", "facts", "decision", "caution_ids", "expectation", "differences", "kept")

    def __init__(self, record_id: str, error: str | None, given_id: bool, facts: PatientFacts | None = None,
                 decision: Decision | None = None, caution_ids: tuple[str, ...] = (), expectation: Expectation | None = None,
                 diffs: tuple[str, ...] = (), kept: dict[str, Any] | None = None):
        self.record_id, self.error, self.given_id, self.facts, self.decision = record_id, error, given_id, facts, decision
        self.caution_ids, self.expectation, self.differences, self.kept = caution_ids, expectation, diffs, kept


def assess(advisor: Advisor, raw: RawCase, options: CaseOptions = CaseOptions()) -> Assessed:
    record_id = raw.source
    kept = None
    if raw.kind == "csv":  # the id is known even when the rest of the row is broken
        row = raw.payload
        id_column = next((s for s, t in options.mapping if t == "id"), "id")
        if id_column in row.header and row.header.index(id_column) < len(row.cells):
            record_id = row.cells[row.header.index(id_column)].strip() or record_id
    try:
        data, kept = prepare(parse(raw), options)
        given = data.get("id")
        if isinstance(given, str) and given:
            record_id = given
        errors: list[dict[str, Any]] = []
        facts = expectation = None
        try:
            facts = PatientFacts.parse({k: v for k, v in data.items() if k not in CASE_KEYS} if "expect" in data else data)
        except InvalidFacts as e:
            errors += e.errors
        if "expect" in data:
            try:
                expectation = check_expectation(data["expect"], advisor.drug_ids)
            except InvalidFacts as e:
                errors += e.errors
        if errors or facts is None:
            raise InvalidFacts(errors)
    except InvalidFacts as e:
        return Assessed(record_id, escape_controls(str(e), 2000), record_id != raw.source, kept=kept)
    decision = advisor.decide(facts)
    diffs = differences(expectation, decision) if expectation is not None else ()
    return Assessed(record_id, None, record_id != raw.source, facts, decision, advisor.caution_rules(facts),
                    expectation, diffs, kept)


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
