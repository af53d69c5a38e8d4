"""The comparison grid (an Option Grid): the drugs side by side on the questions people ask, each cell
from the knowledge base's ``compare.toml`` (the article's words, an item the KB holds, a count worked
out from a drug's schedule, or "The article does not say"). With a person's facts, a first row gives
each drug's status with its reason, and the side effects their conditions meet are marked. Drugs keep
the knowledge base's order: the grid never ranks them.

    >>> from advisor import compare
    >>> grid = compare(drugs=["natalizumab", "Ocrevus"])
    >>> [d.id for d in grid.drugs], grid.row("infusions_first_year").cell("ocrelizumab").text
    (['natalizumab', 'ocrelizumab'], '3')
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from advisor.core.models import Citation, KBIdentity, PatientFacts
from advisor.errors import InvalidFacts, UnknownDrug
from advisor.schedule import course_end, infusions, shift

if TYPE_CHECKING:
    from advisor.core.advisor import Advisor
    from advisor.kb.aid_items import CompareCell
    from advisor.kb.schema import Drug

SILENT = "The article does not say."
# The general assumption of every count: what a "year" is here (the tool's own words, not the article's).
YEAR = "A year here runs from the first infusion to the same date a year later."
STARTS = 366  # first infusions on each day of a year: the counts that differ by start date show as a range


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class CellItem(_Out):
    """One item of a list cell (a side effect), with the person's condition it meets, if any."""
    text: str
    quote: str = Field(description="verbatim from the source document")
    section: str
    meets: str | None = Field(None, description="the person's condition this side effect meets (a caution of the advice)")
    avoid: str | None = Field(None, description="the side effect the person picked to avoid (its name in matters.toml) that this item is")


class Cell(_Out):
    drug: str
    row: str
    silent: bool = Field(False, description="the article does not say: the cell's text is 'The article does not say.'")
    text: str | None = Field(None, description="the cell's words: the KB's text, or a computed value")
    quotes: tuple[Citation, ...] = Field((), description="the article's words the cell rests on, verbatim")
    items: tuple[CellItem, ...] = Field((), description="a list cell's items (side effects)")
    note: str | None = Field(None, description="how the list is attributed, when the article prints it without a drug name")
    computed: str | None = Field(None, description="what was computed from the drug's schedule (infusions_first_year, ...)")
    assumptions: tuple[str, ...] = Field((), description="what a computed value assumes, in plain words")


class Row(_Out):
    id: str
    question: str
    cells: tuple[Cell, ...]

    def cell(self, drug: str) -> Cell:
        for c in self.cells:
            if c.drug == drug:
                return c
        raise UnknownDrug(drug, [c.drug for c in self.cells])


class Column(_Out):
    id: str
    name: str
    brand: str | None = None


class StatusCell(_Out):
    """A drug's status for the person's facts, with the reason the advice gives (first row with facts)."""
    drug: str
    status: str
    label: str
    reasons: tuple[Citation, ...] = Field((), description="each reason's quote and section")
    reason: str = Field(description="the reasons' texts, joined")


class Concern(_Out):
    """A concern of "what matters to you" answered yes or don't know, and the rows that speak to it.
    It marks rows; it never changes a status, a cell or an order."""
    id: str
    question: str
    answer: str = Field(description="yes or don't know")
    rows: tuple[str, ...] = Field(description="the ids of the grid's rows that speak to it")


class Comparison(_Out):
    """The grid: its columns (drugs, in the KB's order), its rows, and with facts each drug's status."""
    drugs: tuple[Column, ...]
    rows: tuple[Row, ...]
    status: tuple[StatusCell, ...] | None = Field(None, description="with facts: each drug's status and reason")
    facts: dict[str, Any] | None = None
    matters: tuple[Concern, ...] = Field((), description="the concerns answered yes or don't know, in matters.toml's order")
    avoid: tuple[str, ...] = Field((), description="the side effects the person picked to avoid (names in matters.toml)")
    disclaimer: str
    source: str
    kb: KBIdentity

    def marks(self, row: str) -> tuple[Concern, ...]:
        """The answered concerns that ``row`` speaks to."""
        return tuple(c for c in self.matters if row in c.rows)

    def row(self, id: str) -> Row:
        for r in self.rows:
            if r.id == id:
                return r
        raise KeyError(f"no row '{id}' (rows: {', '.join(r.id for r in self.rows)})")


def _years(drug: Drug, start: date) -> list[int]:
    """Infusions in each year from ``start`` (year 1 first), up to the course's end or the last phase's
    count (for a schedule with no end: six years)."""
    sched = drug.schedule
    end = course_end(sched, start)  # type: ignore[arg-type]
    days = [i.date for i in _take(sched, start, shift(start, 6, "years"))]
    last = end if end is not None else (max(days) if all(p.count is not None for p in sched.phases) else None)
    counts = []
    k = 0
    while k < 6:
        lo, hi = shift(start, k, "years"), shift(start, k + 1, "years")
        if last is not None and lo > last or (end is not None and lo >= end):
            break
        counts.append(sum(1 for d in days if lo <= d < hi))
        k += 1
    return counts


def _take(sched: Any, start: date, until: date) -> list[Any]:
    out = []
    for i in infusions(sched, start):
        if i.date >= until:
            break
        out.append(i)
    return out


def _counts(drug: Drug) -> list[set[int]]:
    """For each year, the counts over first infusions on every day of a year (leap days included)."""
    per_year: list[set[int]] = []
    for n in range(STARTS):
        for k, c in enumerate(_years(drug, date(2027, 1, 1) + timedelta(days=n))):
            if k == len(per_year):
                per_year.append(set())
            per_year[k].add(c)
    return per_year


def _range(values: set[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low} or {high}" if high == low + 1 else f"{low} to {high}"


def _assumptions(drug: Drug) -> tuple[str, ...]:
    sched = drug.schedule
    out = [YEAR]
    if sched.note:
        out.append(sched.note)
    if sched.course_within is not None and sched.course_why:
        out.append("Counted until the course ends: " + sched.course_why)
    return tuple(out)


def computed(drug: Drug, what: str) -> tuple[str, tuple[str, ...]]:
    """A computed cell's value and its assumptions."""
    per_year = _counts(drug)
    finite_counts = all(p.count is not None for p in drug.schedule.phases)
    if what == "infusions_first_year":
        return _range(per_year[0]), _assumptions(drug)
    if what == "infusions_later_years":
        later = per_year[1:]
        if not later:
            return "None in the article's schedule.", _assumptions(drug)
        same = all(s == later[0] for s in later)
        if drug.schedule.course_within is not None:
            years = " and ".join(str(k) for k in range(2, len(later) + 2))
            return f"{_range(later[0])} a year in years {years}, then the course ends.", _assumptions(drug)
        if finite_counts:
            parts = [f"{_range(s)} in year {k}" for k, s in enumerate(later, 2)]
            return "; ".join(parts) + ". After that, the article does not say.", _assumptions(drug)
        return (f"{_range(later[0])} a year" if same else "; ".join(f"{_range(s)} in year {k}" for k, s in enumerate(later, 2))), \
            (*_assumptions(drug), f"The later years counted here are years 2 to {len(per_year)}.")
    # course_ends: a course with an end (the lifetime maximum)
    sched = drug.schedule
    cap = f" of {sched.lifetime_max_mg_m2:g} mg/m²" if sched.lifetime_max_mg_m2 is not None else ""
    return f"Yes. It ends at the lifetime maximum dose{cap}.", tuple(a for a in (sched.note,) if a)


def _cell(advisor: Advisor, row: str, drug: Drug, cell: CompareCell, meets: dict[str, str], avoid: dict[str, str]) -> Cell:
    kb = advisor.kb
    if cell.silent:
        return Cell(drug=drug.id, row=row, silent=True, text=SILENT)
    if cell.quote is not None:
        quotes = tuple(Citation(quote=q.quote, section=q.section) for q in cell.citations())
        return Cell(drug=drug.id, row=row, text=cell.text, quotes=quotes)
    if cell.computed is not None:
        value, assumptions = computed(drug, cell.computed)
        return Cell(drug=drug.id, row=row, text=value, computed=cell.computed, assumptions=assumptions,
                    quotes=(Citation(quote=drug.schedule.quote, section=drug.section),))
    source = cell.from_ or ""
    if source == "how_it_works":
        return Cell(drug=drug.id, row=row, text=drug.how_it_works.text,
                    quotes=(Citation(quote=drug.how_it_works.quote, section=drug.section),))
    if source == "schedule":
        return Cell(drug=drug.id, row=row, text=drug.schedule.text, quotes=(Citation(quote=drug.schedule.quote, section=drug.section),))
    if source in ("common_side_effects", "serious_side_effects"):
        se = drug.side_effects
        listed = se.common if source == "common_side_effects" else se.serious
        items = tuple(CellItem(text=e.text, quote=e.quote, section=se.section, meets=meets.get(e.quote),
                               avoid=avoid.get(e.text)) for e in listed)
        extra = () if source == "common_side_effects" or se.after is None else (Citation(quote=se.after.quote, section=se.section),)
        return Cell(drug=drug.id, row=row, items=items, quotes=extra, note=se.list_note)
    note = next(n for n in kb.notes if n.id == source.removeprefix("note."))
    quotes = (Citation(quote=note.quote, section=note.section or ""),) if note.quote else ()
    return Cell(drug=drug.id, row=row, text=note.text, quotes=quotes)


def comparison(advisor: Advisor, facts: dict[str, Any] | PatientFacts | None = None, drugs: list[str] | None = None,
               matters: Any = (), unsure: Any = (), avoid: Any = ()) -> Comparison:
    """The grid of ``advisor``'s knowledge base for ``drugs`` (ids, names or brands: 2 to 4, shown in
    the KB's order; default all), with the status row and marked side effects when ``facts`` are given.
    ``matters`` / ``unsure`` (concern ids answered yes / don't know) mark the rows that speak to them and
    ``avoid`` (side-effect names of matters.toml) marks those side effects; they change nothing else.
    Raises UnknownDrug, InvalidFacts (bad facts or answers, or a wrong number of drugs)."""
    from advisor.core.summary import answers

    kb = advisor.kb
    answer, picked = answers(kb, matters, unsure, avoid)
    concerns = tuple(Concern(id=m.id, question=m.question, answer=answer[m.id], rows=m.rows)
                     for m in kb.matters if answer.get(m.id) in ("yes", "don't know"))
    avoided = {e: c.name for m in kb.matters for c in m.choices if c.name in picked for e in c.effects}
    if drugs is not None:
        chosen = {advisor.drug_id(d) for d in drugs}
        if not 2 <= len(chosen) <= len(kb.drugs):
            raise InvalidFacts([{"field": "drug", "message": f"pick 2 to {len(kb.drugs)} different drugs to compare; "
                                 f"{len(chosen)} given", "allowed": list(kb.drug_ids)}])
    else:
        chosen = set(kb.drug_ids)
    if not kb.compare:
        raise InvalidFacts([{"field": "drug", "message": "this knowledge base has no comparison grid (compare.toml)"}])
    columns = [d for d in kb.drugs if d.id in chosen]
    rec = advisor.advise(facts) if facts is not None else None
    meets: dict[str, dict[str, str]] = {d.id: {} for d in columns}
    status = None
    if rec is not None:
        status = []
        labels = {s.id: s.label for s in kb.statuses}
        for d in columns:
            a = rec.drug(d.id)
            for c in a.cautions:
                meets[d.id][c.quote] = kb.vocabulary.labels.get(c.condition.value, c.condition.value)
            status.append(StatusCell(drug=d.id, status=a.status.value, label=labels.get(a.status.value, a.status.value),
                                     reasons=tuple(Citation(quote=r.quote, section=r.section) for r in a.reasons),
                                     reason=" ".join(r.text for r in a.reasons)))
    rows = tuple(Row(id=r.id, question=r.question, cells=tuple(_cell(advisor, r.id, d, r.cells[d.id], meets[d.id], avoided) for d in columns))
                 for r in kb.compare)
    return Comparison(drugs=tuple(Column(id=d.id, name=d.name, brand=d.brand) for d in columns), rows=rows,
                      status=tuple(status) if status is not None else None,
                      facts=rec.facts.model_dump(mode="json") if rec is not None else None, matters=concerns, avoid=picked,
                      disclaimer=kb.header.disclaimer, source=kb.header.source_title,
                      kb=KBIdentity(name=kb.header.name, version=kb.header.version, sha256=kb.sha256))
