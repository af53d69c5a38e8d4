"""The web pages: a router of page handlers that ``add_pages`` puts in any FastAPI app (the service's,
or the small one in tests), with the Site they share and the handlers of their errors.

Each page is a function of this module on ``router``, given the Site (``app.state.site``) by the
``SiteDep`` dependency; a page that does not exist raises ``PageNotFound``, a drug named by its
brand ``PageMoved``, which the handlers add_pages registers answer (a 404 page, a 308). Every
response carries the security headers (``SecureRoute``, and those handlers), so they hold in
whichever app mounts it. Pages are rendered with Jinja2 (autoescaping on, undefined names an error)
from templates shipped in this package; CSS and JS are served from the package too, never a CDN.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from importlib import resources
from collections.abc import Awaitable
from typing import Annotated, Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import BytecodeCache, Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket

from advisor import InvalidFacts
from advisor.errors import ScheduleError, ServiceError
from advisor.kb.schema import Drug
from advisor.core.models import PatientFacts, Status
from advisor.render import groups
from advisor.schedule import ics_of, is_finite, plan
from advisor.text import visible as text_visible

from advisor.web import article as article_module
from advisor.web import form as form_module
from advisor.web import kbinfo

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the facts are in the URL: never send them to another site
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
ASSETS = {"web.css": "text/css; charset=utf-8", "web.js": "text/javascript; charset=utf-8", "icon.svg": "image/svg+xml"}
SCHEDULE_LIMIT = 100  # dates listed for an open-ended schedule at most


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class SecureRoute(APIRoute):
    """A route whose every response gets the security headers."""

    def get_route_handler(self) -> Callable[..., Any]:
        handler = super().get_route_handler()

        async def secured(request: Request) -> Response:
            return add_security_headers(await handler(request))

        return secured


async def security_headers_middleware(request: Request, call_next: Callable[..., Any]) -> Response:
    """The same headers for a whole app (``app.middleware("http")(security_headers_middleware)``)."""
    return add_security_headers(await call_next(request))


# MS types: each with what the article says where it names it (it does not define the types or say how to
# tell them apart; the form says to ask the MS team), and the other names a letter may use for it: each
# value's label and description in rules/facts.toml.
MS_TYPE_HINTS = {v.id: (v.words[:1].upper() + v.words[1:], v.description or "") for v in PatientFacts.specs["ms_type"].values}
# Each fact's heading on the form (rules/facts.toml's title, else its label); the conditions are the
# repeated field "condition".
LABELS = {{"conditions": "condition"}.get(f.id, f.id): f.heading for f in PatientFacts.facts_specs}
STATUS_LABELS = {s.value: s.info.words for s in Status}  # from the KB (rules/statuses.toml)


def visible(value: Any) -> Any:
    """Jinja's finalize: every printed string (not markup) with its unsafe characters written as escapes,
    by the one rule for every surface (:func:`advisor.text.visible`): a control or a bidirectional
    override from a user (or a KB) is shown, not obeyed, and a lone surrogate cannot break the page."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return text_visible(value)
    return value


class _CompiledTemplates(BytecodeCache):
    """The templates' compiled code, kept for the process: every Site's Environment (one per app built,
    all with the same options) reuses it instead of parsing and compiling each template again (~0.1 s
    of CPU per app). Jinja checks each entry against the template's source, so an edit is recompiled."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


def _static(name: str) -> bytes:
    return resources.files("advisor.web").joinpath("static", name).read_bytes()


class Site:
    """Everything the pages derive from one Advisor, computed once."""

    def __init__(self, advisor: Any, json_views: dict[str, Callable[[Any], Response]] | None = None):
        self.advisor = advisor
        self.json_views = json_views or {}  # /drugs, /rules for a client that does not ask for HTML
        kb = advisor.kb
        self.kb = kb
        self.identity = kbinfo.identity(kb)
        self.conditions = kbinfo.conditions(kb)
        self.condition_ids = [c.id for c in self.conditions]
        self.ms_types = [(t, *MS_TYPE_HINTS.get(t, (t, ""))) for t in kbinfo.ms_types()]
        self.severities = kbinfo.severities()
        self.article = article_module.render(kb)
        self.assets = {name: _static(name) for name in ASSETS}
        self.asset_version = {name: hashlib.sha256(body).hexdigest()[:12] for name, body in self.assets.items()}
        self.drugs = {d.id: d for d in kb.drugs}
        self.names: dict[str, str] = {}  # a drug's name or brand, in any case, leads to its page
        for d in kb.drugs:
            for name in (d.id, d.name, d.name.split()[0], d.brand):
                if name:
                    self.names.setdefault(name.casefold(), d.id)
        # the schedule pages' query: the first date, how many, and each dose a lifetime maximum counts
        self.received = list(dict.fromkeys(d.schedule.received_fact for d in kb.drugs if d.schedule.received_fact))
        self.schedule_fields = ("start", "count", *self.received)
        notes = {n.id: n for n in kb.notes}
        self.reminder = notes["infusion_reaction_window"].text if "infusion_reaction_window" in notes else ""
        self.env = Environment(loader=PackageLoader("advisor.web", "templates"),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               finalize=visible, bytecode_cache=_COMPILED)
        self.env.globals.update(site=self, quote_href=self.quote_href, status_label=self.status_label,
                                asset=self.asset_url, number=form_module.number)
        # the KB's further facts (rules/facts.toml), each a field of the form, labelled by the KB
        self.extra_facts = form_module.extra_facts(advisor.facts_model)
        self.fact = lambda name: PatientFacts.specs[name]  # the packaged facts' words (facts.toml), for their own fields
        self.env.globals["labels"] = {**LABELS, **{f.id: f.heading for f in self.extra_facts}}
        labels = {c.id: c.label for c in self.conditions}

        def condition_label(c: Any) -> str:  # a Condition or its id
            value = getattr(c, "value", c)
            return labels.get(value, str(value))

        self.env.globals["condition_label"] = condition_label
        self.env.filters["words"] = lambda v: str(_value(v)).replace("_", " ")
        self.env.filters["value"] = _value
        for name in self.env.list_templates(extensions=["html"]):
            self.env.get_template(name)  # compile once now, not on a user's first request

    def asset_url(self, name: str) -> str:
        return f"/assets/{name}?v={self.asset_version[name]}"

    def quote_href(self, quote: str | None, section: str | None) -> str | None:
        if not quote:
            return None
        ident = article_module.anchor(quote, section)
        return f"/article#{ident}" if ident in self.article.found else None

    @staticmethod
    def status_label(status: Any) -> str:
        if hasattr(status, "info"):  # a Status of the KB's own statuses.toml
            return str(status.info.words)
        value = getattr(status, "value", status)
        return str(STATUS_LABELS.get(value, str(value).replace("_", " ")))

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(**context)
        response = HTMLResponse(html, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # the facts are health data
        return response


router = APIRouter(route_class=SecureRoute, include_in_schema=False)  # the pages; add_pages puts them in an app


class PageNotFound(ServiceError):
    """No such page (a drug, a file): the 404 page shows the message."""


class PageMoved(ServiceError):
    """The page asked for is at ``location`` (a drug named by its name or brand): a 308 to it."""

    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


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


async def get_site(request: Request) -> Site:
    """The pages' Site, built once by add_pages (``app.state.site``)."""
    site: Site = request.app.state.site
    return site


SiteDep = Annotated[Site, Depends(get_site)]


def _schedule_drug(suffix: str) -> Callable[..., Awaitable[Drug]]:
    """A dependency giving the drug a schedule page's path names by its id. A name or brand, in any case,
    is a PageMoved to the page of its id (the query kept); anything else is PageNotFound."""

    async def drug(drug_id: str, request: Request, site: SiteDep) -> Drug:
        found: Drug | None = site.drugs.get(drug_id)
        if found is not None:
            return found
        other = site.names.get(drug_id.strip().casefold())
        if other is None:
            known = ", ".join(d.id for d in site.kb.drugs)
            raise PageNotFound(f"No drug '{drug_id}' in the knowledge base (known: {known}).")
        query = urlencode(list(request.query_params.multi_items()))
        raise PageMoved(f"/schedule/{other}{suffix}" + (f"?{query}" if query else ""))

    return drug


ScheduleDrug = Annotated[Drug, Depends(_schedule_drug(""))]
CalendarDrug = Annotated[Drug, Depends(_schedule_drug(".ics"))]


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
    today = date.today().isoformat()
    schedules = {}  # each drug's dates page, with the dose already received where a lifetime maximum counts it
    for d in rec.drugs:
        received = site.drugs[d.drug].schedule.received_fact
        given = getattr(facts, received) if received else None
        query = {"start": today, **({received: form_module.number(given)} if received and given is not None else {})}
        schedules[d.drug] = f"/schedule/{d.drug}?" + urlencode(query)
    return site.page("advice.html", rec=rec, facts=facts, listed=listed, others=others, what_if=what_if, groups=groups(rec),
                     edit=edit, ms_label=MS_TYPE_HINTS.get(_value(facts.ms_type), (_value(facts.ms_type),))[0],
                     schedules=schedules, page_title="Advice for these facts")


def unknown_type(site: Site, parsed: form_module.Parsed) -> Response:
    links = []
    base = dict(parsed.values)
    for t, label, hint in site.ms_types:
        q = form_module.parse([(k, v) for k, v in _items({**base, "ms_type": t})], site.extra_facts)
        links.append((label, hint, "/advice?" + _urlencode({**base, "ms_type": t}) if not q.errors else None))
    return site.page("unknown_type.html", links=links, edit="/?" + _urlencode(base),
                     page_title="If you do not know the type of MS")


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


def schedule_query(site: Site, drug: Drug, request: Request, default_start: str = "") -> tuple[Any, dict[str, str], dict[str, str]]:
    """The drug's InfusionPlan (None when the query has a problem or no start), the problems by
    field ("" for the query as a whole) and the values as given. The query's fields are the
    schedule command's: ``start``, ``count`` and the dose a lifetime maximum counts (as the CLI's
    ``--mitoxantrone-cumulative-mg-m2``); any other is refused, as on the advice page."""
    values = {name: "" for name in site.schedule_fields}
    errors: dict[str, str] = {}
    unknown: list[str] = []
    given: set[str] = set()
    for name, value in request.query_params.multi_items():
        if name not in values:
            unknown.append(f"unknown field '{form_module.clip(name)}' (allowed: {', '.join(site.schedule_fields)})")
        elif name in given:
            errors[name] = "is given more than once"
        else:
            given.add(name)
            values[name] = value[:form_module.MAX_VALUE_LENGTH]
    if unknown:
        errors[""] = "; ".join(unknown[:form_module.MAX_MESSAGES]) + ("; and more" if len(unknown) > form_module.MAX_MESSAGES else "")
    values["start"] = values["start"] or default_start
    start = None
    if values["start"] and "start" not in errors:
        try:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", values["start"]):
                raise ValueError
            start = date.fromisoformat(values["start"])
            if not date(1900, 1, 1) <= start <= date(2999, 12, 31):
                errors["start"] = "must be a date from 1900-01-01 to 2999-12-31"
                start = None
        except ValueError:
            errors["start"] = "is not a date: choose one in the date field (in a link, write it YYYY-MM-DD, such as 2027-03-01)"
    count = None
    if values["count"] and "count" not in errors:
        if re.fullmatch(r"[0-9]{1,4}", values["count"]) and 1 <= int(values["count"]) <= SCHEDULE_LIMIT:
            count = int(values["count"])
        else:
            errors["count"] = f"must be a whole number from 1 to {SCHEDULE_LIMIT}"
    received = None
    for name in site.received:
        text = values[name].strip()
        if not text or name in errors:
            continue
        try:
            amount = form_module.dose(text)
        except ValueError as e:  # ValueTextError: what was expected
            errors[name] = str(e)
            continue
        if drug.schedule.received_fact != name:  # a field this page does not show
            errors[""] = "; ".join(filter(None, (errors.get(""), f"{name}: {drug.name} has no lifetime maximum dose in the article")))
        else:
            received = amount
    result = None
    if start is not None and not errors:
        try:
            result = plan(site.advisor, drug.id, start, count, received)
        except ScheduleError as e:
            errors[""] = str(e)
    return result, errors, values


def schedule_page(site: Site, drug: Any, result: Any, errors: dict[str, str], values: dict[str, str], ics: str | None = None) -> Response:
    return site.page("schedule.html", status=422 if errors else 200, drug=drug, plan=result, errors=errors, values=values,
                     finite=is_finite(drug.schedule), ics=ics, page_title=f"{drug.name}: infusion dates")


@router.api_route("/schedule/{drug_id}.ics", methods=["GET", "HEAD"])
def schedule_ics(drug: CalendarDrug, request: Request, site: SiteDep) -> Response:
    result, errors, values = schedule_query(site, drug, request)
    if result is None or errors:
        if not errors:
            errors["start"] = "is required to make a calendar: the date of the first infusion"
        return schedule_page(site, drug, None, errors, values)
    if not result.infusions:
        why = (f"{result.left_unknown} Give a number in “How many infusions to list”." if result.left_unknown
               else result.remaining)
        return schedule_page(site, drug, result, {"": f"there are no infusion dates to put in a calendar: {why}"}, values)
    try:
        body = ics_of(result)
    except ScheduleError as e:
        return schedule_page(site, drug, None, {"": str(e)}, values)
    return Response(body, media_type="text/calendar; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{drug.id}-{values["start"]}.ics"',
        "Cache-Control": "no-store"})


@router.api_route("/schedule/{drug_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def schedule(drug: ScheduleDrug, request: Request, site: SiteDep) -> Response:
    result, errors, values = schedule_query(site, drug, request, default_start=date.today().isoformat())
    ics = None
    if result is not None and result.infusions:
        ics = f"/schedule/{drug.id}.ics?" + _urlencode({name: values[name] for name in site.schedule_fields})
    return schedule_page(site, drug, result, errors, values, ics)


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


def _value(v: Any) -> Any:
    """An enum member's value, or the value itself (the vocabulary may be enums or plain strings)."""
    return getattr(v, "value", v)


def _items(values: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for k, v in values.items():
        if isinstance(v, list):
            out += [(k, str(x)) for x in v]
        elif v not in ("", None):
            out.append((k, str(v)))
    return out


def _urlencode(values: dict[str, Any]) -> str:
    return urlencode(_items(values))


def _wants_html(request: Request) -> bool:
    """A browser (or anyone asking for text/html) gets the page; other clients get the KB as JSON."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def create_app(advisor: Any = None) -> FastAPI:
    """A FastAPI app with only the pages (for tests and `python -m advisor.web`)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    add_pages(app, advisor)
    app.middleware("http")(security_headers_middleware)  # also on the framework's own 404 and 405
    return app
