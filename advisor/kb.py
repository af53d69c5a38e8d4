"""Load and validate a knowledge-base directory (``rules/``): TOML data in, typed models out.

Nothing here knows about durable-rules: the KB is plain data that :mod:`advisor.engine` compiles.
A broken KB raises :class:`KnowledgeBaseError` naming the file, the item id and what is wrong.
"""

from __future__ import annotations

import operator
import re
import tomllib
from pathlib import Path
from string import Template
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from .errors import KnowledgeBaseError
from .models import MSType, Condition, PatientFacts, Phase, Severity, Status

FILES = ("kb.toml", "drugs.toml", "decisions.toml", "cautions.toml", "notes.toml")
ID = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$"

# The facts a status rule may test, with the type of value each test compares against.
TESTABLE: dict[str, Any] = {
    "ms_type": MSType,
    "severity": Severity,
    "prior_failures": int,
    "rapidly_worsening": bool,
    "mitoxantrone_cumulative_mg_m2": float,
}
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
ORDERED_OPS = ("<", "<=", ">", ">=")


class _KB(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quoted(_KB):
    text: str = Field(min_length=1)
    quote: str = Field(min_length=1)


class Test(_KB):
    fact: str
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in"]
    value: Union[bool, int, float, str, list[Union[bool, int, float, str]]]

    @field_validator("fact")
    @classmethod
    def _fact(cls, v: str) -> str:
        if v not in TESTABLE:
            raise ValueError(f"unknown fact '{v}' (testable: {', '.join(TESTABLE)})")
        return v

    @model_validator(mode="after")
    def _value_fits(self) -> "Test":
        kind = TESTABLE[self.fact]
        values = self.value if isinstance(self.value, list) else [self.value]
        if (self.op in ("in", "not in")) != isinstance(self.value, list):
            raise ValueError(f"op '{self.op}' {'takes' if self.op in ('in', 'not in') else 'does not take'} a list of values")
        if values == []:
            raise ValueError(f"op '{self.op}' needs at least one value")
        for v in values:
            if isinstance(kind, type) and issubclass(kind, MSType | Severity):
                if v not in kind._value2member_map_:
                    raise ValueError(f"{self.fact}: unknown value {v!r} (allowed: {', '.join(kind._value2member_map_)})")
                if self.op in ORDERED_OPS:
                    raise ValueError(f"{self.fact}: op '{self.op}' does not apply to a vocabulary")
            elif kind is bool:
                if not isinstance(v, bool) or self.op not in ("==", "!="):
                    raise ValueError(f"{self.fact}: tests a boolean with == or != true/false")
            elif isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not isinstance(v, int)):
                raise ValueError(f"{self.fact}: value {v!r} must be {'a whole number' if kind is int else 'a number'}")
        return self

    def holds(self, facts: dict[str, Any]) -> bool:
        """Evaluate this test alone (for cache keys, what-ifs and the decision-space check, never for
        a decision: durable-rules decides). ``facts`` holds JSON values, as asserted into the engine."""
        return _OP_FUNCTIONS[self.op](facts[self.fact], self.value)


_OP_FUNCTIONS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "in": lambda left, right: left in right, "not in": lambda left, right: left not in right,
}


class Sourced(_KB):
    """Anything that cites the source: a quote that must stand verbatim under ``section``."""
    quote: str = Field(min_length=1)
    section: str = Field(min_length=1)


class Rule(Sourced):
    id: str = Field(pattern=ID)
    drug: str
    status: Status
    when: tuple[Test, ...] = Field(min_length=1)
    text: str = Field(min_length=1)

    @field_validator("text")
    @classmethod
    def _template(cls, v: str) -> str:
        return _check_template(v)


class CautionRule(Sourced):
    id: str = Field(pattern=ID)
    drug: str
    condition: Condition
    text: str = Field(min_length=1)


class NoteItem(_KB):
    id: str = Field(pattern=ID)
    text: str = Field(min_length=1)
    drug: str | None = None
    quote: str | None = None
    section: str | None = None
    silent: bool = False

    @model_validator(mode="after")
    def _quoted_or_silent(self) -> "NoteItem":
        if self.silent == bool(self.quote):
            raise ValueError("a note either quotes the source (quote and section) or says it is silent (silent = true), not both")
        if self.quote and not self.section:
            raise ValueError("a quoted note needs its section")
        return self


class SideEffects(_KB):
    section: str
    list_note: str | None = None
    common: tuple[Quoted, ...]
    serious: tuple[Quoted, ...]


class DrugSchedule(_KB):
    text: str
    quote: str
    phases: tuple[Phase, ...] = Field(min_length=1)
    note: str | None = None
    lifetime_max_mg_m2: float | None = None


class Drug(_KB):
    id: str = Field(pattern=r"^[a-z]+$")
    name: str
    brand: str | None = None
    brand_note: str | None = None
    section: str
    how_it_works: Quoted
    schedule: DrugSchedule
    side_effects: SideEffects


class Header(_KB):
    name: str
    version: str
    source: str
    source_title: str
    disclaimer: str = Field(min_length=1)


class KnowledgeBase(_KB):
    directory: str
    header: Header
    source_text: str
    drugs: tuple[Drug, ...]
    rules: tuple[Rule, ...]
    cautions: tuple[CautionRule, ...]
    notes: tuple[NoteItem, ...]
    _index: dict[str, Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, __context: Any) -> None:
        self._index.update({d.id: d for d in self.drugs})
        self._index.update({r.id: r for r in (*self.rules, *self.cautions)})

    def drug(self, drug_id: str) -> Drug:
        item = self._index.get(drug_id)
        if not isinstance(item, Drug):
            raise KeyError(drug_id)
        return item

    @property
    def drug_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.drugs)

    def rule(self, rule_id: str) -> Rule | CautionRule:
        item = self._index.get(rule_id)
        if not isinstance(item, (Rule, CautionRule)):
            raise KeyError(rule_id)
        return item

    def rule_file(self, rule_id: str) -> str:
        return "cautions.toml" if any(c.id == rule_id for c in self.cautions) else "decisions.toml"


def _check_template(text: str) -> str:
    template = Template(text)
    if not template.is_valid():
        raise ValueError("text has a '$' that names no fact (write $$ for a dollar sign)")
    unknown = set(template.get_identifiers()) - set(PatientFacts.model_fields)
    if unknown:
        raise ValueError(f"text names unknown facts: {', '.join(sorted(unknown))}")
    return text


# --- verbatim quotes -----------------------------------------------------------------------------

_FOLD = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "\u00a0": " "})


def normalize(text: str) -> str:
    """Fold white space and curly quotes, so a quote matches the source however it was typed."""
    return re.sub(r"\s+", " ", text.translate(_FOLD)).strip()


def headings(source: str) -> list[tuple[int, str]]:
    """The source's heading lines as (line index, normalized text): a short line standing alone between
    blank lines, not a bullet, not ending like a sentence."""
    lines = source.splitlines()
    out = []
    for i, line in enumerate(lines):
        text = normalize(line)
        if (text and len(text) <= 80 and not text.endswith((".", ":", "?", "!")) and not text.startswith("•")
                and (i == 0 or not lines[i - 1].strip()) and (i + 1 == len(lines) or not lines[i + 1].strip())):
            out.append((i, text))
    return out


def section_scope(section: str, source: str) -> tuple[int, int] | str:
    """The line range of ``section`` in ``source``, or why it cannot be found.

    ``section`` is a heading of the source, or a path "Heading / Subheading" of headings in that order;
    anything after " — " is a remark for the reader (e.g. which unheaded list is meant) and not checked.
    The scope runs from the last heading of the path to the next heading.
    """
    path = [normalize(p) for p in section.split(" — ")[0].split(" / ")]
    heads = headings(source)
    k = 0
    for part in path:
        while k < len(heads) and heads[k][1] != part:
            k += 1
        if k == len(heads):
            return f"section '{section}' is not a heading of the source (looked for '{part}')"
        k += 1
    start = heads[k - 1][0]
    end = heads[k][0] if k < len(heads) else len(source.splitlines())
    return start, end


def quote_problem(quote: str, section: str, source: str) -> str | None:
    """Why ``quote`` does not stand verbatim under ``section`` in ``source`` (None: it does)."""
    q = normalize(quote)
    if q not in normalize(source):
        return f"quote not found verbatim in the source: '{quote}'"
    scope = section_scope(section, source)
    if isinstance(scope, str):
        return scope
    if q not in normalize("\n".join(source.splitlines()[scope[0]:scope[1]])):
        return f"quote stands in the source, but not under section '{section}': '{quote}'"
    return None


# --- loading ---------------------------------------------------------------------------------------

def _read_toml(path: Path, problems: list) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        problems.append((path.name, "", "file is missing"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        problems.append((path.name, "", f"not valid TOML: {e}"))
    except OSError as e:
        problems.append((path.name, "", f"cannot be read: {e.strerror}"))
    return {}


def _items(model: type[BaseModel], raw: Any, file: str, key: str, problems: list) -> list:
    if any(f == file for f, _, _ in problems):
        return []  # the file itself could not be read; that problem is already reported
    if raw is None:
        problems.append((file, "", f"has no [[{key}]] entries"))
        return []
    if not isinstance(raw, list):
        problems.append((file, "", f"'{key}' must be an array of tables ([[{key}]])"))
        return []
    out = []
    for n, item in enumerate(raw, 1):
        ident = item.get("id", f"{key} #{n}") if isinstance(item, dict) else f"{key} #{n}"
        try:
            out.append(model.model_validate(item))
        except ValidationError as e:
            for err in e.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.append((file, str(ident), f"{where}: {err['msg'].removeprefix('Value error, ')}" if where else err["msg"]))
    return out


def load(directory: str | Path, source: str | Path | None = None) -> KnowledgeBase:
    """Read, validate and return the knowledge base in ``directory``; raise KnowledgeBaseError if broken.

    Quotes are checked against the KB's own source file, or against ``source`` when it is given."""
    root = Path(directory)
    if not root.is_dir():
        raise KnowledgeBaseError([(str(root), "", "is not a directory")])
    problems: list[tuple[str, str, str]] = []
    raw = {name: _read_toml(root / name, problems) for name in FILES}
    header = None
    try:
        header = Header.model_validate(raw["kb.toml"])
    except ValidationError as e:
        problems += [("kb.toml", "", f"{'.'.join(map(str, err['loc']))}: {err['msg']}") for err in e.errors()]
    drugs = _items(Drug, raw["drugs.toml"].get("drug"), "drugs.toml", "drug", problems)
    rules = _items(Rule, raw["decisions.toml"].get("rule"), "decisions.toml", "rule", problems)
    cautions = _items(CautionRule, raw["cautions.toml"].get("caution"), "cautions.toml", "caution", problems)
    notes = _items(NoteItem, raw["notes.toml"].get("note", []), "notes.toml", "note", problems)
    for name in FILES:
        unknown = set(raw[name]) - {"kb.toml": set(Header.model_fields), "drugs.toml": {"drug"}, "decisions.toml": {"rule"},
                                    "cautions.toml": {"caution"}, "notes.toml": {"note"}}[name]
        if unknown:
            problems.append((name, "", f"unknown keys: {', '.join(sorted(unknown))}"))

    source_text = ""
    if source is not None:
        try:
            source_text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            problems.append((str(source), "", f"source cannot be read: {e}"))
    elif header is not None:
        source_path = (root / header.source).resolve()
        if not source_path.is_relative_to(root.resolve()):
            problems.append(("kb.toml", "", f"source '{header.source}' must lie inside the knowledge-base directory"))
        else:
            try:
                source_text = source_path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as e:
                problems.append(("kb.toml", "", f"source '{header.source}' cannot be read: {e}"))

    drug_ids = [d.id for d in drugs]
    _duplicates(drug_ids, "drugs.toml", "drug", problems)
    _duplicates([r.id for r in rules] + [c.id for c in cautions], "decisions.toml/cautions.toml", "rule", problems)
    _duplicates([n.id for n in notes], "notes.toml", "note", problems)
    for file, items in (("decisions.toml", rules), ("cautions.toml", cautions), ("notes.toml", notes)):
        for item in items:
            if item.drug is not None and item.drug not in drug_ids:
                problems.append((file, item.id, f"unknown drug '{item.drug}' (known: {', '.join(drug_ids)})"))
    seen_cautions = set()
    for c in cautions:
        if (c.drug, c.condition) in seen_cautions:
            problems.append(("cautions.toml", c.id, f"a second caution for {c.drug} and {c.condition.value}"))
        seen_cautions.add((c.drug, c.condition))

    if source_text:
        cited: list[tuple[str, str, str, str]] = []
        for d in drugs:
            cited.append(("drugs.toml", d.id, d.how_it_works.quote, d.section))
            cited.append(("drugs.toml", d.id, d.schedule.quote, d.section))
            for effect in (*d.side_effects.common, *d.side_effects.serious):
                cited.append(("drugs.toml", d.id, effect.quote, d.side_effects.section))
        cited += [("decisions.toml", r.id, r.quote, r.section) for r in rules]
        cited += [("cautions.toml", c.id, c.quote, c.section) for c in cautions]
        cited += [("notes.toml", n.id, n.quote, n.section or "") for n in notes if n.quote]
        for file, ident, quote, section in cited:
            problem = quote_problem(quote, section, source_text)
            if problem:
                problems.append((file, ident, problem))

    if problems:
        raise KnowledgeBaseError(problems)
    assert header is not None
    return KnowledgeBase(directory=str(root), header=header, source_text=source_text, drugs=tuple(drugs),
                         rules=tuple(rules), cautions=tuple(cautions), notes=tuple(notes))


def _duplicates(ids: list[str], file: str, kind: str, problems: list) -> None:
    seen = set()
    for i in ids:
        if i in seen:
            problems.append((file, i, f"duplicate {kind} id"))
        seen.add(i)


def default_directory() -> Path:
    """The knowledge base shipped with the package (installed copy first, then a source checkout's)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "rules", here.parent / "rules"):
        if (candidate / "kb.toml").is_file():
            return candidate
    raise KnowledgeBaseError([(str(here / "rules"), "", "the packaged knowledge base is missing (reinstall the package)")])


def fingerprint(kb_or_dir: "KnowledgeBase | str | Path") -> str:
    """SHA-256 identifying a knowledge base: its TOML files and its source text, by relative path.

    The same on every platform: files in sorted order, names as POSIX paths, text decoded as UTF-8 with
    line endings folded to LF (a checkout with CRLF endings gives the same hash). Each file enters as
    ``name NUL length NUL content`` so no two different sets of files can run together."""
    import hashlib

    if isinstance(kb_or_dir, KnowledgeBase):
        root, source = Path(kb_or_dir.directory), kb_or_dir.header.source
    else:
        root = Path(kb_or_dir)
        try:
            source = tomllib.loads((root / "kb.toml").read_text("utf-8")).get("source")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise KnowledgeBaseError([("kb.toml", "", f"cannot be read for the fingerprint: {e}")]) from None
    names = sorted({p.name for p in root.glob("*.toml") if p.is_file()} | ({str(source)} if isinstance(source, str) else set()))
    digest = hashlib.sha256()
    for name in names:
        try:
            text = (root / name).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise KnowledgeBaseError([(name, "", f"cannot be read for the fingerprint: {e}")]) from None
        data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
        key = Path(name).as_posix().encode("utf-8")
        digest.update(b"%s\0%d\0" % (key, len(data)) + data)
    return digest.hexdigest()
