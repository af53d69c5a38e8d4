"""The condition vocabulary and the statuses of a knowledge base (``conditions.toml``, ``statuses.toml``).

The packaged KB's are read at import (``Condition``, ``Status``, the defaults); :func:`vocabulary_for` and
:func:`statuses_for` give another KB's. The facts model validates conditions against its KB's vocabulary,
the command line and the JSON Schema describe them from it, and :mod:`advisor.kb.load` checks a knowledge
base's cautions and rules against its own: adding a condition or a status is a KB edit, not a code change.
``Condition`` is a ``str`` enum whose ``str()`` is its value, as a StrEnum's (its values are the condition
ids, so JSON output is the same strings); aliases (older names) are enum aliases of the condition they name.
"""

from __future__ import annotations

import functools
import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.errors import KnowledgeBaseError
from advisor.cache import toml_file
from advisor.kb.readability import without_reasons

CONDITION_ID = r"^[a-z][a-z0-9_]*$"


class ConditionItem(BaseModel):
    """One condition of ``conditions.toml``."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CONDITION_ID, max_length=60)
    label: str | None = Field(None, min_length=1, max_length=60, pattern=r"^[^\n\r\t\x00-\x1f\x7f]*$",
                              description="the name users see (\"Hepatitis B\"); without one, the id's words")
    description: str = Field(min_length=1, max_length=200, pattern=r"^[^\n\r\t\x00-\x1f\x7f]*$")
    aliases: tuple[Annotated[str, Field(pattern=CONDITION_ID, max_length=60)], ...] = ()


def packaged_directory() -> Path:
    """The knowledge base shipped with the package (installed copy first, then a source checkout's)."""
    here = Path(__file__).resolve().parent.parent  # advisor/
    for candidate in (here / "rules", here.parent / "rules"):
        if (candidate / "kb.toml").is_file():
            return candidate
    raise KnowledgeBaseError([(str(here / "rules"), "", "the packaged knowledge base is missing (reinstall the package)")])


def condition_key(value: str) -> str:
    """How a condition's name is matched: any case, surrounding space ignored, and a run of spaces,
    hyphens or underscores inside as one underscore ('Heart failure', 'heart-failure', ' HEART_FAILURE ')."""
    return re.sub(r"[\s_-]+", "_", value.strip().lower())


def vocabulary_problems(items: list[ConditionItem]) -> list[str]:
    """Duplicate ids, aliases that clash with an id or with each other, and a label that names another
    condition (as users write it: ``condition_key``)."""
    problems, seen = [], set()
    for item in items:
        for name in (item.id, *item.aliases):
            if name in seen:
                problems.append(f"'{name}' names two conditions (ids and aliases must be unique)")
            seen.add(name)
    owner = {name: item.id for item in items for name in (item.id, *item.aliases)}
    for item in items:
        if item.label is not None:
            key = condition_key(item.label)
            if owner.setdefault(key, item.id) != item.id:
                problems.append(f"{item.id}: its label '{item.label}' names another condition ({owner[key]})")
    return problems


def read_conditions(directory: Path) -> tuple[ConditionItem, ...]:
    path = directory / "conditions.toml"
    try:
        raw = without_reasons(toml_file(path)).get("condition")
        items = [ConditionItem.model_validate(item) for item in raw] if isinstance(raw, list) else None
    except (OSError, ValueError, TypeError) as e:  # ValueError: TOML, UTF-8 or the schema
        raise KnowledgeBaseError([(str(path), "", f"the condition vocabulary cannot be read: {e}")]) from None
    if not items:
        raise KnowledgeBaseError([(str(path), "", "has no [[condition]] entries")])
    problems = vocabulary_problems(items)
    if problems:
        raise KnowledgeBaseError([(str(path), "", p) for p in problems])
    return tuple(items)


CONDITIONS: tuple[ConditionItem, ...] = read_conditions(packaged_directory())


def label_of(item: ConditionItem) -> str:
    """A condition's name for people: its ``label`` in the KB, else its id's words ("pml" -> "PML")."""
    if item.label:
        return item.label
    words = item.id.replace("_", " ")
    return words.upper() if len(words) <= 3 else words[:1].upper() + words[1:]


LABELS: dict[str, str] = {c.id: label_of(c) for c in CONDITIONS}
ALIASES: dict[str, str] = {alias: c.id for c in CONDITIONS for alias in c.aliases}


def names_of(items: tuple[ConditionItem, ...]) -> dict[str, str]:
    """Every name a user may give, as condition_key() writes it, -> its condition's id: ids, aliases and
    labels (an id or alias wins over a label; vocabulary_problems refuses a label naming another)."""
    return {condition_key(label_of(c)): c.id for c in items} | {a: c.id for c in items for a in c.aliases} | {c.id: c.id for c in items}


NAMES: dict[str, str] = names_of(CONDITIONS)
MAX_NAME_LENGTH = max(map(len, NAMES))


class ValueEnum(str, Enum):
    """A str enum whose str() and format() are its value, as a StrEnum's (mypy cannot follow a StrEnum
    through the functional API the KB's vocabularies are built with): str(Condition.pml) == 'pml'."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:  # f"{Condition.pml}" == 'pml' on every Python (3.12 would format its name)
        return format(str(self.value), spec)


_ALIASES_OF: dict[type, dict[str, str]] = {}  # each Condition enum's aliases (old name -> id)
_BY_ENUM: dict[type, "Vocabulary"] = {}  # each Condition enum's vocabulary


class _ConditionBase(ValueEnum):
    @classmethod
    def _missing_(cls, value: object) -> Any:
        aliases = _ALIASES_OF.get(cls, {})
        return cls.__members__.get(aliases[value]) if isinstance(value, str) and value in aliases else None

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """The JSON Schema's enum lists each condition once (an alias is another name of the same value)."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["enum"] = list(dict.fromkeys(schema.get("enum", [])))
        return schema


class Vocabulary:
    """A knowledge base's conditions (``conditions.toml``) as every surface uses them: the ``Condition``
    enum (aliases are enum aliases of the condition they name), the labels, every name a user may give,
    and :meth:`lookup`. The packaged KB's is :data:`PACKAGED`; :func:`vocabulary_for` gives another KB's."""

    def __init__(self, items: tuple[ConditionItem, ...]):
        self.items = items
        self.labels: dict[str, str] = {c.id: label_of(c) for c in items}
        self.aliases: dict[str, str] = {alias: c.id for c in items for alias in c.aliases}
        self.names: dict[str, str] = names_of(items)
        self.max_name_length = max(map(len, self.names))
        enum = _ConditionBase(  # type: ignore[call-overload]
            "Condition", [(c.id, c.id) for c in items] + [(alias, target) for alias, target in self.aliases.items()],
            module=__name__.rsplit(".", 2)[0] + ".core.models", qualname="Condition")
        enum.__doc__ = "A health condition: " + "; ".join(f"{c.id}: {c.description}" for c in items) + (
            "".join(f" (also accepted: {alias} for {target})" for alias, target in self.aliases.items()))
        _ALIASES_OF[enum] = self.aliases
        _BY_ENUM[enum] = self
        self.enum: Any = enum
        self.nearest = functools.lru_cache(maxsize=1024)(self._nearest)  # a batch repeats its typos

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.items]

    def lookup(self, value: Any) -> Any:
        """The Condition a user's value names: its id, an alias or its label, in any case and with spaces or
        hyphens for the underscores (as people and the web page write them: 'Heart failure'), surrounding
        space ignored. An unknown name raises ValueError, with the nearest name when one is close ('hep_b':
        did you mean 'hepatitis_b'?)."""
        if isinstance(value, self.enum):
            return value
        if not isinstance(value, str):
            raise ValueError(f"must be a string, got {type(value).__name__}")
        key = condition_key(value)
        if key.isascii() and key in self.names:  # no other script's look-alike letter ('K', 'İ') stands for an ASCII one
            return self.enum(self.names[key])
        shown = value[:100].encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate cannot go into an error
        near = self.nearest(key) if len(key) <= self.max_name_length * 2 else None  # a text far longer than any name is no typo of one
        raise ValueError(f"unknown condition '{shown}'" + ("..." if len(value) > 100 else "") + (f", did you mean '{near}'?" if near else ""))

    def _nearest(self, key: str) -> str | None:
        """The condition id whose name (id, alias or label) is closest to ``key``, if one is close (difflib's
        ratio of at least 0.6, its default), else None."""
        import difflib

        close = difflib.get_close_matches(key, list(self.names), n=1)
        return self.names[close[0]] if close else None

    def described(self) -> list[str]:
        """'id: description' for each condition, in the vocabulary's order, with the accepted aliases."""
        return [f"{c.id}: {c.description}" + (f" (also accepted: {', '.join(c.aliases)})" if c.aliases else "") for c in self.items]


PACKAGED = Vocabulary(CONDITIONS)
Condition = PACKAGED.enum
lookup = PACKAGED.lookup
nearest = PACKAGED.nearest


def label(condition: Any) -> str:
    """A condition's label in its KB ("Heart failure"; a Condition of any KB's vocabulary, or an id of the
    packaged one's), as the web page and cards name it."""
    value = str(getattr(condition, "value", condition))
    return _BY_ENUM.get(type(condition), PACKAGED).labels.get(value, value)


@functools.lru_cache(maxsize=16)
def _vocabulary(items: tuple[ConditionItem, ...]) -> Vocabulary:
    return Vocabulary(items)


def vocabulary_for(items: tuple[ConditionItem, ...]) -> Vocabulary:
    """The vocabulary of a KB's conditions: the packaged one for the packaged conditions, else one built
    for them (and kept, for the next Advisor over the same conditions)."""
    return PACKAGED if tuple(items) == CONDITIONS else _vocabulary(tuple(items))


# --- statuses (rules/statuses.toml): what a status rule may conclude ----------------------------------

class StatusItem(BaseModel):
    """One status of ``statuses.toml``: its id, the words each surface shows, its group and whether a
    drug with it is listed."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=CONDITION_ID, max_length=60)
    label: str = Field(min_length=1, max_length=30, pattern=r"^[^\n\r\t\x00-\x1f\x7f]*$")
    words: str = Field(min_length=1, max_length=80, pattern=r"^[^\n\r\t\x00-\x1f\x7f]*$")
    meaning: str = Field(min_length=1, max_length=200, pattern=r"^[^\n\r\t\x00-\x1f\x7f]*$")
    group: str = Field(min_length=1, max_length=80, pattern=r"^[^\n\r\t\x00-\x1f\x7f]*$")
    listed: bool = False
    colour: Literal["red", "green", "yellow"] | None = None


def status_problems(items: list[StatusItem]) -> list[str]:
    """Duplicate ids; a group whose statuses differ in being listed; no listed status."""
    problems: list[str] = []
    seen: set[str] = set()
    listed: dict[str, bool] = {}
    for item in items:
        if item.id in seen:
            problems.append(f"'{item.id}' names two statuses")
        seen.add(item.id)
        if listed.setdefault(item.group, item.listed) != item.listed:
            problems.append(f"group '{item.group}' mixes listed and unlisted statuses")
    if items and not any(i.listed for i in items):
        problems.append("no status is listed (listed = true)")
    return problems


def read_statuses(directory: Path) -> tuple[StatusItem, ...]:
    path = directory / "statuses.toml"
    try:
        raw = without_reasons(toml_file(path)).get("status")
        items = [StatusItem.model_validate(item) for item in raw] if isinstance(raw, list) else None
    except (OSError, ValueError, TypeError) as e:  # ValueError: TOML, UTF-8 or the schema
        raise KnowledgeBaseError([(str(path), "", f"the statuses cannot be read: {e}")]) from None
    if not items:
        raise KnowledgeBaseError([(str(path), "", "has no [[status]] entries")])
    problems = status_problems(items)
    if problems:
        raise KnowledgeBaseError([(str(path), "", p) for p in problems])
    return tuple(items)


STATUSES: tuple[StatusItem, ...] = read_statuses(packaged_directory())
STATUS_INFO: dict[str, StatusItem] = {s.id: s for s in STATUSES}
_INFO_OF: dict[type, dict[str, StatusItem]] = {}  # each Status enum's definitions


class _StatusBase(ValueEnum):
    @property
    def info(self) -> StatusItem:
        """The status's definition in its knowledge base (statuses.toml)."""
        return _INFO_OF[type(self)][self.value]


class Statuses:
    """A knowledge base's statuses (``statuses.toml``): the ``Status`` enum, in the KB's order, and the
    listed ones (applicable, then consider, in the packaged KB). The packaged KB's is
    :data:`PACKAGED_STATUSES`; :func:`statuses_for` gives another KB's."""

    def __init__(self, items: tuple[StatusItem, ...]):
        self.items = items
        enum = _StatusBase(  # type: ignore[call-overload]
            "Status", [(s.id, s.id) for s in items], module=__name__.rsplit(".", 1)[0] + ".models", qualname="Status")
        enum.__doc__ = "A drug's status: " + "; ".join(f"{s.id}: {s.meaning}" for s in items)
        _INFO_OF[enum] = {s.id: s for s in items}
        self.enum: Any = enum
        self.listed: tuple[Any, ...] = tuple(enum(s.id) for s in items if s.listed)


PACKAGED_STATUSES = Statuses(STATUSES)
Status = PACKAGED_STATUSES.enum
LISTED_STATUSES: tuple[Any, ...] = PACKAGED_STATUSES.listed


@functools.lru_cache(maxsize=16)
def _statuses(items: tuple[StatusItem, ...]) -> Statuses:
    return Statuses(items)


def statuses_for(items: tuple[StatusItem, ...]) -> Statuses:
    """The statuses of a KB's statuses.toml: the packaged ones for the packaged file, else built for them."""
    return PACKAGED_STATUSES if tuple(items) == STATUSES else _statuses(tuple(items))


def enum_value(enum: Any, v: Any) -> Any:
    """``v`` as a member of a KB's enum (a Status or a Condition), or pydantic's own enum error."""
    from pydantic_core import PydanticCustomError

    try:
        return v if isinstance(v, enum) else enum(v)
    except (ValueError, TypeError):
        values = [m.value for m in enum.__members__.values()]
        expected = ", ".join(f"'{x}'" for x in values[:-1]) + f" or '{values[-1]}'"
        raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected}) from None


def described() -> list[str]:
    """'id: description' for each condition, in the vocabulary's order, with the accepted aliases."""
    return PACKAGED.described()
