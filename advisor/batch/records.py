"""One case: parse, validate, decide, and build its record. Never raises for bad input: the record
says what is wrong. Field types (and so the CSV coercions, ``csv_columns``) come from the facts model,
drugs from the KB.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from advisor.batch.casefile import CASE_KEYS, DuplicateKey, unique_keys
from advisor.batch.csv_columns import columns, given_twice, kinds_of, typed_cell
from advisor.core.advisor import Advisor
from advisor.core.decision import Decision
from advisor.errors import InvalidFacts
from advisor.core.models import PatientFacts, Status, float_from_text, int_from_text, type_name
from advisor.batch.sources import CsvRow, RawCase
from advisor.batch.text import escape_controls


@dataclass(frozen=True)
class CaseOptions:
    extra: str = "error"                      # unknown fields: name them in an error, drop them, or keep them
    mapping: tuple[tuple[str, str], ...] = ()  # (source name, fact name) renames
    echo_facts: bool = False                  # the validated facts in each record
    full: bool = False                        # the whole Recommendation in each record


def from_csv(row: CsvRow, options: CaseOptions = CaseOptions(), model: type[BaseModel] = PatientFacts) -> dict[str, Any]:
    """A CSV row (all text) as case data, each cell typed as the fact its column is (after --map): an
    empty cell means not given. A list cell separates its items with ';', ',' or '|', whichever is not
    the delimiter. A row that gives one fact in two columns of its header is refused, naming it."""
    header, cells = row.header, row.cells
    plan = columns(header, options.mapping, options.extra, model)
    kinds = kinds_of(model)
    if plan.repeated and (twice := given_twice(plan, cells)):
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
            expect["listed"] = [] if value.lower() == "none" else typed_cell("list", value, separators)
        elif key.startswith("expect.status."):
            expect.setdefault("status", {})[key.removeprefix("expect.status.")] = value
        else:
            data[key] = typed_cell(kinds.get(key, "text"), value, separators)
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
