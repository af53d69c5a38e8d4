"""The complete decision table of a knowledge base, for a reviewer to read on one page.

One row per class of fact values the status rules distinguish (the classes ``kb check`` enumerates:
every value of a vocabulary or flag, and for a number each interval between the thresholds the rules
compare it with), giving each drug's status and the rules that fire. Rows that differ in one fact
only, with the same outcome, are merged: a fact that does not matter for a row is shown as ``-``.
Every status comes from the engine (``Advisor.evaluate``), never from a re-implementation.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from advisor.kb.checks import representative_values
from advisor.core.advisor import Advisor
from advisor.kb.schema import KnowledgeBase


@dataclass(frozen=True)
class FactClass:
    """Values of one fact that every status rule treats alike; ``value`` is one of them."""
    fact: str
    value: Any
    label: str
    low: tuple[float, bool] | None = None   # numbers: (bound, inclusive), None: unbounded
    high: tuple[float, bool] | None = None


@dataclass
class Row:
    """``cells[fact]``: indices into that fact's classes covered by this row."""
    cells: dict[str, frozenset[int]]
    status: dict[str, str]
    rules: dict[str, tuple[str, ...]]
    example: dict[str, Any] = field(default_factory=dict)

    def outcome(self) -> tuple[Any, ...]:
        return tuple(self.status.items()), tuple(self.rules.items())


def _number(value: float) -> str:
    return f"{value:g}"


def fact_classes(*kbs: KnowledgeBase) -> dict[str, list[FactClass]]:
    """The classes of every fact the status rules test, in a stable order (of several knowledge bases
    together: the classes both distinguish, as ``kb diff`` needs)."""
    tests = [t for kb in kbs for r in kb.rules for t in r.when]
    reps: dict[str, dict[Any, None]] = {}
    for kb in kbs:
        for fact, values in representative_values(kb).items():
            reps.setdefault(fact, {}).update(dict.fromkeys(values))
    out: dict[str, list[FactClass]] = {}
    kinds = {f: k for kb in reversed(kbs) for f, k in kb.testable.items()}
    for fact in (f for f in kinds if f in reps):
        values = list(reps[fact]) if kinds[fact] not in (int, float) else sorted(reps[fact])
        on_fact = [t for t in tests if t.fact == fact]
        if kinds[fact] not in (int, float):
            out[fact] = [FactClass(fact, v, str(v).lower()) for v in values]
            continue
        groups: list[list[Any]] = []
        last = None
        for v in values:  # sorted; the classes of a number are contiguous intervals
            vector = tuple(t.holds({fact: v}) for t in on_fact)
            if vector != last:
                groups.append([])
                last = vector
            groups[-1].append(v)
        bounds: list[tuple[float, bool] | None] = [None]
        for a, b in zip(groups, groups[1:]):
            # A test on b[0] that changes truth there puts b[0] in the class above (>= b[0]); otherwise
            # the boundary is a[-1], which stays in the class below (> a[-1]).
            at_b = any(b[0] in (t.value if isinstance(t.value, list) else [t.value])
                       and t.holds({fact: a[-1]}) != t.holds({fact: b[0]}) for t in on_fact)
            bounds.append((b[0], True) if at_b else (a[-1], False))
        classes = []
        for i, group in enumerate(groups):
            low = bounds[i]
            above = bounds[i + 1] if i + 1 < len(bounds) else None  # None only for the top class
            high = (above[0], not above[1]) if above is not None else None
            classes.append(FactClass(fact, group[0], _interval(low, high), low, high))
        out[fact] = classes
    return out


def _interval(low: tuple[float, bool] | None, high: tuple[float, bool] | None) -> str:
    if low is None and high is None:
        return "-"
    if low is not None and high is not None and low[0] == high[0]:
        return f"= {_number(low[0])}"
    parts = []
    if low is not None:
        parts.append((">= " if low[1] else "> ") + _number(low[0]))
    if high is not None:
        parts.append(("<= " if high[1] else "< ") + _number(high[0]))
    return " and ".join(parts)


def _numeric(value: Any) -> bool:
    """A fact class's value is a number's (a count's or a number's), not a choice's or a yes/no."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def cell_label(classes: list[FactClass], cell: frozenset[int]) -> str:
    if len(cell) == len(classes):
        return "-"
    chosen = [classes[i] for i in sorted(cell)]
    if chosen[0].low is None and chosen[0].high is None or not _numeric(chosen[0].value):
        return " or ".join(c.label for c in chosen)
    return _interval(chosen[0].low, chosen[-1].high)  # merged number cells are contiguous


def decision_table(advisor: Advisor, drugs: list[str] | None = None) -> tuple[dict[str, list[FactClass]], list[Row]]:
    """Every class combination evaluated by the engine, then merged. ``drugs`` narrows the outcome."""
    drugs = drugs or list(advisor.drug_ids)
    classes = fact_classes(advisor.kb)
    facts = list(classes)
    drug_of = {r.id: r.drug for r in advisor.kb.rules}  # the engine also reports conditional notes
    rows: list[Row] = []
    for combo in itertools.product(*(range(len(classes[f])) for f in facts)):
        example = {f: classes[f][i].value for f, i in zip(facts, combo)}
        fired, found = advisor.evaluate(example)
        status = {}
        for d in drugs:
            statuses = found[d]
            status[d] = next(iter(statuses)).value if len(statuses) == 1 else \
                ("(none)" if not statuses else "(" + " + ".join(sorted(s.value for s in statuses)) + ")")
        rules = {d: tuple(r for r in fired if r in drug_of and drug_of[r] == d) for d in drugs}
        rows.append(Row({f: frozenset([i]) for f, i in zip(facts, combo)}, status, rules, example))
    return classes, merge(rows, classes)


def merge(rows: list[Row], classes: dict[str, list[FactClass]]) -> list[Row]:
    """Merge rows that differ in one fact only and have the same outcome, until nothing merges."""
    changed = True
    while changed:
        changed = False
        for fact in classes:
            numeric = bool(classes[fact]) and _numeric(classes[fact][0].value)
            groups: dict[tuple[Any, ...], list[Row]] = {}
            for row in rows:
                key = (tuple((f, c) for f, c in row.cells.items() if f != fact), row.outcome())
                groups.setdefault(key, []).append(row)
            merged: list[Row] = []
            for group in groups.values():
                runs = _runs(group, fact) if numeric else [group]
                for run in runs:
                    if len(run) > 1:
                        changed = True
                    cell = frozenset().union(*(r.cells[fact] for r in run))
                    merged.append(Row({**run[0].cells, fact: cell}, run[0].status, run[0].rules, run[0].example))
            rows = merged
    return sorted(rows, key=lambda r: tuple(min(r.cells[f]) for f in classes))


def _runs(group: list[Row], fact: str) -> list[list[Row]]:
    """Rows whose number cells join into contiguous intervals."""
    group = sorted(group, key=lambda r: min(r.cells[fact]))
    runs: list[list[Row]] = [[group[0]]]
    for row in group[1:]:
        if min(row.cells[fact]) == max(runs[-1][-1].cells[fact]) + 1:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def render(classes: dict[str, list[FactClass]], rows: list[Row], fmt: str = "markdown") -> str:
    facts = list(classes)
    drugs = list(rows[0].status) if rows else []
    records = [{**{f: cell_label(classes[f], r.cells[f]) for f in facts}, **r.status,
                "rules": ", ".join(x for d in drugs for x in r.rules[d])} for r in rows]
    if fmt == "json":
        return json.dumps({"facts": facts, "drugs": drugs,
                           "rows": [{"when": {f: rec[f] for f in facts}, "status": r.status,
                                     "rules": {d: list(r.rules[d]) for d in drugs}, "example": r.example}
                                    for rec, r in zip(records, rows)]}, indent=2, ensure_ascii=False)
    header = [*facts, *drugs, "rules"]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return buf.getvalue().rstrip("\n")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(rec[h]).replace("|", "\\|") for h in header) + " |" for rec in records]
    return "\n".join(lines)
