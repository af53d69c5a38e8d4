"""Checking a knowledge base as a whole: valid, quoted, every rule reachable, the decision space
complete and unambiguous (exactly one status per drug for every combination of tested fact values)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .core import NOTE, Advisor
from .errors import KnowledgeBaseError
from .kb import TESTABLE, KnowledgeBase, load
from .models import MSType, PatientFacts, Severity


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
    """For each fact the status rules test, values that fall on every side of every test: all values of
    a vocabulary or flag; for numbers, each threshold, a little below and above it, and zero."""
    out: dict[str, list[Any]] = {}
    for fact, kind in TESTABLE.items():
        thresholds = sorted({v for r in (*kb.rules, *kb.notes) for t in r.when if t.fact == fact
                             for v in (t.value if isinstance(t.value, list) else [t.value])})
        if not thresholds:
            continue
        if kind is bool:
            out[fact] = [False, True]
        elif kind in (MSType, Severity):
            out[fact] = [m.value for m in kind]
        else:
            step = 1 if kind is int else 0.5
            points = {0, *thresholds, *(t + step for t in thresholds), *(t - step for t in thresholds)}
            out[fact] = sorted(kind(p) for p in points if p >= 0)
    return out


def check(rules_dir: str | Path, source: str | Path | None = None, require_approved: bool = False) -> Report:
    """Every check of the module docstring; with ``require_approved``, also every rule's review status."""
    try:
        kb = load(rules_dir, source=source)
    except KnowledgeBaseError as e:
        return Report(tuple(Problem(*p) for p in e.problems), 0, 0, 0)
    advisor = Advisor(kb=kb, cache=False)
    problems: list[Problem] = []
    values = representative_values(kb)
    names = list(values)
    fired_ever: set[str] = set()
    combinations = 0
    for combo in itertools.product(*(values[n] for n in names)):
        combinations += 1
        facts = dict(zip(names, combo))
        fired, found = advisor.evaluate(facts)
        fired_ever.update(fired)
        for drug, statuses in found.items():
            if len(statuses) != 1:
                what = "no status" if not statuses else f"{len(statuses)} statuses ({', '.join(sorted(s.value for s in statuses))})"
                rules = ", ".join(r for r in fired if r.startswith(drug + ".")) or "no rule fired"
                problems.append(Problem("decisions.toml", drug, f"{what} for {facts} [{rules}]"))
    for rule in kb.rules:
        if rule.id not in fired_ever:
            problems.append(Problem("decisions.toml", rule.id, "never fires: no combination of fact values meets all its tests"))
    for note in kb.notes:
        if note.when and NOTE + note.id not in fired_ever:
            problems.append(Problem("notes.toml", note.id, "never given: no combination of fact values meets all its tests"))
    for caution in kb.cautions:
        facts = PatientFacts(ms_type=MSType.relapsing, severity=Severity.mild, conditions=(caution.condition,))
        if caution.id not in advisor.caution_rules(facts):
            problems.append(Problem("cautions.toml", caution.id, "never fires"))
    if require_approved:
        for item, file in [*((r, "decisions.toml") for r in kb.rules), *((c, "cautions.toml") for c in kb.cautions)]:
            if item.review_status != "approved":
                state = "is a draft" if item.review_status == "draft" else "has no review (review_status)"
                problems.append(Problem(file, item.id, f"{state}; --require-approved needs review_status = \"approved\""))
    met = {c.condition.value for c in kb.cautions}
    for condition in kb.conditions:
        if condition.id not in met:
            problems.append(Problem("cautions.toml", condition.id, "no caution names this condition (say so in a note if the source is silent)"))
    return Report(tuple(problems), len(kb.rules), len(kb.cautions), combinations)
