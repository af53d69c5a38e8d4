"""What a batch run found: counts per drug and status (drugs from the KB), rule coverage, invalid
cases, expectation failures; as text for stderr and as JSON for ``--summary-json``."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from advisor.core.models import Status
from advisor.text import json_safe
from advisor.batch.text import escape_controls

EXAMPLES = 20  # invalid cases and expectation failures listed by id in the JSON summary
MESSAGES = 10_000  # distinct error messages counted (each at most 300 characters); others are counted together
FIRST_IDS = 3  # ids given with each common error message
SHOWN = 5  # common error messages on stderr (20 in the JSON summary)
NOTES = 100  # notes on files (a CSV header read loosely, unknown or repeated columns)


class Summary:
    def __init__(self, drug_ids: tuple[str, ...] = (), all_rules: list[str] | None = None):
        self.cases = self.valid = self.invalid = self.expectations = self.expectation_failures = 0
        self.duplicate_ids = 0
        self.duplicate_check_stopped_at: int | None = None
        self.statuses: dict[str, Counter[str]] = {d: Counter() for d in drug_ids}
        self.fired: set[str] = set()
        self.all_rules = all_rules or []
        self.invalid_examples: list[dict[str, str]] = []
        self.failure_examples: list[dict[str, Any]] = []
        self.decisions: dict[int, list[Any]] = {}  # id(decision) -> [decision, cases]; folded into statuses
        self.messages: dict[str, list[Any]] = {}  # error message -> [cases, first ids]
        self.other_messages = 0  # cases with a message past the first MESSAGES distinct ones
        self.notes: dict[str, None] = {}  # what to say once per file, in order

    def add(self, a: Any, source: str) -> None:
        """Count one assessed case (records.Assessed)."""
        self.cases += 1
        if a.notes:
            file = source.rpartition(":")[0] or source
            for note in a.notes:
                if len(self.notes) < NOTES:
                    self.notes.setdefault(f"{file}: {note}", None)
        if a.error is not None:
            self.invalid += 1
            if len(self.invalid_examples) < EXAMPLES:
                self.invalid_examples.append({"id": a.record_id, "source": source, "error": a.error})
            for problem in a.problems or (a.error,):
                self._message(problem, 1, [a.record_id])
            return
        self.valid += 1
        self.count(a.decision, 1)
        if a.caution_ids:
            self.fired.update(a.caution_ids)
        if a.expectation is not None:
            self.expectations += 1
            if a.differences:
                self.expectation_failures += 1
                if len(self.failure_examples) < EXAMPLES:
                    self.failure_examples.append({"id": a.record_id, "source": source, "differences": list(a.differences)})

    def _message(self, text: str, n: int, ids: list[str]) -> None:
        entry = self.messages.get(text)
        if entry is None:
            if len(self.messages) >= MESSAGES:
                self.other_messages += n
                return
            entry = self.messages[text] = [0, []]
        entry[0] += n
        if len(entry[1]) < FIRST_IDS:
            entry[1] += ids[:FIRST_IDS - len(entry[1])]

    def common_errors(self, n: int) -> list[tuple[str, int, list[str]]]:
        """The ``n`` commonest error messages: (message, cases, first ids), commonest first (ties: first seen)."""
        ranked = sorted(self.messages.items(), key=lambda kv: -kv[1][0])[:n]
        return [(text, count, ids) for text, (count, ids) in ranked]

    def count(self, decision: Any, n: int) -> None:
        entry = self.decisions.get(id(decision))
        if entry is None:
            self.decisions[id(decision)] = [decision, n]
        else:
            entry[1] += n

    def fold(self) -> "Summary":
        statuses = self.statuses
        for decision, n in self.decisions.values():
            for d, s in decision.status.items():
                counter = statuses.get(d)
                if counter is None:
                    counter = statuses[d] = Counter()
                counter[s.value] += n
            self.fired.update(decision.fired)
        self.decisions.clear()
        return self

    def merge(self, other: "Summary") -> None:
        other.fold()
        self.cases += other.cases
        self.valid += other.valid
        self.invalid += other.invalid
        self.expectations += other.expectations
        self.expectation_failures += other.expectation_failures
        for d, c in other.statuses.items():
            self.statuses.setdefault(d, Counter()).update(c)
        self.fired |= other.fired
        self.invalid_examples += other.invalid_examples[:EXAMPLES - len(self.invalid_examples)]
        self.failure_examples += other.failure_examples[:EXAMPLES - len(self.failure_examples)]
        for text, (n, ids) in other.messages.items():
            self._message(text, n, ids)
        self.other_messages += other.other_messages
        for note in other.notes:
            if len(self.notes) < NOTES:
                self.notes.setdefault(note)

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and self.expectation_failures == 0

    def unfired(self) -> list[str]:
        self.fold()
        return [r for r in self.all_rules if r not in self.fired]

    def text(self, kb: Any = None) -> str:
        """The summary for people; with ``kb``, a first line naming the knowledge base (name, version and
        the start of its SHA-256) that gave every decision counted."""
        self.fold()
        lines = [f"knowledge base: {escape_controls(kb.header.name)} {escape_controls(kb.header.version)} "
                 f"(sha256 {kb.sha256[:12]})"] if kb is not None else []
        lines += [f"cases: {self.cases}  valid: {self.valid}  invalid: {self.invalid}  "
                 f"expectations: {self.expectations}  expectation failures: {self.expectation_failures}"
                 + (f"  duplicate ids: {self.duplicate_ids} (flagged duplicate_id; every case kept)" if self.duplicate_ids else "")]
        width = max((len(d) for d in self.statuses), default=0) + 1
        for d, c in self.statuses.items():
            lines.append(f"  {escape_controls(d):<{width}} " + "  ".join(f"{s.value}: {c.get(s.value, 0)}" for s in _statuses(kb)))
        lines += [escape_controls(note, 400) for note in self.notes]
        if self.messages or self.other_messages:
            common = self.common_errors(SHOWN)
            lines.append(f"most common errors ({len(common)} of {len(self.messages) + bool(self.other_messages)} distinct):")
            width = len(f"{common[0][1]:,}")
            for text, count, ids in common:
                first = ", ".join(escape_controls(i, 200) for i in ids)
                lines.append(f"  {count:>{width},} × {text}  (first: {first}{', …' if count > len(ids) else ''})")
        unfired = self.unfired()
        lines.append("rule coverage: every rule fired in at least one case" if not unfired
                     else f"rules that fired in no case ({len(unfired)}): {', '.join(unfired)}")
        if self.duplicate_check_stopped_at is not None:
            lines.append(f"duplicate ids: checked among the first {self.duplicate_check_stopped_at:,} ids only "
                         "(--duplicate-check-limit)")
        return "\n".join(lines)

    def to_json(self, kb: Any, seconds: float) -> str:
        self.fold()
        data = {
            "knowledge_base": dict(kb.identity),  # name, version, sha256
            "cases": self.cases, "valid": self.valid, "invalid": self.invalid,
            "expectations": self.expectations, "expectation_failures": self.expectation_failures,
            "duplicate_ids": self.duplicate_ids, "duplicate_check_stopped_at": self.duplicate_check_stopped_at,
            "status": {d: {s.value: c.get(s.value, 0) for s in _statuses(kb)} for d, c in self.statuses.items()},
            "rule_coverage": {"rules": len(self.all_rules), "fired": len(self.all_rules) - len(self.unfired()),
                              "not_fired": self.unfired()},
            "invalid_cases": self.invalid_examples, "expectation_failure_cases": self.failure_examples,
            "common_errors": [{"error": text, "cases": count, "first_ids": ids} for text, count, ids in self.common_errors(EXAMPLES)],
            "notes": list(self.notes),
            "seconds": round(seconds, 3), "cases_per_second": round(self.cases / seconds) if seconds > 0 else None,
        }
        return json_safe(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"  # ids: controls as \u escapes


def _statuses(kb: Any) -> Any:
    """The statuses counted, in their order: the KB's own (statuses.toml), the packaged ones without a KB."""
    return kb.status_set.enum if kb is not None and hasattr(kb, "status_set") else Status
