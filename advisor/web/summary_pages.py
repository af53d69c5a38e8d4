"""The summary page (``/summary``): what matters to the person, asked with radio buttons and
checkboxes, and the summary for the clinic (print CSS fits it on one page for most people; a longer one
breaks between items).

The query is the advice page's facts plus ``matters`` (concern ids answered yes), ``matters_unsure``
(answered don't know) and ``avoid`` (side effects by name), so the address carries every answer and can
be reopened and shared. The form sends each concern as ``answer-<id>``; those are moved (303) to the
address in that form.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from advisor.errors import InvalidFacts
from advisor.core.summary import build

from advisor.web import form as form_module
from advisor.web.security import SecureRoute
from advisor.web.site import Site, SiteDep

router = APIRouter(route_class=SecureRoute, include_in_schema=False)  # pages.router includes it

ANSWER = "answer-"
MAX_ITEMS = 200  # query pairs read at most: a longer query is refused, never read at length


@router.api_route("/summary", methods=["GET", "HEAD"], response_class=HTMLResponse)
def summary(request: Request, site: SiteDep) -> Response:
    items = list(request.query_params.multi_items())
    if len(items) > MAX_ITEMS:
        return _refused(site, [], {"": [f"the address has more than {MAX_ITEMS} fields"]})
    facts_items: list[tuple[str, str]] = []
    lists: dict[str, list[str]] = {"matters": [], "matters_unsure": [], "avoid": []}
    answered: dict[str, str] = {}
    for name, value in items:
        value = value[:form_module.MAX_VALUE_LENGTH]
        if name in lists:
            lists[name].append(value)
        elif name.startswith(ANSWER):
            answered[name[len(ANSWER):][:40]] = value
        else:
            facts_items.append((name, value))
    if answered:  # the form's radio buttons: moved to the address of the answers
        ids = [m.id for m in site.kb.matters]
        bad = [f"{ANSWER}{ident}: must be yes, no or unsure" if ident in ids else
               f"unknown field '{ANSWER}{ident}' (concerns: {', '.join(ids) or 'none'})"
               for ident, value in answered.items() if ident not in ids or value not in ("yes", "no", "unsure")]
        if bad:
            return _refused(site, facts_items, {"": bad[:form_module.MAX_MESSAGES]})
        for ident, value in answered.items():
            for key in ("matters", "matters_unsure"):
                if ident in lists[key]:
                    lists[key].remove(ident)
            if value == "yes":
                lists["matters"].append(ident)
            elif value == "unsure":
                lists["matters_unsure"].append(ident)
        side = [m.id for m in site.kb.matters if m.choices]
        if lists["avoid"] and side and side[0] not in lists["matters"] + lists["matters_unsure"]:
            lists["matters"].append(side[0])  # a side effect picked answers its concern yes
        query = urlencode([*facts_items, *((k, v) for k in lists for v in lists[k])])
        return RedirectResponse("/summary?" + query, status_code=303)
    parsed = form_module.parse(facts_items, site.extra_facts)
    if parsed.unknown_type:
        parsed.add("ms_type", "the summary needs a type of MS: choose one")
    result = None
    try:
        result = build(site.advisor, parsed.facts, matters=lists["matters"], unsure=lists["matters_unsure"], avoid=lists["avoid"])
    except InvalidFacts as e:
        other = [x for x in e.errors if x.get("field") not in ("matters", "unsure", "avoid")]
        form_module.add_invalid(parsed, other)
        for x in e.errors:
            if x.get("field") in ("matters", "unsure", "avoid"):
                field = {"matters": "matters", "unsure": "matters_unsure", "avoid": "avoid"}[x["field"]]
                parsed.add("", f"{field}: {x['message']}")
    if result is None or parsed.errors:
        return _refused(site, facts_items, parsed.errors)
    fact_pairs = parse_qsl(form_module.query(site.advisor.advise(parsed.facts).facts))
    answers = {c.id: {"yes": "yes", "no": "no", "don't know": "unsure"}[c.answer] for c in result.concerns}
    answer_pairs = [(k, v) for k in lists for v in lists[k]]  # the compare grid (/compare, a page of the same router) keeps them
    compare_links = {c.id: "/compare?" + urlencode([*fact_pairs, *answer_pairs]) for c in result.concerns if c.answer == "yes"}
    return site.page("summary.html", s=result, matters=site.kb.matters, answers=answers, avoid=set(lists["avoid"]),
                     fact_pairs=fact_pairs, back="/advice?" + urlencode(fact_pairs), compare_links=compare_links,
                     page_title="What matters to you, and a summary to print")


def _refused(site: Site, facts_items: list[tuple[str, str]], errors: dict[str, list[str]]) -> Response:
    parsed = form_module.parse(facts_items, site.extra_facts)
    return site.page("form.html", status=422, values=parsed.values, errors=errors, page_title="Please check the facts")
