"""The comparison grid (:class:`advisor.grid.Comparison`) for people: a terminal table, side by side
when the drugs fit the width and one block per drug when they do not, and a Markdown table.

Each cell's lines are its words (or the article's, in quotation marks), its list items (a side effect
the person's condition meets is marked), and a mark [n] for a note below the grid (how a list is
attributed, what a count assumes). Drugs keep the grid's order."""

from __future__ import annotations

import textwrap
from typing import Any

from advisor.render.common import columns, style, wrap

QUESTION_WIDTH = 22
MIN_CELL = 22  # narrower than this, the drugs are stacked (one block per drug)
STATUS_QUESTION = "Status for these facts"
MEETS = "your condition"
AVOID = "(you want to avoid this)"
MATTERS = {"yes": "Matters to you", "don't know": "You don't know yet"}


def row_marks(cmp: Any, row: str) -> list[str]:
    """The marks of a row's question: each answered concern it speaks to, in words."""
    return [f"{MATTERS.get(c.answer, c.answer)}: {c.question}" for c in cmp.marks(row)]


def _question(cmp: Any, r: Any) -> str:
    return " ".join([r.question, *(f"[{m}]" for m in row_marks(cmp, r.id))])


def _matters_lines(cmp: Any) -> list[str]:
    """What matters to the person, and the rows that speak to each concern (nothing else changes)."""
    if not cmp.matters and not cmp.avoid:
        return []
    questions = {r.id: r.question for r in cmp.rows}
    out = ["What matters to you (it marks rows; it changes no status and no order):"]
    for c in cmp.matters:
        rows = "; ".join(questions[r] for r in c.rows if r in questions)
        out.append(f"- {MATTERS.get(c.answer, c.answer)}: {c.question}. Rows: {rows}")
    if cmp.avoid:
        out.append("- Side effects you want to avoid: " + ", ".join(cmp.avoid))
    return out


class _Notes:
    """The notes below the grid, numbered once each."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"[{self.texts.index(text) + 1}]"


def cell_lines(cell: Any, notes: _Notes, quotes: bool = True) -> list[str]:
    """A cell as lines of text (not yet wrapped)."""
    out: list[str] = []
    marks = "".join(" " + notes.mark(t) for t in (*((cell.note,) if cell.note else ()), *cell.assumptions))
    if cell.text:
        out.append(cell.text + marks)
    elif quotes and cell.quotes and not cell.items:
        out.append(" ".join(f"“{q.quote}”" for q in cell.quotes) + marks)
    for item in cell.items:
        out.append(f"- {item.text}" + (f" (!) {MEETS}: {item.meets}" if item.meets else "")
                   + (f" {AVOID}" if getattr(item, "avoid", None) else ""))
    if cell.items and marks:
        out.append(marks.strip())
    if cell.items and cell.quotes:
        out += [f"The article also says: “{q.quote}”" for q in cell.quotes]
    return out


def _title(column: Any) -> str:
    return str(column.name) + (f" ({column.brand})" if column.brand else "")


def _status_lines(s: Any) -> list[str]:
    return [f"{s.label}: {s.reason}" if s.reason else s.label]


def _wrapped(lines: list[str], width: int) -> list[str]:
    return [part for line in lines for part in (textwrap.wrap(line, width, break_on_hyphens=False) or [""])]


def _facts_line(cmp: Any) -> list[str]:
    if cmp.facts is None:
        return []
    shown = {k: v for k, v in cmp.facts.items() if v not in (None, [], "") and k != "id"}
    def words(v: Any) -> str:
        return ", ".join(map(str, v)) if isinstance(v, list) else ("yes" if v else "no") if isinstance(v, bool) else str(v)

    return [wrap("Facts: " + "; ".join(f"{k.replace('_', ' ')}: {words(v)}" for k, v in shown.items()), "", "  "), ""]


def grid_table(cmp: Any) -> str:
    """The grid for a terminal: side by side when every drug's column gets at least MIN_CELL characters,
    else one block per drug, in the grid's order."""
    width = columns.get()
    n = len(cmp.drugs)
    cell_width = (width - QUESTION_WIDTH - 3 * n) // n
    notes = _Notes()
    lines = ["Compare the options: what the article says of each drug, side by side.", *_facts_line(cmp)]
    if cmp.matters or cmp.avoid:
        lines += [wrap(x, "", "  ") for x in _matters_lines(cmp)] + [""]
    rows: list[tuple[str, list[list[str]]]] = []
    if cmp.status is not None:
        rows.append((STATUS_QUESTION, [_status_lines(s) for s in cmp.status]))
    rows += [(_question(cmp, r), [cell_lines(c, notes) for c in r.cells]) for r in cmp.rows]
    if cell_width >= MIN_CELL:
        head = f"{'':<{QUESTION_WIDTH}}" + "".join(f" | {_title(d)[:cell_width]:<{cell_width}}" for d in cmp.drugs)
        rule = "-" * QUESTION_WIDTH + ("-+-" + "-" * cell_width) * n
        lines += [head.rstrip(), rule]
        for question, cells in rows:
            parts = [_wrapped([question], QUESTION_WIDTH)] + [_wrapped(c, cell_width) for c in cells]
            for k in range(max(len(p) for p in parts)):
                text = f"{parts[0][k] if k < len(parts[0]) else '':<{QUESTION_WIDTH}}"
                text += "".join(f" | {p[k] if k < len(p) else '':<{cell_width}}" for p in parts[1:])
                lines.append(text.rstrip())
            lines.append(rule)
    else:  # one block per drug; the notes numbered in the order they are met
        notes = _Notes()
        for i, d in enumerate(cmp.drugs):
            lines += ["", style(_title(d), bold=True)]
            for question, cells in rows:
                cell = cells[i] if question == STATUS_QUESTION else cell_lines(_cell_of(cmp, question, i), notes)
                lines.append(wrap(question, "  "))
                lines += [wrap(line, "    ", "      " if line.startswith("- ") else "    ") for line in cell]
    if notes.texts:
        lines += ["", "Notes:"] + [wrap(f"[{k}] {t}", "  ", "      ") for k, t in enumerate(notes.texts, 1)]
    lines += ["", wrap(cmp.disclaimer, ""), wrap(f"Source: {cmp.source}", "", "  ")]
    return "\n".join(lines)


def _cell_of(cmp: Any, question: str, i: int) -> Any:
    return next(r for r in cmp.rows if _question(cmp, r) == question).cells[i]


def grid_markdown(cmp: Any) -> str:
    """The grid as a Markdown table (rows: the questions; columns: the drugs), notes and quotes below."""
    notes = _Notes()

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    out = ["# Compare the options", "", f"> {cmp.disclaimer}", ""]
    if cmp.facts is not None:
        out += [_facts_line(cmp)[0], ""]
    if cmp.matters or cmp.avoid:
        out += [*_matters_lines(cmp), ""]
    out += ["| Question | " + " | ".join(esc(_title(d)) for d in cmp.drugs) + " |", "|---" * (len(cmp.drugs) + 1) + "|"]
    if cmp.status is not None:
        out.append(f"| {STATUS_QUESTION} | " + " | ".join(esc(" ".join(_status_lines(s))) for s in cmp.status) + " |")
    for r in cmp.rows:
        out.append(f"| {esc(_question(cmp, r))} | " + " | ".join("<br>".join(esc(x) for x in cell_lines(c, notes)) for c in r.cells) + " |")
    if notes.texts:
        out += ["", "## Notes", ""] + [f"{k}. {t}" for k, t in enumerate(notes.texts, 1)]
    out += ["", f"Source: {cmp.source}", ""]
    return "\n".join(out)
