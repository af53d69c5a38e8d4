"""Checking a knowledge base as a whole: valid, quoted, every rule reachable, the decision space
complete and unambiguous (exactly one status per drug for every combination of tested fact values)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .core import Advisor
from .errors import KnowledgeBaseError
from .kb import TESTABLE, KnowledgeBase, decision_space, load, value_classes
from .models import Condition, MSType, PatientFacts, Severity


@dataclass(frozen=True)
class Problem:
    file: str
    item: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.item}: {self.message}" if self.item else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class Report:
    problems: tuple[Problem, ...]
    rules: int
    cautions: int
    combinations: int

    @property
    def ok(self) -> bool:
        return not self.problems


def representative_values(kb: KnowledgeBase) -> dict[str, list[Any]]:
    """For each fact the status rules test, one value of each class of its values that the rules'
    tests treat alike (every value of a vocabulary or flag; each threshold and a value inside every
    interval around them)."""
    out: dict[str, list[Any]] = {}
    for fact in TESTABLE:
        points = [v for r in kb.rules for t in r.when if t.fact == fact for v in (t.value if isinstance(t.value, list) else [t.value])]
        if points:
            out[fact] = value_classes(fact, points)
    return out


def check(rules_dir: str | Path, source: str | Path | None = None) -> Report:
    """Everything load() proves (the decision space included: exactly one status per drug for every
    class of fact values, every rule reachable), and that the compiled engine agrees: for one
    combination per distinct set of firing rules, the rules durable-rules fires are those rules."""
    try:
        kb = load(rules_dir, source=source)
    except KnowledgeBaseError as e:
        return Report(tuple(Problem(*p) for p in e.problems), 0, 0, 0)
    advisor = Advisor(kb=kb, cache=False)
    problems: list[Problem] = []
    space = decision_space(kb.rules, kb.drug_ids)
    problems += [Problem(*p) for p in space.problems]
    defaults = {fact: values[0] for fact, values in representative_values(kb).items()}
    for drug, combo, expected in space.cases:
        fired, _ = advisor.evaluate({**defaults, **combo})
        got = tuple(r for r in fired if advisor.kb.rule(r).drug == drug)
        if got != expected:
            problems.append(Problem("decisions.toml", drug, f"the rules engine fired [{', '.join(got)}] for {combo}, "
                                                            f"the rules say [{', '.join(expected)}]"))
    for caution in kb.cautions:
        facts = PatientFacts(ms_type=MSType.relapsing, severity=Severity.mild, conditions=(caution.condition,))
        if caution.id not in advisor.caution_rules(facts):
            problems.append(Problem("cautions.toml", caution.id, "never fires"))
    met = {c.condition for c in kb.cautions}
    for condition in Condition:
        if condition not in met:
            problems.append(Problem("cautions.toml", condition.value, "no caution names this condition (say so in a note if the source is silent)"))
    return Report(tuple(problems), len(kb.rules), len(kb.cautions), space.combinations)
