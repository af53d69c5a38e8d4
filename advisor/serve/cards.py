"""CDS Hooks cards from a Recommendation: one per listed drug, one per excluded drug, and the cards
that say what is missing or was assumed. Pure functions: no app, no database."""

from __future__ import annotations

import functools
import re
import uuid
from typing import Any, Sequence

from advisor import Recommendation
from advisor.core.models import FACTS, Status
from advisor.kb.vocabulary import LABELS

SERVICE_ID = "ms-infusion-advisor"
EXTENSION = "ms-infusion-advisor"
OVERRIDE_SYSTEM = "urn:ms-infusion-advisor:override-reason"
OVERRIDE_REASONS = [
    {"code": "clinical-judgement", "system": OVERRIDE_SYSTEM, "display": "Clinical judgement differs"},
    {"code": "patient-preference", "system": OVERRIDE_SYSTEM, "display": "Patient preference"},
    {"code": "facts-incorrect", "system": OVERRIDE_SYSTEM, "display": "Recorded facts are incomplete or wrong"},
    {"code": "already-treated", "system": OVERRIDE_SYSTEM, "display": "Treatment already decided"},
]
SUMMARY_MAX = 139  # CDS Hooks: summary under 140 characters
STATUS_WORDS = {s.value: s.info.label.lower() for s in Status}  # summaries: the KB's short label (rules/statuses.toml)
STATUS_DETAIL = {s.value: s.info.words for s in Status}  # a card's detail: the KB's words


def _words(status: Any) -> str:
    """A status's short label for a summary: its KB's (a --rules-dir KB's own statuses too)."""
    return str(status.info.label.lower() if hasattr(status, "info") else STATUS_WORDS.get(status, str(status)))


def _detail_words(status: Any) -> str:
    return str(status.info.words if hasattr(status, "info") else STATUS_DETAIL.get(status, str(status)))


def _listed(status: Any) -> bool:
    return bool(status.info.listed) if hasattr(status, "info") else Status(status).info.listed
# The packaged facts' words when no Observation records them (facts.toml's fhir.not_recorded; a KB's own
# facts say theirs: the cards read them from the Recommendation's facts model)
ASSUMED_WORDS = {f.id: f.not_recorded() for f in FACTS if f.fhir is not None}
# what the detail adds for a fact that stays not given (never a 0 it was not)
NOT_GIVEN_DETAIL = {f.id: f.fhir.not_recorded_detail for f in FACTS if f.fhir is not None and f.fhir.not_recorded_detail}

_MD = re.compile(r"([\\`*_\[\]<>|~])")  # enough for no emphasis, code, link, HTML or table to form


@functools.lru_cache(maxsize=4096)
def md(text: str) -> str:
    """Text from the KB or the facts, escaped for markdown (shown as written, never as markup)."""
    return _MD.sub(r"\\\1", " ".join(str(text).split()))


def short(text: str, limit: int = SUMMARY_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _v(value: Any) -> str:
    return str(getattr(value, "value", value))


def drug_cards(rec: Recommendation, kb: dict[str, str], source_title: str, links: list[dict[str, str]],
               labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Cards for the listed drugs (info, or warning when a caution applies) and the excluded ones; a
    condition is named by its label (``labels``: condition id -> label, default the packaged KB's)."""
    labels = LABELS if labels is None else labels
    cards = []
    by_id = {d.drug: d for d in rec.drugs}
    chosen = [by_id[i] for i in rec.listed] + [d for d in rec.drugs if d.drug not in rec.listed and _v(d.status) == "excluded"]
    for d in chosen:
        status = _v(d.status)
        title = d.name + (f" ({d.brand})" if d.brand else "")
        cautions = [_v(c.condition) for c in d.cautions]
        if d.drug in rec.listed:
            indicator = "warning" if cautions else "info"
            summary = f"{title}: {_words(d.status)} per the MS infusions article"
            if d.schedule.remaining_mg_m2 is not None and d.schedule.lifetime_max_mg_m2 is not None:  # the number that matters
                summary += f"; {d.schedule.remaining_mg_m2:g} of the {d.schedule.lifetime_max_mg_m2:g} mg/m² lifetime maximum remains"
            if cautions:
                summary += f"; caution: {', '.join(labels.get(c, c.replace('_', ' ')) for c in cautions)}"
        else:
            indicator = "warning"
            shorts = [r.short for r in d.reasons if r.short]  # a rule's own summary keeps the number that matters
            why = shorts[0] if shorts else d.reasons[0].text if d.reasons else ""
            summary = f"{title}: {_words(d.status)}" + (f": {why}" if why else "")
        cards.append({
            "uuid": str(uuid.uuid4()),
            "summary": short(summary),
            "detail": detail(d, rec.disclaimer, labels, [n for n in rec.notes if n.drug == d.drug]),
            "indicator": indicator,
            "source": {"label": source_title},
            "overrideReasons": OVERRIDE_REASONS,
            "links": links,
            "extension": {EXTENSION: {"drug": d.drug, "status": status,
                                      "rules": [r.rule for r in d.reasons] + [c.rule for c in d.cautions], "kb": kb}},
        })
    return cards


def detail(d: Any, disclaimer: str, labels: dict[str, str] | None = None, notes: Sequence[Any] = ()) -> str:
    """A card's detail; ``notes`` are the recommendation's notes on this drug (the KB gives each only where it
    concerns the drug's status), shown beside its side effects as the table, Markdown and page show them."""
    labels = LABELS if labels is None else labels
    lines = [f"**{md(d.name)}: {md(_detail_words(d.status))}**", ""]
    if d.reasons:
        lines.append("Why:")
        for r in d.reasons:
            lines += [f"- {md(r.text)}"] + [f"  > “{md(q.quote)}” ({md(q.section)})" for q in (r, *r.also)]
        lines.append("")
    se = d.side_effects
    if se is not None:  # harms beside benefits
        lines.append(f"Side effects the article names for it ({md(se.section)}):")
        for label, effects in (("More common", se.common), (se.serious_label[:1].upper() + se.serious_label[1:].rstrip(","), se.serious)):
            if effects:
                lines.append(f"- {md(label)}: {md('; '.join(e.text for e in effects))}")
        if se.serious_quote:
            lines.append(f"  > “{md(se.serious_quote)}”")
        if se.after:  # the article's paragraph after the lists, apart from them
            lines += [f"- The article also says: {md(se.after.text)}", f"  > “{md(se.after.quote)}” ({md(se.section)})"]
        if se.attribution:
            lines.append(f"- *{md(se.attribution)}*")
        lines.append("")
    for n in notes:
        lines.append(f"- {md(n.text)}" + ("" if n.quote else " (the article is silent here)"))
        if n.quote:
            lines.append(f"  > “{md(n.quote)}” ({md(n.section)})")
    if notes:
        lines.append("")
    if d.cautions:
        lines.append("Cautions (the person's conditions meet side effects the article names):")
        for c in d.cautions:
            lines += [f"- **{md(labels.get(_v(c.condition), _v(c.condition)))}**: {md(c.text)}", f"  > “{md(c.quote)}” ({md(c.section)})"]
            # under each caution: the list's attribution by position; that a caution changes no status
            lines += [f"  *{md(text)}*" for text in (c.attribution, c.note) if text]
        lines.append("")
    if not _listed(d.status) and d.what_if:
        lines.append("What the article describes for other facts:")
        lines += [f"- {md(w.text)}" for w in d.what_if]
        lines.append("")
    if _listed(d.status):  # a drug the article rules out gets no schedule
        lines += [f"Schedule: {md(d.schedule.text)}", ""]
    lines += [f"_{md(disclaimer)}_"]
    return "\n".join(lines)


def advice_cards(rec: Recommendation, assumed: list[str], kb: dict[str, str], source_title: str, links: list[dict[str, str]],
                 labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The cards for a decided recommendation, in the order an EHR shows them: one per listed or excluded drug,
    the one general card (the article's general notes, natalizumab), and the card naming the facts assumed."""
    out = drug_cards(rec, kb, source_title, links, labels)
    out.append(general_card(rec, kb, source_title, links))
    if assumed:
        out.append(assumed_card(assumed, kb, source_title, type(rec.facts).specs))
    return out


def general_card(rec: Recommendation, kb: dict[str, str], source_title: str, links: list[dict[str, str]]) -> dict[str, Any]:
    """One ``info`` card with what the article says in general (its general notes, each quoted, and
    its closing paragraph) and the drugs it describes without criteria (natalizumab), which get no card of
    their own: said once, beside the drug cards, never a card per note."""
    unjudged = [d for d in rec.drugs if _v(d.status) == "no_criteria"]
    names = ", ".join(d.name + (f" ({d.brand})" if d.brand else "") for d in unjudged)
    summary = "General notes from the MS infusions article, quoted" + \
        (f"; {names}: {STATUS_WORDS['no_criteria']}" if unjudged else "")
    lines = ["**What the article says in general, of the infusion drugs and their infusions**", ""]
    for n in rec.notes:
        if n.drug is None:
            lines.append(f"- {md(n.text)}" + ("" if n.quote else " (the article is silent here)"))
            if n.quote:
                lines.append(f"  > “{md(n.quote)}” ({md(n.section)})")
    lines.append("")
    for d in unjudged:
        lines += [f"**{md(d.name)}: {md(STATUS_DETAIL['no_criteria'])}**", ""]
        for r in d.reasons:
            lines.append(f"- {md(r.text)}")
            lines += [f"  > “{md(quote)}” ({md(section)})" for quote, section in ((r.quote, r.section), *((a.quote, a.section) for a in r.also))]
        lines.append("")
    lines.append(f"_{md(rec.disclaimer)}_")
    return {"uuid": str(uuid.uuid4()), "summary": short(summary), "detail": "\n".join(lines), "indicator": "info",
            "source": {"label": source_title},
            "links": links,
            "extension": {EXTENSION: {"drug": None, "status": "general-notes",
                                      "rules": [r.rule for d in unjudged for r in d.reasons], "kb": kb,
                                      "notes": [n.id for n in rec.notes if n.drug is None]}}}


def missing_card(missing: list[str], problems: list[str], remarks: list[str], kb: dict[str, str], source_title: str) -> dict[str, Any]:
    """One warning card when the facts cannot be read: what is missing or wrong; no drug cards."""
    names = [m.split(" (")[0] for m in missing]
    summary = ("MS infusion advice not given: " + (" and ".join(names) + " not recorded" if names else "recorded facts unclear"))
    lines = ["No infusion drug is advised on: the advisor never guesses a fact.", ""]
    if missing:
        lines.append("Not recorded:")
        lines += [f"- {md(m)}" for m in missing]
        lines.append("")
    if problems:
        lines.append("Recorded but not usable:")
        lines += [f"- {md(p)}" for p in problems]
        lines.append("")
    lines += [md(r) for r in remarks]
    return {"uuid": str(uuid.uuid4()), "summary": short(summary), "detail": "\n".join(lines).strip(), "indicator": "warning",
            "source": {"label": source_title},
            "extension": {EXTENSION: {"drug": None, "status": "facts-missing", "rules": [], "kb": kb}}}


def assumed_card(assumed: list[str], kb: dict[str, str], source_title: str, specs: dict[str, Any] | None = None) -> dict[str, Any]:
    """An info card naming the optional facts the record does not hold: the defaults used, and the facts
    that stay not given."""
    facts = {f: spec for f, spec in (specs or {}).items() if spec.fhir is not None}
    words = [facts[a].not_recorded() if a in facts else ASSUMED_WORDS.get(a, a) for a in assumed]
    details = {a: facts[a].fhir.not_recorded_detail if a in facts else NOT_GIVEN_DETAIL.get(a) for a in assumed}
    detail_lines = ["These facts are not recorded as Observations (system `urn:ms-infusion-advisor:facts`):", ""] + \
        [f"- {md(w)}" + (f" ({md(detail)})" if (detail := details[a]) else "") for a, w in zip(assumed, words)]
    return {"uuid": str(uuid.uuid4()), "summary": short("Not recorded: " + "; ".join(words)),
            "detail": "\n".join(detail_lines), "indicator": "info", "source": {"label": source_title},
            "extension": {EXTENSION: {"drug": None, "status": "defaults-assumed", "rules": [], "kb": kb,
                                      "assumed": assumed}}}
