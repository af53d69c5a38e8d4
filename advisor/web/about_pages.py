"""The page about this information (``/about``): the decision it helps with, what the tool is and is
not, where the article came from and when this copy was taken, how the knowledge base is reviewed, its
version and SHA-256, who made it and who funds it, and the words the article explains.

What the knowledge base records of itself is in ``rules/kb.toml`` (its header); a KB that does not
record a fact gets "Not recorded." on the page, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from advisor.web.security import SecureRoute
from advisor.web.site import SiteDep

router = APIRouter(route_class=SecureRoute, include_in_schema=False)  # pages.router includes it

NOT_RECORDED = "Not recorded."


@dataclass(frozen=True)
class Review:
    """How far the review of the rules has got: approved rules, and all of them."""
    approved: int
    rules: int


def review(kb: Any) -> Review:
    rules = (*kb.rules, *kb.cautions)
    return Review(sum(1 for r in rules if r.review_status == "approved"), len(rules))


def source_date(kb: Any) -> str:
    """The article's own date as the page says it."""
    when = kb.header.source_date
    if when == "undated":
        return "The article carries no date."
    return _day(when) if isinstance(when, date) else NOT_RECORDED


def _day(when: date | None) -> str:
    return f"{when.day} {when:%B %Y}" if when is not None else NOT_RECORDED


@router.api_route("/about", methods=["GET", "HEAD"], response_class=HTMLResponse)
def about(site: SiteDep) -> Response:
    kb = site.kb
    return site.page("about.html", page_title="About this information", review=review(kb), source_date=source_date(kb),
                     taken_on=_day(kb.header.source_taken_on), not_recorded=NOT_RECORDED)
