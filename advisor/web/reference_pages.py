"""The reference pages: the article, what it says of each drug (``/drugs``) and the rules (``/rules``).

``/drugs`` and ``/rules`` are pages for a browser (Accept: text/html); any other client gets the
knowledge base as JSON (the service's JSON API when the Site has one).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from advisor.web.security import SecureRoute
from advisor.web.site import SiteDep

router = APIRouter(route_class=SecureRoute, include_in_schema=False)  # pages.router includes it


@router.api_route("/article", methods=["GET", "HEAD"], response_class=HTMLResponse)
def article(site: SiteDep) -> Response:
    return site.page("article.html", page_title=f"The article: {site.kb.header.source_title}")


@router.api_route("/drugs", methods=["GET", "HEAD"], response_class=HTMLResponse)
def drugs(request: Request, site: SiteDep) -> Response:
    if not _wants_html(request):
        if "/drugs" in site.json_views:
            return site.json_views["/drugs"](site.kb)
        return JSONResponse([d.model_dump(mode="json") for d in site.kb.drugs], headers={"Vary": "Accept"})
    response = site.page("drugs.html", page_title="What the article says of each drug")
    response.headers["Vary"] = "Accept"
    return response


@router.api_route("/rules", methods=["GET", "HEAD"], response_class=HTMLResponse)
def rules(request: Request, site: SiteDep) -> Response:
    if not _wants_html(request):
        if "/rules" in site.json_views:
            return site.json_views["/rules"](site.kb)
        return JSONResponse({"rules": [x.model_dump(mode="json") for x in site.kb.rules],
                             "cautions": [x.model_dump(mode="json") for x in site.kb.cautions],
                             "notes": [x.model_dump(mode="json") for x in site.kb.notes]}, headers={"Vary": "Accept"})
    response = site.page("rules.html", page_title="The rules")
    response.headers["Vary"] = "Accept"
    return response


def _wants_html(request: Request) -> bool:
    """A browser (or anyone asking for text/html) gets the page; other clients get the KB as JSON."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept
