"""The Site the pages share: one Advisor's Jinja environment, labels and filters, computed once, and the
dependency (``SiteDep``) and errors (``PageNotFound``, ``PageMoved``) the pages use.

Pages are rendered with Jinja2 (autoescaping on, undefined names an error, every printed string through
:func:`visible`) from templates shipped in this package; CSS and JS are served from the package too, never
a CDN. The templates' compiled code is kept for the process.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Annotated, Any, Callable

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import BytecodeCache, Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket

from advisor.errors import ServiceError
from advisor.core.models import PatientFacts, Status
from advisor.text import visible as text_visible

from advisor.web import article as article_module
from advisor.web import form as form_module
from advisor.web import kbinfo
from advisor.web.terms import Terms

ASSETS = {"web.css": "text/css; charset=utf-8", "web.js": "text/javascript; charset=utf-8", "icon.svg": "image/svg+xml"}


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
        self.env.filters["words"] = lambda v: str(value_of(v)).replace("_", " ")
        self.terms = Terms(getattr(kb, "terms", ()))
        self.env.filters["terms"] = self.terms.mark  # the words the article explains, marked up (terms.py)
        self.env.filters["value"] = value_of
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
        with self.terms.page():  # each term's first use on this page is its <dfn>
            html = self.env.get_template(template).render(**context)
        response = HTMLResponse(html, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # the facts are health data
        return response


class PageNotFound(ServiceError):
    """No such page (a drug, a file): the 404 page shows the message."""


class PageMoved(ServiceError):
    """The page asked for is at ``location`` (a drug named by its name or brand): a 308 to it."""

    def __init__(self, location: str):
        super().__init__(location)
        self.location = location


async def get_site(request: Request) -> Site:
    """The pages' Site, built once by add_pages (``app.state.site``)."""
    site: Site = request.app.state.site
    return site


SiteDep = Annotated[Site, Depends(get_site)]


def value_of(v: Any) -> Any:
    """An enum member's value, or the value itself (the vocabulary may be enums or plain strings)."""
    return getattr(v, "value", v)
