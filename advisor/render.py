"""Text renderings of a Recommendation for people: a terminal table and a shareable Markdown report.
(The JSON form is the model itself: ``Recommendation.model_dump(mode="json")``.)"""

from __future__ import annotations

import textwrap

import click

from .models import DrugAdvice, Recommendation, Status

STATUS_LABEL = {Status.applicable: "APPLICABLE", Status.consider: "CONSIDER",
                Status.not_applicable: "not applicable", Status.excluded: "EXCLUDED"}
STATUS_COLOUR = {Status.applicable: "green", Status.consider: "yellow", Status.not_applicable: None, Status.excluded: "red"}


def _wrap(text: str, indent: str, hang: str | None = None) -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=hang if hang is not None else indent)


def _facts_line(rec: Recommendation) -> str:
    f = rec.facts
    parts = [f"MS type: {f.ms_type.value}", f"severity: {f.severity.value}", f"prior failures: {f.prior_failures}",
             f"rapidly worsening: {'yes' if f.rapidly_worsening else 'no'}",
             f"mitoxantrone received: {f.mitoxantrone_cumulative_mg_m2:g} mg/m²",
             f"conditions: {', '.join(c.value for c in f.conditions) or 'none'}"]
    return ("" if f.id is None else f"[{f.id}] ") + "; ".join(parts)


def _drug_title(d: DrugAdvice) -> str:
    return f"{d.name}" + (f" ({d.brand})" if d.brand else "")


def table(rec: Recommendation, explain: bool = False) -> str:
    lines = [_facts_line(rec), ""]
    listed = [rec.drug(d) for d in rec.listed]
    others = [d for d in rec.drugs if d.drug not in rec.listed]
    lines.append("Listed:" if listed else "Listed: none of the four infusion drugs")
    for d in listed + [None] + others:  # type: ignore[list-item]
        if d is None:
            lines += ["", "Not listed:" if others else "Not listed: none"]
            continue
        label = click.style(f"{STATUS_LABEL[d.status]:<15}", fg=STATUS_COLOUR[d.status], bold=d.status is Status.applicable)
        lines.append(f"  {label} {_drug_title(d)}")
        for r in d.reasons if explain else d.reasons[:1]:
            lines.append(_wrap(("why: " if d.drug in rec.listed else "why not: ") + r.text, "      "))
            if explain:
                lines.append(_wrap(f"“{r.quote}” — {r.section} [{r.rule}]", "        "))
        for c in d.cautions:
            lines.append(_wrap(click.style("caution", fg="red") + f" ({c.condition.value}): {c.text}", "      "))
            if explain:
                lines.append(_wrap(f"“{c.quote}” — {c.section} [{c.rule}]", "        "))
        if d.drug in rec.listed:
            lines.append(_wrap(f"schedule: {d.schedule.text}", "      "))
        for w in d.what_if:
            lines.append(_wrap(f"what if: {w.text}", "      "))
    lines.append("")
    lines.append("Notes:")
    for n in rec.notes:
        lines.append(_wrap(n.text + (f" (“{n.quote}”)" if explain and n.quote else ""), "  - ", "    "))
    lines += ["", _wrap(rec.disclaimer, ""), f"Source: {rec.source}"]
    return "\n".join(lines)


def markdown(rec: Recommendation) -> str:
    out = ["# MS infusion options", "", f"> {rec.disclaimer}", "", "## Facts", ""]
    f = rec.facts
    out += [f"- **MS type:** {f.ms_type.value}", f"- **Severity:** {f.severity.value}",
            f"- **Other MS medications that did not work:** {f.prior_failures}",
            f"- **Rapidly worsening:** {'yes' if f.rapidly_worsening else 'no'}",
            f"- **Mitoxantrone already received:** {f.mitoxantrone_cumulative_mg_m2:g} mg/m²",
            f"- **Conditions:** {', '.join(c.value for c in f.conditions) or 'none'}", ""]
    out += ["## Listed", "", (", ".join(_drug_title(rec.drug(d)) for d in rec.listed) or "None of the four infusion drugs."), ""]
    for d in rec.drugs:
        out += [f"## {_drug_title(d)}: {STATUS_LABEL[d.status].lower()}", ""]
        for r in d.reasons:
            out += [f"- {r.text}", f"  > “{r.quote}” ({r.section}; rule `{r.rule}`)"]
        for c in d.cautions:
            out += [f"- **Caution ({c.condition.value}):** {c.text}", f"  > “{c.quote}” ({c.section})"]
        out += [f"- **Schedule:** {d.schedule.text}", f"  > “{d.schedule.quote}” ({d.schedule.section})"]
        if d.schedule.note:
            out.append(f"- {d.schedule.note}")
        out += [f"- **What if:** {w.text}" for w in d.what_if]
        out.append("")
    out += ["## Notes", ""]
    for n in rec.notes:
        out.append(f"- {n.text}" + (f" > “{n.quote}”" if n.quote else " (the document is silent here)"))
    out += ["", f"Source: {rec.source}", ""]
    return "\n".join(out)
