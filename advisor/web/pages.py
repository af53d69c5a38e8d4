"""The web pages: a router of page handlers that ``add_pages`` puts in any FastAPI app (the service's,
or the small one in tests), with the handlers of their errors; this module's own pages are the form and
the advice.

Each page is a function on ``router`` (this module's, the schedule pages' and the reference pages'),
given the Site (``app.state.site``, see :mod:`advisor.web.site`) by the ``SiteDep`` dependency; a page
that does not exist raises ``PageNotFound``, a drug named by its brand ``PageMoved``, which the handlers
add_pages registers answer (a 404 page, a 308). Every response carries the security headers
(``SecureRoute``, and those handlers), so they hold in whichever app mounts it.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from advisor import InvalidFacts
from advisor.render.common import groups

from advisor.web import form as form_module
from advisor.web import about_pages, compare_page, reference_pages, schedule_pages, summary_pages
from advisor.web.security import SecureRoute, add_security_headers, security_headers_middleware
from advisor.web.site import ASSETS, MS_TYPE_HINTS, PageMoved, PageNotFound, Site, SiteDep, get_site, value_of

router = APIRouter(route_class=SecureRoute, include_in_schema=False)  # the pages; add_pages puts them in an app
router.include_router(schedule_pages.router)
router.include_router(reference_pages.router)
router.include_router(compare_page.router)
router.include_router(about_pages.router)
router.include_router(summary_pages.router)


def add_pages(app: FastAPI, advisor: Any = None, json_views: dict[str, Callable[[Any], Response]] | None = None) -> Site:
    """The web pages over ``advisor`` (default: the packaged knowledge base's) in ``app``: their Site in
    ``app.state.site`` (which every page is given, see :func:`get_site`), the router, and the handlers
    that answer the pages' PageNotFound and PageMoved. ``/drugs`` and ``/rules`` are pages for a browser
    (Accept: text/html); any other client gets ``json_views[path](kb)`` when given (the service's JSON
    API), else the knowledge base's own JSON. The pages are warmed up before this returns."""
    if advisor is None:
        from advisor import default_advisor

        advisor = default_advisor()
    site = Site(advisor, json_views)
    app.state.site = site
    app.include_router(router)
    app.add_exception_handler(PageNotFound, not_found_page)
    app.add_exception_handler(PageMoved, moved_page)
    warm_up(site)
    return site


async def not_found_page(request: Request, exc: Exception) -> Response:
    site = await get_site(request)
    return add_security_headers(site.page("not_found.html", status=404, message=str(exc), page_title="Not found"))


async def moved_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageMoved)
    return add_security_headers(RedirectResponse(exc.location, status_code=308))


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def index(request: Request, site: SiteDep) -> Response:
    parsed = form_module.parse(list(request.query_params.multi_items()), site.extra_facts)
    return site.page("form.html", values=parsed.values, errors={}, page_title="Which MS infusion drugs does the article describe?")


@router.api_route("/advice", methods=["GET", "HEAD"], response_class=HTMLResponse)
def advice(request: Request, site: SiteDep) -> Response:
    return advice_page(site, list(request.query_params.multi_items()))


def advice_page(site: Site, items: list[tuple[str, str]]) -> Response:
    parsed = form_module.parse(items, site.extra_facts)
    facts = parsed.facts
    if parsed.unknown_type:  # check the other facts with a stand-in type; its advice is not shown
        facts = {**facts, "ms_type": site.ms_types[0][0]}
    rec = None
    try:  # also when the form found problems: the library names the others, all shown at once
        rec = site.advisor.advise(facts)
    except InvalidFacts as e:
        form_module.add_invalid(parsed, e.errors)
    if parsed.unknown_type and not parsed.errors:
        return unknown_type(site, parsed)
    if rec is None and not parsed.errors:
        parsed.add("", "the facts were refused")
    if rec is None or parsed.errors:
        return site.page("form.html", status=422, values=parsed.values, errors=parsed.errors,
                         page_title="Please check the facts")
    facts = rec.facts
    listed = [d for d in rec.drugs if d.drug in rec.listed]
    listed.sort(key=lambda d: rec.listed.index(d.drug))
    others = [d for d in rec.drugs if d.drug not in rec.listed]
    what_if = {d.drug: [(w, "/advice?" + form_module.query(facts, **{w.field: w.value})) for w in d.what_if]
               for d in rec.drugs}
    edit = "/?" + form_module.query(facts)
    compare = "/compare?" + form_module.query(facts)
    summary = "/summary?" + form_module.query(facts)
    today = date.today().isoformat()
    schedules = {}  # each drug's dates page, with the dose already received where a lifetime maximum counts it
    for d in rec.drugs:
        received = site.drugs[d.drug].schedule.received_fact
        given = getattr(facts, received) if received else None
        query = {"start": today, **({received: form_module.number(given)} if received and given is not None else {})}
        schedules[d.drug] = f"/schedule/{d.drug}?" + urlencode(query)
    return site.page("advice.html", rec=rec, facts=facts, listed=listed, others=others, what_if=what_if, groups=groups(rec),
                     edit=edit, ms_label=MS_TYPE_HINTS.get(value_of(facts.ms_type), (value_of(facts.ms_type),))[0],
                     schedules=schedules, compare=compare, summary=summary, page_title="Advice for these facts")


def unknown_type(site: Site, parsed: form_module.Parsed) -> Response:
    links = []
    base = dict(parsed.values)
    for t, label, hint in site.ms_types:
        q = form_module.parse([(k, v) for k, v in form_module.pairs({**base, "ms_type": t})], site.extra_facts)
        links.append((label, hint, "/advice?" + form_module.encode({**base, "ms_type": t}) if not q.errors else None))
    return site.page("unknown_type.html", links=links, edit="/?" + form_module.encode(base),
                     page_title="If you do not know the type of MS")


@router.api_route("/assets/{name}", methods=["GET", "HEAD"])
def asset(name: str, site: SiteDep) -> Response:
    if name not in ASSETS:
        raise PageNotFound("No such file.")
    return Response(site.assets[name], media_type=ASSETS[name],
                    headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{site.asset_version[name]}"'})


def warm_up(site: Site) -> None:
    """Before serving: one advice page for every MS type and severity (the engine's decisions for them,
    the recommendation and template code paths), so no user waits for a first time."""
    for ms_type, _, _ in site.ms_types:
        for severity in site.severities:
            advice_page(site, [("ms_type", ms_type), ("severity", severity)])


def create_app(advisor: Any = None) -> FastAPI:
    """A FastAPI app with only the pages (for tests and `python -m advisor.web`)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    add_pages(app, advisor)
    app.middleware("http")(security_headers_middleware)  # also on the framework's own 404 and 405
    return app

