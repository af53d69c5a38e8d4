"""Text renderings of a Recommendation for people: a terminal table and a shareable Markdown report.
(The JSON form is the model itself: ``Recommendation.model_dump(mode="json")``.)"""

from __future__ import annotations

import json
import textwrap

import click

from .models import DrugAdvice, Recommendation, Status
from .text import visible

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
    return ("" if f.id is None else f"[{visible(f.id)}] ") + "; ".join(parts)  # the id: untrusted text


def _drug_title(d: DrugAdvice) -> str:
    return f"{d.name}" + (f" ({d.brand})" if d.brand else "")


def _first_attributions(d: DrugAdvice) -> list[str | None]:
    """Per caution, the attribution of the unheaded list it rests on, the first time it comes (it is
    said once per drug, right under the first caution resting on that list)."""
    seen: set[str] = set()
    out: list[str | None] = []
    for c in d.cautions:
        out.append(c.attribution if c.attribution and c.attribution not in seen else None)
        if c.attribution:
            seen.add(c.attribution)
    return out


def _caution_notes(d: DrugAdvice) -> list[str]:
    """Said once under a drug's cautions: that a caution never changes a status."""
    return list(dict.fromkeys(c.note for c in d.cautions if c.note))


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
        for c, attribution in zip(d.cautions, _first_attributions(d)):
            wrapped = _wrap(f"caution ({c.condition.value}): {c.text}", "      ")  # wrap first: colour codes have no width
            lines.append(wrapped.replace("caution", click.style("caution", fg="red"), 1))
            if explain:
                lines.append(_wrap(f"“{c.quote}” — {c.section} [{c.rule}]", "        "))
            if attribution:
                lines.append(_wrap(attribution, "        "))
        lines += [_wrap(text, "        ") for text in _caution_notes(d)]
        if d.drug in rec.listed:
            lines.append(_wrap(f"schedule: {d.schedule.text}", "      "))
        if d.schedule.remaining:
            lines.append(_wrap(f"lifetime maximum: {d.schedule.remaining}", "      "))
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
        for c, attribution in zip(d.cautions, _first_attributions(d)):
            out += [f"- **Caution ({c.condition.value}):** {c.text}", f"  > “{c.quote}” ({c.section})"]
            if attribution:
                out.append(f"  *{attribution}*")
        out += [f"- *{text}*" for text in _caution_notes(d)]
        out += [f"- **Schedule:** {d.schedule.text}", f"  > “{d.schedule.quote}” ({d.schedule.section})"]
        if d.schedule.note:
            out.append(f"- {d.schedule.note}")
        if d.schedule.remaining:
            out.append(f"- **Lifetime maximum:** {d.schedule.remaining}")
        out += [f"- **What if:** {w.text}" for w in d.what_if]
        out.append("")
    out += ["## Notes", ""]
    for n in rec.notes:
        if n.quote:
            out += [f"- {n.text}", f"  > “{n.quote}” ({n.section})"]
        else:
            out.append(f"- {n.text} (the article is silent here)")
    out += ["", f"Source: {rec.source}", ""]
    return "\n".join(out)


def _test_text(t) -> str:
    return f"{t.fact} {t.op} {t.value if not isinstance(t.value, bool) else str(t.value).lower()}"


def rule_text(rule) -> str:
    from .kb import Rule

    if isinstance(rule, Rule):
        head = f"{rule.id}  [{rule.drug} → {rule.status.value}]\n  when: {' and '.join(_test_text(t) for t in rule.when)}"
    else:
        head = f"{rule.id}  [{rule.drug} caution]\n  when: conditions include {rule.condition.value}"
    return f"{head}\n{_wrap(rule.text, '  says: ', '        ')}\n{_wrap(f'“{rule.quote}” — {rule.section}', '  ', '   ')}"


def drug_text(drug) -> str:
    brand = drug.brand or (drug.brand_note or "no brand named")
    lines = [f"{drug.name} ({brand})" if drug.brand else f"{drug.name} — {brand}"]
    def item(label: str, text: str, quote: str) -> None:
        lines.append(_wrap(f"{label}: {text}", "  ", "    "))
        lines.append(_wrap(f"“{quote}”", "      ", "       "))
    item("How it works", drug.how_it_works.text, drug.how_it_works.quote)
    for a in drug.about:
        item("Also", a.text, a.quote)
    item("Schedule", drug.schedule.text, drug.schedule.quote)
    if drug.schedule.note:
        lines.append(_wrap(f"Note: {drug.schedule.note}", "  ", "    "))
    se = drug.side_effects
    lines.append(f"  Side effects ({se.section}):")
    if se.list_note:
        lines.append(_wrap(se.list_note, "    ", "    "))
    for label, effects in (("common", se.common), ("serious", se.serious)):
        for e in effects:
            lines.append(_wrap(f"{label}: {e.text}" + ("" if e.quote == e.text else f" — “{e.quote}”"), "    - ", "      "))
    return "\n".join(lines)


def explain_drug(advisor, rec: Recommendation, drug_id: str) -> str:
    """How (or why not) one drug got its status: every rule of that drug, fired or not, and why."""
    d = rec.drug(drug_id)
    values = advisor.engine_fact(rec.facts)
    fired = {r.rule for r in d.reasons}
    lines = [_facts_line(rec), "", f"{_drug_title(d)}: {STATUS_LABEL[d.status]}" + (" (listed)" if d.drug in rec.listed else " (not listed)"), ""]
    lines.append("Rules that fired:")
    for r in d.reasons:
        lines.append(_wrap(f"✓ {r.rule}: {r.text}", "  ", "    "))
        lines.append(_wrap(f"“{r.quote}” — {r.section}", "      ", "       "))
    lines.append("Rules that did not fire:")
    others = [rule for rule in advisor.kb.rules if rule.drug == drug_id and rule.id not in fired]
    for rule in others:
        failed = [t for t in rule.when if not t.holds(values)]
        why = "; ".join(f"needs {_test_text(t)}, is {json.dumps(values[t.fact])}" for t in failed)
        lines.append(_wrap(f"✗ {rule.id} (→ {rule.status.value}): {why}", "  ", "    "))
    if not others:
        lines.append("  (none)")
    lines.append("Cautions:" if d.cautions else "Cautions: none of the person's conditions meets a side effect the article names for this drug")
    for c, attribution in zip(d.cautions, _first_attributions(d)):
        lines.append(_wrap(f"{c.condition.value}: {c.text}", "  - ", "    "))
        lines.append(_wrap(f"“{c.quote}” — {c.section}", "      ", "       "))
        if attribution:
            lines.append(_wrap(attribution, "    ", "    "))
    lines += [_wrap(text, "  ", "  ") for text in _caution_notes(d)]
    if d.schedule.remaining:
        lines.append(_wrap(f"Lifetime maximum: {d.schedule.remaining}", ""))
    if d.what_if:
        lines.append("What would change the answer:")
        lines += [_wrap(w.text, "  - ", "    ") for w in d.what_if]
    elif d.drug not in rec.listed:
        lines.append("What would change the answer: no single change of one fact would list it")
    own = [n for n in rec.notes if n.drug == drug_id]
    if own:
        lines.append("Notes:")
        for n in own:
            lines.append(_wrap(n.text + ("" if n.quote else " (the article is silent here)"), "  - ", "    "))
            if n.quote:
                lines.append(_wrap(f"“{n.quote}” — {n.section}", "      ", "       "))
    lines += ["", _wrap(rec.disclaimer, "")]
    return "\n".join(lines)
