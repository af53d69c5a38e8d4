"""The library's front door: ``advise(facts)`` with the shipped knowledge base."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import threading

from advisor.core.advisor import Advisor
from advisor.core.models import PatientFacts, Recommendation

if TYPE_CHECKING:
    from advisor.core.summary import Summary
    from advisor.grid import Comparison

_default: Advisor | None = None
_default_lock = threading.Lock()


def default_advisor() -> Advisor:
    """The Advisor over the packaged knowledge base, built once on first use and then reused."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Advisor()
    return _default


def advise(facts: dict[str, Any] | PatientFacts) -> Recommendation:
    """Advice for one person's facts (a dict or PatientFacts), with the packaged knowledge base.

        >>> from advisor import advise
        >>> rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2, "conditions": ["cancer"]})
        >>> rec.listed, rec.drug("Lemtrada").status.value
        (('alemtuzumab', 'ocrelizumab', 'mitoxantrone'), 'applicable')

    Raises :class:`advisor.InvalidFacts` (an :class:`advisor.AdvisorError`) naming each bad field."""
    return default_advisor().advise(facts)


def compare(facts: dict[str, Any] | PatientFacts | None = None, drugs: list[str] | None = None,
            matters: Any = (), unsure: Any = (), avoid: Any = ()) -> "Comparison":
    """The comparison grid (an Option Grid) of the packaged knowledge base: the drugs side by side, in
    its order, on the questions people ask; with ``facts``, each drug's status first and the side
    effects the person's conditions meet marked. ``drugs`` picks 2 to 4 (ids, names or brands).
    ``matters`` / ``unsure`` (concern ids answered yes / don't know) and ``avoid`` (side effects by name)
    mark the rows and side effects that speak to them; they never change a status, a cell or an order.

        >>> from advisor import compare
        >>> grid = compare({"ms_type": "spms", "severity": "severe", "rapidly_worsening": True})
        >>> [(s.drug, s.status) for s in grid.status][2], grid.row("course_ends").cell("natalizumab").silent
        (('mitoxantrone', 'applicable'), True)

    Raises :class:`advisor.InvalidFacts` (bad facts, or fewer than 2 drugs) or :class:`advisor.UnknownDrug`."""
    return default_advisor().compare(facts, drugs, matters=matters, unsure=unsure, avoid=avoid)


def summary(facts: dict[str, Any] | PatientFacts, matters: Any = (), unsure: Any = (), avoid: Any = ()) -> "Summary":
    """The summary for the clinic, with the packaged knowledge base: the facts, each drug's
    status with its reason and quote, what matters to the person (``matters``: concern ids answered yes,
    ``unsure``: answered don't know, ``avoid``: side effects by name), questions to ask, the source.
    The answers never change a status or the drugs' order.

        >>> from advisor import summary
        >>> s = summary({"ms_type": "ppms", "severity": "moderate"}, matters=["fewer_visits"])
        >>> [c.answer for c in s.concerns]
        ['yes', 'no', 'no', 'no']

    Raises :class:`advisor.InvalidFacts` naming each bad field (a fact, or matters / unsure / avoid)."""
    return default_advisor().summary(facts, matters=matters, unsure=unsure, avoid=avoid)
