"""Checking a knowledge base as a whole: valid, quoted, every rule reachable, the decision space
complete and unambiguous (exactly one status per drug for every combination of tested fact values)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from advisor.core.advisor import NOTE, Advisor
from advisor.errors import KnowledgeBaseError
from advisor.kb.files import read_toml
from advisor.kb.load import load
from advisor.kb.schema import CautionRule, KnowledgeBase, Rule
from advisor.kb.space import decision_space, value_classes
from advisor.core.models import Condition, PatientFacts
from advisor.kb import readability, terminology as terminology


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
    fhir: bool = False  # the KB has FHIR codes (fhir.toml), checked
    numbers: str = ""  # its named numbers, as "name = value unit", checked against every statement
    compare_rows: int = 0  # the comparison grid's rows (compare.toml), each with a cell for every drug
    readability: tuple[tuple[str, str], ...] = ()  # the reading grade of its own texts: ("all", summary), then per file
    matters: int = 0  # the concerns of matters.toml (what may matter to a person), checked against the drugs and notes

    @property
    def ok(self) -> bool:
        return not self.problems


def representative_values(kb: KnowledgeBase) -> dict[str, list[Any]]:
    """For each fact the status rules test, one value of each class of its values that the rules'
    tests treat alike (every value of a vocabulary or flag; each threshold and a value inside every
    interval around them), from the KB's thresholds."""
    return {fact: value_classes(fact, points, kb.fact_specs) for fact, points in kb.thresholds.items()}


def harms_problems(kb: KnowledgeBase, advisor: Advisor, cases: list[tuple[str, dict[str, Any], tuple[str, ...]]],
                   defaults: dict[str, Any]) -> list[Problem]:
    """Harms beside benefits: for each class of facts in which a drug is listed (applicable or consider),
    the advice shows the article's side effects for it, common or serious."""
    out: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for drug, combo, fired in cases:
        statuses = {advisor.kb.rule(r).status for r in fired if isinstance(advisor.kb.rule(r), Rule)}  # type: ignore[union-attr]
        listed = [s for s in statuses if s.info.listed]
        if not listed or (drug, listed[0].value) in seen:
            continue
        seen.add((drug, listed[0].value))
        facts = advisor.facts_model.model_validate({**defaults, **combo})
        advice = advisor.advise(facts).drug(drug)
        effects = advice.side_effects
        if effects is None or not (effects.common or effects.serious):
            out.append(Problem("drugs.toml", drug, f"shown as {listed[0].value} (for {combo}) without its side effects: "
                                                   "the article's lists for it are missing or empty"))
    return out


def status_problems(kb: KnowledgeBase) -> list[Problem]:
    """Every status a rule or note names is one the KB defines (statuses.toml), with its words."""
    defined = {s.id for s in kb.statuses}
    out = [Problem("decisions.toml", r.id, f"status '{r.status.value}' is not defined in statuses.toml "
                                           f"(defined: {', '.join(sorted(defined))})") for r in kb.rules if r.status.value not in defined]
    out += [Problem("notes.toml", n.id, f"status '{s.value}' is not defined in statuses.toml") for n in kb.notes
            for s in n.statuses if s.value not in defined]
    return out


def check(rules_dir: str | Path, source: str | Path | None = None, require_approved: bool = False) -> Report:
    """Everything load() proves (the decision space included: exactly one status per drug for every
    class of fact values, every rule reachable), and that the compiled engine agrees: for one
    combination per distinct set of firing rules, the rules durable-rules fires are those rules; every conditional note can be given; with
    ``require_approved``, every rule's review status is "approved"."""
    try:
        kb = load(rules_dir, source=source, reuse_proof=False)  # a check proves it again
    except KnowledgeBaseError as e:
        fhir = [p for p in fhir_problems(rules_dir, None) if p not in e.problems]  # an unreadable file is said once
        return Report(tuple(Problem(*p) for p in e.problems + fhir), 0, 0, 0)
    advisor = Advisor(kb=kb, cache=False)
    problems: list[Problem] = []
    space = decision_space(kb.rules, kb.drug_ids, facts=kb.fact_specs)
    problems += [Problem(*p) for p in space.problems]
    values = representative_values(kb)
    defaults = {fact: v[0] for fact, v in values.items()}
    drug_of = {r.id: r.drug for r in kb.rules}  # the engine also reports conditional notes
    for drug, combo, expected in space.cases:
        fired, _ = advisor.evaluate({**defaults, **combo})
        got = tuple(r for r in fired if drug_of.get(r) == drug)
        if got != expected:
            problems.append(Problem("decisions.toml", drug, f"the rules engine fired [{', '.join(got)}] for {combo}, "
                                                            f"the rules say [{', '.join(expected)}]"))
    # a required fact no rule tests still needs a value to advise on: its first value
    required: dict[str, Any] = {f.id: f.values[0].id for f in kb.facts if f.required and f.kind == "choice" and f.id not in defaults}
    problems += harms_problems(kb, advisor, space.cases, {**required, **defaults})
    problems += status_problems(kb)
    for note in kb.notes:
        if note.drug is not None and not note.statuses:
            problems.append(Problem("notes.toml", note.id, f"a note about {note.drug} is shown whatever its status: say for which "
                                                          "of its statuses it is given (statuses = [...]), so that a note reaches "
                                                          "only the facts it concerns"))
        if not note.when:
            continue
        combo = {}
        for fact in dict.fromkeys(t.fact for t in note.when):
            fits = [v for v in values.get(fact, []) if all(t.holds({fact: v}) for t in note.when if t.fact == fact)]
            if fits:
                combo[fact] = fits[0]
        fired = advisor.evaluate({**defaults, **combo})[0] if len(combo) == len({t.fact for t in note.when}) else ()
        if NOTE + note.id not in fired:
            problems.append(Problem("notes.toml", note.id, "never given: no combination of fact values meets all its tests"))
    for caution in kb.cautions:
        facts = SimpleNamespace(conditions=(caution.condition,))  # the cautions read the conditions only
        if caution.id not in advisor.caution_rules(facts):  # type: ignore[arg-type]
            problems.append(Problem("cautions.toml", caution.id, "never fires"))
    if require_approved:
        reviewed: list[tuple[Rule | CautionRule, str]] = [*((r, "decisions.toml") for r in kb.rules),
                                                           *((c, "cautions.toml") for c in kb.cautions)]
        for item, file in reviewed:
            if item.review_status != "approved":
                state = "is a draft" if item.review_status == "draft" else "has no review (review_status)"
                problems.append(Problem(file, item.id, f"{state}; --require-approved needs review_status = \"approved\""))
    met = {c.condition.value for c in kb.cautions}
    for condition in kb.conditions:
        if condition.id not in met:
            problems.append(Problem("cautions.toml", condition.id, "no caution names this condition (say so in a note if the source is silent)"))
    problems += [Problem(*p) for p in fhir_problems(rules_dir, kb)]
    measured, reasons = readability.measure({p.name: read_toml(p, []) for p in sorted(Path(rules_dir).glob("*.toml"))})
    problems += [Problem(*p) for p in readability.grade_problems(measured) + reasons]
    return Report(tuple(problems), len(kb.rules), len(kb.cautions), space.combinations,
                  fhir=(Path(rules_dir) / terminology.FILE).exists(), readability=readability.summaries(measured),
                  numbers=", ".join(f"{name} = {n.value:g} {n.unit}" for name, n in kb.header.numbers.items()),
                  compare_rows=len(kb.compare),
                  matters=len(kb.matters))


def fhir_problems(rules_dir: str | Path, kb: KnowledgeBase | None) -> list[tuple[str, str, str]]:
    """What the service would refuse in the KB's FHIR codes (``fhir.toml``), in the words it refuses
    them with. A KB without the file checks as before: only ``serve`` needs it, and says so."""
    if not (Path(rules_dir) / terminology.FILE).exists() and not (Path(rules_dir) / terminology.FILE).is_symlink():
        return []
    conditions = [c.id for c in kb.conditions] if kb is not None else [c.value for c in Condition]
    try:
        specs = kb.fact_specs if kb is not None else PatientFacts.specs
        choices = {name: [v.id for v in specs[name].values] if name in specs else [] for name in ("ms_type", "severity")}
        terminology.load(rules_dir, conditions, choices["ms_type"], choices["severity"])
    except KnowledgeBaseError as e:
        return list(e.problems)
    return []
