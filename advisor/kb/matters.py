"""What matters to a person (rules/matters.toml): the concerns of the decision aid's values step, each
naming the compare rows that speak to it and which of the KB's quoted texts the summary shows for it.

Validated at load (and so by ``kb check``): unknown compare rows, unknown side effects or notes, a side
effect of drugs.toml that no choice offers, and duplicate ids or names are problems, one line each.
A concern never changes a status, a ranking or an order: nothing here is read by the engine.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ID = r"^[a-z][a-z0-9_]*$"


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Item):
    """A side effect a person may pick: its name (the article's words) and the effects of drugs.toml it stands for."""
    name: str = Field(min_length=1, max_length=80)
    effects: tuple[str, ...] = Field(min_length=1)


class MatterItem(_Item):
    id: str = Field(pattern=ID)
    question: str = Field(min_length=1, max_length=120)
    rows: tuple[str, ...] = Field(min_length=1)
    shows: Literal["schedule", "course", "side_effects", "notes"]
    choices: tuple[Choice, ...] = ()
    notes: tuple[str, ...] = ()


def matter_problems(matters: list[MatterItem], drugs: Any, notes: Any, rows: Any) -> list[tuple[str, str, str]]:
    """The problems of the concerns against the KB's drugs, notes and compare rows (compare.toml's; one
    line each)."""
    row_ids = [r.id for r in rows]
    known = ", ".join(row_ids) or "none: this knowledge base has no compare.toml"
    file = "matters.toml"
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    effects = {e.text for d in drugs for e in (*d.side_effects.common, *d.side_effects.serious)}
    note_ids = {n.id for n in notes}
    for m in matters:
        if m.id in seen:
            out.append((file, m.id, "duplicate matter id"))
        seen.add(m.id)
        out += [(file, m.id, f"rows: unknown compare row '{r}' (known: {known})") for r in m.rows if r not in row_ids]
        if m.shows == "side_effects" and not m.choices:
            out.append((file, m.id, "a side-effect concern needs choices"))
        if m.shows != "side_effects" and m.choices:
            out.append((file, m.id, "choices are for a side-effect concern (shows = \"side_effects\")"))
        if m.shows == "notes" and not m.notes:
            out.append((file, m.id, "shows notes but names none (notes = [...])"))
        out += [(file, m.id, f"notes: unknown note '{n}'") for n in m.notes if n not in note_ids]
        names: set[str] = set()
        for c in m.choices:
            if c.name.casefold() in names:
                out.append((file, m.id, f"choices: '{c.name}' is named twice"))
            names.add(c.name.casefold())
            out += [(file, m.id, f"choices: '{c.name}': unknown side effect '{e}' (not in drugs.toml's lists)")
                    for e in c.effects if e not in effects]
            if not any(c.name.casefold() in e.casefold() for e in c.effects):
                out.append((file, m.id, f"choices: '{c.name}': the name is not in the words of its effects"))
        if m.choices:
            offered = {e for c in m.choices for e in c.effects}
            out += [(file, m.id, f"choices: the side effect '{e}' of drugs.toml is in no choice")
                    for e in sorted(effects - offered)]
    return out
