"""Batch evaluation: stream cases from files, advise on each, write one record per case, in order.

Library use::

    from advisor.batch import evaluate, read_paths
    for record in evaluate([{"ms_type": "spms", "severity": "severe"}]):
        print(record["listed"])

Readers stream: JSONL and CSV line by line, YAML document by document; a .json file is one case or an
array of cases and is parsed whole (write large inputs as JSONL). A case that cannot be read or is
invalid becomes an ``ok: false`` record naming the problem; nothing is dropped or repaired.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from .casefile import CASE_KEYS, CaseFileError, parse_yaml_stream
from .core import Advisor, Decision
from .errors import InvalidFacts
from .models import PatientFacts, Status

FORMATS = ("jsonl", "csv", "json")
# One encoder for every record: json.dumps(..., ensure_ascii=False) would build a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
INPUT_SUFFIXES = (".jsonl", ".json", ".yaml", ".yml", ".csv")


class RawCase(NamedTuple):
    """A case as read, before parsing: ``kind`` says what ``payload`` is."""
    source: str              # file:line (or file:line of the item)
    kind: str                # "line" (a JSONL line), "object" (parsed data), "csv" (a row of strings), "error"
    payload: Any


class JsonlBlock(NamedTuple):
    """Whole lines of a JSONL file as bytes, starting at line ``first_line``: cheap to hand to a worker
    process, which splits and decodes them (a line that is not UTF-8 spoils only itself)."""
    name: str
    first_line: int
    data: bytes


BLOCK_BYTES = 256 * 1024


def expand_block(block: JsonlBlock) -> list[RawCase]:
    cases = []
    for i, raw in enumerate(block.data.split(b"\n")):
        if not raw.strip():
            continue
        source = f"{block.name}:{block.first_line + i}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            cases.append(RawCase(source, "error", f"line is not UTF-8 text (byte {e.start + 1} of the line)"))
            continue
        if block.first_line + i == 1:
            text = text.removeprefix("\ufeff")
        cases.append(RawCase(source, "line", text))
    return cases


def _jsonl_blocks(stream: Any, name: str) -> Iterator[JsonlBlock]:
    line, carry = 1, b""
    while True:
        data = stream.read(BLOCK_BYTES)
        if not data:
            break
        data = carry + data
        cut = data.rfind(b"\n")
        if cut < 0:  # a very long line: keep reading until it ends
            carry = data
            continue
        block, carry = data[:cut], data[cut + 1:]
        yield JsonlBlock(name, line, block)
        line += block.count(b"\n") + 1
    if carry:  # a last line with no newline after it
        yield JsonlBlock(name, line, carry)


# --- expectations ------------------------------------------------------------------------------------

class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listed: list[str] | None = None
    status: dict[str, Status] | None = None


def _check_expectation(raw: Any, drug_ids: tuple[str, ...]) -> Expectation:
    try:
        exp = Expectation.model_validate(raw)
    except ValidationError as e:
        raise InvalidFacts([{"field": ".".join(["expect", *map(str, err["loc"])]), "message": err["msg"].lower(),
                             **({"allowed": list(Expectation.model_fields)} if err["type"] == "extra_forbidden" else {})}
                            for err in e.errors()]) from None
    unknown = [d for d in (exp.listed or []) if d not in drug_ids] + [d for d in (exp.status or {}) if d not in drug_ids]
    if unknown:
        raise InvalidFacts([{"field": "expect", "message": f"unknown drug(s) {', '.join(unknown)}", "allowed": list(drug_ids)}])
    return exp


def differences(exp: Expectation, listed: tuple[str, ...], status: dict[str, Status]) -> list[str]:
    out = []
    if exp.listed is not None and list(listed) != exp.listed:
        out.append(f"listed: expected {exp.listed}, got {list(listed)}")
    for drug, want in (exp.status or {}).items():
        if status[drug] is not want:
            out.append(f"status.{drug}: expected {want.value}, got {status[drug].value}")
    return out


# --- one case ----------------------------------------------------------------------------------------

def _from_csv(row: dict[str | None, Any]) -> dict[str, Any]:
    """A CSV row (all strings) as case data: empty cells mean the default; numbers and flags are parsed
    strictly, and a cell that does not parse is passed on as text so that validation names the field."""
    if None in row:
        raise InvalidFacts([{"field": "(row)", "message": f"{len(row[None])} more cell(s) than the header has columns"}])
    missing = [k for k, v in row.items() if v is None]
    if missing:
        raise InvalidFacts([{"field": k, "message": "cell missing: the row has fewer cells than the header"} for k in missing])
    data: dict[str, Any] = {}
    expect: dict[str, Any] = {}
    for key, cell in row.items():
        assert key is not None
        value = cell.strip()
        if value == "":
            continue
        if key == "prior_failures":
            data[key] = int(value) if value.isdigit() and value.isascii() else value
        elif key == "mitoxantrone_cumulative_mg_m2":
            try:
                data[key] = float(value)
            except ValueError:
                data[key] = value
        elif key == "rapidly_worsening":
            data[key] = {"true": True, "false": False}.get(value.lower(), value)
        elif key == "conditions":
            data[key] = [c.strip() for c in value.split(";") if c.strip()]
        elif key == "expect.listed":
            expect["listed"] = [] if value.lower() == "none" else [d.strip() for d in value.split(";") if d.strip()]
        elif key.startswith("expect.status."):
            expect.setdefault("status", {})[key.removeprefix("expect.status.")] = value
        else:
            data[key] = value
    if expect:
        data["expect"] = expect
    return data


def _parse(raw: RawCase) -> dict[str, Any]:
    if raw.kind == "error":
        raise InvalidFacts([{"field": "(case)", "message": raw.payload}])
    if raw.kind == "line":
        try:
            data = json.loads(raw.payload)
        except json.JSONDecodeError as e:
            raise InvalidFacts([{"field": "(case)", "message": f"not valid JSON: {e.msg} at column {e.colno}"}]) from None
    elif raw.kind == "csv":
        data = _from_csv(raw.payload)
    else:
        data = raw.payload
    if not isinstance(data, dict):
        raise InvalidFacts([{"field": "(case)", "message": f"a case must be a mapping of fact names to values, got {type(data).__name__}"}])
    if raw.kind != "line" and any(not isinstance(k, str) for k in data):  # JSON keys are always strings
        raise InvalidFacts([{"field": "(case)", "message": "fact names must be strings"}])
    return data


class Outcome(NamedTuple):
    """One case assessed: its id, and either an error or the validated facts with the decision."""
    record_id: str
    error: str | None
    given_id: bool = False
    facts: PatientFacts | None = None
    decision: Decision | None = None
    caution_ids: tuple[str, ...] = ()
    expectation: Expectation | None = None
    differences: tuple[str, ...] = ()


def assess(advisor: Advisor, raw: RawCase) -> Outcome:
    """Parse, validate and decide one case. Never raises for bad input: the outcome says what is wrong."""
    record_id = raw.source
    if raw.kind == "csv" and isinstance(raw.payload.get("id"), str) and raw.payload["id"].strip():
        record_id = raw.payload["id"].strip()  # known even when the rest of the row is broken
    try:
        data = _parse(raw)
        given_id = data.get("id")
        if isinstance(given_id, str) and given_id:
            record_id = given_id
        errors: list[dict] = []
        facts = expectation = None
        try:
            facts = PatientFacts.parse({k: v for k, v in data.items() if k not in CASE_KEYS} if "expect" in data else data)
        except InvalidFacts as e:
            errors += e.errors
        if "expect" in data:
            try:
                expectation = _check_expectation(data["expect"], advisor.drug_ids)
            except InvalidFacts as e:
                errors += e.errors
        if errors or facts is None:
            raise InvalidFacts(errors)
    except InvalidFacts as e:
        return Outcome(record_id, str(e), record_id != raw.source)
    decision = advisor.decide(facts)
    diffs = tuple(differences(expectation, decision.listed, decision.status)) if expectation is not None else ()
    return Outcome(record_id, None, record_id != raw.source, facts, decision, advisor.caution_rules(facts), expectation, diffs)


def to_record(advisor: Advisor, raw: RawCase, o: Outcome, full: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {"id": o.record_id, "source": raw.source, "ok": o.error is None, "error": o.error}
    if o.error is None:
        assert o.decision is not None and o.facts is not None
        record.update(listed=list(o.decision.listed), status={d: s.value for d, s in o.decision.status.items()},
                      cautions=advisor.cautions_by_drug(o.caution_ids), rules=[*o.decision.fired, *o.caution_ids])
        if o.expectation is not None:
            record.update(expected_ok=not o.differences, differences=list(o.differences))
        if full:
            record["recommendation"] = advisor.advise(o.facts).model_dump(mode="json")
    return record


def evaluate_one(advisor: Advisor, raw: RawCase, full: bool = False) -> dict[str, Any]:
    """The output record for one case. Never raises for bad input: the record says what is wrong."""
    return to_record(advisor, raw, assess(advisor, raw), full)


def evaluate(cases: Iterable[dict[str, Any]], *, advisor: Advisor | None = None, full: bool = False) -> Iterator[dict[str, Any]]:
    """Stream one record per case (a dict of facts, optionally with ``expect``), in order."""
    from .api import default_advisor

    advisor = advisor or default_advisor()
    seen: set[int] = set()
    for n, case in enumerate(cases, 1):
        record = evaluate_one(advisor, RawCase(f"#{n}", "object", case), full)
        if record["id"] != f"#{n}":
            h = id_hash(record["id"])
            if h in seen:
                record["duplicate_id"] = True
            seen.add(h)
        yield record


# --- reading files -----------------------------------------------------------------------------------

def expand(paths: Iterable[str]) -> list[str]:
    """Files to read: each path as given, directories recursively in sorted order; '-' is stdin."""
    out = []
    for p in paths:
        if p == "-":
            out.append(p)
        elif os.path.isdir(p):
            out += sorted(str(f) for f in Path(p).rglob("*") if f.is_file() and f.suffix.lower() in INPUT_SUFFIXES)
        else:
            out.append(p)
    return out


def read_file(path: str) -> Iterator[RawCase | JsonlBlock]:
    """Stream the raw cases of one file (or '-' for JSONL on stdin): JSONL as blocks of whole lines,
    other formats case by case. A file that cannot be read yields one error case naming it."""
    suffix = ".jsonl" if path == "-" else Path(path).suffix.lower()
    name = "<stdin>" if path == "-" else path
    if suffix == ".jsonl":
        try:
            binary = sys.stdin.buffer if path == "-" else open(path, "rb")
        except OSError as e:
            yield RawCase(name, "error", f"cannot read {name}: {e.strerror}")
            return
        try:
            yield from _jsonl_blocks(binary, name)
        finally:
            if path != "-":
                binary.close()
        return
    try:
        if path == "-":
            stream: Any = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", errors="strict", newline="")
        else:
            stream = open(path, encoding="utf-8-sig", errors="strict", newline="")
    except OSError as e:
        yield RawCase(name, "error", f"cannot read {name}: {e.strerror}")
        return
    try:
        if suffix == ".csv":
            yield from _read_csv(stream, name)
        elif suffix == ".json":
            try:
                data = json.loads(stream.read())
            except json.JSONDecodeError as e:
                yield RawCase(f"{name}:{e.lineno}", "error", f"not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})")
                return
            items = data if isinstance(data, list) else [data]
            for i, item in enumerate(items, 1):
                yield RawCase(f"{name}:{i}" if isinstance(data, list) else name, "object", item)
        elif suffix in (".yaml", ".yml"):
            for line, item in parse_yaml_stream(stream, name):
                yield RawCase(f"{name}:{line}", "object", item) if not isinstance(item, CaseFileError) \
                    else RawCase(f"{name}:{line}", "error", str(item))
        else:
            yield RawCase(name, "error", f"unknown file type '{suffix}' (read: {', '.join(INPUT_SUFFIXES)})")
    except UnicodeDecodeError as e:
        yield RawCase(name, "error", f"not UTF-8 text (byte {e.start} of a chunk); the cases after it cannot be read")
    finally:
        if path != "-":
            stream.close()


def _read_csv(stream: Any, name: str) -> Iterator[RawCase]:
    reader = csv.DictReader(stream)
    try:
        header = reader.fieldnames
    except csv.Error as e:
        yield RawCase(f"{name}:1", "error", f"not valid CSV: {e}")
        return
    if not header:
        return
    allowed = set(PatientFacts.model_fields) | {"expect.listed"}
    unknown = [h for h in header if h not in allowed and not h.startswith("expect.status.")]  # drugs: checked per case
    if unknown:
        yield RawCase(f"{name}:1", "error", f"unknown column(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))}, expect.status.<drug>)")
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            yield RawCase(f"{name}:{reader.line_num}", "error", f"not valid CSV: {e}")
            continue
        yield RawCase(f"{name}:{reader.line_num}", "csv", row)


def read_items(paths: Iterable[str]) -> Iterator[RawCase | JsonlBlock]:
    for path in expand(paths):
        yield from read_file(path)


def read_paths(paths: Iterable[str]) -> Iterator[RawCase]:
    """Stream the raw cases of every path (files, directories, '-'), one by one."""
    for item in read_items(paths):
        yield from (expand_block(item) if isinstance(item, JsonlBlock) else (item,))


# --- writing -----------------------------------------------------------------------------------------

DRUGS = ("alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab")
CSV_COLUMNS = ["id", "source", "ok", "error", "listed", *(f"status.{d}" for d in DRUGS),
               *(f"cautions.{d}" for d in DRUGS), "rules", "expected_ok", "differences", "recommendation", "duplicate_id"]


def id_hash(record_id: str) -> int:
    """8 bytes standing for an id, to find repeated ids in any number of cases in little memory."""
    return int.from_bytes(hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def mark_duplicate(record: str, fmt: str) -> str:
    """Flag a serialized record whose id an earlier case already had (both records are kept)."""
    return record + "true" if fmt == "csv" else record[:-1] + ',"duplicate_id":true}'



def serialize(record: dict[str, Any], fmt: str) -> str:
    if fmt in ("jsonl", "json"):
        return _encode(record)
    row = {"id": record["id"], "source": record["source"], "ok": str(record["ok"]).lower(), "error": record["error"] or ""}
    if record["ok"]:
        row["listed"] = ";".join(record["listed"])
        row.update({f"status.{d}": s for d, s in record["status"].items()})
        row.update({f"cautions.{d}": ";".join(c) for d, c in record["cautions"].items()})
        row["rules"] = ";".join(record["rules"])
        if "expected_ok" in record:
            row["expected_ok"] = str(record["expected_ok"]).lower()
            row["differences"] = "; ".join(record["differences"])
        if "recommendation" in record:
            row["recommendation"] = json.dumps(record["recommendation"], ensure_ascii=False)
    buf = io.StringIO()
    csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n").writerow(row)
    return buf.getvalue().rstrip("\n")


@dataclass
class Summary:
    cases: int = 0
    valid: int = 0
    invalid: int = 0
    expectations: int = 0
    expectation_failures: int = 0
    duplicate_ids: int = 0
    statuses: dict[str, Counter] = field(default_factory=lambda: {d: Counter() for d in DRUGS})
    fired: set[str] = field(default_factory=set)
    all_rules: list[str] = field(default_factory=list)
    _decisions: dict[int, list] = field(default_factory=dict)  # id(decision) -> [decision, cases]; folded below

    def _fold(self) -> None:
        for decision, n in self._decisions.values():
            for d, s in decision.status.items():
                self.statuses.setdefault(d, Counter())[s.value] += n
            self.fired.update(decision.fired)
        self._decisions.clear()

    def add(self, o: Outcome) -> None:
        self.cases += 1
        if o.error is not None:
            self.invalid += 1
            return
        self.valid += 1
        entry = self._decisions.get(id(o.decision))
        if entry is None:
            self._decisions[id(o.decision)] = [o.decision, 1]
        else:
            entry[1] += 1
        if o.caution_ids:
            self.fired.update(o.caution_ids)
        if o.expectation is not None:
            self.expectations += 1
            self.expectation_failures += bool(o.differences)

    def merge(self, other: "Summary") -> None:
        other._fold()
        self.cases += other.cases
        self.valid += other.valid
        self.invalid += other.invalid
        self.expectations += other.expectations
        self.expectation_failures += other.expectation_failures
        for d, c in other.statuses.items():
            self.statuses.setdefault(d, Counter()).update(c)
        self.fired |= other.fired

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and self.expectation_failures == 0

    def text(self) -> str:
        self._fold()
        lines = [f"cases: {self.cases}  valid: {self.valid}  invalid: {self.invalid}  "
                 f"expectations: {self.expectations}  expectation failures: {self.expectation_failures}"
                 + (f"  duplicate ids: {self.duplicate_ids} (flagged duplicate_id; every case kept)" if self.duplicate_ids else "")]
        for d, c in self.statuses.items():
            lines.append(f"  {d:<13} " + "  ".join(f"{s}: {c.get(s, 0)}" for s in ("applicable", "consider", "not_applicable", "excluded")))
        unfired = [r for r in self.all_rules if r not in self.fired]
        lines.append("rule coverage: every rule fired in at least one case" if not unfired
                     else f"rules that fired in no case ({len(unfired)}): {', '.join(unfired)}")
        return "\n".join(lines)


# --- running: in this process or in worker processes, output in input order -------------------------------

_worker_advisor: Advisor | None = None


def _init_worker(rules_dir: str | None) -> None:
    """Start-up of a worker process: the main process alone handles Ctrl-C and SIGTERM (and then
    stops the workers), so workers ignore SIGINT and die quietly on SIGTERM."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    global _worker_advisor
    _worker_advisor = Advisor(rules_dir=rules_dir)


def process_chunk(chunk: list[RawCase | JsonlBlock], fmt: str, full: bool,
                  advisor: Advisor | None = None) -> tuple[list[str], list[tuple[int, int]], Summary]:
    """Assess and serialize a chunk of cases. For JSON output the part of a record that depends only on
    the decision and the cautions is serialized once per distinct pair and reused (same bytes as
    ``serialize(to_record(...))``, which a test checks)."""
    advisor = advisor or _worker_advisor
    assert advisor is not None
    summary = Summary()
    lines = []
    fast = fmt in ("jsonl", "json") and not full
    bodies = _bodies_for(advisor)
    dumps = _encode
    cases = [c for item in chunk for c in (expand_block(item) if isinstance(item, JsonlBlock) else (item,))]
    given_ids = []
    for raw in cases:
        o = assess(advisor, raw)
        summary.add(o)
        if o.given_id:
            given_ids.append((len(lines), id_hash(o.record_id)))
        if fast and o.error is None:
            key = (id(o.decision), o.caution_ids)
            body = bodies.get(key)
            if body is None:
                record = to_record(advisor, raw, o._replace(expectation=None))
                body = dumps({k: v for k, v in record.items() if k not in ("id", "source")})[1:-1]
                if advisor.caching and len(bodies) < 100_000:
                    bodies[key] = body
            tail = "" if o.expectation is None else \
                f',"expected_ok":{"false" if o.differences else "true"},"differences":{dumps(list(o.differences))}'
            lines.append(f'{{"id":{dumps(o.record_id)},"source":{dumps(raw.source)},{body}{tail}}}')
        else:
            lines.append(serialize(to_record(advisor, raw, o, full), fmt))
    summary._fold()
    return lines, given_ids, summary


def _bodies_for(advisor: Advisor) -> dict:
    return advisor.derived.setdefault("batch_record_bodies", {}) if advisor.caching else {}


def _chunks(items: Iterator[RawCase | JsonlBlock], size: int) -> Iterator[list[RawCase | JsonlBlock]]:
    """Work units: each JSONL block alone, other cases in groups of ``size``."""
    chunk: list[RawCase | JsonlBlock] = []
    for item in items:
        if isinstance(item, JsonlBlock):
            if chunk:
                yield chunk
                chunk = []
            yield [item]
            continue
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run(paths: list[str], out: Any, *, fmt: str = "jsonl", workers: int = 1, full: bool = False,
        rules_dir: str | None = None, chunk_size: int = 1000, progress: Any = None,
        advisor: Advisor | None = None) -> Summary:
    """Evaluate every case of ``paths`` and write one line per record to the text stream ``out``.

    ``workers`` > 1 evaluates chunks in that many processes; at most a few chunks per worker are in
    flight, so memory stays flat however large the input."""
    advisor = advisor or Advisor(rules_dir=rules_dir)  # workers build their own from rules_dir
    summary = Summary(all_rules=rule_ids(advisor))
    wrote_any = False
    seen_ids: set[int] = set()
    out.write(",".join(CSV_COLUMNS) + "\n" if fmt == "csv" else "[\n" if fmt == "json" else "")

    def consume(result: tuple[list[str], list[tuple[int, int]], Summary]) -> None:
        nonlocal wrote_any
        lines, given_ids, chunk_summary = result
        for i, h in given_ids:  # an id seen before: flag this record, keep both
            if h in seen_ids:
                lines[i] = mark_duplicate(lines[i], fmt)
                summary.duplicate_ids += 1
            seen_ids.add(h)
        if lines:
            if fmt == "json":
                out.write((",\n" if wrote_any else "") + ",\n".join(lines))
            else:
                out.write("\n".join(lines) + "\n")
            wrote_any = True
        summary.merge(chunk_summary)
        if progress:
            progress(summary.cases)

    chunks = _chunks(read_items(paths), chunk_size)
    if workers <= 1:
        for chunk in chunks:
            consume(process_chunk(chunk, fmt, full, advisor))
    else:
        import multiprocessing as mp
        from collections import deque

        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(rules_dir,)) as pool:
            pending: deque = deque()
            for chunk in chunks:
                pending.append(pool.apply_async(process_chunk, (chunk, fmt, full)))
                if len(pending) >= workers * 3:  # bounded: memory stays flat
                    consume(pending.popleft().get())
            while pending:
                consume(pending.popleft().get())
    if fmt == "json":
        out.write("\n]\n" if wrote_any else "]\n")
    return summary


def run_to_file(paths: list[str], out_path: str, *, fmt: str = "jsonl", workers: int = 1, full: bool = False,
                rules_dir: str | None = None, on_error: type[Exception] = OSError,
                advisor: Advisor | None = None) -> Summary:
    """``run`` into ``out_path`` safely: records go to ``out_path.partial`` and are renamed into place
    only when every case is done, so the output name never holds a half-written file. If the run is
    interrupted (Ctrl-C, SIGTERM), ``out_path.partial`` keeps the complete records and the exception
    says how many cases were finished."""
    import signal

    if out_path == "-":
        return run(paths, sys.stdout, fmt=fmt, workers=workers, full=full, rules_dir=rules_dir, progress=_progress(),
                   advisor=advisor)
    partial = out_path + ".partial"
    try:
        f = open(partial, "w", encoding="utf-8", newline="")
    except OSError as e:
        raise on_error(f"--out: cannot write {partial}: {e.strerror}") from None

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate) if _main_thread() else None
    written = _CountingWriter(f)
    try:
        summary = run(paths, written, fmt=fmt, workers=workers, full=full, rules_dir=rules_dir, progress=written.mark,
                      advisor=advisor)
    except KeyboardInterrupt:
        end_progress()
        written.close_partial(fmt)
        raise on_error(f"interrupted after {written.records} complete case record(s); they are in {partial}") from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    f.close()
    os.replace(partial, out_path)
    return summary


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


def rule_ids(advisor: Advisor) -> list[str]:
    return [r.id for r in advisor.kb.rules] + [c.id for c in advisor.kb.cautions]


class _CountingWriter:
    """Writes whole chunks of records and remembers where the last complete record ended, so that an
    interrupted run can cut its file back to complete records."""

    def __init__(self, f: Any):
        self.f = f
        self.records = 0
        self.good = 0  # characters written up to the end of the last complete record

        self.show = _progress()

    def write(self, text: str) -> None:
        self.f.write(text)

    def mark(self, records: int) -> None:
        """Called after each chunk is written: everything so far is complete records."""
        self.records, self.good = records, self.f.tell()
        if self.show:
            self.show(records)

    def close_partial(self, fmt: str) -> None:
        try:
            self.f.flush()
            self.f.truncate(self.good)
            if fmt == "json":
                self.f.seek(self.good)
                self.f.write("\n]\n")
        finally:
            self.f.close()


def _progress() -> Any:
    """A progress line on stderr (cases done and rate), only on a terminal."""
    if not sys.stderr.isatty():
        return None
    import time
    start = time.monotonic()
    last = [start]

    def show(n: int) -> None:
        now = time.monotonic()
        if now - last[0] > 0.5:
            last[0] = now
            sys.stderr.write(f"\r{n:,} cases, {n / (now - start):,.0f}/s ")
            sys.stderr.flush()
    return show


def end_progress() -> None:
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
