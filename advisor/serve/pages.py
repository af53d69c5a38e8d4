"""The web pages (:mod:`advisor.web`) in the service's app, and the pages each CDS Hooks card links to
for a person's facts: the full explanation and the decision aid's pages."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI

from advisor import PatientFacts


# The pages a CDS Hooks card links to for a person's facts, in the order an EHR shows them: the full
# explanation first, then the decision aid's pages (each an absolute link with its label).
CARD_LINKS = (("Full explanation for these facts", "/advice"),
              ("Compare the options side by side", "/compare"),
              ("One-page summary for the clinic", "/summary"))


def card_links(base_url: str, facts: PatientFacts) -> list[dict[str, str]]:
    """The links of a card for ``facts``: each page of CARD_LINKS with the same facts in its query (doses
    written so that they read back exactly)."""
    from advisor.web.form import query

    base, facts_query = base_url.rstrip("/"), query(facts)
    return [{"label": label, "url": f"{base}{path}?{facts_query}", "type": "absolute"} for label, path in CARD_LINKS]


def include(app: FastAPI, advisor: Any, json_views: dict[str, Callable[..., Any]]) -> None:
    """The pages for ``advisor`` in ``app`` (advisor.web.add_pages). ``/drugs`` and ``/rules`` are both
    a page and a JSON API endpoint: a browser (Accept: text/html) gets the page, any other client the
    JSON API's answer, ``json_views[path](kb)``."""
    from advisor.web import add_pages

    add_pages(app, advisor, json_views=json_views)
