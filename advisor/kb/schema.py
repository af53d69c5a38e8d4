"""The knowledge base's schema: the pydantic models its TOML files are validated into (tests, status
and caution rules, notes, drugs, the header) and the KnowledgeBase that holds them (the decision aid's
compare rows and terms are in :mod:`advisor.kb.aid_items`).

Items are validated against their KB's own facts, conditions and statuses, which load() passes as the
validation context (else the packaged KB's). Nothing here reads a file.
"""

from __future__ import annotations

import operator
from datetime import date
from string import Template
from typing import Any, Callable, Literal, Union

from pydantic_core import PydanticCustomError
from pydantic import Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from advisor.kb.numbers import Number
from advisor.kb.vocabulary import (PACKAGED, PACKAGED_STATUSES, ConditionItem, StatusItem, Statuses, Vocabulary, enum_value,
                                  statuses_for, vocabulary_for)
from advisor.kb.facts import FactSpec
from advisor.kb.matters import MatterItem
from advisor.kb.aid_items import CompareRow, Term
from advisor.kb.base import ID, Cited, KBItem
from advisor.core.models import FACTS, MSType, Interval, Phase, Severity


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
# The packaged facts a KB text may name as $placeholder: the scalar facts a rule can test (not the id,
# which is the user's text, nor the conditions list); a KB's own are its testable facts.
TEMPLATE_FACTS = tuple(TESTABLE)


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


class Quoted(KBItem):
    text: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    allow: tuple[str, ...] = ()  # claim words or numbers the text may use beyond its quote (see claims.py)


class Test(KBItem):
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


class Sourced(KBItem):
    """Anything that cites the source: a quote that must stand verbatim under ``section`` (or under
    ``under``, the heading path, when the section label users see names no heading: an unheaded list
    printed after another drug's heading, say)."""
    quote: str = Field(min_length=1)
    section: str = Field(min_length=1)
    under: str | None = None
    allow: tuple[str, ...] = ()  # claim words or numbers the text may use beyond its quote (see claims.py)


class Reviewed(KBItem):
    """Arden-style review metadata a rule may carry. (``status`` already names a rule's conclusion, so
    the review's state is ``review_status``.)"""
    reviewed_by: str | None = Field(None, min_length=1, max_length=200)
    reviewed_on: date | None = None
    review_status: Literal["draft", "approved"] | None = None


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


class NoteItem(KBItem):
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


class SideEffects(KBItem):
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


class DrugSchedule(KBItem):
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


class Drug(KBItem):
    id: str = Field(pattern=r"^[a-z]+$")
    name: str
    brand: str | None = None
    brand_note: str | None = None
    section: str
    how_it_works: Quoted
    about: tuple[Statement, ...] = ()  # further things the article says of the drug, quoted
    schedule: DrugSchedule
    side_effects: SideEffects


class Header(KBItem):
    name: str
    version: str
    source: str
    source_title: str
    disclaimer: str = Field(min_length=1)
    caution_note: str = Field(min_length=1)  # shown wherever cautions are: they never change a status
    allow: tuple[str, ...] = ()  # claim words or numbers the disclaimer and caution note may use (see claims.py)
    numbers: dict[str, Number] = {}  # named figures of the article, each stated in several places (see numbers.py)
    # About this information (the /about page, `kb info`): where the source came from and who keeps the KB.
    # Not medical claims; a KB without them says "not recorded".
    source_origin: str | None = Field(None, min_length=1, max_length=400)  # where the copy of the source came from
    source_date: date | Literal["undated"] | None = None  # the article's own date, or "undated": it carries none
    source_taken_on: date | None = None  # when this copy of the article was taken
    review_policy: str | None = Field(None, min_length=1, max_length=600)  # how and when the KB is reviewed
    made_by: str | None = Field(None, min_length=1, max_length=200)
    funding: str | None = Field(None, min_length=1, max_length=200)


class KnowledgeBase(KBItem):
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
    compare: tuple[CompareRow, ...] = ()  # compare.toml: the comparison grid's rows (none without the file)


    terms: tuple[Term, ...] = ()  # terms.toml: the words the article explains
    matters: tuple[MatterItem, ...] = ()  # matters.toml: what may matter to a person (the decision aid)
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
        h = self.header
        about = {"source_origin": h.source_origin, "source_date": h.source_date, "source_taken_on": h.source_taken_on,
                 "review_policy": h.review_policy, "made_by": h.made_by, "funding": h.funding}
        return {**self.identity, "directory": self.directory, "source": h.source_title,
                **{k: "not recorded" if v is None else str(v) for k, v in about.items()},
                "drugs": list(self.drug_ids), "status_rules": len(self.rules), "caution_rules": len(self.cautions),
                "notes": len(self.notes), "terms": len(self.terms)}

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
