"""Load and validate a knowledge-base directory (``rules/``): TOML data in, typed models out.

Nothing here knows about durable-rules: the KB is plain data that :mod:`advisor.core.engine` compiles.
A broken KB raises :class:`KnowledgeBaseError` naming the file, the item id and what is wrong.
"""

from __future__ import annotations

import copy
import errno
import functools
import hashlib
import math
import operator
import os
import stat
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from string import Template
from typing import Any, Callable, Literal, Union

from pydantic_core import PydanticCustomError
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator

from advisor.kb.claims import overstatement, unused_allowances
from advisor.kb.numbers import Number, number_problems, unit_problems
from advisor.errors import KnowledgeBaseError
from advisor.kb.vocabulary import (PACKAGED, PACKAGED_STATUSES, ConditionItem, StatusItem, Statuses, Vocabulary, enum_value,
                                  packaged_directory, status_problems, statuses_for, vocabulary_for, vocabulary_problems)
from advisor.kb.facts import FactSpec, fact_problems
from advisor.core.models import FACTS, MSType, Interval, Phase, Severity, float_from_text, inexact
from advisor.text import has_unsafe, name_key, visible

FILES = ("kb.toml", "facts.toml", "statuses.toml", "conditions.toml", "drugs.toml", "decisions.toml", "cautions.toml", "notes.toml")
ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"

# The packaged KB's facts a status rule may test, with the type of value each test compares against (a
# KB's own facts are in its facts.toml: KnowledgeBase.facts, and the rules are validated against them).
TESTABLE: dict[str, Any] = {
    "ms_type": MSType,
    "severity": Severity,
    "prior_failures": int,
    "rapidly_worsening": bool,
    "mitoxantrone_cumulative_mg_m2": float,
}
PACKAGED_FACTS: dict[str, FactSpec] = {f.id: f for f in FACTS}


def facts_of(info: ValidationInfo | None) -> dict[str, FactSpec]:
    """The facts a KB item is validated against: its KB's (load() passes them as the validation
    context), else the packaged KB's."""
    context = info.context if info is not None else None
    return context["facts"] if isinstance(context, dict) and "facts" in context else PACKAGED_FACTS


def vocabulary_of(info: ValidationInfo | None) -> Vocabulary:
    """The conditions a KB item is validated against: its KB's conditions.toml (load() passes them as
    the validation context), else the packaged KB's."""
    context = info.context if info is not None else None
    return context["vocabulary"] if isinstance(context, dict) and "vocabulary" in context else PACKAGED


def statuses_of(info: ValidationInfo | None) -> Statuses:
    """The statuses a KB item is validated against: its KB's statuses.toml, else the packaged KB's."""
    context = info.context if info is not None else None
    return context["statuses"] if isinstance(context, dict) and "statuses" in context else PACKAGED_STATUSES


def testable(facts: dict[str, FactSpec]) -> dict[str, FactSpec]:
    """The facts a rule may test (and a text may name as $fact): every fact but the conditions list."""
    return {name: f for name, f in facts.items() if f.testable}


def numeric(spec: FactSpec) -> bool:
    return spec.kind in ("count", "number")


def kind_type(spec: FactSpec) -> Any:
    """The JSON type of a fact's value as a test compares it: str (a choice), bool, int or float."""
    return {"choice": str, "yes_no": bool, "count": int, "number": float}.get(spec.kind, list)
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
ORDERED_OPS = ("<", "<=", ">", ">=")


class _KB(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quoted(_KB):
    text: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    allow: tuple[str, ...] = ()  # claim words or numbers the text may use beyond its quote (see claims.py)


class Test(_KB):
    fact: str
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in"]
    value: Union[bool, int, float, str, list[Union[bool, int, float, str]]]

    @field_validator("fact")
    @classmethod
    def _fact(cls, v: str, info: ValidationInfo) -> str:
        known = testable(facts_of(info))
        if v not in known:
            raise ValueError(f"unknown fact '{v}' (testable: {', '.join(known)})")
        return v

    @model_validator(mode="after")
    def _value_fits(self, info: ValidationInfo) -> "Test":
        spec = facts_of(info)[self.fact]
        values = self.value if isinstance(self.value, list) else [self.value]
        if (self.op in ("in", "not in")) != isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' {'takes' if self.op in ('in', 'not in') else 'does not take'} a list of values")
        if values == []:
            raise ValueError(f"op '{self.op}' needs at least one value")
        for v in values:
            if spec.kind == "choice":
                allowed = [c.id for c in spec.values]
                if v not in allowed:
                    raise ValueError(f"{self.fact}: unknown value {v!r} (allowed: {', '.join(allowed)})")
                if self.op in ORDERED_OPS:
                    raise ValueError(f"{self.fact}: op '{self.op}' does not apply to a vocabulary")
            elif spec.kind == "yes_no":
                if not isinstance(v, bool) or self.op not in ("==", "!="):
                    raise ValueError(f"{self.fact}: tests a boolean with == or != true/false")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or (spec.kind == "count" and not isinstance(v, int)):
                raise ValueError(f"{self.fact}: value {v!r} must be {'a whole number' if spec.kind == 'count' else 'a number'}")
        return self

    def holds(self, facts: dict[str, Any]) -> bool:
        """Evaluate this test alone (for cache keys, what-ifs and the decision-space check, never for
        a decision: durable-rules decides). ``facts`` holds JSON values, as asserted into the engine."""
        return bool(_OP_FUNCTIONS[self.op](facts[self.fact], self.value))

    def describe(self) -> str:
        """The test as people read it, e.g. ``prior_failures >= 2`` or ``rapidly_worsening == true``."""
        value = str(self.value).lower() if isinstance(self.value, bool) else self.value
        return f"{self.fact} {self.op} {value}"


_OP_FUNCTIONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "in": lambda left, right: left in right, "not in": lambda left, right: left not in right,
}


class Sourced(_KB):
    """Anything that cites the source: a quote that must stand verbatim under ``section`` (or under
    ``under``, the heading path, when the section label users see names no heading: an unheaded list
    printed after another drug's heading, say)."""
    quote: str = Field(min_length=1)
    section: str = Field(min_length=1)
    under: str | None = None
    allow: tuple[str, ...] = ()  # claim words or numbers the text may use beyond its quote (see claims.py)


class Reviewed(_KB):
    """Arden-style review metadata a rule may carry. (``status`` already names a rule's conclusion, so
    the review's state is ``review_status``.)"""
    reviewed_by: str | None = Field(None, min_length=1, max_length=200)
    reviewed_on: date | None = None
    review_status: Literal["draft", "approved"] | None = None


class Cited(_KB):
    """A further quote of a rule, for a further part of its text, standing verbatim under ``section``."""
    quote: str = Field(min_length=1)
    section: str = Field(min_length=1)
    under: str | None = None


class Rule(Sourced, Reviewed):
    id: str = Field(pattern=ID)
    drug: str
    status: Any  # a Status of the KB's own statuses.toml (see statuses_of)
    # the quotes of the further parts of the text, each its own (the text may claim what any of its quotes says)
    also: tuple[Cited, ...] = Field((), max_length=4)
    when: tuple[Test, ...] = ()  # no tests: the rule fires for every set of facts
    text: str = Field(min_length=1)
    # the text when a fact the rule tests was not given and its assumed value decided (see models.ASSUMED)
    text_not_given: str | None = Field(None, min_length=1)
    short: str | None = Field(None, min_length=1, max_length=90)  # a CDS card's summary: keeps the number that matters

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, v: Any, info: ValidationInfo) -> Any:
        return enum_value(statuses_of(info).enum, v)

    @field_validator("text", "text_not_given", "short")
    @classmethod
    def _template(cls, v: str | None, info: ValidationInfo) -> str | None:
        return None if v is None else _check_template(v, facts_of(info))

    @model_validator(mode="after")
    def _not_given(self, info: ValidationInfo) -> "Rule":
        optional = [name for name, f in facts_of(info).items() if f.optional]
        if self.text_not_given is not None and not any(t.fact in optional for t in self.when):
            raise ValueError(f"text_not_given: the rule tests no fact that may be not given ({', '.join(optional)})")
        return self


class CautionRule(Sourced, Reviewed):
    id: str = Field(pattern=ID)
    drug: str
    condition: Any  # a Condition of the KB's own conditions.toml (see vocabulary_of)
    text: str = Field(min_length=1)

    @field_validator("condition", mode="before")
    @classmethod
    def _condition(cls, v: Any, info: ValidationInfo) -> Any:
        return enum_value(vocabulary_of(info).enum, v)


class NoteItem(_KB):
    id: str = Field(pattern=ID)
    text: str = Field(min_length=1)
    drug: str | None = None
    quote: str | None = None
    section: str | None = None
    under: str | None = None
    silent: bool = False
    allow: tuple[str, ...] = ()
    when: tuple[Test, ...] = ()  # a note given only when all these tests hold (decided by the engine)
    statuses: tuple[Any, ...] = ()  # a drug's note: given only when the drug has one of these statuses (its KB's)

    @field_validator("statuses", mode="before")
    @classmethod
    def _statuses(cls, v: Any, info: ValidationInfo) -> Any:
        if not isinstance(v, (list, tuple)):
            raise PydanticCustomError("tuple_type", "Input should be a valid tuple")
        return tuple(enum_value(statuses_of(info).enum, s) for s in v)

    @model_validator(mode="after")
    def _quoted_or_silent(self) -> "NoteItem":
        if self.statuses and self.drug is None:
            raise ValueError("statuses: only a note tied to a drug (drug = ...) is given by the drug's status")
        if self.silent == bool(self.quote):
            raise ValueError("a note either quotes the source (quote and section) or says it is silent (silent = true), not both")
        if self.quote and not self.section:
            raise ValueError("a quoted note needs its section")
        return self


class SideEffects(_KB):
    section: str
    under: str | None = None
    list_note: str | None = None
    allow: tuple[str, ...] = ()
    common: tuple[Quoted, ...]
    serious: tuple[Quoted, ...]
    # how the article leads into the serious list, when it says more than "Serious side effects"
    serious_label: Quoted | None = None
    # a paragraph the article prints after the lists, shown apart from them ("The article also says: ...")
    after: Quoted | None = None


class Statement(Quoted):
    """Something further the article says of a drug, quoted, with the section it stands under."""
    section: str = Field(min_length=1)
    under: str | None = None


class DrugSchedule(_KB):
    text: str
    quote: str
    allow: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = Field(min_length=1)
    note: str | None = None
    lifetime_max_mg_m2: float | None = Field(None, gt=0)
    received_fact: str | None = None  # the fact holding how much of the lifetime maximum is already received
    course_within: Interval | None = None  # a finite course: no infusion later than this after the first
    course_why: str | None = Field(None, min_length=1)  # why no date follows the course's end, in the article's words

    @model_validator(mode="after")
    def _course_why(self) -> "DrugSchedule":
        if self.course_why is not None and self.course_within is None:
            raise ValueError("course_why: says why a finite course ends, and this schedule has no course_within")
        return self

    @model_validator(mode="after")
    def _lifetime(self, info: ValidationInfo) -> "DrugSchedule":
        facts = facts_of(info)
        if self.received_fact is not None and (self.received_fact not in facts or facts[self.received_fact].kind != "number"):
            numbers = ", ".join(name for name, f in facts.items() if f.kind == "number")
            raise ValueError(f"received_fact '{self.received_fact}' must be a numeric fact ({numbers})")
        if (self.received_fact is None) != (self.lifetime_max_mg_m2 is None):
            raise ValueError("lifetime_max_mg_m2 and received_fact go together")
        return self


class Drug(_KB):
    id: str = Field(pattern=r"^[a-z]+$")
    name: str
    brand: str | None = None
    brand_note: str | None = None
    section: str
    how_it_works: Quoted
    about: tuple[Statement, ...] = ()  # further things the article says of the drug, quoted
    schedule: DrugSchedule
    side_effects: SideEffects


class Header(_KB):
    name: str
    version: str
    source: str
    source_title: str
    disclaimer: str = Field(min_length=1)
    caution_note: str = Field(min_length=1)  # shown wherever cautions are: they never change a status
    allow: tuple[str, ...] = ()  # claim words or numbers the disclaimer and caution note may use (see claims.py)
    numbers: dict[str, Number] = {}  # named figures of the article, each stated in several places (see numbers.py)


class KnowledgeBase(_KB):
    directory: str
    header: Header
    statuses: tuple[StatusItem, ...] = ()
    sha256: str = Field(description="fingerprint(): SHA-256 over the KB's TOML files and its source")
    source_text: str
    conditions: tuple[ConditionItem, ...]
    drugs: tuple[Drug, ...]
    rules: tuple[Rule, ...]
    cautions: tuple[CautionRule, ...]
    notes: tuple[NoteItem, ...]
    facts: tuple[FactSpec, ...] = FACTS  # facts.toml: the facts a case gives, and so the facts model
    _index: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def fact_specs(self) -> dict[str, FactSpec]:
        """The KB's facts by id, in facts.toml's order."""
        found = self._index.get("\x00facts")
        if found is None:
            found = self._index["\x00facts"] = {f.id: f for f in self.facts}
        return dict(found)

    def fact(self, name: str) -> FactSpec:
        """One fact of the KB (KeyError for another name)."""
        return self.fact_specs[name]

    @property
    def status_set(self) -> Statuses:
        """The KB's statuses (statuses.toml): the Status enum and the listed ones."""
        return statuses_for(self.statuses) if self.statuses else PACKAGED_STATUSES

    @property
    def vocabulary(self) -> Vocabulary:
        """The KB's conditions (conditions.toml) as every surface uses them: the Condition enum, labels, lookup."""
        return vocabulary_for(self.conditions)

    @property
    def testable(self) -> dict[str, Any]:
        """The facts a rule may test, with the type of value each test compares against (str for a choice)."""
        return {f.id: kind_type(f) for f in self.facts if f.testable}

    def model_post_init(self, __context: Any) -> None:
        self._index.update({d.id: d for d in self.drugs})
        rules: tuple[Rule | CautionRule, ...] = (*self.rules, *self.cautions)
        self._index.update({r.id: r for r in rules})

    @property
    def thresholds(self) -> dict[str, list[Any]]:
        """For each fact the status rules and conditional notes test, the values they compare it with
        (numbers sorted): the one place the KB's thresholds are derived (the memo key, the what-ifs,
        ``kb check``, the decision table and ``kb diff`` all read them here)."""
        found = self._index.get("\x00thresholds")
        if found is None:
            found = self._index["\x00thresholds"] = thresholds_of((*self.rules, *self.notes))
        return dict(found)

    def info(self) -> dict[str, Any]:
        """Which knowledge base this is: name, version, SHA-256s, directory, source, and what it holds."""
        return {**self.identity, "directory": self.directory, "source": self.header.source_title, "drugs": list(self.drug_ids),
                "status_rules": len(self.rules), "caution_rules": len(self.cautions), "notes": len(self.notes)}

    def drug(self, drug_id: str) -> Drug:
        item = self._index.get(drug_id)
        if not isinstance(item, Drug):
            raise KeyError(drug_id)
        return item

    @property
    def identity(self) -> dict[str, str]:
        """Which knowledge base this is: name, version and the SHA-256 of its files and source."""
        return {"name": self.header.name, "version": self.header.version, "sha256": self.sha256}

    @property
    def drug_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.drugs)

    def rule(self, rule_id: str) -> Rule | CautionRule:
        item = self._index.get(rule_id)
        if not isinstance(item, (Rule, CautionRule)):
            raise KeyError(rule_id)
        return item


def fingerprint(files: dict[str, bytes]) -> str:
    """SHA-256 over a knowledge base's files (relative path -> content), the same on every platform:
    paths with '/', files in sorted order, line endings folded to LF, each file framed by its path and
    length so that no two different sets of files hash alike."""
    digest = hashlib.sha256(b"ms-infusion-advisor kb fingerprint 1\n")
    for name in sorted(files):
        data = files[name].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        path = name.replace("\\", "/").encode("utf-8")
        digest.update(b"%d:%s\n%d:" % (len(path), path, len(data)))
        digest.update(data)
    return digest.hexdigest()


def _kb_files(root: Path, source: Path | None, problems: list[Any]) -> dict[str, bytes]:
    """The files a fingerprint covers: every TOML file of the directory and the source text, read as
    every KB file is (regular files inside the directory, within the size limit)."""
    files: dict[str, bytes] = {}
    for path in [*sorted(root.glob("*.toml")), *([source] if source is not None else [])]:
        data = read_kb_file(path, root if path != source else None, path.name, problems)
        if data is not None:
            files[path.name if path != source else "source:" + path.name] = data
    return files


def _check_template(text: str, facts: dict[str, FactSpec]) -> str:
    template = Template(text)
    if not template.is_valid():
        raise ValueError("text has a '$' that names no fact (write $$ for a dollar sign)")
    unknown = set(template.get_identifiers()) - {*facts, "id"}
    if unknown:
        raise ValueError(f"text names unknown facts: {', '.join(sorted(unknown))}")
    scalar = testable(facts)  # the scalar facts a rule can test (not the id, which is the user's text, nor the conditions list)
    not_scalar = set(template.get_identifiers()) - set(scalar)
    if not_scalar:
        raise ValueError(f"text names {', '.join(sorted(not_scalar))}, which is not a scalar fact "
                         f"(placeholders: {', '.join('$' + f for f in scalar)})")
    return text


# --- verbatim quotes -----------------------------------------------------------------------------

def normalize(text: str) -> str:
    """Fold white space and curly quotes, so a quote matches the source however it was typed. (str.replace
    and str.split: ~20 times faster than a translate table and a regular expression, on every KB load.)"""
    return " ".join(text.replace("‘", "'").replace("’", "'").replace("“", '"').replace("”", '"').split())


@functools.lru_cache(maxsize=8)
def headings(source: str) -> tuple[tuple[int, str], ...]:
    """The source's heading lines as (line index, normalized text): a short line standing alone between
    blank lines, not a bullet, not ending like a sentence. (Memoized: every quote of a KB asks.)"""
    lines = source.splitlines()
    out = []
    for i, line in enumerate(lines):
        text = normalize(line)
        if (text and len(text) <= 80 and not text.endswith((".", ":", "?", "!")) and not text.startswith("•")
                and (i == 0 or not lines[i - 1].strip()) and (i + 1 == len(lines) or not lines[i + 1].strip())):
            out.append((i, text))
    return tuple(out)


def section_scope(section: str, source: str) -> tuple[int, int] | str:
    """The line range of ``section`` in ``source``, or why it cannot be found.

    ``section`` is a heading of the source, or a path "Heading / Subheading" of headings in that order;
    anything after " — " is a remark for the reader (e.g. which unheaded list is meant) and not checked.
    The scope runs from the last heading of the path to the next heading.
    """
    path = [normalize(p) for p in section.split(" — ")[0].split(" / ")]
    heads = headings(source)
    k = 0
    for part in path:
        while k < len(heads) and heads[k][1] != part:
            k += 1
        if k == len(heads):
            return f"section '{section}' is not a heading of the source (looked for '{part}')"
        k += 1
    start = heads[k - 1][0]
    end = heads[k][0] if k < len(heads) else len(source.splitlines())
    return start, end


@functools.lru_cache(maxsize=256)
def _normalized(source: str, scope: tuple[int, int] | None = None) -> str:
    """The source, or the lines ``scope`` of it, normalized (memoized: every quote of a KB asks)."""
    return normalize(source if scope is None else "\n".join(source.splitlines()[scope[0]:scope[1]]))


def quote_problem(quote: str, section: str, source: str) -> str | None:
    """Why ``quote`` does not stand verbatim under ``section`` in ``source`` (None: it does)."""
    q = normalize(quote)
    if q not in _normalized(source):
        return f"quote not found verbatim in the source: '{quote}'"
    scope = section_scope(section, source)
    if isinstance(scope, str):
        return scope
    if q not in _normalized(source, scope):
        return f"quote stands in the source, but not under section '{section}': '{quote}'"
    return None


# --- loading ---------------------------------------------------------------------------------------

def _toml_float(text: str) -> float:
    """A TOML float that a 64-bit float holds exactly (its shortest text has the same value): a
    threshold the facts are compared with exactly (see models.float_from_text); else ValueError."""
    value = float_from_text(text)
    if not isinstance(value, float):
        raise ValueError(inexact(value))
    return value


@functools.lru_cache(maxsize=64)
def _parsed_toml(text: str) -> dict[str, Any]:
    return tomllib.loads(text, parse_float=_toml_float)


def _parse_toml(text: str) -> dict[str, Any]:
    """TOML text parsed (a copy of the memoized parse: the same files are read at every load, by a
    server's reload or a test's KB copies, and tomllib is pure Python)."""
    return copy.deepcopy(_parsed_toml(text))


def _read_toml(path: Path, problems: list[Any]) -> dict[str, Any]:
    data = read_kb_file(path, path.parent, path.name, problems)
    if data is None:
        return {}
    try:
        raw = _parse_toml(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        problems.append((path.name, "", f"not valid TOML: {e}"))
        return {}
    except RecursionError:
        problems.append((path.name, "", f"nested deeper than the knowledge-base schema allows ({MAX_KB_DEPTH} levels)"))
        return {}
    except ValueError as e:  # an integer of thousands of digits
        problems.append((path.name, "", f"not valid TOML: {e}"))
        return {}
    problems += raw_problems(raw, path.name)
    return raw if not any(f == path.name for f, _, _ in problems) else {}


def _items(model: type[BaseModel], raw: Any, file: str, key: str, problems: list[Any],
           context: dict[str, Any] | None = None) -> list[Any]:
    if any(f == file for f, _, _ in problems):
        return []  # the file itself could not be read; that problem is already reported
    if raw is None:
        problems.append((file, "", f"has no [[{key}]] entries"))
        return []
    if not isinstance(raw, list):
        problems.append((file, "", f"'{key}' must be an array of tables ([[{key}]])"))
        return []
    out = []
    for n, item in enumerate(raw, 1):
        ident = item.get("id", f"{key} #{n}") if isinstance(item, dict) else f"{key} #{n}"
        try:
            out.append(model.model_validate(item, context=context))
        except ValidationError as e:
            for err in e.errors():
                where = ".".join(str(p) for p in err["loc"])
                message = err["msg"].removeprefix("Value error, ")
                problems.append((file, str(ident), f"{where}: {message}" if where else message))
    return out


def load(directory: str | Path, source: str | Path | None = None) -> KnowledgeBase:
    """Read, validate and return the knowledge base in ``directory``; raise KnowledgeBaseError if broken.

    Quotes are checked against the KB's own source file, or against ``source`` when it is given."""
    root = Path(directory)
    if not root.is_dir():
        raise KnowledgeBaseError([(str(root), "", "is not a directory")])
    problems: list[tuple[str, str, str]] = []
    # a KB without facts.toml (one written before it existed) has the packaged KB's facts
    own_facts = (root / "facts.toml").exists() or (root / "facts.toml").is_symlink()
    raw = {name: _read_toml(root / name, problems) if name != "facts.toml" or own_facts else {} for name in FILES}
    header = None
    try:
        header = Header.model_validate(raw["kb.toml"])
    except ValidationError as e:
        problems += [("kb.toml", "", f"{'.'.join(map(str, err['loc']))}: {err['msg']}") for err in e.errors()]
    fact_items = _items(FactSpec, raw["facts.toml"].get("fact"), "facts.toml", "fact", problems) if own_facts else list(FACTS)
    problems += [("facts.toml", ident, p) for ident, p in fact_problems(fact_items)]
    facts = {f.id: f for f in fact_items}
    statuses = _items(StatusItem, raw["statuses.toml"].get("status"), "statuses.toml", "status", problems)
    problems += [("statuses.toml", "", p) for p in status_problems(statuses)]
    conditions = _items(ConditionItem, raw["conditions.toml"].get("condition"), "conditions.toml", "condition", problems)
    problems += [("conditions.toml", "", p) for p in vocabulary_problems(conditions)]
    vocabulary = vocabulary_for(tuple(conditions)) if conditions and not vocabulary_problems(conditions) else PACKAGED
    status_set = statuses_for(tuple(statuses)) if statuses and not status_problems(statuses) else PACKAGED_STATUSES
    context = {"facts": facts, "vocabulary": vocabulary, "statuses": status_set}
    conditions_unread = any(f == "conditions.toml" for f, _, _ in problems)
    if any(f.kind == "conditions" for f in fact_items) and not conditions and not conditions_unread:
        problems.append(("facts.toml", "conditions", "a conditions fact needs the conditions of conditions.toml"))
    drugs = _items(Drug, raw["drugs.toml"].get("drug"), "drugs.toml", "drug", problems, context)
    rules = _items(Rule, raw["decisions.toml"].get("rule"), "decisions.toml", "rule", problems, context)
    cautions = _items(CautionRule, raw["cautions.toml"].get("caution"), "cautions.toml", "caution", problems, context)
    notes = _items(NoteItem, raw["notes.toml"].get("note", []), "notes.toml", "note", problems, context)
    for name in FILES:
        unknown = set(raw[name]) - {"kb.toml": set(Header.model_fields), "facts.toml": {"fact"},
                                    "statuses.toml": {"status"}, "conditions.toml": {"condition"},
                                    "drugs.toml": {"drug"},
                                    "decisions.toml": {"rule"},
                                    "cautions.toml": {"caution"}, "notes.toml": {"note"}}[name]
        if unknown:
            problems.append((name, "", f"unknown keys: {', '.join(sorted(unknown))}"))

    source_text = ""
    source_file: Path | None = None
    if source is not None:
        source_file = Path(source)
        source_text = read_source(Path(source), None, str(source), problems)
    elif header is not None:
        try:
            source_path = (root / header.source).resolve()
        except (OSError, RuntimeError):  # a symlink loop: read_source says so
            source_path = root
        if not source_path.is_relative_to(root.resolve()):
            problems.append(("kb.toml", "", f"source '{header.source}' must lie inside the knowledge-base directory"))
        else:
            source_file = root / header.source
            source_text = read_source(root / header.source, root, f"source '{header.source}'", problems)

    drug_ids = [d.id for d in drugs]
    _duplicates(drug_ids, "drugs.toml", "drug", problems)
    _duplicates([r.id for r in rules] + [c.id for c in cautions], "decisions.toml/cautions.toml", "rule", problems)
    _duplicates([n.id for n in notes], "notes.toml", "note", problems)
    for file, items in (("decisions.toml", rules), ("cautions.toml", cautions), ("notes.toml", notes)):
        for item in items:
            if item.drug is not None and item.drug not in drug_ids:
                problems.append((file, item.id, f"unknown drug '{item.drug}' (known: {', '.join(drug_ids)})"))
    seen_cautions = set()
    for c in cautions:
        if (c.drug, c.condition) in seen_cautions:
            problems.append(("cautions.toml", c.id, f"a second caution for {c.drug} and {c.condition.value}"))
        seen_cautions.add((c.drug, c.condition))

    if source_text:
        cited: list[tuple[str, str, str, str]] = []
        for d in drugs:
            cited.append(("drugs.toml", d.id, d.how_it_works.quote, d.section))
            cited.append(("drugs.toml", d.id, d.schedule.quote, d.section))
            cited += [("drugs.toml", d.id, a.quote, a.under or a.section) for a in d.about]
            labels = tuple(q for q in (d.side_effects.serious_label, d.side_effects.after) if q)
            for effect in (*d.side_effects.common, *d.side_effects.serious, *labels):
                cited.append(("drugs.toml", d.id, effect.quote, d.side_effects.under or d.side_effects.section))
        cited += [("decisions.toml", r.id, q.quote, q.under or q.section) for r in rules for q in (r, *r.also)]
        cited += [("cautions.toml", c.id, c.quote, c.under or c.section) for c in cautions]
        cited += [("notes.toml", n.id, n.quote, n.under or n.section or "") for n in notes if n.quote]
        if header is not None:
            cited += [("kb.toml", f"numbers.{name}", n.quote, n.section) for name, n in header.numbers.items()]
        for file, ident, quote, section in cited:
            problem = quote_problem(quote, section, source_text)
            if problem:
                problems.append((file, ident, problem))
    problems += claim_problems(drugs, rules, cautions, notes)
    if header is not None:  # every statement of a named number agrees with it
        problems += unit_problems(header.numbers) + number_problems(header.numbers, raw, rules, notes, drugs)
        problems += [("kb.toml", f"numbers.{name}", f"unknown fact '{n.fact}' (testable: {', '.join(testable(facts))})")
                     for name, n in header.numbers.items() if n.fact is not None and n.fact not in testable(facts)]
    if header is not None:  # shown on every surface: the disclaimer and the caution note claim nothing either
        texts = (header.disclaimer, header.caution_note)
        problems += [("kb.toml", "", p) for text in texts if (p := overstatement(text, None, header.allow))]
        problems += [("kb.toml", "", p) for p in unused_allowances(header.allow, texts)]
    problems += [("conditions.toml", c.id, p) for c in conditions for text in (c.description, c.label) if text
                 and (p := overstatement(text, None))]

    problems += threshold_problems(rules, facts) + rule_shape_problems(rules) + name_problems(drugs)
    if not problems:  # the decision space needs every rule valid
        problems += decision_space(rules, drug_ids, facts=facts).problems
    sha256 = ""
    if not problems:
        files = _kb_files(root, source_file, problems)
        sha256 = fingerprint(files) if not problems else ""
    if problems:
        raise KnowledgeBaseError(problems)
    assert header is not None
    return KnowledgeBase(directory=str(root), header=header, sha256=sha256, source_text=source_text,
                         statuses=tuple(statuses), conditions=tuple(conditions), drugs=tuple(drugs),
                         rules=tuple(rules), cautions=tuple(cautions), notes=tuple(notes), facts=tuple(fact_items))


def claim_problems(drugs: list[Any], rules: list[Any], cautions: list[Any], notes: list[Any]) -> list[tuple[str, str, str]]:
    """Every text that says more than its quote: a claim word or number not in it nor in ``allow``."""
    texts: list[tuple[str, str, str, str | None, tuple[str, ...]]] = []
    for d in drugs:
        labels = tuple(q for q in (d.side_effects.serious_label, d.side_effects.after) if q)
        for q in (d.how_it_works, *d.about, *d.side_effects.common, *d.side_effects.serious, *labels):
            texts.append(("drugs.toml", d.id, q.text, q.quote, q.allow))
        s = d.schedule
        texts += [("drugs.toml", d.id, t, s.quote, s.allow) for t in (s.text, s.note, s.course_why) if t]
        if d.side_effects.list_note:
            texts.append(("drugs.toml", d.id, d.side_effects.list_note, None, d.side_effects.allow))
        if d.brand_note:
            texts.append(("drugs.toml", d.id, d.brand_note, None, ()))
    texts += [("decisions.toml", r.id, t, " ".join(q.quote for q in (r, *r.also)), r.allow)
              for r in rules for t in (r.text, r.text_not_given, r.short) if t]
    texts += [("cautions.toml", c.id, c.text, c.quote, c.allow) for c in cautions]
    texts += [("notes.toml", n.id, n.text, n.quote, n.allow) for n in notes]
    out = []
    uses: dict[tuple[str, str, int], tuple[tuple[str, ...], list[str]]] = {}
    for file, ident, text, quote, allow in texts:
        problem = overstatement(text, quote, allow)
        if problem:
            out.append((file, ident, problem))
        if allow:  # one `allow` may serve several texts of an item (a schedule's text and note)
            uses.setdefault((file, ident, id(allow)), (allow, []))[1].append(text)
    for (file, ident, _), (allow, used_by) in uses.items():
        out += [(file, ident, p) for p in unused_allowances(allow, used_by)]
    return out


def _duplicates(ids: list[str], file: str, kind: str, problems: list[Any]) -> None:
    seen = set()
    for i in ids:
        if i in seen:
            problems.append((file, i, f"duplicate {kind} id"))
        seen.add(i)


def default_directory() -> Path:
    """The knowledge base shipped with the package (installed copy first, then a source checkout's)."""
    return packaged_directory()


# --- hardening: what a knowledge base from anywhere (--rules-dir) may not do (issue 9) ---------------
# Kept apart from the schema above: file reading, raw-data limits, thresholds, names, and the decision
# space (exactly one status per drug for every fact value), all checked by load() before any work.

MAX_KB_FILE_BYTES = 2 * 2**20  # a TOML or source file; the shipped ones are under 10 kB
MAX_KB_DEPTH = 8  # containers deep: drugs.toml's drug > schedule > phases > start is 6
MAX_KB_INT = 10**9
MAX_ID_LENGTH = 64
# The packaged facts a KB text may name as $placeholder: the scalar facts a rule can test (not the id,
# which is the user's text, nor the conditions list); a KB's own are its testable facts.
TEMPLATE_FACTS = tuple(TESTABLE)
# Where each of the packaged number facts' values lie, as the facts model accepts them (a KB's own: each
# fact's min and max in facts.toml).
FACT_RANGES: dict[str, tuple[float, float]] = {f.id: (f.low, f.high) for f in FACTS if numeric(f)}


def read_kb_file(path: Path, root: Path | None, label: str, problems: list[Any]) -> bytes | None:
    """The bytes of a KB file, or None with a problem: missing, a symlink leading outside ``root``,
    not a regular file (a FIFO or device is never opened for a blocking read), or over the size limit."""
    try:
        outside = root is not None and not path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        problems.append((label, "", "cannot be resolved (a symlink loop)"))
        return None
    if outside:
        problems.append((label, "", "is a symlink leading outside the knowledge-base directory"))
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO: opens at once, refused below
    except FileNotFoundError:
        problems.append((label, "", "file is missing"))
        return None
    except OSError as e:  # Python 3.13's resolve() no longer raises for a loop: open() meets it (ELOOP)
        problems.append((label, "", "cannot be resolved (a symlink loop)" if e.errno == errno.ELOOP
                         else f"cannot be read: {e.strerror}"))
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            problems.append((label, "", "is not a regular file (a FIFO, device or directory)"))
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_KB_FILE_BYTES + 1)
    except OSError as e:
        problems.append((label, "", f"cannot be read: {e.strerror}"))
        return None
    finally:
        os.close(fd)
    if len(data) > MAX_KB_FILE_BYTES:
        problems.append((label, "", f"is larger than {MAX_KB_FILE_BYTES // 2**20} MiB"))
        return None
    return data


def read_source(path: Path, root: Path | None, label: str, problems: list[Any]) -> str:
    data = read_kb_file(path, root, label, problems)
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        problems.append((label, "", f"is not UTF-8 text (byte {e.start})"))
        return ""


def raw_problems(raw: Any, file: str) -> list[tuple[str, str, str]]:
    """Limits on a KB file's raw TOML data, before the schema: nesting, numbers, text."""
    out: list[tuple[str, str, str]] = []

    def walk(value: Any, where: str, item: str, depth: int) -> None:
        if isinstance(value, (dict, list)):
            if depth > MAX_KB_DEPTH:
                out.append((file, item, f"{where}: nested deeper than the knowledge-base schema allows ({MAX_KB_DEPTH} levels)"))
                return
            if isinstance(value, dict):
                named = value.get("id")
                item = named if isinstance(named, str) else item
                for k, v in value.items():
                    walk(v, f"{where}.{k}" if where else k, item, depth + 1)
            else:
                for i, v in enumerate(value):
                    walk(v, f"{where}.{i}", item, depth + 1)
        elif isinstance(value, bool):
            pass
        elif isinstance(value, int):
            if abs(value) > MAX_KB_INT:
                out.append((file, item, f"{where}: integer out of range (at most {MAX_KB_INT:,} either way)"))
        elif isinstance(value, float):
            if not math.isfinite(value):
                out.append((file, item, f"{where}: must be a finite number, not {value}"))
            elif abs(value) > MAX_KB_INT:
                out.append((file, item, f"{where}: number out of range (at most {MAX_KB_INT:,} either way)"))
        elif isinstance(value, str):
            if not value.strip():
                out.append((file, item, f"{where}: is blank"))
            elif has_unsafe(value):
                out.append((file, item, f"{where}: holds a control character ('{visible(value)[:80]}'); KB texts reach terminals and calendars"))

    walk(raw, "", "", 0)
    return [(f, visible(i), m) for f, i, m in out]


def threshold_problems(rules: list[Rule], facts: dict[str, FactSpec] | None = None) -> list[tuple[str, str, str]]:
    """A number a rule compares a fact with must be a value the facts model accepts for that fact."""
    ranges = {name: (f.low, f.high) for name, f in (facts or PACKAGED_FACTS).items() if numeric(f)}
    out = []
    for rule in rules:
        for test in rule.when:
            if test.fact in ranges:
                low, high = ranges[test.fact]
                for v in (test.value if isinstance(test.value, list) else [test.value]):
                    if isinstance(v, (int, float)) and not low <= v <= high:
                        out.append(("decisions.toml", rule.id, f"{test.fact} {test.op} {v}: outside what the facts model "
                                                               f"accepts for {test.fact} ({low:g} to {high:g})"))
    return out


MAX_TESTS_PER_RULE = 8
MAX_LIST_VALUES = 16
MAX_ALTERNATIVES = 64  # the product of a rule's "in" list lengths: the rules engine expands them


def rule_shape_problems(rules: list[Rule]) -> list[tuple[str, str, str]]:
    """Bounds that keep a rule within what the rules engine compiles: tests per rule, values per
    list, and the alternatives its "in" lists multiply into."""
    out = []
    for rule in rules:
        if len(rule.when) > MAX_TESTS_PER_RULE:
            out.append(("decisions.toml", rule.id, f"has {len(rule.when)} tests (at most {MAX_TESTS_PER_RULE})"))
        alternatives = 1
        for test in rule.when:
            if isinstance(test.value, list):
                if len(test.value) > MAX_LIST_VALUES:
                    out.append(("decisions.toml", rule.id, f"{test.fact} {test.op}: {len(test.value)} values (at most {MAX_LIST_VALUES})"))
                if test.op == "in":
                    alternatives *= len(set(test.value))
        if alternatives > MAX_ALTERNATIVES:
            out.append(("decisions.toml", rule.id, f"its 'in' lists make {alternatives} alternatives (at most {MAX_ALTERNATIVES})"))
    return out


def name_problems(drugs: list[Drug]) -> list[tuple[str, str, str]]:
    """Drug ids fit the CSV and JSON output (columns ``status.<id>``); names and brands are non-empty
    and no two drugs share or nearly share an id, name or brand."""
    out = []
    owner: dict[str, str] = {}
    for d in drugs:
        if len(d.id) > MAX_ID_LENGTH:
            out.append(("drugs.toml", d.id[:MAX_ID_LENGTH], f"drug id longer than {MAX_ID_LENGTH} characters"))
        for label, value in (("id", d.id), ("name", d.name), ("brand", d.brand)):
            if value is None:
                continue
            key = name_key(value)
            if not key:
                out.append(("drugs.toml", d.id, f"{label} is empty"))
            elif owner.get(key, d.id) != d.id:
                out.append(("drugs.toml", d.id, f"{label} '{value}' is the same as, or confusable with, a name of {owner[key]}"))
            else:
                owner[key] = d.id
    return out


@dataclass
class DecisionSpace:
    """The status rules' decision space, by classes of fact values: for each drug, one fact
    combination per distinct set of rules that fire together (``cases``: drug, facts, rule ids)."""
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    cases: list[tuple[str, dict[str, Any], tuple[str, ...]]] = field(default_factory=list)
    combinations: int = 1  # classes of the tested facts' values, multiplied


def thresholds_of(items: Any, fact: str | None = None) -> dict[str, list[Any]]:
    """The values the tests of ``items`` (rules or notes, anything with ``when``) compare each fact with
    (of ``fact`` only, when given), in test order for vocabularies and flags, sorted for numbers."""
    out: dict[str, dict[Any, None]] = {}
    for item in items:
        for t in item.when:
            if fact is None or t.fact == fact:
                out.setdefault(t.fact, {}).update(dict.fromkeys(t.value if isinstance(t.value, list) else [t.value]))
    return {f: sorted(v) if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v) else list(v)
            for f, v in out.items()}


def value_classes(fact: str, points: list[Any], facts: dict[str, FactSpec] | None = None) -> list[Any]:
    """One value for each class of ``fact``'s values that every test against ``points`` treats alike:
    every value of a vocabulary or flag; for a number, each threshold and one value inside each
    interval around them that holds a value the facts model accepts. (``facts``: the KB's, by default
    the packaged KB's.)"""
    spec = (facts or PACKAGED_FACTS)[fact]
    if spec.kind == "yes_no":
        return [False, True]
    if spec.kind == "choice":
        return [v.id for v in spec.values]
    kind: Any = int if spec.kind == "count" else float
    lo, hi = kind(spec.low), kind(spec.high)
    cuts = sorted({kind(p) for p in points if lo <= p <= hi})
    out: list[Any] = []
    previous = None
    for p in cuts:
        if previous is None:
            if lo < p:
                out.append(lo)  # [lo, p)
        else:
            inside = previous + 1 if kind is int else previous + (p - previous) / 2
            if previous < inside < p:
                out.append(inside)  # (previous, p), when it holds a value at all
        out.append(p)
        previous = p
    if previous is None:
        out.append(lo)
    elif previous < hi:
        out.append(previous + 1 if kind is int else min(previous + 1.0, hi))  # (last, hi]
    return out


def decision_space(rules: list[Rule] | tuple[Rule, ...], drug_ids: list[str] | tuple[str, ...],
                   report_limit: int = 20, facts: dict[str, FactSpec] | None = None) -> DecisionSpace:
    """Prove that the status rules give exactly one status per drug for every value of the facts,
    and that every rule fires for some. Exact and fast: per drug, each fact's values fall into the
    classes its thresholds make; each class is a bitmask of the rules whose tests on that fact hold
    there; the masks are intersected fact by fact, keeping one combination per distinct mask, so a
    200-rule KB takes a fraction of a second rather than every combination."""
    space = DecisionSpace()
    for fact, points in thresholds_of(rules).items():
        space.combinations *= len(value_classes(fact, points, facts))
    for drug in drug_ids:
        mine = [r for r in rules if r.drug == drug]
        tested = list(dict.fromkeys(t.fact for r in mine for t in r.when))
        everything = (1 << len(mine)) - 1
        per_fact: dict[str, list[tuple[Any, int]]] = {}
        for fact in tested:
            points = thresholds_of(mine, fact)[fact]
            classes = []
            for value in value_classes(fact, points, facts):
                mask = 0
                for i, r in enumerate(mine):
                    if all(t.holds({fact: value}) for t in r.when if t.fact == fact):
                        mask |= 1 << i
                classes.append((value, mask))
            per_fact[fact] = classes
        states: dict[int, dict[str, Any]] = {everything: {}}
        for fact in tested:
            nxt: dict[int, dict[str, Any]] = {}
            for mask, combo in states.items():
                for value, fact_mask in per_fact[fact]:
                    nxt.setdefault(mask & fact_mask, {**combo, fact: value})
            states = nxt
        by_status = {s: sum(1 << i for i, r in enumerate(mine) if r.status is s) for s in dict.fromkeys(r.status for r in mine)}
        fired_ever = 0
        reported = 0
        for mask, combo in states.items():
            fired_ever |= mask
            statuses = [s for s, m in by_status.items() if mask & m]
            fired = tuple(r.id for i, r in enumerate(mine) if mask >> i & 1)
            if len(statuses) == 1:
                space.cases.append((drug, combo, fired))
                continue
            reported += 1
            if reported <= report_limit:
                what = "no status" if not statuses else f"{len(statuses)} statuses ({', '.join(sorted(s.value for s in statuses))})"
                space.problems.append(("decisions.toml", drug, f"{what} for {combo} [{', '.join(fired) or 'no rule fired'}]"))
        if reported > report_limit:
            space.problems.append(("decisions.toml", drug, f"... and {reported - report_limit} more such combinations"))
        for i, r in enumerate(mine):
            if not fired_ever >> i & 1:
                space.problems.append(("decisions.toml", r.id, "never fires: no combination of fact values meets all its tests"))
    return space
