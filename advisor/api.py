"""The library's front door: ``advise(facts)`` with the shipped knowledge base."""

from __future__ import annotations

from typing import Any

import threading

from advisor.core.advisor import Advisor
from advisor.core.models import PatientFacts, Recommendation

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
