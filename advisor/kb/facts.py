"""The facts a case gives, as the knowledge base describes them (``rules/facts.toml``): each fact once,
with its kind, values, bounds, default, words and the names other surfaces know it by.

The facts model (:func:`advisor.core.models.facts_model`) is built from these specs, and every surface
derives from them: the command line's options and ``--fact NAME=VALUE``, the web form, the interview,
batch CSV typing, the JSON Schemas, the FHIR Observations the service reads and the CDS cards' words.
This module imports nothing of the advisor but ``errors``, ``text`` and ``values``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import KnowledgeBaseError
from ..cache import toml_file
from .readability import without_reasons
from ..values import count_value, number_value, yes_no_value

FACT_ID = r"^[a-z][a-z0-9_]*$"
RESERVED = ("id", "expect")  # a case's own keys, never a fact
# names the facts model has itself (advisor.core.facts.FactsBase and pydantic's BaseModel): never a fact's
MODEL_NAMES = frozenset({"assumed", "construct", "copy", "decided", "dict", "enums", "error_entry", "facts_specs", "from_orm",
                         "json", "not_given", "parse", "parse_file", "parse_obj", "parse_raw", "schema", "schema_json", "specs",
                         "update_forward_refs", "validate", "vocabulary"})
KINDS = ("choice", "count", "number", "yes_no", "conditions")
MAX_FACTS = 64  # facts in a KB, values of a choice: a facts model and a form stay a size people can use
MAX_VALUES = 64
_TEXT = r"^[^\n\r\t\x00-\x1f\x7f]*$"
Kind = Literal["choice", "count", "number", "yes_no", "conditions"]


def text_key(value: str) -> str:
    """How a choice's value is matched: any case, surrounding space ignored, a run of spaces as one."""
    return re.sub(r"\s+", " ", value.strip().lower())


def words_of(fact_id: str) -> str:
    """A name for people from an id, when the KB gives none: its words ('had_relapse' -> 'had relapse')."""
    return fact_id.replace("_", " ")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChoiceValue(_Spec):
    """One value of a choice fact: its id (what the rules test and every output writes), its words for
    people, and other names accepted as input."""
    id: str = Field(pattern=FACT_ID, max_length=60)
    label: str | None = Field(None, min_length=1, max_length=80, pattern=_TEXT)
    description: str | None = Field(None, min_length=1, max_length=200, pattern=_TEXT)
    aliases: tuple[Annotated[str, Field(min_length=1, max_length=60, pattern=_TEXT)], ...] = Field((), max_length=32)

    @property
    def words(self) -> str:
        return self.label or self.id


class Observation(_Spec):
    """How an EHR records the fact: a FHIR Observation coded in urn:ms-infusion-advisor:facts."""
    code: str = Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=64)
    value: Literal["integer", "boolean", "quantity"]
    ucum: str | None = Field(None, min_length=1, max_length=20, pattern=_TEXT)
    not_recorded: str | None = Field(None, min_length=1, max_length=120, pattern=_TEXT)
    not_recorded_detail: str | None = Field(None, min_length=1, max_length=200, pattern=_TEXT)


class FactSpec(_Spec):
    """One fact of ``facts.toml``."""
    id: str = Field(pattern=FACT_ID, max_length=60)
    kind: Kind
    required: bool = False
    default: Union[bool, int, float, None] = None
    assumed: Union[int, float, None] = None
    min: Union[int, float, None] = None
    max: Union[int, float, None] = None
    max_items: int | None = Field(None, ge=1, le=1000)
    unit: str | None = Field(None, min_length=1, max_length=20, pattern=_TEXT)
    amount: str | None = Field(None, min_length=1, max_length=40, pattern=_TEXT)
    only_increases: bool = False
    label: str | None = Field(None, min_length=1, max_length=80, pattern=_TEXT)
    title: str | None = Field(None, min_length=1, max_length=80, pattern=_TEXT)
    help: str | None = Field(None, min_length=1, max_length=300, pattern=_TEXT)
    cli_help: str | None = Field(None, min_length=1, max_length=300, pattern=_TEXT)
    hint: str | None = Field(None, min_length=1, max_length=300, pattern=_TEXT)
    question: str | None = Field(None, min_length=1, max_length=120, pattern=_TEXT)
    who: Union[str, dict[Literal["yes", "no"], str], None] = None
    option: str | None = Field(None, pattern=r"^--[a-z][a-z0-9-]*$", max_length=60)
    column: str | None = Field(None, min_length=1, max_length=60, pattern=_TEXT)  # a CSV column's other name for it
    values: tuple[ChoiceValue, ...] = Field((), max_length=MAX_VALUES)
    ambiguous: dict[Annotated[str, Field(max_length=60)], Annotated[str, Field(max_length=200, pattern=_TEXT)]] = Field({}, max_length=16)
    fhir: Observation | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> "FactSpec":
        kind = self.kind
        numeric = kind in ("count", "number")
        misplaced = [name for name, allowed in (("values", kind == "choice"), ("ambiguous", kind == "choice"),
                                                ("min", numeric), ("max", numeric), ("unit", kind == "number"),
                                                ("amount", kind == "number"), ("assumed", kind == "number"),
                                                ("max_items", kind == "conditions"), ("only_increases", numeric),
                                                ("fhir", kind in ("count", "number", "yes_no")))
                     if not allowed and getattr(self, name) not in (None, (), {}, False)]
        if misplaced:
            raise ValueError(f"{', '.join(misplaced)}: not for a {kind} fact")
        if kind == "choice" and not self.values:
            raise ValueError("a choice fact needs its values")
        if self.required and (self.default is not None or self.assumed is not None):
            raise ValueError("a required fact has no default and nothing assumed")
        if self.assumed is not None and self.default is not None:
            raise ValueError("default and assumed: a fact not given either takes its default or is assumed, not both")
        if self.default is not None and kind in ("choice", "conditions"):
            raise ValueError(f"default: a {kind} fact not given is {'required' if kind == 'choice' else 'an empty list'}")
        if kind == "choice" and not self.required:
            raise ValueError("a choice fact is required (required = true)")
        if self.default is not None and (kind == "yes_no") != isinstance(self.default, bool):
            raise ValueError(f"default {self.default!r}: not a value of a {kind} fact")
        if kind == "count" and any(isinstance(getattr(self, n), float) for n in ("default", "min", "max")):
            raise ValueError("a count's default, min and max are whole numbers")
        if kind in ("count", "yes_no") and not self.required and self.default is None:
            raise ValueError(f"a {kind} fact is required (required = true) or has a default")
        if kind == "number" and not self.required and self.default is None and self.assumed is None:
            raise ValueError("a number fact that may be not given says which value the rules then decide on (assumed)")
        low, high = self.low, self.high
        if numeric and low > high:
            raise ValueError(f"min {low:g} is above max {high:g}")
        for name in ("default", "assumed"):
            value = getattr(self, name)
            if numeric and value is not None and not low <= value <= high:
                raise ValueError(f"{name} {value!r}: outside min and max ({low:g} to {high:g})")
        if self.fhir is not None:
            wanted = {"count": "integer", "yes_no": "boolean", "number": "quantity"}[kind]
            if self.fhir.value != wanted:
                raise ValueError(f"fhir.value: a {kind} fact is recorded as {wanted}")
            if (self.fhir.value == "quantity") != (self.fhir.ucum is not None):
                raise ValueError("fhir.ucum: the unit of a quantity, and only of one")
        if self.who is not None and (kind == "yes_no") != isinstance(self.who, dict):
            raise ValueError("who: a table of yes and no for a yes_no fact, else one text" if kind == "yes_no"
                             else "who: one text (with $value) for this fact")
        if isinstance(self.who, dict) and set(self.who) != {"yes", "no"}:
            raise ValueError("who: needs both yes and no")
        return self

    # --- derived, for every surface -----------------------------------------------------------------

    @property
    def low(self) -> float:
        return self.min if self.min is not None else 0

    @property
    def high(self) -> float:
        return self.max if self.max is not None else 10**9

    @property
    def words(self) -> str:
        """Its name in messages and what-ifs."""
        return self.label or words_of(self.id)

    @property
    def heading(self) -> str:
        """Its heading on the web form."""
        if self.title:
            return self.title
        words = self.words
        return words[:1].upper() + words[1:]

    @property
    def description(self) -> str:
        return self.help or self.words

    @property
    def option_name(self) -> str:
        """Its command-line option: ``--`` and the id with hyphens, unless the KB names another."""
        return self.option or "--" + self.id.replace("_", "-")

    @property
    def optional(self) -> bool:
        """May be not given (and is then said to be not given, its assumed value deciding)."""
        return self.kind == "number" and not self.required and self.default is None

    @property
    def testable(self) -> bool:
        return self.kind != "conditions"

    def aliases(self) -> dict[str, str]:
        """Every name a choice accepts (as :func:`text_key` writes it) -> its value's id, ids first."""
        out: dict[str, str] = {}
        for v in self.values:
            out.update({name: v.id for name in (v.id, *map(text_key, v.aliases)) if name not in out})
        return out

    def allowed(self) -> list[str] | None:
        """What an error about this fact lists as allowed (None: the message says it)."""
        if self.kind == "choice":
            ids = [v.id for v in self.values]
            return ids + sorted(set(self.aliases()) - set(ids))
        if self.kind == "yes_no":
            return ["true", "false"]
        return None

    def value_words(self, value: Any) -> str:
        """A value in words: a choice's label, yes or no, a number's shortest digits; "not given"."""
        if value is None:
            return "not given"
        value = getattr(value, "value", value)
        if self.kind == "choice":
            return next((v.words for v in self.values if v.id == value), str(value))
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    def who_text(self, value: Any) -> str:
        """Whom a what-if's value describes ("people with 2 or more prior treatment failures")."""
        value = getattr(value, "value", value)
        if isinstance(self.who, dict):
            return self.who["yes" if value else "no"]
        if isinstance(self.who, str):
            return self.who.replace("$value", self.value_words(value))
        return f"people with {self.words} = {self.value_words(value)}"

    def not_recorded(self) -> str:
        """The CDS card's words when no Observation gives the fact."""
        if self.fhir is not None and self.fhir.not_recorded:
            return self.fhir.not_recorded
        if self.optional:
            return f"{self.words}: not given"
        return f"{self.words}: {self.value_words(self.default)}, assumed"

    def from_text(self, text: str) -> Any:
        """The value a person writes as text (an option, a form field, an answer), by the one grammar
        (:mod:`advisor.values`); None for an empty text (not given). A choice's text is left to the
        facts model, which names the allowed values; ValueTextError says what was expected."""
        if self.kind == "count":
            return count_value(text)
        if self.kind == "number":
            return number_value(text)
        if self.kind == "yes_no":
            return yes_no_value(text)
        if self.kind == "conditions":
            return [item.strip() for item in re.split(r"[,;]", text) if item.strip()] or None
        return text.strip() or None


class FactsFile(_Spec):
    fact: tuple[FactSpec, ...] = Field(min_length=1)


def fact_problems(facts: list[FactSpec] | tuple[FactSpec, ...]) -> list[tuple[str, str]]:
    """(fact id, problem) for what no single fact shows: duplicate ids, a reserved id, two facts with one
    option or Observation code, names a choice gives twice, a conditions fact not named ``conditions``."""
    out: list[tuple[str, str]] = []
    seen: dict[tuple[str, str], str] = {}
    for f in facts:
        if f.id in RESERVED:
            out.append((f.id, f"'{f.id}' is a case's own key, not a fact"))
        elif f.id in MODEL_NAMES or f.id.startswith("model_"):
            out.append((f.id, f"'{f.id}' is a name the facts model has itself: choose another id"))
        for what, name in (("fact id", f.id), ("option", f.option_name), ("Observation code", f.fhir.code if f.fhir else None),
                           ("column", f.column)):
            if name is None:
                continue
            if (what, name) in seen:
                out.append((f.id, f"{what} '{name}' is also {seen[what, name]}'s"))
            seen.setdefault((what, name), f.id)
        if f.kind == "conditions" and f.id != "conditions":
            out.append((f.id, "a conditions fact is named 'conditions' (the cautions read it)"))
        if f.kind == "choice":
            owner: dict[str, str] = {}
            for v in f.values:
                for name in dict.fromkeys((v.id, *v.aliases)):
                    key = text_key(name)
                    if key in owner:
                        out.append((f.id, f"'{name}' names two values (ids and aliases must be unique)"))
                    owner[key] = v.id
            out += [(f.id, f"ambiguous '{a}' is also a value's name") for a in f.ambiguous if text_key(a) in owner]
    if len(facts) > MAX_FACTS:
        out.append(("", f"{len(facts)} facts (at most {MAX_FACTS})"))
    if sum(f.kind == "conditions" for f in facts) > 1:
        out.append(("conditions", "more than one conditions fact"))
    return out


def read_facts(directory: Path) -> tuple[FactSpec, ...]:
    """The facts of ``directory/facts.toml`` (the packaged KB's, at import: small and read once)."""
    path = directory / "facts.toml"
    try:
        items = FactsFile.model_validate(without_reasons(toml_file(path))).fact
    except (OSError, ValueError, TypeError) as e:  # ValueError: TOML, UTF-8 or the schema
        raise KnowledgeBaseError([(str(path), "", f"the facts cannot be read: {e}")]) from None
    problems = fact_problems(items)
    if problems:
        raise KnowledgeBaseError([(str(path), i, p) for i, p in problems])
    return items
