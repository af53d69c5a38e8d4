"""The web pages (:mod:`advisor.web`) in the service's app, and the advice page's address for a set of
facts, which each CDS Hooks card links to as its full explanation."""

from __future__ import annotations

from typing import Any, Callable

from fastapi import FastAPI

from advisor import PatientFacts


def advice_url(base_url: str, facts: PatientFacts) -> str:
    """The advice page for ``facts`` (doses written so that they read back exactly)."""
    from advisor.web import advice_path

    return f"{base_url.rstrip('/')}{advice_path(facts)}"


def include(app: FastAPI, advisor: Any, json_views: dict[str, Callable[..., Any]]) -> None:
    """The pages for ``advisor`` in ``app`` (advisor.web.add_pages). ``/drugs`` and ``/rules`` are both
    a page and a JSON API endpoint: a browser (Accept: text/html) gets the page, any other client the
    JSON API's answer, ``json_views[path](kb)``."""
    from advisor.web import add_pages

    add_pages(app, advisor, json_views=json_views)
