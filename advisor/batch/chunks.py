"""A unit of work (a JSONL block or a list of raw cases) assessed and rendered, in a worker or in the
main process. Two paths give the same bytes (a test checks it on a mixed corpus):

* the plain path: ``records.assess`` then ``records.to_record``, case by case;
* the fast path, for JSONL blocks with the default options: the whole block is decoded in one call by
  msgspec into a typed struct derived from the facts model; each distinct value of each field is
  validated once by the facts model itself (and its decision class taken from the Advisor); the
  decision comes from the Advisor once per class and the record's tail is rendered once per decision
  and caution set. Any line the fast path cannot take (not JSON, an unknown field, a value the model
  refuses, an unusual id, an ``expect`` block) goes through the plain path, so error texts are the same.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any

import msgspec

from ..core import Advisor
from ..errors import InvalidFacts
from ..models import PatientFacts
from .readers import JsonlBlock, RawCase, split_block
from .records import KINDS, Assessed, CaseOptions, assess, to_record
from .summary import Summary
from .writers import Chunk, JsonlWriter, encode

Result = tuple[bytes, list[int], list[int], Summary]
_CACHE_LIMIT = 100_000  # distinct values (or decisions) remembered per field


def id_hash(record_id: str) -> int:
    """8 bytes standing for an id, to find repeated ids in any number of cases in little memory."""
    return int.from_bytes(hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


class Worker:
    """What a process needs to assess chunks: the Advisor, the writer, the options and the caches
    (kept here, in batch, for the length of a run)."""

    def __init__(self, advisor: Advisor, writer: JsonlWriter, options: CaseOptions = CaseOptions(), fast: bool = True):
        self.advisor, self.writer, self.options = advisor, writer, options
        self.fast = _FastPath(advisor, writer) if fast and options == CaseOptions() and _FastPath.possible() else None

    def process(self, item: JsonlBlock | list[RawCase]) -> Result:
        chunk, summary = Chunk(), Summary(self.advisor.drug_ids)
        if isinstance(item, JsonlBlock):
            if self.fast is not None:
                self.fast.block(item, chunk, summary, self.plain)
            else:
                for raw in split_block(item):
                    self.plain(raw, chunk, summary)
        else:
            for raw in item:
                self.plain(raw, chunk, summary)
        return b"".join(chunk.parts), chunk.ends, chunk.hashes, summary.fold()

    def plain(self, raw: RawCase, chunk: Chunk, summary: Summary) -> None:
        a: Assessed = assess(self.advisor, raw, self.options)
        summary.add(a, raw.source)
        record = to_record(self.advisor, raw.source, a, self.options)
        w = self.writer
        chunk.add(w.head(a.record_id, raw.source) + w.tail(record), self._end, id_hash(a.record_id) if a.given_id else None)

    @property
    def _end(self) -> bytes:
        return encode(self.writer.end(False))


_INVALID = object()


class _FastPath:
    @staticmethod
    def possible() -> bool:
        fields = PatientFacts.model_fields
        return "id" in fields and all(not f.is_required() or _first_value(f.annotation) is not None for f in fields.values())

    def __init__(self, advisor: Advisor, writer: JsonlWriter):
        self.advisor, self.writer = advisor, writer
        fields = PatientFacts.model_fields
        types = {"text": str, "int": int, "float": int | float, "bool": bool, "list": list[str]}
        spec = [(name, types[KINDS[name]]) if f.is_required() else (name, types[KINDS[name]], None)
                for name, f in fields.items()]
        spec.sort(key=len)  # msgspec: fields without a default first
        self.decoder = msgspec.json.Decoder(msgspec.defstruct("FastCase", spec, forbid_unknown_fields=True))
        self.names = [n for n in fields if n != "id"]
        self.base = {n: _first_value(f.annotation) for n, f in fields.items() if f.is_required()}
        self.max_id = next((m.max_length for m in fields["id"].metadata if hasattr(m, "max_length")), None) or 200
        self.tested = set(advisor.tested_facts)
        self.values: dict[str, dict] = {n: {} for n in self.names}
        self.decisions: dict[tuple, Any] = {}
        self.cautions: dict[tuple, tuple[str, ...]] = {}
        self.tails: dict[tuple, str] = {}
        self.end = encode(writer.end(False))
        self.default_parts = {n: advisor.fact_class(n, fields[n].default) for n in advisor.tested_facts
                              if not fields[n].is_required()}

    def _value(self, name: str, value: Any) -> Any:
        """(normalised value, decision-class part) of one field's value, or _INVALID."""
        key = (value, type(value)) if not isinstance(value, list) else tuple(value)
        cache = self.values[name]
        found = cache.get(key)
        if found is None:
            try:
                facts = PatientFacts.parse({**self.base, name: value})
            except InvalidFacts:
                found = _INVALID
            else:
                norm = getattr(facts, name)
                found = (norm, self.advisor.fact_class(name, norm) if name in self.tested else None)
            if len(cache) < _CACHE_LIMIT:
                cache[key] = found
        return found

    def block(self, block: JsonlBlock, chunk: Chunk, summary: Summary, plain: Any) -> None:
        lines = None
        try:
            cases = self.decoder.decode_lines(block.data)
            if len(cases) != block.data.count(b"\n") + 1:
                cases = None  # blank lines: decoded one by one below, to keep line numbers
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError):
            cases = None
        if cases is None:
            lines = block.data.split(b"\n")
            cases = [self._decode(line) for line in lines]
        name, first = block.name, block.first_line
        for i, case in enumerate(cases):
            if case is None or not self._one(case, f"{name}:{first + i}", chunk, summary):
                if lines is None:
                    lines = block.data.split(b"\n")
                if lines[i].strip():
                    plain(RawCase(f"{name}:{first + i}", "line", lines[i]), chunk, summary)

    def _decode(self, line: bytes) -> Any:
        try:
            return self.decoder.decode(line) if line.strip() else None
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError):
            return None

    def _one(self, case: Any, source: str, chunk: Chunk, summary: Summary) -> bool:
        record_id = case.id
        if record_id is not None and not (0 < len(record_id) <= self.max_id and record_id.isascii() and record_id.isprintable()):
            return False
        parts, norm = {}, {}
        for name in self.names:
            value = getattr(case, name)
            if value is None:
                continue
            found = self._value(name, value)
            if found is _INVALID:
                return False
            norm[name] = found[0]
            if found[1] is not None:
                parts[name] = found[1]
        key = tuple(parts[n] if n in parts else self.default_parts[n] for n in self.advisor.tested_facts)
        decision = self.decisions.get(key)
        if decision is None:
            decision = self.advisor.decide(PatientFacts.parse({**self.base, **norm}))
            if len(self.decisions) < _CACHE_LIMIT:
                self.decisions[key] = decision
        conditions = norm.get("conditions", ())
        caution_ids = self.cautions.get(conditions)
        if caution_ids is None:
            caution_ids = self.advisor.caution_rules(SimpleNamespace(conditions=conditions))  # type: ignore[arg-type]
            if len(self.cautions) < _CACHE_LIMIT:
                self.cautions[conditions] = caution_ids
        tail = self.tails.get((id(decision), caution_ids))
        if tail is None:
            a = Assessed("", None, False, decision=decision, caution_ids=caution_ids, facts=True)  # type: ignore[arg-type]
            tail = self.writer.tail(to_record(self.advisor, "", a))
            if len(self.tails) < _CACHE_LIMIT:
                self.tails[(id(decision), caution_ids)] = tail
        summary.cases += 1
        summary.valid += 1
        summary.count(decision, 1)
        if caution_ids:
            summary.fired.update(caution_ids)
        if record_id is None:
            chunk.add(self.writer.head(source, source) + tail, self.end, None)
        else:
            chunk.add(self.writer.head(record_id, source) + tail, self.end, id_hash(record_id))
        return True



def _first_value(annotation: Any) -> Any:
    members = getattr(annotation, "__members__", None)
    return next(iter(members.values())).value if members else None
