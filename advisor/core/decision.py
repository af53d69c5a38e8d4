"""What the rules decided, as plain data: below both the core (which makes it) and the recommendation
builder (which explains it), so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.core.models import Status
from advisor.kb.vocabulary import LISTED_STATUSES

LISTED = LISTED_STATUSES  # applicable, then consider: the KB's listed statuses, in its order


@dataclass(frozen=True)
class Decision:
    """What the status rules concluded for one set of facts: a status per drug, the rules that fired,
    the listed drugs (applicable, then consider, each in the KB's drug order), and the ids of the
    conditional notes (``when``) whose tests hold."""
    status: dict[str, Status]
    fired: tuple[str, ...]
    listed: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """A single-fact change that would list a drug that is not listed."""
    drug: str
    field: str
    value: Any
    status: Status
