"""Pydantic models at the edges: the person's facts in, the recommendation out."""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from advisor.errors import InvalidFacts, UnknownDrug
from advisor.text import name_key, visible
from advisor.kb.vocabulary import Condition as Condition, Status as Status, described, lookup as condition_lookup



def type_name(value: Any) -> str:
    """What a value is, for messages: Python's type name, but "number" for a Decimal (a JSON number with
    more digits than a float holds), which users never wrote as such."""
    return "number" if isinstance(value, Decimal) else type(value).__name__

class MSType(StrEnum):  # str() and f-strings give the value: 'spms'
    relapsing = "relapsing"
    spms = "spms"
    ppms = "ppms"


class Severity(StrEnum):
    mild = "mild"
    moderate = "moderate"
    severe = "severe"




MS_TYPE_ALIASES: dict[str, MSType] = {
    "relapsing": MSType.relapsing,
    "rrms": MSType.relapsing,
    "relapsing-remitting": MSType.relapsing,
    "relapsing remitting": MSType.relapsing,
    "spms": MSType.spms,
    "secondary progressive": MSType.spms,
    "secondary-progressive": MSType.spms,
    "ppms": MSType.ppms,
    "primary progressive": MSType.ppms,
    "primary-progressive": MSType.ppms,
}
AMBIGUOUS_MS_TYPES = {"progressive": "say 'spms' (secondary progressive) or 'ppms' (primary progressive)"}
MAX_PRIOR_FAILURES = 1000
MAX_CONDITIONS = 50  # entries in a person's list of conditions, on every path (a list this long is not a person's)
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_DOSE_MG_M2 = 10**9  # the plausible-dose bound, the same for an int and a float

from advisor.values import (EXACT_DIGITS as EXACT_DIGITS, INT_TEXT as INT_TEXT, MAX_INT_DIGITS as MAX_INT_DIGITS,  # noqa: E402
                     NUMBER_TEXT as NUMBER_TEXT, OversizedInt as OversizedInt, exact_float as exact_float,
                     float_from_text as float_from_text, inexact as inexact, int_from_text as int_from_text,
                     number_from_text as number_from_text)


def _decimal(v: Decimal) -> float:
    """A Decimal given for a number field: the float that holds it exactly, or ValueError saying why not."""
    if not v.is_finite():
        raise ValueError("must be a finite number")
    value = exact_float(v)
    if value is None:
        raise ValueError(inexact(v))
    return value

# Facts that may be not given: the value the rules decide on when one is not (every text that depends
# on it says so: "not given", and the reason's conditional wording, the rule's `text_not_given`).
ASSUMED: dict[str, Any] = {"mitoxantrone_cumulative_mg_m2": 0.0}
NOT_GIVEN = "not given"

# Fields whose value can only grow over a lifetime: a what-if never suggests lowering them.
ONLY_INCREASES = frozenset({"prior_failures", "mitoxantrone_cumulative_mg_m2"})


def _vocabulary(value: Any, enum: type[Enum], field: str, aliases: dict[str, Any] | None = None) -> Any:
    if isinstance(value, enum):
        return value
    exact = (aliases if aliases is not None else enum._value2member_map_).get(value) if isinstance(value, str) else None
    if exact is not None:
        return exact  # the common case: already a canonical value
    if not isinstance(value, str):
        raise ValueError(f"must be a string, got {type_name(value)}")
    key = re.sub(r"\s+", " ", value.strip().lower())
    if aliases is not None:
        if key in AMBIGUOUS_MS_TYPES:
            raise ValueError(f"'{visible(value)}' is ambiguous: {AMBIGUOUS_MS_TYPES[key]}")
        if key in aliases:
            return aliases[key]
    elif key in enum._value2member_map_:
        return enum(key)
    raise ValueError(f"unknown {field} '{visible(value[:100])}'" + ("..." if len(value) > 100 else ""))


class PatientFacts(BaseModel):
    """What the advisor knows of a person. Unknown fields and loose types are refused, never coerced (but a count written 2.0 is 2)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    ms_type: MSType = Field(description="relapsing, spms or ppms (aliases: rrms, relapsing-remitting, secondary progressive, primary progressive)")
    severity: Severity = Field(description="mild, moderate or severe")
    prior_failures: int = Field(0, ge=0, le=MAX_PRIOR_FAILURES, description="other MS medications the person did not respond well to")
    rapidly_worsening: bool = Field(False, description="whether the MS is rapidly worsening")
    mitoxantrone_cumulative_mg_m2: float | None = Field(None, ge=0, allow_inf_nan=False,
                                                         description="lifetime mitoxantrone already received, mg/m² (not given: the "
                                                                     "advice says so, and reads as if none had been received)")
    conditions: tuple[Condition, ...] = Field((), description=f"relevant health conditions (at most {MAX_CONDITIONS}): " + "; ".join(described()),
                                              json_schema_extra={"maxItems": MAX_CONDITIONS})
    id: str | None = Field(None, max_length=200, description="an identifier echoed back")

    @field_validator("ms_type", mode="before")
    @classmethod
    def _ms_type(cls, v: Any) -> Any:
        return _vocabulary(v, MSType, "MS type", MS_TYPE_ALIASES)

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, v: Any) -> Any:
        return _vocabulary(v, Severity, "severity")

    @field_validator("conditions", mode="before")
    @classmethod
    def _conditions(cls, v: Any) -> Any:
        if isinstance(v, (str, bytes, dict)) or not isinstance(v, (list, tuple)):
            raise ValueError(f"must be a list of conditions, got {type_name(v)}")
        if len(v) > MAX_CONDITIONS:
            raise ValueError(f"must list at most {MAX_CONDITIONS} conditions, got {len(v)}")
        seen: dict[Condition, None] = {}
        errors = []
        for i, item in enumerate(v):
            try:
                seen[condition_lookup(item)] = None
            except ValueError as e:
                errors.append(f"item {i + 1}: {e}")  # counted from 1, as people count
        if errors:
            raise ValueError("; ".join(errors))
        return tuple(seen)

    @field_validator("prior_failures", mode="before")
    @classmethod
    def _count(cls, v: Any) -> Any:
        """A count written 2.0 is 2, on every path (spreadsheets and pandas write whole numbers so); 2.5
        and anything but a number are left to the strict check, which refuses them. An explicit null (an
        empty YAML value) is not given, as when the field is left out: the default 0."""
        if v is None:
            return 0
        if isinstance(v, Decimal):
            v = _decimal(v)
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            return int(v)
        return v

    @field_validator("mitoxantrone_cumulative_mg_m2", mode="before")
    @classmethod
    def _dose(cls, v: Any) -> Any:
        if v is None:  # an explicit null: not given, as when the field is left out
            return None
        if isinstance(v, Decimal):
            v = _decimal(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            got = f"text '{visible(v[:40])}'" if isinstance(v, str) else type_name(v)
            raise ValueError(f"must be a number, got {got}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("must be a finite number")
        if not -MAX_DOSE_MG_M2 <= v <= MAX_DOSE_MG_M2:  # the same bound for an int and a float
            raise ValueError(f"is not a plausible dose (at most {MAX_DOSE_MG_M2:,} mg/m²)")
        return float(v) + 0.0  # an int as a float; -0.0 as 0.0

    def decided(self, name: str) -> Any:
        """The value of fact ``name`` that the rules decide on: the value given, or the one assumed
        when it was not given (see ASSUMED)."""
        value = getattr(self, name)
        return ASSUMED[name] if value is None and name in ASSUMED else value

    @property
    def not_given(self) -> tuple[str, ...]:
        """The facts that may be not given (ASSUMED) and were not."""
        return tuple(name for name in ASSUMED if getattr(self, name) is None)

    @classmethod
    def parse(cls, data: Any) -> "PatientFacts":
        """Validate ``data`` (a mapping or a PatientFacts), raising :class:`InvalidFacts` on any problem."""
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise InvalidFacts([{"field": "(facts)", "message": f"must be a mapping of fact names to values, got {type_name(data)}",
                                 "allowed": list(cls.model_fields)}])
        # pydantic cannot even name a key with a lone surrogate: it is an unknown field (the entry keeps
        # the key as given; the message shows it escaped)
        unreadable = [k for k in data if isinstance(k, str) and _SURROGATE.search(k)]
        if unreadable:
            raise InvalidFacts([{"field": k, "message": "unknown field", "allowed": list(cls.model_fields)} for k in unreadable])
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            raise InvalidFacts([_error_entry(err) for err in e.errors()]) from None


ALLOWED: dict[str, list[str]] = {
    "ms_type": [m.value for m in MSType] + sorted(set(MS_TYPE_ALIASES) - {m.value for m in MSType}),
    "severity": [s.value for s in Severity],
    "conditions": [c.value for c in Condition],
    "rapidly_worsening": ["true", "false"],
}


def _error_entry(err: Any) -> dict[str, Any]:
    loc = [str(p) for p in err["loc"]]
    field = ".".join(loc) if loc else "(facts)"
    top = loc[0] if loc else ""
    kind = err["type"]
    msg = err["msg"].removeprefix("Value error, ")
    entry: dict[str, Any] = {"field": field, "message": msg}
    if kind == "extra_forbidden":
        entry["message"] = "unknown field"
        entry["allowed"] = list(PatientFacts.model_fields)
    elif kind == "missing":
        entry["message"] = "is required"
    elif top == "prior_failures" and isinstance(err.get("input"), str):  # e.g. YAML's 012, 0x2, 1_0 kept as text
        entry["message"] = f"must be a whole number from 0 to {MAX_PRIOR_FAILURES} in decimal digits, got text '{visible(err['input'][:40])}'"
    elif top == "prior_failures":
        entry["message"] = f"must be a whole number from 0 to {MAX_PRIOR_FAILURES}" + ("" if kind.startswith(("greater", "less")) else f" ({msg})")
    elif top == "rapidly_worsening" and isinstance(err.get("input"), str):  # e.g. YAML 1.1's yes/on kept as text
        entry["message"] = f"must be true or false, got text '{visible(err['input'][:40])}'"
    elif top == "mitoxantrone_cumulative_mg_m2" and kind == "greater_than_equal":
        entry["message"] = "must be a finite number of at least 0"
    elif top == "id" and kind == "string_unicode":
        entry["message"] = "must be valid Unicode text (it holds a lone surrogate)"
    elif top == "id":
        entry["message"] = f"must be a string of at most 200 characters ({msg})"
    if top in ALLOWED and "allowed" not in entry:
        entry["allowed"] = ALLOWED[top]
    return entry


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
    recommendation: Recommendation
    drug: str
    not_fired: tuple[RuleMiss, ...]

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
