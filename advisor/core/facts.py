"""The facts model, built from a knowledge base's fact specs (``rules/facts.toml``, :mod:`advisor.kb.facts`).

:class:`FactsBase` holds what every facts model does (``parse``, ``decided``, ``not_given``, the error
entries); :func:`facts_model` adds one field per fact, typed and validated by its kind, with an enum
for each choice (a ``StrEnum``: ``str(MSType.ppms) == 'ppms'``). The packaged knowledge base's model is
``advisor.core.models.PatientFacts``; an Advisor over another KB builds its own (``Advisor.facts_model``).
Unknown fields and loose types are refused, never coerced (but a count written 2.0 is 2).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from advisor.errors import InvalidFacts
from advisor.kb.facts import FactSpec, text_key
from advisor.kb.vocabulary import PACKAGED, Vocabulary
from advisor.text import visible
from advisor.values import exact_float, inexact

NOT_GIVEN = "not given"
MAX_CONDITIONS = 50  # the default of a conditions fact's max_items
MAX_ID_LENGTH = 200
_SURROGATE = re.compile("[\ud800-\udfff]")
DOC = ("What the advisor knows of a person. Unknown fields and loose types are refused, never coerced (but a count "
       "written 2.0 is 2).")


def type_name(value: Any) -> str:
    """What a value is, for messages: Python's type name, but "number" for a Decimal (a JSON number with
    more digits than a float holds), which users never wrote as such."""
    return "number" if isinstance(value, Decimal) else type(value).__name__


def _decimal(v: Decimal) -> float:
    """A Decimal given for a number field: the float that holds it exactly, or ValueError saying why not."""
    if not v.is_finite():
        raise ValueError("must be a finite number")
    value = exact_float(v)
    if value is None:
        raise ValueError(inexact(v))
    return value


def _digits(x: float) -> str:
    """A bound as people write it: 1000, 0.5, 1,000,000,000 for a big whole one."""
    if float(x).is_integer():
        n = int(x)
        return f"{n:,}" if abs(n) >= 10**6 else str(n)
    return repr(float(x))


class FactsBase(BaseModel):
    """What every facts model does; the fields come from the KB's facts (see :func:`facts_model`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    facts_specs: ClassVar[tuple[FactSpec, ...]] = ()
    specs: ClassVar[dict[str, FactSpec]] = {}
    enums: ClassVar[dict[str, type[Enum]]] = {}
    assumed: ClassVar[dict[str, Any]] = {}  # facts that may be not given -> the value the rules decide on
    vocabulary: ClassVar[Vocabulary] = PACKAGED  # the KB's conditions (conditions.toml)

    def decided(self, name: str) -> Any:
        """The value of fact ``name`` that the rules decide on: the value given, or the one assumed
        when it was not given."""
        value = getattr(self, name)
        return self.assumed[name] if value is None and name in self.assumed else value

    @property
    def not_given(self) -> tuple[str, ...]:
        """The facts that may be not given and were not."""
        return tuple(name for name in self.assumed if getattr(self, name) is None)

    @classmethod
    def parse(cls, data: Any) -> Any:
        """Validate ``data`` (a mapping or an instance), raising :class:`InvalidFacts` on any problem."""
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
            raise InvalidFacts([cls.error_entry(err) for err in e.errors()]) from None

    @classmethod
    def error_entry(cls, err: Any) -> dict[str, Any]:
        """One pydantic error as the advisor says it: the field, a message naming what it takes, and the
        allowed values where there is a list of them."""
        loc = [str(p) for p in err["loc"]]
        field = ".".join(loc) if loc else "(facts)"
        top = loc[0] if loc else ""
        kind = err["type"]
        msg = err["msg"].removeprefix("Value error, ")
        entry: dict[str, Any] = {"field": field, "message": msg}
        spec = cls.specs.get(top)
        text = isinstance(err.get("input"), str)
        if kind == "extra_forbidden":
            entry["message"] = "unknown field"
            entry["allowed"] = list(cls.model_fields)
        elif kind == "missing":
            entry["message"] = "is required"
        elif spec is not None and spec.kind == "count":
            span = f"from {_digits(spec.low)} to {_digits(spec.high)}"
            if text:  # e.g. YAML's 012, 0x2, 1_0 kept as text
                entry["message"] = f"must be a whole number {span} in decimal digits, got text '{visible(err['input'][:40])}'"
            else:
                entry["message"] = f"must be a whole number {span}" + ("" if kind.startswith(("greater", "less")) else f" ({msg})")
        elif spec is not None and spec.kind == "yes_no" and text:  # e.g. YAML 1.1's yes/on kept as text
            entry["message"] = f"must be true or false, got text '{visible(err['input'][:40])}'"
        elif spec is not None and spec.kind == "number" and kind == "greater_than_equal":
            entry["message"] = f"must be a finite number of at least {_digits(spec.low)}"
        elif top == "id" and kind == "string_unicode":
            entry["message"] = "must be valid Unicode text (it holds a lone surrogate)"
        elif top == "id":
            entry["message"] = f"must be a string of at most {MAX_ID_LENGTH} characters ({msg})"
        if spec is not None and "allowed" not in entry:
            allowed = spec.allowed() if spec.kind != "conditions" else cls.vocabulary.ids
            if allowed is not None:
                entry["allowed"] = allowed
        return entry


def enum_name(fact_id: str) -> str:
    """A choice's enum class name from its id: ms_type -> MSType (a two-letter word is an acronym)."""
    return "".join(w.upper() if len(w) == 2 else w.capitalize() for w in fact_id.split("_"))


def choice_enum(spec: FactSpec, module: str) -> type[StrEnum]:
    enum = StrEnum(enum_name(spec.id), [(v.id, v.id) for v in spec.values], module=module)  # type: ignore[misc]
    enum.__qualname__ = enum.__name__
    return enum


def _choice(spec: FactSpec, enum: type[Enum]) -> Any:
    names = {key: enum(value) for key, value in spec.aliases().items()}
    ambiguous = {text_key(k): v for k, v in spec.ambiguous.items()}
    members = enum._value2member_map_
    words = spec.words

    def check(value: Any) -> Any:
        if isinstance(value, enum):
            return value
        exact = (names.get(value) or members.get(value)) if isinstance(value, str) else None
        if exact is not None:
            return exact  # the common case: already a canonical value
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {type_name(value)}")
        key = text_key(value)
        if key in ambiguous:
            raise ValueError(f"'{visible(value)}' is ambiguous: {ambiguous[key]}")
        if key in names:
            return names[key]
        raise ValueError(f"unknown {words} '{visible(value[:100])}'" + ("..." if len(value) > 100 else ""))
    return check


def _count(spec: FactSpec) -> Any:
    default = spec.default

    def check(v: Any) -> Any:
        """A count written 2.0 is 2, on every path (spreadsheets and pandas write whole numbers so); 2.5
        and anything but a number are left to the strict check, which refuses them. An explicit null (an
        empty YAML value) is not given, as when the field is left out: its default."""
        if v is None and default is not None:
            return default
        if isinstance(v, Decimal):
            v = _decimal(v)
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            return int(v)
        return v
    return check


def _number(spec: FactSpec) -> Any:
    high = spec.high
    default = None if spec.default is None else float(spec.default)
    bound = f"is not a plausible {spec.amount or 'value'} (at most {_digits(high)}" + (f" {spec.unit})" if spec.unit else ")")

    def check(v: Any) -> Any:
        if v is None:  # an explicit null: not given, as when the field is left out
            return default
        if isinstance(v, Decimal):
            v = _decimal(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            got = f"text '{visible(v[:40])}'" if isinstance(v, str) else type_name(v)
            raise ValueError(f"must be a number, got {got}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError("must be a finite number")
        if not -high <= v <= high:  # the same bound for an int and a float
            raise ValueError(bound)
        return float(v) + 0.0  # an int as a float; -0.0 as 0.0
    return check


def _conditions(spec: FactSpec, vocabulary: Vocabulary) -> Any:
    most = spec.max_items or MAX_CONDITIONS
    condition_lookup = vocabulary.lookup

    def check(v: Any) -> Any:
        if isinstance(v, (str, bytes, dict)) or not isinstance(v, (list, tuple)):
            raise ValueError(f"must be a list of conditions, got {type_name(v)}")
        if len(v) > most:
            raise ValueError(f"must list at most {most} conditions, got {len(v)}")
        seen: dict[Any, None] = {}
        errors = []
        for i, item in enumerate(v):
            try:
                seen[condition_lookup(item)] = None
            except ValueError as e:
                errors.append(f"item {i + 1}: {e}")  # counted from 1, as people count
        if errors:
            raise ValueError("; ".join(errors))
        return tuple(seen)
    return check


def _field(spec: FactSpec, enums: dict[str, type[Enum]], module: str, vocabulary: Vocabulary) -> tuple[Any, Any, Any]:
    """One fact's (annotation, FieldInfo, before-validator or None)."""
    description = spec.description
    default: Any = ... if spec.required else spec.default
    if spec.kind == "choice":
        enum = enums[spec.id] = choice_enum(spec, module)
        return enum, Field(default, description=description), _choice(spec, enum)
    if spec.kind == "count":
        return int, Field(default, ge=spec.low, le=spec.high, description=description), _count(spec)
    if spec.kind == "yes_no":
        return bool, Field(default, description=description), None
    if spec.kind == "number":
        annotation: Any = float | None if spec.optional else float
        return annotation, Field(None if spec.optional else default, ge=spec.low, allow_inf_nan=False, description=description), \
            _number(spec)
    most = spec.max_items or MAX_CONDITIONS
    condition: Any = vocabulary.enum
    return (tuple[condition, ...], Field((), description=f"{description} (at most {most}): " + "; ".join(vocabulary.described()),
                                               json_schema_extra={"maxItems": most}), _conditions(spec, vocabulary))


def facts_model(specs: tuple[FactSpec, ...], module: str = "advisor.core.models", vocabulary: Vocabulary = PACKAGED) -> type[FactsBase]:
    """The facts model of a knowledge base's facts (and its conditions, ``vocabulary``): one field per
    fact, in the KB's order, then ``id``."""
    fields: dict[str, Any] = {}
    validators: dict[str, Any] = {}
    enums: dict[str, type[Enum]] = {}
    for spec in specs:
        annotation, info, check = _field(spec, enums, module, vocabulary)
        fields[spec.id] = (annotation, info)
        if check is not None:
            validators[f"_check_{spec.id}"] = field_validator(spec.id, mode="before")(_as_classmethod(check))
    fields["id"] = (str | None, Field(None, max_length=MAX_ID_LENGTH, description="an identifier echoed back"))
    model: type[FactsBase] = create_model("PatientFacts", __base__=FactsBase, __module__=module, __doc__=DOC,
                                          __validators__=validators, **fields)
    model.facts_specs = specs
    model.specs = {s.id: s for s in specs}
    model.enums = enums
    model.vocabulary = vocabulary
    model.assumed = {s.id: float(s.assumed) for s in specs if s.optional and s.assumed is not None}
    return model


def _as_classmethod(check: Any) -> Any:
    def validate(cls: Any, v: Any) -> Any:
        return check(v)
    return validate
