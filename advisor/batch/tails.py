"""What the fast path writes for a case, by key: an Entry (decision, caution rule ids, the record's tail),
and the tails themselves, put together from parts rendered once per decision and once per caution set."""

from __future__ import annotations

from typing import Any

from advisor.core.advisor import Advisor
from advisor.batch.records import Assessed, to_record
from advisor.batch.writers import JsonlWriter


class Entry:
    """What the fast path knows for one key: the decision, the caution rule ids and the record's tail.
    Hashes by identity (one object per key), so a block's cases are counted by entry cheaply."""
    __slots__ = ("decision", "decision_id", "caution_ids", "tail")

    def __init__(self, decision: Any, caution_ids: tuple[str, ...], tail: str):
        self.decision, self.decision_id, self.caution_ids, self.tail = decision, id(decision), caution_ids, tail


class Tails:
    """Record tails for (decision, caution set) pairs, for one writer; caches kept for a run."""

    def __init__(self, advisor: Advisor, writer: JsonlWriter):
        self.advisor, self.writer = advisor, writer
        self.pieces: dict[int, Any] = {}  # per decision: its rendered fields, the text around cautions and rules, its rules
        self.fields: dict[Any, Any] = {}  # per caution set: its cautions field, its rule ids

    def tail(self, decision: Any, caution_ids: tuple[str, ...]) -> str:
        """The record's tail for a decision and a caution set. A writer that renders each field of a
        record on its own (JSON) renders the parts that depend on only one of the two once, and puts a
        tail together from them."""
        w = self.writer
        if w.field is None:
            a = Assessed("", None, False, decision=decision, caution_ids=caution_ids, facts=True)
            return w.tail(to_record(self.advisor, "", a))
        pieces = self.pieces.get(id(decision))
        if pieces is None:
            record = to_record(self.advisor, "", Assessed("", None, False, decision=decision, facts=True))  # type: ignore[arg-type]
            fields = {k: w.field(k, v) for k, v in record.items() if k not in ("id", "source")}
            pieces = self.pieces[id(decision)] = (fields, w.around(fields, "cautions", "rules"),
                                                  ",".join(w.strings(decision.fired)))
        cautions = self.fields.get(caution_ids)
        if cautions is None:
            cautions = self.fields[caution_ids] = (w.field("cautions", self.advisor.cautions_by_drug(caution_ids)),
                                                   ",".join(w.strings(caution_ids)))
        fields, around, fired = pieces
        rules = w.strings_field("rules", [p for p in (fired, cautions[1]) if p])
        if around is None:
            return w.join({**fields, "cautions": cautions[0], "rules": rules})
        before, between, after = around
        return before + cautions[0] + between + rules + after
