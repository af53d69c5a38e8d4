"""The comparison grid's rows (``rules/compare.toml``) checked against the rest of the knowledge base:
every drug fills every row (equal detail), every reference names an item the KB holds, every computed
cell has what it is computed from, and every quote and text a cell carries is checked like any other."""

from __future__ import annotations

from typing import Any

from advisor.kb.claims import overstatement, unused_allowances
from advisor.kb.aid_items import CompareRow
from advisor.kb.schema import Drug, NoteItem

FILE = "compare.toml"


def compare_problems(rows: list[CompareRow], drugs: list[Drug], notes: list[NoteItem]) -> list[tuple[str, str, str]]:
    """What is wrong with the rows: a drug without a cell (named by row and drug), a cell for an unknown
    drug, a row id given twice, a reference to no note (or another drug's), a computed cell its drug's
    schedule cannot give, a text saying more than its quotes."""
    out: list[tuple[str, str, str]] = []
    ids = [d.id for d in drugs]
    by_id = {d.id: d for d in drugs}
    note_of = {n.id: n for n in notes}
    seen: set[str] = set()
    for row in rows:
        if row.id in seen:
            out.append((FILE, row.id, "duplicate row id"))
        seen.add(row.id)
        out += [(FILE, row.id, f"no cell for drug '{d}': every drug fills every row (equal detail), or its cell "
                               "says silent = true") for d in ids if d not in row.cells]
        out += [(FILE, row.id, f"a cell for unknown drug '{d}' (known: {', '.join(ids)})") for d in row.cells if d not in by_id]
        for drug, cell in row.cells.items():
            where = f"{row.id}.{drug}"
            if cell.from_ is not None and cell.from_.startswith("note."):
                note = note_of.get(cell.from_.removeprefix("note."))
                if note is None:
                    out.append((FILE, where, f"from: no note '{cell.from_.removeprefix('note.')}' in notes.toml"))
                elif note.drug is not None and note.drug != drug:
                    out.append((FILE, where, f"from: note '{note.id}' is about {note.drug}, not {drug}"))
            d = by_id.get(drug)
            if d is not None and cell.computed == "course_ends" and d.schedule.course_within is None:
                out.append((FILE, where, "computed = course_ends: the drug's schedule has no course_within"))
            if cell.text is not None and cell.quote is not None:
                quotes = " ".join(q.quote for q in cell.citations())
                if (p := overstatement(cell.text, quotes, cell.allow)):
                    out.append((FILE, where, p))
                out += [(FILE, where, p) for p in unused_allowances(cell.allow, [cell.text])]
    return out


def cited(rows: list[CompareRow]) -> list[tuple[str, str, str, str]]:
    """(file, item, quote, heading path) of every quote the rows carry, for the verbatim check."""
    return [(FILE, f"{row.id}.{drug}", q.quote, q.under or q.section)
            for row in rows for drug, cell in row.cells.items() for q in cell.citations()]


def raw_rows(raw: dict[str, Any]) -> Any:
    return raw.get("row")
