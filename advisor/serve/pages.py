"""The web pages' place in the app (issue 13 builds them here, on ``router``).

Today it holds what the rest of the service needs from the pages: the address of the advice page for a
set of facts, which each CDS Hooks card links to as its full explanation.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter

from .. import PatientFacts

router = APIRouter(include_in_schema=False)

ADVICE_PATH = "/advice"


def advice_query(facts: PatientFacts) -> str:
    """The query string of the advice page for ``facts``: one parameter per fact, ``condition`` repeated."""
    pairs: list[tuple[str, str]] = [("ms_type", _v(facts.ms_type)), ("severity", _v(facts.severity)),
                                    ("prior_failures", str(facts.prior_failures)),
                                    ("rapidly_worsening", "true" if facts.rapidly_worsening else "false"),
                                    ("mitoxantrone_cumulative_mg_m2", f"{facts.mitoxantrone_cumulative_mg_m2:g}")]
    pairs += [("condition", _v(c)) for c in facts.conditions]
    return urlencode(pairs)


def _v(value: object) -> str:
    return str(getattr(value, "value", value))


def advice_url(base_url: str, facts: PatientFacts) -> str:
    return f"{base_url.rstrip('/')}{ADVICE_PATH}?{advice_query(facts)}"
