"""The Markdown reports, to share: a recommendation, one drug's explanation and a dated schedule.
"""

from __future__ import annotations

from typing import Any

from advisor.core.models import DrugAdvice, Explanation, InfusionPlan, Recommendation
from advisor.render.common import ALSO, caution_notes, condition_labels, drug_title, further_facts, given, groups, plan_tail
from advisor.text import visible


def _md_facts(f: Any) -> list[str]:
    """The person's facts as a Markdown list (the report and the explanation)."""
    out = [f"- **Id:** `{_md_code(f.id)}`"] if f.id is not None else []
    out += [f"- **MS type:** {f.ms_type.value}", f"- **Severity:** {f.severity.value}",
            f"- **Other MS medications that did not work:** {f.prior_failures}",
            f"- **Rapidly worsening:** {'yes' if f.rapidly_worsening else 'no'}",
            f"- **Mitoxantrone already received:** {given(f.mitoxantrone_cumulative_mg_m2, 'mg/m²')}"]
    out += [f"- **{spec.heading}:** {words}" for spec, words in further_facts(f)]
    return out + [f"- **Conditions:** {condition_labels(f)}"]


def _md_code(text: str) -> str:
    return visible(text).replace("`", "'")


def markdown(rec: Recommendation) -> str:
    out = ["# MS infusion options", "", f"> {rec.disclaimer}", "", "## Facts", ""]
    out += [*_md_facts(rec.facts), ""]
    out += ["## Listed", "", (", ".join(drug_title(rec.drug(d)) for d in rec.listed) or "None of the four infusion drugs."), ""]
    for heading, _listed, drugs in groups(rec):
        out += [f"## {heading}", ""]
        if not drugs:
            out += ["None of the four infusion drugs.", ""]
        for d in drugs:
            out += _markdown_drug(d)
    out += ["## Notes", ""]
    for n in rec.notes:
        if n.quote:
            out += [f"- {n.text}", "", f"    > “{n.quote}” ({n.section})", ""]
        else:
            out.append(f"- {n.text} (the article is silent here)")
    out += ["", f"Source: {rec.source}", ""]
    return "\n".join(out)


def _markdown_effects(d: DrugAdvice) -> list[str]:
    """A listed drug's side-effect lists, each item with the article's words when they differ."""
    se = d.side_effects
    if se is None:
        return []
    out = []
    for label, effects, lead in (("More common side effects", se.common, None),
                                 (f"{se.serious_label[:1].upper()}{se.serious_label[1:]} side effects", se.serious, se.serious_quote)):
        if not effects:
            continue
        out += [f"- **{label}** ({se.section}):" + (f" “{lead}”" if lead else ""), ""]
        out += [f"    - {e.text}" + ("" if e.quote == e.text else f" (“{e.quote}”)") for e in effects]
        out.append("")
    if se.after:  # the article's paragraph after the lists, apart from them
        out += [f"- **{ALSO[:1].upper()}{ALSO[1:-1]}:** {se.after.text}", "", f"    > “{se.after.quote}” ({se.section})", ""]
    if se.attribution:
        out += [f"    *{se.attribution}*", ""]
    return out


def _markdown_drug(d: DrugAdvice) -> list[str]:
    out = [f"### {drug_title(d)}: {d.status.info.label.lower()}", ""]
    for r in d.reasons:
        out += [f"- {r.text}", "", f"    > “{r.quote}” ({r.section}; rule `{r.rule}`)", ""]
        out += [x for a in r.also for x in (f"    > “{a.quote}” ({a.section})", "")]
    out += _markdown_effects(d)
    for c in d.cautions:
        out += [f"- **Caution ({c.condition.value}):** {c.text}", "", f"    > “{c.quote}” ({c.section})", ""]
        out += [x for text in caution_notes(c) for x in (f"    *{text}*", "")]
    if d.status.info.listed:  # as the table, the page and the cards: a drug not listed gets no schedule
        out += [f"- **Schedule:** {d.schedule.text}", "", f"    > “{d.schedule.quote}” ({d.schedule.section})", ""]
        if d.schedule.note:
            out.append(f"- {d.schedule.note}")
    if d.schedule.remaining:
        out.append(f"- **Lifetime maximum:** {d.schedule.remaining}")
    out += [f"- **What if:** {w.text}" for w in d.what_if]
    out.append("")
    return out


def explanation_markdown(e: Explanation) -> str:
    """The explanation of one drug as a Markdown report."""
    rec, d = e.recommendation, e.advice
    f = rec.facts
    out = [f"# {drug_title(d)}: {d.status.info.label.lower()}" + (" (listed)" if d.drug in rec.listed else " (not listed)"),
           "", f"> {rec.disclaimer}", "", "## Facts", ""]
    out += [*_md_facts(f), "", "## Rules that fired", ""]
    for r in d.reasons:
        out += [f"- `{r.rule}`: {r.text}", "", f"    > “{r.quote}” ({r.section})", ""]
        out += [x for a in r.also for x in (f"    > “{a.quote}” ({a.section})", "")]
    out += ["## Rules that did not fire", ""]
    out += [f"- `{m.rule}` (→ {m.status.value}): {'; '.join(m.failed)}" for m in e.not_fired] or ["- (none)"]
    out += ["", "## Cautions", ""]
    for c in d.cautions:
        out += [f"- **{c.condition.value}:** {c.text}", "", f"    > “{c.quote}” ({c.section})", ""]
        out += [x for text in caution_notes(c) for x in (f"    *{text}*", "")]
    if not d.cautions:
        out.append("None of the person's conditions meets a side effect the article names for this drug.")
    if d.side_effects is not None:
        out += ["", "## Side effects", ""] + _markdown_effects(d)
    out += ["", "## What the article describes for other facts", ""]
    out += [f"- {w.text}" for w in d.what_if] or (["None: no other value of one fact changes this."] if d.drug not in rec.listed else ["(listed)"])
    own = [n for n in rec.notes if n.drug == d.drug]
    if own:
        out += ["", "## Notes", ""]
        for n in own:
            out += [f"- {n.text}", "", f"    > “{n.quote}” ({n.section})", ""] if n.quote else [f"- {n.text} (the article is silent here)"]
    out += ["", f"Source: {rec.source}", ""]
    return "\n".join(out)


def plan_markdown(p: InfusionPlan) -> str:
    """A dated schedule as a Markdown report."""
    out = [f"# {p.name}: infusion dates", "", f"> {p.disclaimer}", ""]
    out += [f"- **Id:** `{_md_code(p.id)}`", ""] if p.id is not None else []
    out += [f"**Schedule:** {p.text}", "", f"> “{p.quote}”", "", "| # | Date | Day | Phase | Dose |", "|---|---|---|---|---|"]
    out += [f"| {i} | {item.date.isoformat()} | {item.date:%a}{' (weekend)' if item.weekend else ''} | {item.phase} | "
            f"{f'{item.dose_mg:g} mg' if item.dose_mg else ''} |" for i, item in enumerate(p.infusions, 1)]
    out += [""] + [f"*{t}*" for t in plan_tail(p)]
    out += [f"- **Note:** {p.note}"] if p.note else []
    out += [f"- **Lifetime maximum:** {p.remaining}"] if p.remaining else []
    out += [f"- **Reminder:** {p.reminder}"] if p.reminder else []
    return "\n".join(out) + "\n"
