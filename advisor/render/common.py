"""What the renderings share: colour and width, lines wrapped to the width, the status groups of a
recommendation, the facts and the drugs in words, and what a dated schedule leaves out.
"""

from __future__ import annotations

import re
import textwrap
from contextvars import ContextVar
from typing import Any

from advisor.core.models import NOT_GIVEN, DrugAdvice, InfusionPlan, Recommendation, Status

DEFAULT_WIDTH = 100
MIN_WIDTH = 40
_ANSI = {"red": 31, "green": 32, "yellow": 33}
ALSO = "the article also says:"  # before a paragraph the article prints after a drug's side-effect lists
_SGR = re.compile("\x1b\\[[0-9;]*m")


def style(text: str, fg: str | None = None, bold: bool = False) -> str:
    """``text`` in an ANSI colour (stripped again by the command line when colour is off)."""
    codes = ([str(_ANSI[fg])] if fg else []) + (["1"] if bold else [])
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if codes else text


def plain_width(text: str) -> int:
    """How many columns ``text`` takes: colour codes take none."""
    return len(_SGR.sub("", text))


# The words and colours of each status, and the group it is shown in: from the KB (rules/statuses.toml).
STATUS_LABEL = {s: s.info.label for s in Status}
STATUS_COLOUR = {s: s.info.colour for s in Status}
LABEL_WIDTH = max(15, *(len(label) + 1 for label in STATUS_LABEL.values()))


def groups(rec: Recommendation) -> list[tuple[str, bool, list[DrugAdvice]]]:
    """The drugs of a recommendation in the KB's status groups, in its status order: (heading, listed,
    drugs); the listed group always (listed drugs in ``rec.listed``'s order), the others when not empty."""
    out: dict[str, tuple[bool, list[DrugAdvice]]] = {}
    for status in (type(rec.drugs[0].status) if rec.drugs else Status):  # the KB's statuses, in its order
        out.setdefault(status.info.group, (status.info.listed, []))
    for d in [*(rec.drug(i) for i in rec.listed), *(d for d in rec.drugs if d.drug not in rec.listed)]:
        out[d.status.info.group][1].append(d)
    return [(heading, listed, drugs) for heading, (listed, drugs) in out.items() if listed or drugs]


def given(value: float | None, unit: str) -> str:
    """A fact that may be not given: its value with its own digits and unit, or "not given" (never a 0 it was not)."""
    from advisor.core.recommend import dose_text

    return NOT_GIVEN if value is None else f"{dose_text(value)} {unit}"


columns: ContextVar[int] = ContextVar("columns", default=DEFAULT_WIDTH)  # per thread and task: emit() sets it


def wrap(text: str, indent: str, hang: str | None = None, break_words: bool = True) -> str:
    """``text`` filled to the width on word boundaries, never at a hyphen; only a word longer than a
    whole line is broken (``break_words=False``: it stands on its own line, e.g. a SHA-256 to copy)."""
    return textwrap.fill(text, width=columns.get(), initial_indent=indent, subsequent_indent=hang if hang is not None else indent,
                         break_on_hyphens=False, break_long_words=break_words)


def further_facts(f: Any) -> list[tuple[Any, str]]:
    """A --rules-dir KB's further facts (beyond the packaged KB's, which each rendering words itself):
    each fact's spec (rules/facts.toml) and its value in words, with its unit."""
    from advisor.core.models import FACTS

    packaged = {spec.id for spec in FACTS}
    out = []
    for spec in getattr(type(f), "facts_specs", ()):
        if spec.id not in packaged:
            value = getattr(f, spec.id)
            out.append((spec, spec.value_words(value) + (f" {spec.unit}" if spec.unit and value is not None else "")))
    return out


def condition_label(condition: Any) -> str:
    """A condition's label in its KB ("Heart failure"), as the web page and cards name it."""
    from advisor.kb.vocabulary import label

    return label(condition)


def condition_labels(f: Any) -> str:
    """The person's conditions by the KB's labels ("Heart failure, PML"), as the web page and cards name them."""
    return ", ".join(condition_label(c) for c in f.conditions) or "none"


def drug_title(d: DrugAdvice) -> str:
    return f"{d.name}" + (f" ({d.brand})" if d.brand else "")


def caution_notes(c: Any) -> list[str]:
    """Said under each caution: how its list is attributed (when the article prints it without a drug
    name), and that a caution never changes a status."""
    return [text for text in (c.attribution, c.note) if text]


def course_end_line(p: InfusionPlan) -> str:
    """Where a finite course's dates stop, and why (in the article's words, from the KB)."""
    assert p.course_end is not None
    return f"No date is listed after {p.course_end.isoformat()}, whatever --count says" + (f": {p.course_why}" if p.course_why else ".")


def plan_tail(p: InfusionPlan) -> list[str]:
    """What the listed dates leave out: an endless schedule goes on, a finite one was cut short or ends; after
    a dose already received, that how many remain cannot be worked out (said on every run)."""
    if p.left_unknown:
        if not p.infusions:
            return [f"No dates are listed. {p.left_unknown} Give --count N to list N infusions from --start."]
        return [f"{p.left_unknown} These dates come from --count, not from the article."] + (
            [course_end_line(p)] if p.course_end is not None else [])
    if not p.infusions:  # the lifetime maximum is reached (a count is at least 1)
        return ["No dates are listed: the lifetime maximum is reached."]
    if not p.finite and p.infusions:
        return [f"... and on, every {p.every} (use --count for more)"]
    if p.cut_short:
        return [f"... {p.total - len(p.infusions)} more of the {p.total} infusions of the course not listed (--count {len(p.infusions)})"
                if p.total is not None else "... more infusions not listed (--count)"]
    if p.course_end is not None and p.infusions:
        return [course_end_line(p)]
    return []
