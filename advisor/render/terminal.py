"""The text renderings for a terminal: a recommendation as a table, one drug's explanation, a dated
schedule, and a knowledge base's drugs, rules and conditions.
"""

from __future__ import annotations

from typing import Any

from advisor.core.models import DrugAdvice, Explanation, InfusionPlan, Recommendation
from advisor.render.common import (ALSO, LABEL_WIDTH, caution_notes, condition_label, condition_labels, drug_title,
                                   further_facts, given, groups, plan_tail, style, wrap)
from advisor.text import visible


def _facts_line(rec: Recommendation) -> str:
    f = rec.facts
    nb = "\u00a0"  # a line breaks between the facts (and between conditions), never inside one
    parts = [f"MS type: {f.ms_type.value}", f"severity: {f.severity.value}", f"prior failures: {f.prior_failures}",
             f"rapidly worsening: {'yes' if f.rapidly_worsening else 'no'}",
             f"mitoxantrone received: {given(f.mitoxantrone_cumulative_mg_m2, 'mg/m²')}"]
    parts += [f"{spec.words}: {words}" for spec, words in further_facts(f)]
    parts = [p.replace(" ", nb) for p in parts] + [f"conditions:{nb}{condition_labels(f)}"]
    line = ("" if f.id is None else f"[{visible(f.id)}] ") + "; ".join(parts)  # the id: untrusted text
    return wrap(line, "", "  ").replace(nb, " ")


def _effects(d: DrugAdvice) -> list[tuple[str, str]]:
    """A listed drug's side-effect lists as (label, items): the harms shown beside the benefits."""
    se = d.side_effects
    if se is None:
        return []
    return [(f"{label} side effects", "; ".join(e.text for e in effects))
            for label, effects in (("more common", se.common), (se.serious_label, se.serious)) if effects]


def table(rec: Recommendation, explain: bool = False) -> str:
    lines = [_facts_line(rec)]
    for heading, listed, drugs in groups(rec):
        lines += ["", wrap(f"{heading}:" if drugs else f"{heading}: none of the four infusion drugs", "", "  ")]
        for d in drugs:
            _table_drug(lines, rec, d, explain)
    lines.append("")
    lines.append("Notes:")
    for n in rec.notes:
        lines.append(wrap(n.text + (f" (“{n.quote}”)" if explain and n.quote else ""), "  - ", "    "))
    lines += ["", wrap(rec.disclaimer, ""), wrap(f"Source: {rec.source}", "", "  ")]
    return "\n".join(lines)


def _table_drug(lines: list[str], rec: Recommendation, d: DrugAdvice, explain: bool) -> None:
    """One drug's lines of the table: status and name, every reason, its side effects when listed, the
    cautions (each with its notes), the schedule and the what-ifs."""
    label = f"{d.status.info.label:<{LABEL_WIDTH}}"
    title = wrap(f"{label} {drug_title(d)}", "  ", " " * (LABEL_WIDTH + 3))  # wrap first: colour codes have no width
    lines.append(title.replace(label, style(label, fg=d.status.info.colour, bold=d.status.info.listed), 1))
    for r in d.reasons:
        lines.append(wrap("why: " + r.text, "      "))
        if explain:
            lines.append(wrap(f"“{r.quote}” — {r.section} [{r.rule}]", "        "))
            lines += [wrap(f"“{a.quote}” — {a.section}", "        ") for a in r.also]
    for label_, items in _effects(d):
        lines.append(wrap(f"{label_}: {items}", "      "))
    if d.side_effects is not None and d.side_effects.after:  # the article's paragraph after the lists, apart from them
        lines.append(wrap(f"{ALSO} {d.side_effects.after.text}", "      "))
        if explain:
            lines.append(wrap(f"“{d.side_effects.after.quote}” — {d.side_effects.section}", "        "))
    if d.side_effects is not None and d.side_effects.attribution:
        lines.append(wrap(d.side_effects.attribution, "        "))
    for c in d.cautions:
        wrapped = wrap(f"caution ({condition_label(c.condition)}): {c.text}", "      ")  # wrap first: colour codes have no width
        lines.append(wrapped.replace("caution", style("caution", fg="red"), 1))
        if explain:
            lines.append(wrap(f"“{c.quote}” — {c.section} [{c.rule}]", "        "))
        lines += [wrap(text, "        ") for text in caution_notes(c)]
    if d.drug in rec.listed:
        lines.append(wrap(f"schedule: {d.schedule.text}", "      "))
    if d.schedule.remaining:
        lines.append(wrap(f"lifetime maximum: {d.schedule.remaining}", "      "))
    for w in d.what_if:
        lines.append(wrap(f"what if: {w.text}", "      "))


def rule_text(rule: Any) -> str:
    from advisor.kb.schema import Rule

    if isinstance(rule, Rule):
        when = " and ".join(t.describe() for t in rule.when) or "always (the rule tests no fact)"
        head = wrap(f"{rule.id}  [{rule.drug} → {rule.status.value}]", "", "  ") + "\n" + wrap(f"when: {when}", "  ", "        ")
    else:
        head = wrap(f"{rule.id}  [{rule.drug} caution]", "", "  ") + "\n" + \
            wrap(f"when: conditions include {rule.condition.value}", "  ", "        ")
    quotes = [wrap(f"“{q.quote}” — {q.section}", "  ", "   ") for q in (rule, *getattr(rule, "also", ()))]
    return "\n".join([head, wrap(rule.text, "  says: ", "        "), *quotes])


def drug_text(drug: Any) -> str:
    brand = drug.brand or (drug.brand_note or "no brand named")
    lines = [wrap(f"{drug.name} ({brand})" if drug.brand else f"{drug.name} — {brand}", "", "  ")]
    def item(label: str, text: str, quote: str) -> None:
        lines.append(wrap(f"{label}: {text}", "  ", "    "))
        lines.append(wrap(f"“{quote}”", "      ", "       "))
    item("How it works", drug.how_it_works.text, drug.how_it_works.quote)
    for a in drug.about:
        item("Also", a.text, a.quote)
    item("Schedule", drug.schedule.text, drug.schedule.quote)
    if drug.schedule.note:
        lines.append(wrap(f"Note: {drug.schedule.note}", "  ", "    "))
    se = drug.side_effects
    lines.append(wrap(f"Side effects ({se.section}):", "  ", "    "))
    if se.list_note:
        lines.append(wrap(se.list_note, "    ", "    "))
    if se.serious_label:  # the article's own lead-in to the serious list ("very serious, and potentially fatal")
        lines.append(wrap(f"“{se.serious_label.quote}”", "    ", "     "))
    serious = se.serious_label.text.rstrip(",") if se.serious_label else "serious"
    for label, effects in (("more common", se.common), (serious, se.serious)):  # the article: "The more common side effects"
        for e in effects:
            lines.append(wrap(f"{label}: {e.text}" + ("" if e.quote == e.text else f" — “{e.quote}”"), "    - ", "      "))
    if se.after:  # the article's paragraph after the lists, apart from them
        lines.append(wrap(f"{ALSO[:1].upper()}{ALSO[1:]} {se.after.text}", "  ", "    "))
        lines.append(wrap(f"“{se.after.quote}”", "      ", "       "))
    return "\n".join(lines)


def condition_text(condition: Any) -> str:
    """One condition of the vocabulary: its id, then its description and other accepted names, indented."""
    from advisor.kb.vocabulary import label_of

    also = f" (also accepted: {', '.join(condition.aliases)})" if condition.aliases else ""
    return wrap(f"{condition.id} — {label_of(condition)}", "", "    ") + "\n" + wrap(condition.description + also, "    ")


def explain_drug(advisor: Any, rec: Recommendation, drug_id: str) -> str:
    """The explanation of one drug as text (``advisor.explain`` then :func:`explanation_table`)."""
    return explanation_table(Explanation(recommendation=rec, drug=advisor.drug_id(drug_id),
                                         not_fired=advisor.not_fired(rec.facts, advisor.drug_id(drug_id))))


def explanation_table(e: Explanation) -> str:
    """How (or why not) one drug got its status: every rule of that drug, fired or not, and why."""
    rec, d, drug_id = e.recommendation, e.advice, e.drug
    title = f"{drug_title(d)}: {d.status.info.label}" + (" (listed)" if d.drug in rec.listed else " (not listed)")
    lines = [_facts_line(rec), "", wrap(title, "", "  "), ""]
    lines.append("Rules that fired:")
    for r in d.reasons:
        lines.append(wrap(f"✓ {r.rule}: {r.text}", "  ", "    "))
        lines.append(wrap(f"“{r.quote}” — {r.section}", "      ", "       "))
        lines += [wrap(f"“{a.quote}” — {a.section}", "      ", "       ") for a in r.also]
    lines.append("Rules that did not fire:")
    for miss in e.not_fired:
        lines.append(wrap(f"✗ {miss.rule} (→ {miss.status.value}): {'; '.join(miss.failed)}", "  ", "    "))
    if not e.not_fired:
        lines.append("  (none)")
    none = "Cautions: none of the person's conditions meets a side effect the article names for this drug"
    lines.append("Cautions:" if d.cautions else wrap(none, "", "  "))
    for c in d.cautions:
        lines.append(wrap(f"{c.condition.value}: {c.text}", "  - ", "    "))
        lines.append(wrap(f"“{c.quote}” — {c.section}", "      ", "       "))
        lines += [wrap(text, "    ", "    ") for text in caution_notes(c)]
    for label, items in _effects(d):
        lines.append(wrap(f"{label[:1].upper()}{label[1:]}: {items}", "", "  "))
    if d.side_effects is not None and d.side_effects.after:
        lines.append(wrap(f"{ALSO[:1].upper()}{ALSO[1:]} {d.side_effects.after.text}", "", "  "))
        lines.append(wrap(f"“{d.side_effects.after.quote}” — {d.side_effects.section}", "      ", "       "))
    if d.side_effects is not None and d.side_effects.attribution:
        lines.append(wrap(d.side_effects.attribution, "  ", "  "))
    if d.schedule.remaining:
        lines.append(wrap(f"Lifetime maximum: {d.schedule.remaining}", ""))
    if d.what_if:
        lines.append("What the article describes for other facts:")
        lines += [wrap(w.text, "  - ", "    ") for w in d.what_if]
    elif d.drug not in rec.listed:
        lines.append(wrap("What the article describes for other facts: none (no other value of one fact changes this)", "", "  "))
    own = [n for n in rec.notes if n.drug == drug_id]
    if own:
        lines.append("Notes:")
        for n in own:
            lines.append(wrap(n.text + ("" if n.quote else " (the article is silent here)"), "  - ", "    "))
            if n.quote:
                lines.append(wrap(f"“{n.quote}” — {n.section}", "      ", "       "))
    lines += ["", wrap(rec.disclaimer, "")]
    return "\n".join(lines)


def _infusion_line(i: int, item: Any) -> str:
    weekend = "  (weekend)" if item.weekend else ""
    return f"{i:>3}. {item.date.isoformat()} ({item.date:%a})  {item.phase}" + (f", {item.dose_mg:g} mg" if item.dose_mg else "") + weekend


def plan_table(p: InfusionPlan) -> str:
    """A dated schedule for a terminal."""
    lines = ([f"[{visible(p.id)}]"] if p.id is not None else []) + [wrap(f"{p.name}: {p.text}", "", "  "), wrap(f"“{p.quote}”", "", " "), ""]
    lines += [wrap(_infusion_line(i, item), "", " " * 5) for i, item in enumerate(p.infusions, 1)]
    lines += [wrap(t, "     ") for t in plan_tail(p)]
    lines.append("")
    if p.note:
        lines.append(wrap(f"Note: {p.note}", "", "  "))
    if p.remaining:
        lines.append(wrap(f"Lifetime maximum: {p.remaining}", "", "  "))
    if p.reminder:
        lines.append(wrap(f"Reminder: {p.reminder}", "", "  "))
    lines.append(wrap(p.disclaimer, ""))
    return "\n".join(lines)
