"""The questions of ``ms-advisor interview``: one prompt per fact, answers read as people type them,
and a case file from the answers (``--save``). Prompts go to stderr, so stdout holds only the advice."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from advisor.core.models import AMBIGUOUS_MS_TYPES, MAX_DOSE_MG_M2, MAX_PRIOR_FAILURES, MS_TYPE_ALIASES, MSType, PatientFacts, Severity
from advisor.text import fill, visible
from advisor.values import ValueTextError, count_value, number_value, yes_no_value
from advisor.kb.vocabulary import PACKAGED, Vocabulary

NUMBER_WORDS = {"zero": 0, "none": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10}


def ms_type_choices() -> str:
    """The three MS types, each with its aliases: 'relapsing (rrms, relapsing-remitting); ...'."""
    groups = []
    for t in MSType:
        aliases = [a for a, v in MS_TYPE_ALIASES.items() if v is t and a != t.value and "-" not in a]
        groups.append(t.value + (f" ({', '.join(aliases)})" if aliases else ""))
    return "; ".join(groups)


def _key(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().lower())


class MSTypeAnswer(click.ParamType[Any]):
    name = "MS type"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        key = _key(str(value))
        if key in MS_TYPE_ALIASES:
            return MS_TYPE_ALIASES[key].value
        if key in AMBIGUOUS_MS_TYPES:
            self.fail(fill(f"'{visible(value)}' is ambiguous: {AMBIGUOUS_MS_TYPES[key]}", less=7), param, ctx)
        self.fail(fill(f"'{visible(value)}' is not an MS type; answer one of: {ms_type_choices()}", less=7), param, ctx)


class SeverityAnswer(click.ParamType[Any]):
    name = "severity"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        key = _key(str(value))
        if key in Severity._value2member_map_:
            return key
        self.fail(fill(f"'{visible(value)}' is not a severity; answer {', '.join(s.value for s in Severity)}", less=7), param, ctx)


class NumberAnswer(click.ParamType[Any]):
    """A number in ASCII digits, from ``low`` to ``high``; a number written as a word gets a hint."""

    def __init__(self, whole: bool, high: float, optional: bool = False):
        self.whole, self.high, self.optional = whole, high, optional
        self.name = "whole number" if whole else "number"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if self.optional and not text:
            return None  # not given: said so in the advice, never taken for 0
        if _key(text) in NUMBER_WORDS:
            self.fail(fill(f"'{visible(value)}': type the number in digits, e.g. {NUMBER_WORDS[_key(text)]}", less=7), param, ctx)
        try:
            number = count_value(text) if self.whole else number_value(text)
        except ValueTextError as e:
            self.fail(fill(str(e), less=7), param, ctx)
        if number is None:
            return 0 if self.whole else None  # as the prompt's default: the count's 0, the dose's "not given"
        if number < 0 or number > self.high:
            self.fail(fill(f"{visible(value)} is not from 0 to {self.high:g}", less=7), param, ctx)
        return int(number) if self.whole else float(number)


class YesNo(click.ParamType[Any]):
    name = "yes/no"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, bool):
            return value
        try:
            answer = yes_no_value(str(value))
        except ValueTextError:
            answer = None
        if answer is not None:
            return answer
        self.fail(fill(f"'{visible(value)}': answer y, yes, n or no", less=7), param, ctx)


def conditions_answer(raw: str, vocabulary: Vocabulary = PACKAGED) -> tuple[list[str], list[str]]:
    """The conditions named in ``raw`` (separated by commas or semicolons; named as everywhere else:
    'heart failure' and 'heart_failure' alike), and why each other item names none."""
    found, unknown = [], []
    for item in re.split(r"[,;]", raw):
        if not item.strip():
            continue
        try:
            found.append(vocabulary.lookup(item.strip()).value)
        except ValueError as e:
            unknown.append(str(e))
    return list(dict.fromkeys(found)), unknown


def ask(text: str, **options: Any) -> Any:
    """click.prompt on stderr, the question wrapped at the terminal's width (room left for the default
    and the answer); an answer's error message is wrapped too (click prints it as "Error: ...")."""
    return click.prompt(fill(text, less=12), err=True, **options)


def say(text: str, indent: str = "", hang: str = "  ") -> None:
    click.echo(fill(text, indent, hang), err=True)


ASKED = ("ms_type", "severity", "prior_failures", "rapidly_worsening", "mitoxantrone_cumulative_mg_m2", "conditions")


class ChoiceAnswer(click.ParamType[Any]):
    """One of a choice fact's values, by its id or an alias (as the facts model reads it)."""

    def __init__(self, spec: Any):
        self.spec, self.name = spec, spec.words
        self.names = spec.aliases()

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        key = _key(str(value))
        if key in self.names:
            return self.names[key]
        self.fail(fill(f"'{visible(value)}' is not a {self.spec.words}; answer one of: {', '.join(v.id for v in self.spec.values)}",
                       less=7), param, ctx)


def ask_fact(spec: Any) -> Any:
    """Ask for one fact of the KB as its kind reads (rules/facts.toml: its question, bounds, default)."""
    question = spec.question or spec.heading + (" (y/n)" if spec.kind == "yes_no" else "")
    if spec.kind == "yes_no":
        return ask(question, type=YesNo(), default="y" if spec.default else "n", show_default=False)
    if spec.kind == "count":
        return ask(question, type=NumberAnswer(True, spec.high), **({"default": spec.default} if spec.default is not None else {}))
    if spec.kind == "number":
        return ask(question, type=NumberAnswer(False, spec.high, optional=spec.optional), default="", show_default=False)
    return ask(question, type=ChoiceAnswer(spec))


def ask_facts(model: Any = None) -> dict[str, Any]:
    """Ask for each fact on the terminal (``model``: the Advisor's facts model, whose KB's further facts
    are asked after these); raises click.Abort at the end of input."""
    say(f"MS types: {ms_type_choices()}")
    question = {f.id: f.question or f.heading for f in PatientFacts.facts_specs}  # facts.toml's questions
    facts: dict[str, Any] = {
        "ms_type": ask(question["ms_type"], type=MSTypeAnswer()),
        "severity": ask(question["severity"], type=SeverityAnswer()),
        "prior_failures": ask(question["prior_failures"], type=NumberAnswer(True, MAX_PRIOR_FAILURES), default=0),
        "rapidly_worsening": ask(question["rapidly_worsening"], type=YesNo(), default="n", show_default=False),
        "mitoxantrone_cumulative_mg_m2": ask(question["mitoxantrone_cumulative_mg_m2"],
                                             type=NumberAnswer(False, MAX_DOSE_MG_M2, optional=True), default="", show_default=False),
    }
    for spec in (model.facts_specs if model is not None else ()):
        if spec.id not in ASKED:
            facts[spec.id] = ask_fact(spec)
    say("Conditions (as written or by id; `ms-advisor conditions` lists them too):")
    vocabulary = model.vocabulary if model is not None else PACKAGED  # the KB's conditions
    for line in vocabulary.described():
        say(line, "  ", "      ")
    while True:
        raw = ask("Conditions, separated by commas (empty for none)", default="", show_default=False)
        items, unknown = conditions_answer(raw, vocabulary)
        if not unknown:
            break
        say(f"Error: {visible('; '.join(unknown))}")
    facts["conditions"] = items
    return facts


def case_file_text(facts: PatientFacts, path: str) -> str:
    """The validated facts as a case file: JSON when ``path`` ends in .json, else YAML."""
    data = facts.model_dump(mode="json", exclude_none=True)
    if path.lower().endswith(".json"):
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    import yaml

    return "# ms-advisor case file (written by `ms-advisor interview --save`)\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
