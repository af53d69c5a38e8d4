"""What a change to a knowledge base changes: decisions; rules, cautions, drugs, notes, conditions,
facts and statuses; the decision aid's comparison rows, terms and concerns; the header (kb.toml) and
the source text.

Decisions are compared by running both knowledge bases' engines over every class of fact values
either of them distinguishes (the classes of :mod:`advisor.kb.table`, of both KBs together); rows with
the same change are merged as in the decision table.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from advisor.core.advisor import Advisor
from advisor.kb.table import FactClass, Row, cell_label, fact_classes, merge


LABELS = {"compare": "Comparison rows (compare.toml)", "matters": "Concerns (matters.toml)", "terms": "Terms (terms.toml)",
          "header": "Header (kb.toml)"}


@dataclass
class KBDiff:
    old: dict[str, str]
    new: dict[str, str]
    classes: dict[str, list[FactClass]]
    decisions: list[Row] = field(default_factory=list)  # status holds "before → after" per changed drug
    items: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # kind -> added/removed/changed

    @property
    def decisions_changed(self) -> bool:
        return bool(self.decisions)

    def as_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "decisions_changed": self.decisions_changed,
                "decisions": [{"when": {f: cell_label(self.classes[f], r.cells[f]) for f in self.classes},
                               "changes": r.status} for r in self.decisions],
                **self.items}

    def text(self) -> str:
        lines = [f"old: {self.old['name']} {self.old['version']} ({self.old['sha256'][:12]})",
                 f"new: {self.new['name']} {self.new['version']} ({self.new['sha256'][:12]})", ""]
        if not self.decisions:
            lines.append("Decisions: no status changes for any facts")
        else:
            lines.append(f"Decisions: {len(self.decisions)} class(es) of facts change status")
            for r in self.decisions:
                when = "; ".join(f"{f} {cell_label(self.classes[f], r.cells[f])}" for f in self.classes
                                 if len(r.cells[f]) < len(self.classes[f])) or "all facts"
                lines.append(f"  when {when}: " + ", ".join(f"{d} {c}" for d, c in r.status.items()))
        for kind, parts in self.items.items():
            shown = [(what, ids) for what, ids in parts.items() if ids]
            lines.append(f"{LABELS.get(kind, kind.capitalize())}: " + ("no changes" if not shown else
                         "; ".join(f"{what} {', '.join(ids)}" for what, ids in shown)))
        return "\n".join(lines)


def _compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    changed = []
    for key in old.keys() & new.keys():
        if old[key] != new[key]:
            a, b = old[key], new[key]
            fields = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)) if isinstance(a, dict) else []
            changed.append(f"{key} ({', '.join(fields)})" if fields else key)
    return {"added": sorted(new.keys() - old.keys()), "removed": sorted(old.keys() - new.keys()),
            "changed": sorted(changed)}


def _by_id(items: Any) -> dict[str, Any]:
    return {i.id: i.model_dump(mode="json") for i in items}


def diff(old: Advisor, new: Advisor) -> KBDiff:
    classes = fact_classes(old.kb, new.kb)
    facts = list(classes)
    drugs = list(dict.fromkeys([*old.drug_ids, *new.drug_ids]))
    rows = []
    for combo in itertools.product(*(range(len(classes[f])) for f in facts)):
        values = {f: classes[f][i].value for f, i in zip(facts, combo)}
        before, after = _statuses(old, values), _statuses(new, values)
        changes = {d: f"{before.get(d, '(absent)')} → {after.get(d, '(absent)')}" for d in drugs
                   if before.get(d) != after.get(d)}
        if changes:
            rows.append(Row({f: frozenset([i]) for f, i in zip(facts, combo)}, changes, {}, values))
    result = KBDiff(old.kb.identity, new.kb.identity, classes, merge(rows, classes) if rows else [])
    result.items["rules"] = _compare(_by_id(old.kb.rules), _by_id(new.kb.rules))
    result.items["cautions"] = _compare(_by_id(old.kb.cautions), _by_id(new.kb.cautions))
    result.items["drugs"] = _compare(_by_id(old.kb.drugs), _by_id(new.kb.drugs))
    result.items["notes"] = _compare(_by_id(old.kb.notes), _by_id(new.kb.notes))
    result.items["conditions"] = _compare(_conditions(old), _conditions(new))
    result.items["facts"] = _compare(_by_id(old.kb.facts), _by_id(new.kb.facts))
    result.items["statuses"] = _compare(_by_id(old.kb.statuses), _by_id(new.kb.statuses))
    result.items["compare"] = _compare(_by_id(old.kb.compare), _by_id(new.kb.compare))
    result.items["terms"] = _compare(_by_id(old.kb.terms), _by_id(new.kb.terms))
    result.items["matters"] = _compare(_by_id(old.kb.matters), _by_id(new.kb.matters))
    result.items["header"] = _compare({"kb.toml": old.kb.header.model_dump(mode="json")},
                                      {"kb.toml": new.kb.header.model_dump(mode="json")})
    result.items["source"] = _compare({"source": old.kb.source_text}, {"source": new.kb.source_text})
    return result


def _statuses(advisor: Advisor, values: dict[str, Any]) -> dict[str, str]:
    fired, found = advisor.evaluate({f: values[f] for f in advisor.tested_facts})
    return {d: (next(iter(s)).value if len(s) == 1 else "(" + " + ".join(sorted(x.value for x in s)) + ")" if s else "(none)")
            for d, s in found.items()}


def _conditions(advisor: Advisor) -> dict[str, Any]:
    """The condition vocabulary as the KB declares it, or as its cautions use it."""
    declared = getattr(advisor.kb, "conditions", None)
    if declared:
        return {getattr(c, "id", str(c)): (c.model_dump(mode="json") if hasattr(c, "model_dump") else str(c)) for c in declared}
    return {str(getattr(c.condition, "value", c.condition)): str(getattr(c.condition, "value", c.condition))
            for c in advisor.kb.cautions}
