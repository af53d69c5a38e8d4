"""The status rules' decision space: the classes of values each fact's thresholds make, and the proof
that each drug gets exactly one status for every set of facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from advisor.kb.schema import PACKAGED_FACTS, Rule, thresholds_of
from advisor.kb.facts import FactSpec


@dataclass
class DecisionSpace:
    """The status rules' decision space, by classes of fact values: for each drug, one fact
    combination per distinct set of rules that fire together (``cases``: drug, facts, rule ids)."""
    problems: list[tuple[str, str, str]] = field(default_factory=list)
    cases: list[tuple[str, dict[str, Any], tuple[str, ...]]] = field(default_factory=list)
    combinations: int = 1  # classes of the tested facts' values, multiplied


def value_classes(fact: str, points: list[Any], facts: dict[str, FactSpec] | None = None) -> list[Any]:
    """One value for each class of ``fact``'s values that every test against ``points`` treats alike:
    every value of a vocabulary or flag; for a number, each threshold and one value inside each
    interval around them that holds a value the facts model accepts. (``facts``: the KB's, by default
    the packaged KB's.)"""
    spec = (facts or PACKAGED_FACTS)[fact]
    if spec.kind == "yes_no":
        return [False, True]
    if spec.kind == "choice":
        return [v.id for v in spec.values]
    kind: Any = int if spec.kind == "count" else float
    lo, hi = kind(spec.low), kind(spec.high)
    cuts = sorted({kind(p) for p in points if lo <= p <= hi})
    out: list[Any] = []
    previous = None
    for p in cuts:
        if previous is None:
            if lo < p:
                out.append(lo)  # [lo, p)
        else:
            inside = previous + 1 if kind is int else previous + (p - previous) / 2
            if previous < inside < p:
                out.append(inside)  # (previous, p), when it holds a value at all
        out.append(p)
        previous = p
    if previous is None:
        out.append(lo)
    elif previous < hi:
        out.append(previous + 1 if kind is int else min(previous + 1.0, hi))  # (last, hi]
    return out


def decision_space(rules: list[Rule] | tuple[Rule, ...], drug_ids: list[str] | tuple[str, ...],
                   report_limit: int = 20, facts: dict[str, FactSpec] | None = None) -> DecisionSpace:
    """Prove that the status rules give exactly one status per drug for every value of the facts,
    and that every rule fires for some. Exact and fast: per drug, each fact's values fall into the
    classes its thresholds make; each class is a bitmask of the rules whose tests on that fact hold
    there; the masks are intersected fact by fact, keeping one combination per distinct mask, so a
    200-rule KB takes a fraction of a second rather than every combination."""
    space = DecisionSpace()
    for fact, points in thresholds_of(rules).items():
        space.combinations *= len(value_classes(fact, points, facts))
    for drug in drug_ids:
        mine = [r for r in rules if r.drug == drug]
        tested = list(dict.fromkeys(t.fact for r in mine for t in r.when))
        everything = (1 << len(mine)) - 1
        per_fact: dict[str, list[tuple[Any, int]]] = {}
        for fact in tested:
            points = thresholds_of(mine, fact)[fact]
            classes = []
            for value in value_classes(fact, points, facts):
                mask = 0
                for i, r in enumerate(mine):
                    if all(t.holds({fact: value}) for t in r.when if t.fact == fact):
                        mask |= 1 << i
                classes.append((value, mask))
            per_fact[fact] = classes
        states: dict[int, dict[str, Any]] = {everything: {}}
        for fact in tested:
            nxt: dict[int, dict[str, Any]] = {}
            for mask, combo in states.items():
                for value, fact_mask in per_fact[fact]:
                    nxt.setdefault(mask & fact_mask, {**combo, fact: value})
            states = nxt
        by_status = {s: sum(1 << i for i, r in enumerate(mine) if r.status is s) for s in dict.fromkeys(r.status for r in mine)}
        fired_ever = 0
        reported = 0
        for mask, combo in states.items():
            fired_ever |= mask
            statuses = [s for s, m in by_status.items() if mask & m]
            fired = tuple(r.id for i, r in enumerate(mine) if mask >> i & 1)
            if len(statuses) == 1:
                space.cases.append((drug, combo, fired))
                continue
            reported += 1
            if reported <= report_limit:
                what = "no status" if not statuses else f"{len(statuses)} statuses ({', '.join(sorted(s.value for s in statuses))})"
                space.problems.append(("decisions.toml", drug, f"{what} for {combo} [{', '.join(fired) or 'no rule fired'}]"))
        if reported > report_limit:
            space.problems.append(("decisions.toml", drug, f"... and {reported - report_limit} more such combinations"))
        for i, r in enumerate(mine):
            if not fired_ever >> i & 1:
                space.problems.append(("decisions.toml", r.id, "never fires: no combination of fact values meets all its tests"))
    return space
