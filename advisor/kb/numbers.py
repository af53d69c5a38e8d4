"""The knowledge base's named numbers (``[numbers]`` in ``kb.toml``): each figure the article gives that
the KB states in several places, declared once with its quote, and every statement of it checked to agree.

A number's statements are found by what they say, not by where they stand: every text in a KB file
that gives a figure in the number's unit (``140 mg/m²``, ``140 mg/m2``), every rule or note test on
the number's fact, and every schedule whose lifetime maximum is received in that fact."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

UNITS = {"mg/m²": r"mg\s*/\s*m(?:²|2|\^2)"}  # the spellings of a unit in texts


class Number(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float = Field(gt=0, strict=True)  # a TOML number: not true, not "140"
    unit: str = Field(description="one of " + ", ".join(UNITS))
    fact: str | None = None  # the fact the rules test against this number, if any
    quote: str = Field(min_length=1)
    section: str = Field(min_length=1)


def unit_problems(numbers: dict[str, Number]) -> list[tuple[str, str, str]]:
    return [("kb.toml", f"numbers.{name}", f"unknown unit '{n.unit}' (known: {', '.join(UNITS)})")
            for name, n in numbers.items() if n.unit not in UNITS]


def _figures(text: str, unit: str) -> list[float]:
    return [float(m) for m in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)\s*(?=" + UNITS[unit] + ")", text)]


def _shown(value: float) -> str:
    return f"{value:g}"


def number_problems(numbers: dict[str, Number], raw: dict[str, Any], rules: list[Any], notes: list[Any],
                    drugs: list[Any]) -> list[tuple[str, str, str]]:
    """Each statement of a named number that disagrees with it, naming file, item and value."""
    out: list[tuple[str, str, str]] = []
    named = {name: n for name, n in numbers.items() if n.unit in UNITS}
    for name, n in named.items():
        if n.value not in _figures(n.quote, n.unit):
            out.append(("kb.toml", f"numbers.{name}", f"{_shown(n.value)} {n.unit} is not the figure its quote gives"))
    by_unit: dict[str, dict[float, str]] = {}
    for name, n in named.items():
        by_unit.setdefault(n.unit, {})[n.value] = name

    def walk(value: Any, file: str, item: str, key: str) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("id"), str):
                item, key = str(value["id"]), ""
            for k, v in value.items():
                walk(v, file, item, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, file, item, f"{key}[{i}]")
        elif isinstance(value, str):
            for unit, values in by_unit.items():
                for figure in _figures(value, unit):
                    if figure not in values:
                        declared = ", ".join(f"{_shown(v)} {unit} (numbers.{k})" for v, k in values.items())
                        out.append((file, item, f"{key} states {_shown(figure)} {unit}; kb.toml declares {declared}"))

    for file, data in raw.items():
        walk({k: v for k, v in data.items() if k != "numbers"} if file == "kb.toml" else data, file, "", "")
    for name, n in named.items():
        if n.fact is None:
            continue
        tested = [("decisions.toml", r.id, r.when) for r in rules] + [("notes.toml", x.id, x.when) for x in notes]
        for file, ident, tests in tested:
            for t in tests:
                values = t.value if isinstance(t.value, list) else [t.value]
                if t.fact == n.fact and any(isinstance(v, (int, float)) and not isinstance(v, bool) and float(v) != n.value
                                            for v in values):
                    shown = f"[{', '.join(map(str, values))}]" if isinstance(t.value, list) else _shown(t.value)
                    out.append((file, ident, f"tests {n.fact} {t.op} {shown}; kb.toml's numbers.{name} is "
                                             f"{_shown(n.value)} {n.unit}"))
        for d in drugs:
            s = d.schedule
            if s.received_fact == n.fact and s.lifetime_max_mg_m2 is not None and s.lifetime_max_mg_m2 != n.value:
                out.append(("drugs.toml", d.id, f"schedule.lifetime_max_mg_m2 = {_shown(s.lifetime_max_mg_m2)}; kb.toml's "
                                               f"numbers.{name} is {_shown(n.value)} {n.unit}"))
    return out
