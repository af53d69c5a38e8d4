"""Renderings for people: a terminal table, a shareable Markdown report and JSON, of a Recommendation,
an Explanation (one drug, rule by rule) and an InfusionPlan (dated schedule), through one
:func:`emit`. No click here: colour is plain ANSI SGR, which the command line strips when the output
is not a terminal (or NO_COLOR is set).

    >>> from advisor import advise
    >>> from advisor.render import emit, plain_width
    >>> text = emit(advise({"ms_type": "ppms", "severity": "mild", "id": "p-7"}), "table", width=60)
    >>> text.splitlines()[0], max(plain_width(line) for line in text.splitlines()) <= 60
    ('[p-7] MS type: ppms; severity: mild; prior failures: 0;', True)
"""

from __future__ import annotations

import json
import re
import textwrap
from contextvars import ContextVar
from typing import Any

from advisor.core.models import NOT_GIVEN, DrugAdvice, Explanation, InfusionPlan, Recommendation, Status
from advisor.text import json_safe, visible

DEFAULT_WIDTH = 100
MIN_WIDTH = 40
FORMATS = ("table", "json", "markdown", "text")
_ANSI = {"red": 31, "green": 32, "yellow": 33}
ALSO = "the article also says:"  # before a paragraph the article prints after a drug's side-effect lists
_SGR = re.compile("\x1b\\[[0-9;]*m")


def style(text: str, fg: str | None = None, bold: bool = False) -> str:
    """``text`` in an ANSI colour (stripped again by the command line when colour is off)."""
    codes = ([str(_ANSI[fg])] if fg else []) + (["1"] if bold else [])
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m" if codes else text


def plain_width(text: str) -> int:
    """How many columns ``text`` takes: colour codes take none."""
    return len(_SGR.sub("", text))


# The words and colours of each status, and the group it is shown in: from the KB (rules/statuses.toml).
STATUS_LABEL = {s: s.info.label for s in Status}
STATUS_COLOUR = {s: s.info.colour for s in Status}
LABEL_WIDTH = max(15, *(len(label) + 1 for label in STATUS_LABEL.values()))


def groups(rec: Recommendation) -> list[tuple[str, bool, list[DrugAdvice]]]:
    """The drugs of a recommendation in the KB's status groups, in its status order: (heading, listed,
    drugs); the listed group always (listed drugs in ``rec.listed``'s order), the others when not empty."""
    out: dict[str, tuple[bool, list[DrugAdvice]]] = {}
    for status in (type(rec.drugs[0].status) if rec.drugs else Status):  # the KB's statuses, in its order
        out.setdefault(status.info.group, (status.info.listed, []))
    for d in [*(rec.drug(i) for i in rec.listed), *(d for d in rec.drugs if d.drug not in rec.listed)]:
        out[d.status.info.group][1].append(d)
    return [(heading, listed, drugs) for heading, (listed, drugs) in out.items() if listed or drugs]


def _given(value: float | None, unit: str) -> str:
    """A fact that may be not given: its value with its own digits and unit, or "not given" (never a 0 it was not)."""
    from advisor.core.recommend import dose_text

    return NOT_GIVEN if value is None else f"{dose_text(value)} {unit}"


def _effects(d: DrugAdvice) -> list[tuple[str, str]]:
    """A listed drug's side-effect lists as (label, items): the harms shown beside the benefits."""
    se = d.side_effects
    if se is None:
        return []
    return [(f"{label} side effects", "; ".join(e.text for e in effects))
            for label, effects in (("more common", se.common), (se.serious_label, se.serious)) if effects]


_columns: ContextVar[int] = ContextVar("columns", default=DEFAULT_WIDTH)  # per thread and task: emit() sets it


def _wrap(text: str, indent: str, hang: str | None = None, break_words: bool = True) -> str:
    """``text`` filled to the width on word boundaries, never at a hyphen; only a word longer than a
    whole line is broken (``break_words=False``: it stands on its own line, e.g. a SHA-256 to copy)."""
    return textwrap.fill(text, width=_columns.get(), initial_indent=indent, subsequent_indent=hang if hang is not None else indent,
                         break_on_hyphens=False, break_long_words=break_words)


def _facts_line(rec: Recommendation) -> str:
    f = rec.facts
    nb = "\u00a0"  # a line breaks between the facts (and between conditions), never inside one
    parts = [f"MS type: {f.ms_type.value}", f"severity: {f.severity.value}", f"prior failures: {f.prior_failures}",
             f"rapidly worsening: {'yes' if f.rapidly_worsening else 'no'}",
             f"mitoxantrone received: {_given(f.mitoxantrone_cumulative_mg_m2, 'mg/m²')}"]
    parts += [f"{spec.words}: {words}" for spec, words in _further_facts(f)]
    parts = [p.replace(" ", nb) for p in parts] + [f"conditions:{nb}{_condition_labels(f)}"]
    line = ("" if f.id is None else f"[{visible(f.id)}] ") + "; ".join(parts)  # the id: untrusted text
    return _wrap(line, "", "  ").replace(nb, " ")


def _further_facts(f: Any) -> list[tuple[Any, str]]:
    """A --rules-dir KB's further facts (beyond the packaged KB's, which each rendering words itself):
    each fact's spec (rules/facts.toml) and its value in words, with its unit."""
    from advisor.core.models import FACTS

    packaged = {spec.id for spec in FACTS}
    out = []
    for spec in getattr(type(f), "facts_specs", ()):
        if spec.id not in packaged:
            value = getattr(f, spec.id)
            out.append((spec, spec.value_words(value) + (f" {spec.unit}" if spec.unit and value is not None else "")))
    return out


def _md_facts(f: Any) -> list[str]:
    """The person's facts as a Markdown list (the report and the explanation)."""
    out = [f"- **Id:** `{_md_code(f.id)}`"] if f.id is not None else []
    out += [f"- **MS type:** {f.ms_type.value}", f"- **Severity:** {f.severity.value}",
            f"- **Other MS medications that did not work:** {f.prior_failures}",
            f"- **Rapidly worsening:** {'yes' if f.rapidly_worsening else 'no'}",
            f"- **Mitoxantrone already received:** {_given(f.mitoxantrone_cumulative_mg_m2, 'mg/m²')}"]
    out += [f"- **{spec.heading}:** {words}" for spec, words in _further_facts(f)]
    return out + [f"- **Conditions:** {_condition_labels(f)}"]


def _label(condition: Any) -> str:
    """A condition's label in its KB ("Heart failure"), as the web page and cards name it."""
    from advisor.kb.vocabulary import label

    return label(condition)


def _condition_labels(f: Any) -> str:
    """The person's conditions by the KB's labels ("Heart failure, PML"), as the web page and cards name them."""
    return ", ".join(_label(c) for c in f.conditions) or "none"


def _drug_title(d: DrugAdvice) -> str:
    return f"{d.name}" + (f" ({d.brand})" if d.brand else "")


def _caution_notes(c: Any) -> list[str]:
    """Said under each caution: how its list is attributed (when the article prints it without a drug
    name), and that a caution never changes a status."""
    return [text for text in (c.attribution, c.note) if text]


def table(rec: Recommendation, explain: bool = False) -> str:
    lines = [_facts_line(rec)]
    for heading, listed, drugs in groups(rec):
        lines += ["", _wrap(f"{heading}:" if drugs else f"{heading}: none of the four infusion drugs", "", "  ")]
        for d in drugs:
            _table_drug(lines, rec, d, explain)
    lines.append("")
    lines.append("Notes:")
    for n in rec.notes:
        lines.append(_wrap(n.text + (f" (“{n.quote}”)" if explain and n.quote else ""), "  - ", "    "))
    lines += ["", _wrap(rec.disclaimer, ""), _wrap(f"Source: {rec.source}", "", "  ")]
    return "\n".join(lines)


def _table_drug(lines: list[str], rec: Recommendation, d: DrugAdvice, explain: bool) -> None:
    """One drug's lines of the table: status and name, every reason, its side effects when listed, the
    cautions (each with its notes), the schedule and the what-ifs."""
    label = f"{d.status.info.label:<{LABEL_WIDTH}}"
    title = _wrap(f"{label} {_drug_title(d)}", "  ", " " * (LABEL_WIDTH + 3))  # wrap first: colour codes have no width
    lines.append(title.replace(label, style(label, fg=d.status.info.colour, bold=d.status.info.listed), 1))
    for r in d.reasons:
        lines.append(_wrap("why: " + r.text, "      "))
        if explain:
            lines.append(_wrap(f"“{r.quote}” — {r.section} [{r.rule}]", "        "))
            lines += [_wrap(f"“{a.quote}” — {a.section}", "        ") for a in r.also]
    for label_, items in _effects(d):
        lines.append(_wrap(f"{label_}: {items}", "      "))
    if d.side_effects is not None and d.side_effects.after:  # the article's paragraph after the lists, apart from them
        lines.append(_wrap(f"{ALSO} {d.side_effects.after.text}", "      "))
        if explain:
            lines.append(_wrap(f"“{d.side_effects.after.quote}” — {d.side_effects.section}", "        "))
    if d.side_effects is not None and d.side_effects.attribution:
        lines.append(_wrap(d.side_effects.attribution, "        "))
    for c in d.cautions:
        wrapped = _wrap(f"caution ({_label(c.condition)}): {c.text}", "      ")  # wrap first: colour codes have no width
        lines.append(wrapped.replace("caution", style("caution", fg="red"), 1))
        if explain:
            lines.append(_wrap(f"“{c.quote}” — {c.section} [{c.rule}]", "        "))
        lines += [_wrap(text, "        ") for text in _caution_notes(c)]
    if d.drug in rec.listed:
        lines.append(_wrap(f"schedule: {d.schedule.text}", "      "))
    if d.schedule.remaining:
        lines.append(_wrap(f"lifetime maximum: {d.schedule.remaining}", "      "))
    for w in d.what_if:
        lines.append(_wrap(f"what if: {w.text}", "      "))


def markdown(rec: Recommendation) -> str:
    out = ["# MS infusion options", "", f"> {rec.disclaimer}", "", "## Facts", ""]
    out += [*_md_facts(rec.facts), ""]
    out += ["## Listed", "", (", ".join(_drug_title(rec.drug(d)) for d in rec.listed) or "None of the four infusion drugs."), ""]
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
    out = [f"### {_drug_title(d)}: {d.status.info.label.lower()}", ""]
    for r in d.reasons:
        out += [f"- {r.text}", "", f"    > “{r.quote}” ({r.section}; rule `{r.rule}`)", ""]
        out += [x for a in r.also for x in (f"    > “{a.quote}” ({a.section})", "")]
    out += _markdown_effects(d)
    for c in d.cautions:
        out += [f"- **Caution ({c.condition.value}):** {c.text}", "", f"    > “{c.quote}” ({c.section})", ""]
        out += [x for text in _caution_notes(c) for x in (f"    *{text}*", "")]
    if d.status.info.listed:  # as the table, the page and the cards: a drug not listed gets no schedule
        out += [f"- **Schedule:** {d.schedule.text}", "", f"    > “{d.schedule.quote}” ({d.schedule.section})", ""]
        if d.schedule.note:
            out.append(f"- {d.schedule.note}")
    if d.schedule.remaining:
        out.append(f"- **Lifetime maximum:** {d.schedule.remaining}")
    out += [f"- **What if:** {w.text}" for w in d.what_if]
    out.append("")
    return out


def _md_code(text: str) -> str:
    return visible(text).replace("`", "'")


def rule_text(rule: Any) -> str:
    from advisor.kb.schema import Rule

    if isinstance(rule, Rule):
        when = " and ".join(t.describe() for t in rule.when) or "always (the rule tests no fact)"
        head = _wrap(f"{rule.id}  [{rule.drug} → {rule.status.value}]", "", "  ") + "\n" + _wrap(f"when: {when}", "  ", "        ")
    else:
        head = _wrap(f"{rule.id}  [{rule.drug} caution]", "", "  ") + "\n" + \
            _wrap(f"when: conditions include {rule.condition.value}", "  ", "        ")
    quotes = [_wrap(f"“{q.quote}” — {q.section}", "  ", "   ") for q in (rule, *getattr(rule, "also", ()))]
    return "\n".join([head, _wrap(rule.text, "  says: ", "        "), *quotes])


def drug_text(drug: Any) -> str:
    brand = drug.brand or (drug.brand_note or "no brand named")
    lines = [_wrap(f"{drug.name} ({brand})" if drug.brand else f"{drug.name} — {brand}", "", "  ")]
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
    lines.append(_wrap(f"Side effects ({se.section}):", "  ", "    "))
    if se.list_note:
        lines.append(_wrap(se.list_note, "    ", "    "))
    if se.serious_label:  # the article's own lead-in to the serious list ("very serious, and potentially fatal")
        lines.append(_wrap(f"“{se.serious_label.quote}”", "    ", "     "))
    serious = se.serious_label.text.rstrip(",") if se.serious_label else "serious"
    for label, effects in (("more common", se.common), (serious, se.serious)):  # the article: "The more common side effects"
        for e in effects:
            lines.append(_wrap(f"{label}: {e.text}" + ("" if e.quote == e.text else f" — “{e.quote}”"), "    - ", "      "))
    if se.after:  # the article's paragraph after the lists, apart from them
        lines.append(_wrap(f"{ALSO[:1].upper()}{ALSO[1:]} {se.after.text}", "  ", "    "))
        lines.append(_wrap(f"“{se.after.quote}”", "      ", "       "))
    return "\n".join(lines)


def condition_text(condition: Any) -> str:
    """One condition of the vocabulary: its id, then its description and other accepted names, indented."""
    from advisor.kb.vocabulary import label_of

    also = f" (also accepted: {', '.join(condition.aliases)})" if condition.aliases else ""
    return _wrap(f"{condition.id} — {label_of(condition)}", "", "    ") + "\n" + _wrap(condition.description + also, "    ")


def explain_drug(advisor: Any, rec: Recommendation, drug_id: str) -> str:
    """The explanation of one drug as text (``advisor.explain`` then :func:`explanation_table`)."""
    return explanation_table(Explanation(recommendation=rec, drug=advisor.drug_id(drug_id),
                                         not_fired=advisor.not_fired(rec.facts, advisor.drug_id(drug_id))))


def explanation_table(e: Explanation) -> str:
    """How (or why not) one drug got its status: every rule of that drug, fired or not, and why."""
    rec, d, drug_id = e.recommendation, e.advice, e.drug
    title = f"{_drug_title(d)}: {d.status.info.label}" + (" (listed)" if d.drug in rec.listed else " (not listed)")
    lines = [_facts_line(rec), "", _wrap(title, "", "  "), ""]
    lines.append("Rules that fired:")
    for r in d.reasons:
        lines.append(_wrap(f"✓ {r.rule}: {r.text}", "  ", "    "))
        lines.append(_wrap(f"“{r.quote}” — {r.section}", "      ", "       "))
        lines += [_wrap(f"“{a.quote}” — {a.section}", "      ", "       ") for a in r.also]
    lines.append("Rules that did not fire:")
    for miss in e.not_fired:
        lines.append(_wrap(f"✗ {miss.rule} (→ {miss.status.value}): {'; '.join(miss.failed)}", "  ", "    "))
    if not e.not_fired:
        lines.append("  (none)")
    none = "Cautions: none of the person's conditions meets a side effect the article names for this drug"
    lines.append("Cautions:" if d.cautions else _wrap(none, "", "  "))
    for c in d.cautions:
        lines.append(_wrap(f"{c.condition.value}: {c.text}", "  - ", "    "))
        lines.append(_wrap(f"“{c.quote}” — {c.section}", "      ", "       "))
        lines += [_wrap(text, "    ", "    ") for text in _caution_notes(c)]
    for label, items in _effects(d):
        lines.append(_wrap(f"{label[:1].upper()}{label[1:]}: {items}", "", "  "))
    if d.side_effects is not None and d.side_effects.after:
        lines.append(_wrap(f"{ALSO[:1].upper()}{ALSO[1:]} {d.side_effects.after.text}", "", "  "))
        lines.append(_wrap(f"“{d.side_effects.after.quote}” — {d.side_effects.section}", "      ", "       "))
    if d.side_effects is not None and d.side_effects.attribution:
        lines.append(_wrap(d.side_effects.attribution, "  ", "  "))
    if d.schedule.remaining:
        lines.append(_wrap(f"Lifetime maximum: {d.schedule.remaining}", ""))
    if d.what_if:
        lines.append("What the article describes for other facts:")
        lines += [_wrap(w.text, "  - ", "    ") for w in d.what_if]
    elif d.drug not in rec.listed:
        lines.append(_wrap("What the article describes for other facts: none (no other value of one fact changes this)", "", "  "))
    own = [n for n in rec.notes if n.drug == drug_id]
    if own:
        lines.append("Notes:")
        for n in own:
            lines.append(_wrap(n.text + ("" if n.quote else " (the article is silent here)"), "  - ", "    "))
            if n.quote:
                lines.append(_wrap(f"“{n.quote}” — {n.section}", "      ", "       "))
    lines += ["", _wrap(rec.disclaimer, "")]
    return "\n".join(lines)


def explanation_markdown(e: Explanation) -> str:
    """The explanation of one drug as a Markdown report."""
    rec, d = e.recommendation, e.advice
    f = rec.facts
    out = [f"# {_drug_title(d)}: {d.status.info.label.lower()}" + (" (listed)" if d.drug in rec.listed else " (not listed)"),
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
        out += [x for text in _caution_notes(c) for x in (f"    *{text}*", "")]
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


def _infusion_line(i: int, item: Any) -> str:
    weekend = "  (weekend)" if item.weekend else ""
    return f"{i:>3}. {item.date.isoformat()} ({item.date:%a})  {item.phase}" + (f", {item.dose_mg:g} mg" if item.dose_mg else "") + weekend


def _course_end_line(p: InfusionPlan) -> str:
    """Where a finite course's dates stop, and why (in the article's words, from the KB)."""
    assert p.course_end is not None
    return f"No date is listed after {p.course_end.isoformat()}, whatever --count says" + (f": {p.course_why}" if p.course_why else ".")


def _plan_tail(p: InfusionPlan) -> list[str]:
    """What the listed dates leave out: an endless schedule goes on, a finite one was cut short or ends; after
    a dose already received, that how many remain cannot be worked out (said on every run)."""
    if p.left_unknown:
        if not p.infusions:
            return [f"No dates are listed. {p.left_unknown} Give --count N to list N infusions from --start."]
        return [f"{p.left_unknown} These dates come from --count, not from the article."] + (
            [_course_end_line(p)] if p.course_end is not None else [])
    if not p.infusions:  # the lifetime maximum is reached (a count is at least 1)
        return ["No dates are listed: the lifetime maximum is reached."]
    if not p.finite and p.infusions:
        return [f"... and on, every {p.every} (use --count for more)"]
    if p.cut_short:
        return [f"... {p.total - len(p.infusions)} more of the {p.total} infusions of the course not listed (--count {len(p.infusions)})"
                if p.total is not None else "... more infusions not listed (--count)"]
    if p.course_end is not None and p.infusions:
        return [_course_end_line(p)]
    return []


def plan_table(p: InfusionPlan) -> str:
    """A dated schedule for a terminal."""
    lines = ([f"[{visible(p.id)}]"] if p.id is not None else []) + [_wrap(f"{p.name}: {p.text}", "", "  "), _wrap(f"“{p.quote}”", "", " "), ""]
    lines += [_wrap(_infusion_line(i, item), "", " " * 5) for i, item in enumerate(p.infusions, 1)]
    lines += [_wrap(t, "     ") for t in _plan_tail(p)]
    lines.append("")
    if p.note:
        lines.append(_wrap(f"Note: {p.note}", "", "  "))
    if p.remaining:
        lines.append(_wrap(f"Lifetime maximum: {p.remaining}", "", "  "))
    if p.reminder:
        lines.append(_wrap(f"Reminder: {p.reminder}", "", "  "))
    lines.append(_wrap(p.disclaimer, ""))
    return "\n".join(lines)


def plan_markdown(p: InfusionPlan) -> str:
    """A dated schedule as a Markdown report."""
    out = [f"# {p.name}: infusion dates", "", f"> {p.disclaimer}", ""]
    out += [f"- **Id:** `{_md_code(p.id)}`", ""] if p.id is not None else []
    out += [f"**Schedule:** {p.text}", "", f"> “{p.quote}”", "", "| # | Date | Day | Phase | Dose |", "|---|---|---|---|---|"]
    out += [f"| {i} | {item.date.isoformat()} | {item.date:%a}{' (weekend)' if item.weekend else ''} | {item.phase} | "
            f"{f'{item.dose_mg:g} mg' if item.dose_mg else ''} |" for i, item in enumerate(p.infusions, 1)]
    out += [""] + [f"*{t}*" for t in _plan_tail(p)]
    out += [f"- **Note:** {p.note}"] if p.note else []
    out += [f"- **Lifetime maximum:** {p.remaining}"] if p.remaining else []
    out += [f"- **Reminder:** {p.reminder}"] if p.reminder else []
    return "\n".join(out) + "\n"


def _dump(obj: Any) -> Any:
    """The JSON value of a model, a list of models (a KB's rules carry their ``kind``) or plain data."""
    if isinstance(obj, (list, tuple)):
        return [_dump(o) for o in obj]
    if hasattr(obj, "model_dump"):
        from advisor.kb.schema import CautionRule, Rule

        data = obj.model_dump(mode="json")
        kind = "status" if isinstance(obj, Rule) else "caution" if isinstance(obj, CautionRule) else None
        return data if kind is None else {"kind": kind, **data}
    return obj


def emit(obj: Any, fmt: str, width: int | None = None, explain: bool = False) -> str:
    """``obj`` (a Recommendation, an Explanation or an InfusionPlan; also a KB's drugs or rules, or a
    mapping, as text) as ``fmt`` (table, json or markdown; text is table), tables wrapped to ``width``
    columns (default 100, at least 40). JSON is the model's own dump, with terminal controls in strings
    written as \\u escapes (the same JSON value)."""
    if fmt == "json":
        return json_safe(json.dumps(_dump(obj), indent=2, ensure_ascii=False))
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (allowed: {', '.join(FORMATS)})")
    token = _columns.set(max(MIN_WIDTH, width or DEFAULT_WIDTH))
    try:
        if isinstance(obj, dict):  # a plain mapping (kb info): one "key: value" line each
            return "\n".join(_wrap(f"{k}: {', '.join(v) if isinstance(v, list) else v}", "", "  ", break_words=False) for k, v in obj.items())
        if isinstance(obj, (list, tuple)):  # drugs of the KB, or its rules
            from advisor.kb.schema import Drug
            from advisor.kb.vocabulary import ConditionItem

            if obj and all(isinstance(o, ConditionItem) for o in obj):
                return "\n".join(condition_text(o) for o in obj)
            return "\n\n".join(drug_text(o) if isinstance(o, Drug) else rule_text(o) for o in obj)
        if isinstance(obj, Recommendation):
            return markdown(obj) if fmt == "markdown" else table(obj, explain=explain)
        if isinstance(obj, Explanation):
            return explanation_markdown(obj) if fmt == "markdown" else explanation_table(obj)
        if isinstance(obj, InfusionPlan):
            return plan_markdown(obj) if fmt == "markdown" else plan_table(obj)
        raise TypeError(f"cannot render {type(obj).__name__}")
    finally:
        _columns.reset(token)
