"""The facts form: query parameters in, a facts dict (for PatientFacts) or per-field problems out.

The page's own parsing is only about turning text into JSON types (a whole number, a number, a flag);
the facts model decides what is allowed, so the web form accepts exactly what the library accepts.
"""

from __future__ import annotations

from decimal import Decimal
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from advisor.core.models import MS_TYPE_ALIASES, Severity
from advisor.values import ValueTextError, count_value, number_value
from advisor.kb.vocabulary import lookup

# Form field -> facts field. The form's names are the facts' names, except the repeated "condition".
FIELDS = ("ms_type", "severity", "prior_failures", "rapidly_worsening", "mitoxantrone_cumulative_mg_m2", "condition")
UNKNOWN_TYPE = "unknown"
MAX_VALUE_LENGTH = 200
MAX_MESSAGES = 5  # per field: a URL with thousands of bad parameters gets a short page


@dataclass
class Parsed:
    facts: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)  # form field ("" for the form) -> messages
    values: dict[str, Any] = field(default_factory=dict)        # what the user sent, to show it again
    unknown_type: bool = False
    extras: tuple[str, ...] = ()                                # the KB's further facts, each its own field

    def add(self, name: str, message: str) -> None:
        messages = self.errors.setdefault(name, [])
        if len(messages) < MAX_MESSAGES:
            messages.append(message)
        elif len(messages) == MAX_MESSAGES:
            messages.append("and more problems of the same kind")


def extra_facts(model: Any) -> tuple[Any, ...]:
    """The facts of a facts model (an Advisor's: its KB's) that the form has no field of its own for: a
    --rules-dir KB's further facts, each shown and read as its kind (rules/facts.toml)."""
    return tuple(f for f in model.facts_specs if f.id not in FIELDS and f.id != "conditions")


def parse(items: list[tuple[str, str]], extras: tuple[Any, ...] = ()) -> Parsed:
    """Parse the query's (name, value) pairs (``extras``: the KB's further facts, see :func:`extra_facts`).
    Never raises."""
    out = Parsed(extras=tuple(f.id for f in extras))
    fields = (*FIELDS, *out.extras)
    singles: dict[str, str] = {}
    conditions: list[str] = []
    for name, value in items:
        if name not in fields:
            out.add("", f"unknown field '{clip(name)}' (allowed: {', '.join(fields)})")
            continue
        if len(value) > MAX_VALUE_LENGTH:
            out.add(name, f"is longer than {MAX_VALUE_LENGTH} characters")
            value = clip(value)
        if name == "condition":
            if value:
                conditions.append(value)
            continue
        if name in singles:
            out.add(name, "is given more than once")
            continue
        singles[name] = value
    out.values = {**singles, "condition": [canonical("condition", c) for c in conditions]}
    for name in ("ms_type", "severity"):  # "rrms" or "Severe" comes back with its choice still selected
        if name in singles:
            out.values[name] = canonical(name, singles[name])
    # more than models.MAX_CONDITIONS conditions: the facts model refuses them, as on every other path

    ms_type = singles.get("ms_type", "").strip()
    if ms_type.lower() == UNKNOWN_TYPE:
        out.unknown_type = True
    elif ms_type:
        out.facts["ms_type"] = ms_type
    if singles.get("severity", "").strip():
        out.facts["severity"] = singles["severity"].strip()

    reads: tuple[tuple[str, Any], ...] = (("prior_failures", count_value), ("mitoxantrone_cumulative_mg_m2", dose))
    for name, read in reads:
        try:
            amount = read(singles.get(name, ""))
        except ValueTextError as e:
            out.add(name, str(e))
        else:
            if amount is not None:  # empty: not given
                out.facts[name] = amount

    text = singles.get("rapidly_worsening", "").strip().lower()
    if text in ("true", "on", "yes"):
        out.facts["rapidly_worsening"] = True
    elif text in ("false", "no", ""):
        out.facts["rapidly_worsening"] = False
    else:
        out.add("rapidly_worsening", "must be true or false")

    out.facts["conditions"] = conditions
    for spec in extras:  # read as every surface reads text (advisor.values); empty: not given
        text = singles.get(spec.id, "")
        if spec.kind == "yes_no" and text.strip().lower() == "on":  # a checkbox without a value sends "on"
            text = "yes"
        try:
            value = spec.from_text(text)
        except ValueTextError as e:
            out.add(spec.id, str(e))
        else:
            if value is not None:
                out.facts[spec.id] = value
    return out


def canonical(name: str, text: str) -> str:
    """The form's value for what a user sent for a choice (an alias "rrms", "Severe", "autoimmune_disease"), so the
    form shows that choice selected; the text itself when it names none (the form then says so)."""
    key = " ".join(text.strip().lower().split())
    if name == "ms_type":
        found: Any = MS_TYPE_ALIASES.get(key)
    elif name == "severity":
        found = Severity._value2member_map_.get(key)
    else:
        try:
            found = lookup(text) if key else None  # what the facts model reads as a condition, no more
        except ValueError:
            found = None
    return str(getattr(found, "value", found)) if found is not None else text


def dose(text: str) -> float | None:
    """A dose in mg/m² as every surface reads it (the advice form, the schedule page): the value, None
    for an empty text (not given), or ValueTextError saying why not."""
    value = number_value(text)
    return None if value is None else float(value)


def add_invalid(out: Parsed, errors: list[dict[str, Any]]) -> None:
    """Put the library's InvalidFacts entries next to their form fields."""
    for e in errors:
        name = str(e.get("field", "")).split(".")[0]
        name = {"conditions": "condition"}.get(name, name)
        message = str(e.get("message", "is not valid"))
        if name == "ms_type" and message == "is required":
            message = "is required: choose one, or “I don't know”"
        elif name == "severity" and message == "is required":
            message = "is required: choose one"
        out.add(name if name in FIELDS or name in out.extras else "", message)


def query(facts: Any, **change: Any) -> str:
    """The /advice query string for validated facts (a PatientFacts), with one field changed."""
    values = {name: getattr(facts, name) for name in ("ms_type", "severity", "prior_failures", "rapidly_worsening",
                                                         "mitoxantrone_cumulative_mg_m2")}
    values["conditions"] = [getattr(c, "value", c) for c in facts.conditions]
    values.update(change)
    pairs: list[tuple[str, str]] = [
        ("ms_type", str(getattr(values["ms_type"], "value", values["ms_type"]))),
        ("severity", str(getattr(values["severity"], "value", values["severity"]))),
        ("prior_failures", str(int(values["prior_failures"]))),
    ]
    if values["rapidly_worsening"]:
        pairs.append(("rapidly_worsening", "true"))
    if values["mitoxantrone_cumulative_mg_m2"] is not None:  # not given: left out, never written as 0
        pairs.append(("mitoxantrone_cumulative_mg_m2", number(values["mitoxantrone_cumulative_mg_m2"])))
    pairs += [("condition", str(c)) for c in values["conditions"]]
    for spec in extra_facts(type(facts)):  # the KB's further facts: each when it is not its default
        value = getattr(values.get(spec.id, getattr(facts, spec.id)), "value", values.get(spec.id, getattr(facts, spec.id)))
        if value is not None and value != spec.default:
            pairs.append((spec.id, ("true" if value else "false") if isinstance(value, bool) else
                          number(value) if isinstance(value, float) else str(value)))
    return urlencode(pairs)


def advice_path(facts: Any) -> str:
    """The advice page's path for validated facts (a PatientFacts): for links from elsewhere, such as
    a CDS Hooks card's link to the full explanation."""
    return "/advice?" + query(facts)


def number(value: float) -> str:
    """A dose as the form writes it and reads it back exactly: the shortest digits that give the same
    float, without an exponent or trailing zeros."""
    value = float(value)
    if value == 0:
        return "0"
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def clip(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "…"


def pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The query's pairs for the form's values as parsed (a list a repeated field; empty ones left out)."""
    out = []
    for k, v in values.items():
        if isinstance(v, list):
            out += [(k, str(x)) for x in v]
        elif v not in ("", None):
            out.append((k, str(v)))
    return out


def encode(values: dict[str, Any]) -> str:
    """The query string of those values (:func:`pairs`)."""
    return urlencode(pairs(values))
