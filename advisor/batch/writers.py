"""One writer per output format. A writer owns its header, the text of a record (split into a head,
the id and source, and a tail, the rest), the record's end with or without the duplicate flag, the
separator between records and the footer. Text is encoded as UTF-8 with anything that is not (a lone
surrogate from a JSON escape) written as a backslash escape, so any string in gives a record out.

Records are rendered as ``head + tail + end``; the fast path reuses a tail rendered once per decision.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add
from typing import Any

from advisor.core.models import PatientFacts
from advisor.text import json_safe, visible
from advisor.batch.text import neutralise_formula

FORMATS = ("jsonl", "csv", "json")
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_string = json.encoder.encode_basestring  # what _encode does for a str, without the call overhead


def encode(text: str) -> bytes:
    return text.encode("utf-8", "backslashreplace")


class JsonlWriter:
    separator = ""  # written before every record but the first of the output

    def __init__(self, drug_ids: tuple[str, ...] = ()):
        self.drug_ids = drug_ids

    def header(self) -> str:
        return ""

    def footer(self, wrote_any: bool) -> str:
        return ""

    # Every text a JSON record holds goes through json_safe: the controls json leaves raw (C1, the
    # bidirectional overrides such as U+202E, U+2028/U+2029) become \u escapes, as in every other output.
    def head(self, record_id: str, source: str) -> str:
        return json_safe(f'{{"id":{_string(record_id)},"source":{_string(source)},')

    def texts(self, ids: list[str], name: str, first_line: int, tails: Iterable[str]) -> list[str]:
        """The records (without their ends) of consecutive lines from ``first_line`` of ``name``: each
        head (the text :meth:`head` gives) and its tail, joined in C, one call per record."""
        prefix, source = self.separator + '{"id":', ',"source":' + json_safe(_string(name))[:-1] + ":"
        encoded: Iterable[str] = map(_string, ids)
        if not "".join(ids).isascii():  # ASCII is safe but for C0, which json escapes
            encoded = map(json_safe, encoded)
        return list(map("".join, zip(repeat(prefix), encoded, repeat(source),
                                     map(str, range(first_line, first_line + len(ids))), repeat('",'), tails)))

    def tail(self, record: dict[str, Any]) -> str:
        """Everything after id and source (``record`` may hold them; they are skipped)."""
        return json_safe(_encode({k: v for k, v in record.items() if k not in ("id", "source")})[1:-1])

    def field(self, key: str, value: Any) -> str:
        """One field of a record, as ``join`` puts it in a tail."""
        return json_safe(f"{_string(key)}:{_encode(value)}")

    def strings(self, items: Any) -> list[str]:
        """Each string of ``items`` as JSON text, for :meth:`strings_field`."""
        return list(map(_string, items))

    def strings_field(self, key: str, encoded: list[str]) -> str:
        """A field whose value is a list of strings given as :meth:`strings` made them: the same text as
        ``field(key, items)``, without encoding the items again."""
        return f"{_string(key)}:[{','.join(encoded)}]"

    def join(self, fields: dict[str, str]) -> str:
        """A tail from fields rendered one by one (in the record's order): the same text as ``tail``."""
        return ",".join(fields.values())

    def around(self, fields: dict[str, str], first: str, second: str) -> tuple[str, str, str] | None:
        """The text of :meth:`join` around two of its fields, ``first`` before ``second``: (before the
        first, between the two, after the second), so ``before + f + between + s + after`` is the join
        with ``f`` and ``s`` as those fields. None if ``first`` does not come before ``second``."""
        order = list(fields)
        i, j = order.index(first), order.index(second)
        if not i < j:
            return None
        before = "".join(fields[k] + "," for k in order[:i])
        between = "," + "".join(fields[k] + "," for k in order[i + 1:j])
        after = "".join("," + fields[k] for k in order[j + 1:])
        return before, between, after

    def end(self, duplicate: bool) -> str:
        return ',"duplicate_id":true}\n' if duplicate else "}\n"

    def first(self, data: bytes) -> bytes:
        """The first chunk of the output: its first record without the separator."""
        return data[len(self.separator):]


class JsonWriter(JsonlWriter):
    """A JSON array: "[", records separated by ",\\n", "]"."""
    separator = ",\n"

    def header(self) -> str:
        return "[\n"

    def footer(self, wrote_any: bool) -> str:
        return "\n]\n" if wrote_any else "]\n"

    def head(self, record_id: str, source: str) -> str:
        return self.separator + super().head(record_id, source)

    def end(self, duplicate: bool) -> str:
        return ',"duplicate_id":true}' if duplicate else "}"


@dataclass(frozen=True)
class Format:
    """An output format with its options (CSV's, for spreadsheets): ``delimiter``; ``bom``, a UTF-8
    byte-order mark first (Excel then reads the file as UTF-8); ``fact_columns``, the echoed facts
    (``--echo-facts``) one column each (``facts.<fact>``) instead of one JSON cell; ``input_columns``,
    kept fields (``--extra keep``) that get a column each (``input.<name>``), the others staying in
    the ``input`` cell as JSON."""
    name: str = "jsonl"
    delimiter: str = ","
    bom: bool = False
    fact_columns: bool = False
    input_columns: tuple[str, ...] = ()


class CsvWriter(JsonlWriter):
    """One row per record; the drug columns come from the KB. A text cell that a spreadsheet would
    run as a formula (starting with =, +, -, @, tab or CR) gets a leading apostrophe."""
    field = join = around = strings = strings_field = None  # type: ignore[assignment]  # a row is rendered whole

    def __init__(self, drug_ids: tuple[str, ...] = (), fmt: Format = Format("csv"), facts: tuple[str, ...] | None = None):
        super().__init__(drug_ids)
        self.fmt, self.sep = fmt, fmt.delimiter
        self.facts = list(PatientFacts.model_fields if facts is None else facts) if fmt.fact_columns else []
        self.inputs = list(fmt.input_columns)
        self.columns = ["id", "source", "ok", "error", "listed", *(f"status.{d}" for d in drug_ids),
                        *(f"cautions.{d}" for d in drug_ids), "rules", "expected_ok", "differences",
                        *([f"facts.{f}" for f in self.facts] if fmt.fact_columns else ["facts"]),
                        *(f"input.{k}" for k in self.inputs), "input", "recommendation", "duplicate_id"]
        self._buf = io.StringIO()
        # lineterminator CR LF so that a cell with CR or LF is quoted
        self._csv = csv.writer(self._buf, delimiter=fmt.delimiter, lineterminator="\r\n")

    def _row(self, cells: list[str]) -> str:
        """A CSV row: each text cell with control characters shown escaped (``advisor.text.visible``:
        a CSV shown in a terminal cannot rewrite the screen), then formula-neutralised."""
        self._buf.seek(0)
        self._buf.truncate()
        self._csv.writerow([neutralise_formula(visible(c)) for c in cells])
        return self._buf.getvalue()[:-2]

    def header(self) -> str:
        return ("\ufeff" if self.fmt.bom else "") + self._row(self.columns) + "\n"

    def heads(self, ids: list[str], name: str, first_line: int) -> list[str]:
        return [self.head(i, f"{name}:{first_line + k}") for k, i in enumerate(ids)]

    def texts(self, ids: list[str], name: str, first_line: int, tails: Iterable[str]) -> list[str]:
        return list(map(str.__add__, self.heads(ids, name, first_line), tails))

    def head(self, record_id: str, source: str) -> str:
        return self._row([record_id, source]) + self.sep

    def tail(self, record: dict[str, Any]) -> str:
        ok = record["ok"]
        cells = ["true" if ok else "false", record["error"] or ""]
        n = len(self.drug_ids)
        if ok:
            cells.append(";".join(record["listed"]))
            cells += [record["status"].get(d, "") for d in self.drug_ids]
            cells += [";".join(record["cautions"].get(d, ())) for d in self.drug_ids]
            cells.append(";".join(record["rules"]))
        else:
            cells += [""] * (2 * n + 2)
        if "expected_ok" in record:
            cells += ["true" if record["expected_ok"] else "false", "; ".join(record["differences"])]
        else:
            cells += ["", ""]
        if self.facts:
            facts = record.get("facts") or {}
            cells += [_cell(facts.get(f)) for f in self.facts]
        else:
            cells.append(_json_cell(record["facts"]) if "facts" in record else "")
        kept = record.get("input")
        if self.inputs:
            kept = dict(kept or {})
            cells += [_cell(kept.pop(k, None)) for k in self.inputs]
        cells.append(_json_cell(kept) if kept else "")
        cells.append(_json_cell(record["recommendation"]) if "recommendation" in record else "")
        return self._row(cells) + self.sep

    def end(self, duplicate: bool) -> str:
        return "true\n" if duplicate else "\n"


def _json_cell(value: Any) -> str:
    """JSON in a cell: controls as \\u escapes (valid JSON)."""
    return json_safe(json.dumps(value, ensure_ascii=False))


def _cell(value: Any) -> str:
    """A value in a cell of its own: text as it is, true/false, a number as JSON writes it, a list of
    texts joined with ';', nothing for None; anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ";".join(value)
    return _json_cell(value)


WRITERS = {"jsonl": JsonlWriter, "json": JsonWriter, "csv": CsvWriter}


def writer_for(fmt: str | Format, drug_ids: tuple[str, ...], facts: tuple[str, ...] | None = None) -> JsonlWriter:
    """The writer of a format, by name or as a :class:`Format` with its options (CSV's); ``facts``: the
    facts' names (an Advisor's facts model's fields; by default the packaged KB's)."""
    if isinstance(fmt, str):
        fmt = Format(fmt)
    if fmt.name == "csv":
        return CsvWriter(drug_ids, fmt, facts)
    return WRITERS[fmt.name](drug_ids)


class Chunk:
    """Records rendered by a worker: their text, and for each record whose id was given, a hash of
    the id and where its end starts in the encoded text (the main process flags repeated ids there)."""
    __slots__ = ("texts", "marked", "hashes", "end")

    def __init__(self, end: str):
        self.texts: list[str] = []   # each record without its end (the same for every record)
        self.marked: list[int] = []  # indexes of the records with a hash
        self.hashes: list[int] = []
        self.end = end

    def add(self, text: str, id_hash: int | None) -> None:
        if id_hash is not None:
            self.marked.append(len(self.texts))
            self.hashes.append(id_hash)
        self.texts.append(text)

    def extend(self, texts: list[str], hashes: list[int]) -> None:
        """Records that all have an id hash."""
        self.marked += range(len(self.texts), len(self.texts) + len(texts))
        self.hashes += hashes
        self.texts += texts

    def finish(self) -> tuple[bytes, list[int], list[int]]:
        """(encoded text, byte offsets of the marked records' ends, their id hashes)"""
        texts = self.texts
        if not texts:
            return b"", [], []
        texts.append("")  # so that join ends the last record too
        text = self.end.join(texts)
        texts.pop()
        lengths: Iterable[int]
        if text.isascii():  # the common case: character offsets are byte offsets
            data, lengths, step = text.encode("ascii"), map(len, texts), len(self.end)
        else:
            data = encode(text)
            lengths, step = (len(encode(t)) for t in texts), len(encode(self.end))
        # where each record's end starts: its text's end, plus the ends before it
        ends = list(map(add, accumulate(lengths), range(0, step * len(texts), step)))
        marked = self.marked
        return data, ends if len(marked) == len(texts) else list(map(ends.__getitem__, marked)), self.hashes


def flag_duplicates(writer: JsonlWriter, data: bytes, ends: list[int], duplicate: list[bool]) -> bytes:
    """``data`` with the end of each record marked in ``duplicate`` replaced by the flagged end."""
    plain, flagged = encode(writer.end(False)), encode(writer.end(True))
    out, last = [], 0
    for at, dup in zip(ends, duplicate):
        if dup:
            out += [data[last:at], flagged]
            last = at + len(plain)
    out.append(data[last:])
    return b"".join(out)
