"""Pydantic models at the edges: the person's facts in, the recommendation out."""

from __future__ import annotations

import functools
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

from advisor.core.facts import (MAX_CONDITIONS as MAX_CONDITIONS, NOT_GIVEN as NOT_GIVEN, FactsBase as FactsBase,
                                facts_model, type_name as type_name)
from advisor.errors import UnknownDrug
from advisor.kb.facts import FactsFile, FactSpec, read_facts
from advisor.kb.vocabulary import PACKAGED, Condition as Condition, Status as Status, Vocabulary, packaged_directory
from advisor.text import name_key
from advisor.values import (EXACT_DIGITS as EXACT_DIGITS, INT_TEXT as INT_TEXT, MAX_INT_DIGITS as MAX_INT_DIGITS,
                            NUMBER_TEXT as NUMBER_TEXT, OversizedInt as OversizedInt, exact_float as exact_float,
                            float_from_text as float_from_text, inexact as inexact, int_from_text as int_from_text,
                            number_from_text as number_from_text)

# The packaged knowledge base's facts (rules/facts.toml): its facts model is PatientFacts, with an enum
# for each choice (MSType, Severity). An Advisor over another KB builds its own (Advisor.facts_model).
FACTS = read_facts(packaged_directory())

if TYPE_CHECKING:  # what the packaged facts.toml builds, for the type checker
    class MSType(StrEnum):
        relapsing = "relapsing"
        spms = "spms"
        ppms = "ppms"

    class Severity(StrEnum):
        mild = "mild"
        moderate = "moderate"
        severe = "severe"

    class PatientFacts(FactsBase):
        """What the advisor knows of a person."""
        ms_type: MSType
        severity: Severity
        prior_failures: int = 0
        rapidly_worsening: bool = False
        mitoxantrone_cumulative_mg_m2: float | None = None
        conditions: tuple[Condition, ...] = ()
        id: str | None = None

        @classmethod
        def parse(cls, data: Any) -> "PatientFacts": ...
else:
    PatientFacts = facts_model(FACTS, __name__)
    MSType = PatientFacts.enums["ms_type"]
    Severity = PatientFacts.enums["severity"]

# The packaged facts' figures, by their old names (each from facts.toml).
_SPECS = {f.id: f for f in FACTS}
MS_TYPE_ALIASES: dict[str, MSType] = {name: MSType(value) for name, value in _SPECS["ms_type"].aliases().items()}
AMBIGUOUS_MS_TYPES: dict[str, str] = dict(_SPECS["ms_type"].ambiguous)
MAX_PRIOR_FAILURES = int(_SPECS["prior_failures"].high)
MAX_DOSE_MG_M2 = int(_SPECS["mitoxantrone_cumulative_mg_m2"].high)  # the plausible-dose bound, the same for an int and a float
# Facts that may be not given: the value the rules decide on when one is not (every text that depends
# on it says so: "not given", and the reason's conditional wording, the rule's `text_not_given`).
ASSUMED: dict[str, Any] = dict(PatientFacts.assumed)
# Fields whose value can only grow over a lifetime: a what-if never suggests lowering them.
ONLY_INCREASES = frozenset(f.id for f in FACTS if f.only_increases)
ALLOWED: dict[str, list[str]] = {f.id: allowed for f in FACTS if (allowed := f.allowed()) is not None} | {
    "conditions": [c.value for c in Condition]}


@functools.lru_cache(maxsize=16)
def _built(key: str, vocabulary: Vocabulary) -> type[FactsBase]:
    return facts_model(FactsFile.model_validate_json(key).fact, __name__, vocabulary)


def model_for(specs: tuple[FactSpec, ...], vocabulary: Vocabulary = PACKAGED) -> type[PatientFacts]:
    """The facts model of a KB's facts and conditions: ``PatientFacts`` for the packaged KB's, else one
    built for them (and kept, for the next Advisor over the same facts and conditions)."""
    if specs == FACTS and vocabulary is PACKAGED:
        return PatientFacts
    return _built(FactsFile(fact=specs).model_dump_json(), vocabulary)  # type: ignore[return-value]


# --- the recommendation ----------------------------------------------------------------------------

class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Citation(_Out):
    quote: str = Field(description="verbatim from the source document")
    section: str


class Reason(_Out):
    rule: str = Field(description="id of the knowledge-base rule that fired")
    text: str
    quote: str = Field(description="verbatim from the source document")
    section: str
    also: tuple[Citation, ...] = Field((), description="the quotes of the text's further parts, each its own (verbatim)")
    short: str | None = Field(None, description="the reason in a few words, for a CDS card's summary (when the rule gives one)")


class Caution(_Out):
    condition: Condition
    rule: str
    text: str
    quote: str
    section: str
    attribution: str | None = Field(None, description="set when the caution rests on a side-effect list the article prints "
                                                      "without a drug name: how that list is attributed")
    note: str = Field("", description="that a caution never changes a status: what the article does not say")


class Interval(_Out):
    n: int
    unit: Literal["days", "weeks", "months", "years"]


class Offset(Interval):
    after: Literal["first", "previous"] = "first"


class Phase(_Out):
    label: str
    start: Offset
    every: Interval
    count: int | None = Field(None, description="number of infusions; none: until stopped")
    dose_mg: float | None = None


class Schedule(_Out):
    text: str
    quote: str
    section: str
    phases: tuple[Phase, ...]
    note: str | None = None
    lifetime_max_mg_m2: float | None = None
    course_within: Interval | None = Field(None, description="a finite course: no infusion later than this after the first")
    remaining_mg_m2: float | None = Field(None, description="what remains of the lifetime maximum, given the dose already received (when one is)")
    remaining: str | None = Field(None, description="the same, in words")


class SideEffect(_Out):
    text: str
    quote: str = Field(description="verbatim from the source document")


class SideEffects(_Out):
    """The article's side-effect lists for one drug, shown beside it wherever it is listed (harms beside
    benefits)."""
    section: str
    attribution: str | None = Field(None, description="set when the article prints the list without a drug name: how it is attributed")
    common: tuple[SideEffect, ...]
    serious: tuple[SideEffect, ...]
    serious_label: str = Field("serious", description="how the article leads into the serious list")
    serious_quote: str | None = Field(None, description="the article's lead-in to the serious list, when it says more than 'serious'")
    after: SideEffect | None = Field(None, description="a paragraph the article prints after the lists, shown apart from them "
                                     "(mitoxantrone: receiving too much of it can be very toxic)")


class WhatIf(_Out):
    field: str
    value: Any
    text: str
    status: Status


class DrugAdvice(_Out):
    """What the advisor says of one drug for one person: its status, the reasons (each with its quote),
    the cautions the person's conditions meet, the schedule and the single-fact changes that would list it.

        >>> from advisor import advise
        >>> d = advise({"ms_type": "ppms", "severity": "mild"}).drug("ocrelizumab")
        >>> d.status.value, d.reasons[0].rule
        ('applicable', 'ocrelizumab.primary_progressive')
    """
    drug: str
    name: str
    brand: str | None
    status: Status
    reasons: tuple[Reason, ...]
    cautions: tuple[Caution, ...]
    schedule: Schedule
    what_if: tuple[WhatIf, ...]
    side_effects: SideEffects | None = Field(None, description="the article's side effects for the drug: set whenever it is listed")


class Note(_Out):
    id: str
    text: str
    quote: str | None = None
    section: str | None = None
    drug: str | None = None


class KBIdentity(_Out):
    """Which knowledge base produced an answer."""
    name: str
    version: str
    sha256: str = Field(description="SHA-256 over the knowledge base's files and its source text")


class Recommendation(_Out):
    """The advisor's answer for one person: the validated facts, one :class:`DrugAdvice` per drug (in
    the article's order), the listed drugs, the general notes, the disclaimer and the KB that answered.

        >>> from advisor import advise
        >>> rec = advise({"ms_type": "spms", "severity": "severe", "rapidly_worsening": True})
        >>> rec.listed
        ('mitoxantrone',)
        >>> rec.model_dump(mode="json")["facts"]["ms_type"]
        'spms'
    """
    facts: PatientFacts
    drugs: tuple[DrugAdvice, ...]
    listed: tuple[str, ...] = Field(description="applicable drugs, then consider drugs, in the document's order")
    notes: tuple[Note, ...]
    disclaimer: str
    source: str
    kb: KBIdentity = Field(description="the knowledge base (name, version, SHA-256) that gave this answer")

    def drug(self, name: str) -> DrugAdvice:
        """One drug's advice, by id, name or brand in any case (as the command line takes them).

            >>> from advisor import advise
            >>> advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2}).drug("Tysabri").name
            'Natalizumab'

        An unknown name raises :class:`advisor.errors.UnknownDrug` (a ``KeyError``) listing the drugs."""
        for d in self.drugs:
            if d.drug == name:
                return d
        key = name_key(name) if isinstance(name, str) else ""
        for d in self.drugs:
            if key and key in (name_key(d.drug), name_key(d.name), name_key(d.brand or "")):
                return d
        raise UnknownDrug(name if isinstance(name, str) else repr(name), [d.drug for d in self.drugs])


class ScheduledInfusion(_Out):
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use: `advise` never needs it
    date: date
    phase: str
    dose_mg: float | None = None
    weekend: bool = Field(False, description="the date is a Saturday or a Sunday")


class RuleMiss(_Out):
    """A status rule of the drug that did not fire, and each of its tests that failed ("needs X, is Y")."""
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use: `advise` never needs it
    rule: str
    status: Status
    failed: tuple[str, ...]


class Explanation(_Out):
    """How (or why not) one drug got its status for one person: the recommendation, the drug, and every
    rule of that drug that did not fire with the tests that failed.

        >>> from advisor import default_advisor
        >>> e = default_advisor().explain({"ms_type": "spms", "severity": "mild"}, "Lemtrada")
        >>> e.drug, e.advice.status.value
        ('alemtuzumab', 'not_applicable')
    """
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use: `advise` never needs it
    recommendation: SerializeAsAny[Recommendation]  # an Advisor's own Recommendation, with its KB's facts, dumped as itself
    drug: str
    not_fired: tuple[SerializeAsAny[RuleMiss], ...]  # an Advisor's own, with its KB's statuses

    @property
    def advice(self) -> DrugAdvice:
        return self.recommendation.drug(self.drug)


class InfusionPlan(_Out):
    """A drug's infusion dates from a start date (``advisor.schedule.plan``)."""
    model_config = ConfigDict(frozen=True, defer_build=True)  # built on first use: `advise` never needs it
    id: str | None = None
    drug: str
    name: str
    text: str
    quote: str
    infusions: tuple[ScheduledInfusion, ...]
    finite: bool = Field(description="the article's schedule ends (a fixed number of infusions or a course end)")
    total: int | None = Field(None, description="how many infusions a finite schedule has in all")
    cut_short: bool = Field(False, description="--count listed fewer infusions than the finite schedule has")
    every: str | None = Field(None, description="an endless schedule's interval, e.g. '4 weeks'")
    course_end: date | None = None
    course_why: str | None = Field(None, description="why no date is listed after course_end, in the article's words")
    note: str | None = None
    remaining: str | None = None
    left_unknown: str | None = Field(None, description="with a dose already received (and the lifetime maximum not reached): "
                                     "that how many infusions remain cannot be worked out, the article giving no dose per "
                                     "infusion; dates are then listed only for an explicit count")
    reminder: str | None = None
    disclaimer: str
