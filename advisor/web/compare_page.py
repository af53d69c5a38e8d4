"""The compare page (``/compare``): the drugs side by side on the questions people ask (an Option
Grid, :mod:`advisor.grid`), with a form to pick the drugs and give facts; with facts, each drug's status
comes first and the side effects the person's conditions meet are marked. Drugs keep the KB's order."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from advisor import InvalidFacts, UnknownDrug
from advisor.web import form as form_module
from advisor.web.security import SecureRoute
from advisor.web.site import Site, SiteDep

router = APIRouter(route_class=SecureRoute, include_in_schema=False)
# the decision aid's own fields (the "what matters to you" answers): they mark rows and side effects, and
# are kept in the form; they never change a status, a cell or an order
CARRIED = ("matters", "matters_unsure", "avoid")
FIELDS = {"matters": "matters", "unsure": "matters_unsure", "avoid": "avoid"}  # the library's names -> the query's
TITLE = "Compare the options"


@router.api_route("/compare", methods=["GET", "HEAD"], response_class=HTMLResponse)
def compare(request: Request, site: SiteDep) -> Response:
    return compare_page(site, list(request.query_params.multi_items()))


def compare_page(site: Site, items: list[tuple[str, str]]) -> Response:
    picked = [v for k, v in items if k == "drug" and v]
    carried = [(k, v) for k, v in items if k in CARRIED]
    fact_items = [(k, v) for k, v in items if k != "drug" and k not in CARRIED]
    parsed = form_module.parse(fact_items, site.extra_facts)
    # facts are given when any field has a value, but the form's own prefilled "0" prior failures alone is none
    given = any(v.strip() and not (k == "prior_failures" and v.strip() == "0") for k, v in fact_items)
    if parsed.unknown_type:
        parsed.add("ms_type", "choose a type of MS to see each drug's status, or leave the facts empty")
    grid = None
    try:
        grid = site.advisor.compare(parsed.facts if given and not parsed.errors else None, picked or None,
                                    matters=[v for k, v in carried if k == "matters"],
                                    unsure=[v for k, v in carried if k == "matters_unsure"],
                                    avoid=[v for k, v in carried if k == "avoid"])
    except InvalidFacts as e:
        for err in e.errors:
            name = str(err.get("field", "")).split(".")[0]
            if name in FIELDS:  # as /summary names them: the field of the address, and the allowed values
                parsed.add("", f"{FIELDS[name]}: {err.get('message', '')}")
                continue
            message = str(err.get("message", "")) + (f" (allowed: {', '.join(map(str, err['allowed']))})" if err.get("allowed") else "")
            parsed.add("drug" if name == "drug" else "condition" if name == "conditions" else name, message)
    except UnknownDrug as e:
        parsed.add("drug", str(e).strip("'\""))
    status = 422 if parsed.errors else 200
    chosen = set(picked) if picked else {d.id for d in site.advisor.kb.drugs}
    return site.page("compare.html", status=status, grid=grid if not parsed.errors else None, values=parsed.values,
                     errors=parsed.errors, chosen=chosen, carried=carried, given=given, page_title=TITLE,
                     advice=("/advice?" + form_module.encode(parsed.values)) if given and not parsed.errors else None)
