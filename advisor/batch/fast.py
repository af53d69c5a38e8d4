"""The fast path, for JSONL blocks with the default options: the whole block is decoded in one call by
msgspec into a typed struct derived from the facts model; each distinct value of each field is validated
once by the facts model itself (and its decision class taken from the Advisor); the decision comes from
the Advisor once per class and the record's tail is put together once per decision and caution set.
Any line the fast path cannot take (not JSON, an unknown field or a key given twice, a value the model
refuses, a number no float holds exactly, an unusual id, an ``expect`` block) goes to the plain path
(``Worker.plain``), so error texts are the same.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from operator import attrgetter
from types import SimpleNamespace
from typing import Any, Protocol

import msgspec

from advisor.errors import InvalidFacts
from advisor.core.models import PatientFacts, float_from_text
from advisor.batch.csv_columns import kinds_of
from advisor.batch.sources import JsonlBlock, RawCase, nonblank
from advisor.batch.summary import Summary
from advisor.batch.tails import Entry, Tails
from advisor.batch.writers import Chunk



class Worker(Protocol):
    """What the fast path uses of the worker that runs it (``chunks.Worker``): its advisor, writer and id
    hasher, and its plain path for a line the fast path does not take."""
    advisor: Any
    writer: Any
    hasher: Any

    def plain(self, raw: RawCase, chunk: Chunk, summary: Summary) -> None: ...

_CACHE_LIMIT = 100_000  # distinct values (or decisions) remembered per field


_TAIL, _DECISION_ID, _CAUTIONS = attrgetter("tail"), attrgetter("decision_id"), attrgetter("caution_ids")
_INVALID = object()
_KEY = re.compile(rb'"\s*:')  # the end of an object key (or a `":` inside a string)
_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, ValueError, RecursionError)
_NUMERIC = bytes.maketrans(b"0123456789.eE+-", b"00000000000eess")  # for FastPath._inexact's first look
_NULL = msgspec.Raw(b"null")


class FastPath:
    @staticmethod
    def possible(model: type[PatientFacts] = PatientFacts) -> bool:
        fields = model.model_fields
        return "id" in fields and "conditions" in fields and \
            all(not f.is_required() or _first_value(f.annotation) is not None for f in fields.values())

    def __init__(self, worker: Worker):
        self.worker = worker
        advisor = self.advisor = worker.advisor
        self.model = model = advisor.facts_model
        fields = model.model_fields
        KINDS = kinds_of(model)  # noqa: N806
        types = {"text": str, "int": int, "float": int | float, "bool": bool, "list": tuple[str, ...]}
        spec = [(name, types[KINDS[name]]) if f.is_required() else (name, types[KINDS[name]], None)
                for name, f in fields.items()]
        spec.sort(key=len)  # msgspec: fields without a default first
        self.decoder = msgspec.json.Decoder(msgspec.defstruct("FastCase", spec, forbid_unknown_fields=True))
        numbers = [(name, msgspec.Raw, _NULL) for name in fields if KINDS[name] in ("int", "float")]
        self.numbers = msgspec.json.Decoder(msgspec.defstruct("FastNumbers", numbers))  # their texts, for _inexact
        self.names = [n for n in fields if n != "id"]
        self.base = {n: _first_value(f.annotation) for n, f in fields.items() if f.is_required()}
        self.max_id = next((m.max_length for m in fields["id"].metadata if hasattr(m, "max_length")), None) or 200
        # The key of a case: per tested fact the number of its decision class, and the number of the
        # set of caution rules its conditions meet (small ints: cheap to hash). Bounded by the KB.
        self.keyed = (*advisor.tested_facts, "conditions")
        self.interned: dict[Any, int] = {}
        self.parts: list[Any] = []
        self.values: dict[str, dict[Any, Any]] = {n: {} for n in self.names}  # value -> part number or _INVALID
        for n in self.names:  # a field not given decodes as None: its default's part
            if not fields[n].is_required():
                self.values[n][None] = self._part(n, fields[n].get_default(call_default_factory=True))
        self.records: dict[tuple[Any, ...], Entry] = {}  # key -> its entry
        self.decisions: dict[tuple[Any, ...], Any] = {}  # decision key -> Decision (never evicted: bounded by the KB)
        self.by_identity: dict[int, Any] = {}  # id(decision) -> Decision, for the decisions above
        self.tails = Tails(advisor, worker.writer)

    def _part(self, name: str, norm: Any) -> int:
        part: tuple[str, ...] | tuple[bool, ...]
        if name == "conditions":
            part = self.advisor.caution_rules(SimpleNamespace(conditions=norm))
        elif name in self.keyed:
            part = self.advisor.fact_class(name, norm)
        else:
            return -1  # a fact no rule tests
        number = self.interned.get(part)
        if number is None:
            number = self.interned[part] = len(self.parts)
            self.parts.append(part)
        return number

    def _validate(self, name: str, value: Any, key: Any) -> Any:
        """The part number of one field's value, or _INVALID: the facts model judges the value
        (beside valid defaults for the other fields), the Advisor classes it."""
        try:
            facts = self.model.parse({**self.base, name: value})
        except InvalidFacts:
            found: Any = _INVALID
        else:
            found = self._part(name, getattr(facts, name))
        cache = self.values[name]
        if len(cache) < _CACHE_LIMIT:
            cache[key] = found
        return found

    def _column(self, name: str, values: list[Any]) -> list[Any]:
        """The part number (or _INVALID) of each value of one field. The values themselves are the keys:
        lists are decoded as tuples, a field not given is None (its default's part is cached under None),
        and a whole number written 5 or 5.0 is an equal key that the model also judges alike (an int
        becomes the equal float, within the same bounds)."""
        cache = self.values[name]
        out = list(map(cache.get, values))
        for j in _nones(out):  # the values not seen yet
            found = cache.get(values[j])  # a value repeated in this block is judged once
            out[j] = self._validate(name, values[j], values[j]) if found is None else found
        return out

    def block(self, block: JsonlBlock, chunk: Chunk, summary: Summary) -> None:
        data = block.bytes()
        lines: list[bytes] | None = None
        numbers: Any = None  # with blank lines: the index in the block of each of `lines` (all not blank)
        try:
            cases = self.decoder.decode_lines(data)
            if len(cases) != data.count(b"\n") + 1:
                raise ValueError("blank lines")  # left out below, to keep line numbers
            present = cases
        except _ERRORS:
            numbers, lines = nonblank(data)  # the blank lines are found in C, never one by one
            try:
                if len(lines) == data.count(b"\n") + 1:
                    raise ValueError("no blank lines: a line msgspec cannot take")
                data = b"\n".join(lines)  # the lines that are not blank: what is counted and searched below
                cases = self.decoder.decode_lines(data)
                if len(cases) != len(lines):
                    raise ValueError("a line msgspec cannot take")
            except _ERRORS:
                cases = [self._decode(line) for line in lines]
            present = [c for c in cases if c is not None]
        given = {n: list(map(attrgetter(n), present)) for n in self.names}
        columns = {n: self._column(n, given[n]) for n in self.names}
        ids = list(map(attrgetter("id"), present))
        bad = self._refused(columns, ids)
        # A key given twice decodes silently to its last value: every key in the block must be one that a
        # case holds. Each key is a string before a colon, so counting those cannot miss one (a `":` inside
        # a string, or an explicit null, only sends its line to the plain path, which tells them apart).
        # First the colons, in C: no more colons than keys the cases hold proves that no key is repeated.
        held = sum(len(v) - v.count(None) for v in given.values()) + len(ids) - ids.count(None)
        if data.count(b":") != held and len(_KEY.findall(data)) != held:
            lines = lines or data.split(b"\n")
            j = -1
            for i, case in enumerate(cases):
                if case is not None:
                    j += 1
                    if len(_KEY.findall(lines[i])) != sum(getattr(case, n) is not None for n in (*self.names, "id")):
                        bad.add(j)
        bad |= self._inexact(data, cases, lines)
        # The key of each case: the part numbers of its tested facts, then of its caution set.
        keys = list(zip(*(columns[n] for n in self.keyed)))
        records = self.records
        entries: list[Any] = list(map(records.get, keys))  # an Entry, or None for a case in `bad`
        for j in _nones(entries):  # the keys not seen yet
            if j not in bad:
                key = keys[j]
                entries[j] = records.get(key) or self._entry(key, present[j])
        w, worker, hasher = self.worker.writer, self.worker, self.worker.hasher
        name, first = block.name, block.first_line
        if lines is None and not bad and None not in ids:  # the common case: the whole block at once
            chunk.extend(w.texts(ids, name, first, map(_TAIL, entries)), list(map(hasher, ids)))
            self._count(entries, summary)
            return
        used: list[Entry] = []
        j = -1
        for i, case in enumerate(cases):
            n = first + (i if numbers is None else numbers[i])
            if case is not None:
                j += 1
                if j not in bad:
                    entry, record_id, source = entries[j], ids[j], f"{name}:{n}"
                    used.append(entry)
                    chunk.add(w.head(source if record_id is None else record_id, source) + entry.tail,
                              None if record_id is None else hasher(record_id))
                    continue
            if lines is None:
                lines = data.split(b"\n")
            if lines[i].strip():
                worker.plain(RawCase(f"{name}:{n}", "line", lines[i]), chunk, summary)
        self._count(used, summary)

    def _count(self, entries: list[Entry], summary: Summary) -> None:
        """Count the cases of a block by decision and caution set, each counted in C (a decision by its
        identity: one object per decision key)."""
        summary.cases += len(entries)
        summary.valid += len(entries)
        decisions = self.by_identity
        for identity, n in Counter(map(_DECISION_ID, entries)).items():
            summary.count(decisions[identity], n)
        for caution_ids in set(map(_CAUTIONS, entries)):
            summary.fired.update(caution_ids)

    def _refused(self, columns: dict[str, list[Any]], ids: list[Any]) -> set[int]:
        """Indexes of the cases the fast path does not take: a value the model refuses, an unusual id."""
        bad: set[int] = set()
        for col in columns.values():
            if _INVALID in col:
                bad.update(j for j, f in enumerate(col) if f is _INVALID)
        given_ids = ids if None not in ids else [i for i in ids if i is not None]
        given = "".join(given_ids)
        if not (given.isascii() and given.isprintable()) or \
                (given_ids and not 0 < min(map(len, given_ids)) <= max(map(len, given_ids)) <= self.max_id):
            bad.update(j for j, i in enumerate(ids)
                       if i is not None and not (0 < len(i) <= self.max_id and i.isascii() and i.isprintable()))
        return bad

    def _inexact(self, data: bytes, cases: list[Any], lines: list[bytes] | None) -> set[int]:
        """Indexes of the cases holding a number no float holds exactly (models.float_from_text): the
        plain path refuses it, msgspec reads its nearest float. Only a number of 16 or more characters
        or with an exponent of 3 or more digits can be one, so a block with no run of 16 digits and
        no digit-e-digits costs a translate and three searches; else the numbers' texts are decoded."""
        t = data.translate(_NUMERIC)
        if b"0000000000000000" not in t and b"0e000" not in t and b"0es000" not in t:
            return set()
        try:
            texts = self.numbers.decode_lines(data)
            if len(texts) != len(cases):
                raise ValueError("blank lines")
        except _ERRORS:
            texts = [self._decode(line, self.numbers) for line in (lines or data.split(b"\n"))]
        bad, j = set(), -1
        for case, numbers in zip(cases, texts):
            if case is not None:
                j += 1
                if numbers is None or any(_inexact(bytes(raw)) for raw in msgspec.structs.astuple(numbers)):
                    bad.add(j)
        return bad

    def _entry(self, key: tuple[Any, ...], case: Any) -> Entry:
        """The entry of one key (its tested facts' parts, then its caution set's); the decision from the
        Advisor."""
        decision_key = key[:-1]
        decision = self.decisions.get(decision_key)
        if decision is None:
            values = {n: v for n, v in msgspec.structs.asdict(case).items() if v is not None and n != "id"}
            decision = self.decisions[decision_key] = self.advisor.decide(self.model.parse(values))
            self.by_identity[id(decision)] = decision
        caution_ids = self.parts[key[-1]]
        entry = Entry(decision, caution_ids, self.tails.tail(decision, caution_ids))
        if len(self.records) < _CACHE_LIMIT:
            self.records[key] = entry
        return entry

    def _decode(self, line: bytes, decoder: Any = None) -> Any:
        try:
            return (decoder or self.decoder).decode(line) if line.strip() else None
        except _ERRORS:
            return None


def _nones(items: list[Any]) -> Iterator[int]:
    """The indexes of None in ``items``, each found in C (few, usually none, in a long list)."""
    j = -1
    while True:
        try:
            j = items.index(None, j + 1)
        except ValueError:
            return
        yield j


def _inexact(text: bytes) -> bool:
    """Whether a JSON value's text is a number no float holds exactly (a string, a list...: False)."""
    if len(text) < 16 and b"e" not in text and b"E" not in text:
        return False
    try:
        return type(float_from_text(text.decode("utf-8", "replace"))) is not float
    except ValueError:  # not a number: the model judges it as it is
        return False


def _first_value(annotation: Any) -> Any:
    members = getattr(annotation, "__members__", None)
    return next(iter(members.values())).value if members else None
