"""The reading grade of the knowledge base's own sentences: what `kb check` measures and limits.

People with MS read these texts, so the tool's own words (every text a KB file gives that is not a
quote of the article) are kept plain: a median Flesch–Kincaid grade of at most ``MEDIAN_GOAL`` and no
text over ``MAX_GRADE`` unless its table says why (``grade_reason = "..."``). The quotes stay verbatim
and are not measured; neither are ids, codes, headings of a few words (``MIN_WORDS``) or the source's
title. Any other text field is measured, whatever its key, so a new KB file's texts are measured too.

Syllables are counted with pyphen's bundled hyphenation dictionary (no network, no download at run
time); words and sentences as textstat 0.7.3 counts them; the grade is Flesch–Kincaid's
0.39 × words/sentences + 11.8 × syllables/words − 15.59.
"""

from __future__ import annotations

import functools
import re
import statistics
from dataclasses import dataclass
from string import Template
from typing import Any

# imports nothing of the package: the readers of the packaged facts, conditions and statuses (run at
# import) take the grade reasons out with without_reasons

MAX_GRADE = 10.0  # no text above this grade without a grade_reason
MEDIAN_GOAL = 8.0  # the median over all measured texts
MIN_WORDS = 5  # shorter texts (labels, headings, list items) are not measured: a grade means little there
REASON = "grade_reason"
# keys whose texts are not the tool's own sentences: the article's words, where they stand, names and codes
NOT_MEASURED = frozenset({"quote", "also", "section", "under", "source", "source_title", "id", "name", "brand",
                          "aliases", "allow", "option", "column", "colour", "code", "system", "display", "ucum",
                          "unit", "version", "reviewed_by", "reviewed_on", "review_status", "drug", "fact",
                          "condition", "status", "statuses", "op", "value", "kind", REASON})
# tables of the article's own words, item by item: a drug's side-effect lists and their lead-in
NOT_MEASURED_TABLES = frozenset({"common", "serious", "serious_label"})
TYPICAL = "2"  # a placeholder's value when the fact gives none better (a count, a dose, a value)


@dataclass(frozen=True)
class Measured:
    file: str
    item: str  # the id of the table holding the text (or its key path when it has none)
    key: str
    text: str
    grade: float
    reason: str | None  # the table's grade_reason, if any


@functools.lru_cache(maxsize=1)
def _dictionary() -> Any:  # a pyphen.Pyphen (pyphen has no type hints)
    import pyphen

    return pyphen.Pyphen(lang="en_US")


def _plain(text: str) -> str:
    """The text without punctuation (apostrophes of contractions kept), as textstat 0.7.3 counts words."""
    text = re.sub(r"'(?![tsd]\b|ve\b|ll\b|re\b)", '"', text.replace("’", "'"))
    return re.sub(r"[^\w\s']", "", text)


def words(text: str) -> int:
    return len(_plain(text).split())


def sentences(text: str) -> int:
    """Sentences ending in . ! or ?; a piece of two words or fewer (an abbreviation's tail) is not one."""
    found = re.findall(r"\b[^.!?]+[.!?]*", text, re.UNICODE)
    return max(1, sum(1 for s in found if words(s) > 2))


def syllables(text: str) -> int:
    return sum(len(_dictionary().positions(w)) + 1 for w in _plain(text.lower()).split())


def grade(text: str) -> float:
    """The Flesch–Kincaid grade of a text, to one decimal."""
    n = words(text)
    if not n:
        return 0.0
    return round(0.39 * n / sentences(text) + 11.8 * syllables(text) / n - 15.59, 1)


def _typical_values(raw_facts: Any) -> dict[str, str]:
    """A typical value of each fact, for its $placeholder: a choice's first value, "yes", or a number."""
    out: dict[str, str] = {}
    for fact in raw_facts if isinstance(raw_facts, list) else []:
        if not isinstance(fact, dict) or not isinstance(fact.get("id"), str):
            continue
        values = fact.get("values")
        first = values[0] if isinstance(values, list) and values and isinstance(values[0], dict) else {}
        out[fact["id"]] = str(first.get("id", "")).replace("_", " ") or {"yes_no": "yes"}.get(str(fact.get("kind")), TYPICAL)
    return out


class _Typical(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return TYPICAL


def filled(text: str, typical: dict[str, str]) -> str:
    """The text with each $fact replaced by a typical value of the fact."""
    return Template(text).safe_substitute(_Typical(typical))


def reason_problems(raw: Any, file: str) -> list[tuple[str, str, str]]:
    """Take the grade_reason entries out of a KB file's raw data (the schema does not know them: they
    are read by :func:`measure`), with a problem for one that is not a text."""
    out: list[tuple[str, str, str]] = []

    def walk(value: Any, item: str) -> None:
        if isinstance(value, list):
            for v in value:
                walk(v, item)
        elif isinstance(value, dict):
            item = value["id"] if isinstance(value.get("id"), str) else item
            if REASON in value and not isinstance(value.pop(REASON), str):
                out.append((file, item, f"{REASON}: must be a text saying why a text here reads above grade {MAX_GRADE:g}"))
            for v in value.values():
                walk(v, item)

    walk(raw, "")
    return out


def without_reasons(raw: dict[str, Any]) -> dict[str, Any]:
    """A KB file's raw data without its grade_reason entries (for the readers of the packaged KB's
    facts, conditions and statuses; load() and kb check report a grade_reason that is not a text)."""
    reason_problems(raw, "")
    return raw


def measure(files: dict[str, Any]) -> tuple[list[Measured], list[tuple[str, str, str]]]:
    """Every measured text of a KB's TOML files (file name -> its raw data, in the order given), and
    the problems of their grade_reason entries (given where no text is over the limit)."""
    problems: list[tuple[str, str, str]] = []
    typical = _typical_values(files.get("facts.toml", {}).get("fact"))
    out: list[Measured] = []

    def walk(value: Any, file: str, item: str, where: str) -> None:
        if isinstance(value, list):
            for n, v in enumerate(value):
                walk(v, file, item, f"{where}.{n}" if where else str(n))
            return
        if not isinstance(value, dict):
            return
        item = value["id"] if isinstance(value.get("id"), str) else item or where
        reason = value.get(REASON)
        if not isinstance(reason, str):  # load() says so
            reason = None
        own: list[Measured] = []
        for key, v in value.items():
            if isinstance(v, str) and key not in NOT_MEASURED:
                text = filled(v, typical)
                if words(text) >= MIN_WORDS:
                    own.append(Measured(file, item, key, v, grade(text), reason))
            elif isinstance(v, (dict, list)) and key not in NOT_MEASURED_TABLES:
                walk(v, file, item, f"{where}.{key}" if where else key)
        if reason is not None and not any(m.grade > MAX_GRADE for m in own):
            problems.append((file, item, f"{REASON} is given but no text here reads above grade {MAX_GRADE:g}: remove it"))
        out.extend(own)

    for name, raw in files.items():
        walk(raw, name, "", "")
    return out, problems


@dataclass(frozen=True)
class Summary:
    count: int
    median: float
    max: float
    over: int  # texts above MAX_GRADE (with or without a reason)
    reasoned: int  # of those, the texts whose table gives a grade_reason

    def __str__(self) -> str:
        return (f"{self.count} text{'s' if self.count != 1 else ''}, median grade {self.median:.1f}, max {self.max:.1f}, "
                f"{self.over} over {MAX_GRADE:g}" + (f" ({self.reasoned} with a {REASON})" if self.reasoned else ""))


def summary(measured: list[Measured]) -> Summary:
    grades = [m.grade for m in measured]
    if not grades:
        return Summary(0, 0.0, 0.0, 0, 0)
    return Summary(len(grades), round(statistics.median(grades), 1), max(grades), sum(g > MAX_GRADE for g in grades),
                   sum(m.grade > MAX_GRADE and m.reason is not None for m in measured))


def grade_problems(measured: list[Measured]) -> list[tuple[str, str, str]]:
    """A problem for each text over the limit without a reason, and for a median over the goal."""
    out = [(m.file, m.item, f"{m.key} reads at grade {m.grade:.1f}, over {MAX_GRADE:g}: use shorter sentences and "
                            f"common words, or say why in {REASON} = \"...\"")
           for m in measured if m.grade > MAX_GRADE and m.reason is None]
    total = summary(measured)
    if total.count and total.median > MEDIAN_GOAL:
        out.append(("(all files)", "", f"the median reading grade of the KB's own texts is {total.median:.1f}, "
                                       f"over {MEDIAN_GOAL:g}"))
    return out


def summaries(measured: list[Measured]) -> tuple[tuple[str, str], ...]:
    """The summary of all measured texts, then of each file's, as (name, summary)."""
    files = dict.fromkeys(m.file for m in measured)
    return (("all", str(summary(measured))),
            *((f, str(summary([m for m in measured if m.file == f]))) for f in files))
