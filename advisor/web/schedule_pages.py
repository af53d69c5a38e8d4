"""The schedule pages: a drug's infusion dates from a start date (``/schedule/{drug}``), and the same
dates as a calendar file (``/schedule/{drug}.ics``).

The query's fields are the schedule command's; a drug named by its name or brand is moved to the page
of its id, the query kept.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from datetime import date
from typing import Annotated, Any, Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from advisor.errors import ScheduleError
from advisor.kb.schema import Drug
from advisor.schedule import ics_of, is_finite, plan

from advisor.web import form as form_module
from advisor.web.security import SecureRoute
from advisor.web.site import PageMoved, PageNotFound, Site, SiteDep

SCHEDULE_LIMIT = 100  # dates listed for an open-ended schedule at most

router = APIRouter(route_class=SecureRoute, include_in_schema=False)  # pages.router includes it


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
        ics = f"/schedule/{drug.id}.ics?" + form_module.encode({name: values[name] for name in site.schedule_fields})
    return schedule_page(site, drug, result, errors, values, ics)
