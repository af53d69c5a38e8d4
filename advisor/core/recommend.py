"""Build the Recommendation from a Decision and the facts: reasons, cautions, schedule, what-ifs, notes,
every text filled from the KB. Imports no core (Decision and Change live in decision.py)."""

from __future__ import annotations

from decimal import Decimal

from string import Template
from typing import Any

from advisor.core.decision import Change, Decision
from advisor.kb.schema import Drug, KnowledgeBase, Rule
from advisor.kb.facts import FactSpec
from advisor.core.models import (FACTS, NOT_GIVEN, Caution, Citation, DrugAdvice, KBIdentity, MSType, Note, PatientFacts, Reason, Recommendation,
                     Schedule, SideEffect, SideEffects, WhatIf)

# The packaged facts' words (from facts.toml: each fact's label, each MS type's label).
FIELD_LABELS = {f.id: f.words for f in FACTS if f.testable}
MS_TYPE_LABELS = {MSType(v.id): v.words for v in PatientFacts.specs["ms_type"].values}


def render_value(field: str, value: Any, specs: dict[str, FactSpec] | None = None) -> str:
    """A fact's value in words, as a KB text's $fact shows it (``specs``: the KB's facts, by default the
    packaged KB's)."""
    spec = (specs if specs is not None else PatientFacts.specs).get(field)
    if value is None:
        return NOT_GIVEN
    if spec is not None:
        return spec.value_words(value)
    return str(getattr(value, "value", value))


def fill(text: str, values: dict[str, str]) -> str:
    """Fill a KB text's $fact placeholders (string.Template: no attribute access, no code)."""
    return Template(text).safe_substitute(values)


def rendered(facts: PatientFacts) -> dict[str, str]:
    specs = type(facts).specs
    return {f: render_value(f, getattr(facts, f), specs) for f in type(facts).model_fields}


def what_if_text(change: Change, kb: KnowledgeBase) -> str:
    """The article's criterion that a single different fact would meet, restated ("The article describes
    alemtuzumab for people with 2 or more prior treatment failures"): never as a goal, never as if the
    MS type could change."""
    name = kb.drug(change.drug).name.split()[0].lower()
    who = kb.fact(change.field).who_text(change.value)
    if change.status is kb.status_set.listed[0]:
        return f"The article describes {name} for {who}."
    return f"The article's statements point to {name} for {who} ({change.status.info.words.lower()})."


def schedule_of(drug: Drug) -> Schedule:
    s = drug.schedule
    return Schedule(text=s.text, quote=s.quote, section=drug.section, phases=s.phases, note=s.note,
                    lifetime_max_mg_m2=s.lifetime_max_mg_m2, course_within=s.course_within)


def dose_text(value: float) -> str:
    """A dose as its shortest exact digits, never an exponent or a rounding: 139.99999 is not "140", 1e-07
    is "0.0000001" (a value beyond any dose, 1e300 or 5e-324, keeps its short exponent form)."""
    text = format(Decimal(repr(float(value))), "f")
    text = (text.rstrip("0").rstrip(".") if "." in text else text) or "0"
    return text if len(text) <= 24 else f"{value:g}"


def remaining_text(received: float, maximum: float) -> tuple[float, str]:
    """What remains of a lifetime maximum dose (mg/m²) after ``received``, as a number and in words."""
    remaining = max(round(maximum - received, 6), 0.0)  # 140 - 139.9 is 0.0999...: say 0.1
    got, most = dose_text(received), dose_text(maximum)
    if remaining == 0:
        reached = "reached" if received <= maximum else "passed"
        return 0.0, f"{got} mg/m² received so far: the {most} mg/m² lifetime maximum is {reached}. None of it is left."
    return remaining, f"{got} mg/m² received so far: {dose_text(remaining)} of the {most} mg/m² lifetime maximum is left."


def left_unknown_text(received: float) -> str:
    """Why no infusion dates follow a dose already received: the article gives no dose per infusion."""
    return (f"The article gives no dose per infusion. So how many infusions remain after the {dose_text(received)} mg/m² "
            "already received cannot be worked out from it.")


def personal_schedule(drug: Drug, schedule: Schedule, facts: PatientFacts) -> Schedule:
    """The drug's schedule, with what remains of its lifetime maximum when the dose received is known."""
    s = drug.schedule
    if s.lifetime_max_mg_m2 is None or s.received_fact is None:
        return schedule
    received = getattr(facts, s.received_fact)
    if not received:
        return schedule
    remaining, text = remaining_text(received, s.lifetime_max_mg_m2)
    # The schedule's note ("dates are given up to three years after the first infusion") is about a whole course
    # from no dose: after a dose received no course of dates follows, so the note says why instead (or nothing once
    # the maximum is reached), as `schedule` does.
    note = left_unknown_text(received) if remaining > 0 else None
    return schedule.model_copy(update={"remaining_mg_m2": remaining, "remaining": text, "note": note})


def side_effects_of(drug: Drug) -> SideEffects:
    """The drug's side-effect lists as the article gives them, with the attribution of an unheaded list."""
    se = drug.side_effects
    return SideEffects(section=se.section, attribution=se.list_note,
                       common=tuple(SideEffect(text=e.text, quote=e.quote) for e in se.common),
                       serious=tuple(SideEffect(text=e.text, quote=e.quote) for e in se.serious),
                       serious_label=se.serious_label.text if se.serious_label else "serious",
                       serious_quote=se.serious_label.quote if se.serious_label else None,
                       after=SideEffect(text=se.after.text, quote=se.after.quote) if se.after else None)


def attribution_of(drug: Drug, section: str) -> str | None:
    """The attribution note of the drug's side-effect list, for a caution quoting that list."""
    return drug.side_effects.list_note if section == drug.side_effects.section else None


def notes_of(kb: KnowledgeBase) -> tuple[Note, ...]:
    return tuple(Note(id=n.id, text=n.text, quote=n.quote, section=n.section, drug=n.drug) for n in kb.notes)


def recommendation(kb: KnowledgeBase, facts: PatientFacts, decision: Decision, caution_ids: tuple[str, ...],
                   changes: list[Change], schedules: dict[str, Schedule] | None = None,
                   notes: tuple[Note, ...] | None = None, models: Any = None) -> Recommendation:
    """Build the explained Recommendation. ``schedules`` and ``notes`` may be passed in precomputed
    (they depend only on the KB); ``models``: what holds the Advisor's own models (its ``recommendation_model``,
    ``drug_model``, ``caution_model``, ``what_if_model``: its KB's facts, conditions and statuses), by default
    the packaged KB's."""
    model = getattr(models, "recommendation_model", Recommendation)
    drug_model = getattr(models, "drug_model", DrugAdvice)
    caution_model = getattr(models, "caution_model", Caution)
    what_if_model = getattr(models, "what_if_model", WhatIf)
    values = rendered(facts)
    not_given = set(facts.not_given)
    reasons: dict[str, list[Reason]] = {d.id: [] for d in kb.drugs}
    for rule_id in decision.fired:
        rule = kb.rule(rule_id)
        assert isinstance(rule, Rule)
        text = rule.text
        if rule.text_not_given and not_given.intersection(t.fact for t in rule.when):
            text = rule.text_not_given  # "if no mitoxantrone has been received…": the dose was not given
        short = fill(rule.short, values) if rule.short else None
        reasons[rule.drug].append(Reason(rule=rule.id, text=fill(text, values), quote=rule.quote, section=rule.section, short=short,
                                         also=tuple(Citation(quote=a.quote, section=a.section) for a in rule.also)))
    cautions: dict[str, list[Caution]] = {d.id: [] for d in kb.drugs}
    for rule_id in caution_ids:
        c = kb.rule(rule_id)
        cautions[c.drug].append(caution_model(condition=c.condition, rule=c.id, text=c.text, quote=c.quote, section=c.section,  # type: ignore[union-attr]
                                        attribution=attribution_of(kb.drug(c.drug), c.section), note=kb.header.caution_note))
    what_ifs: dict[str, list[WhatIf]] = {d.id: [] for d in kb.drugs}
    for change in changes:
        what_ifs[change.drug].append(what_if_model(field=change.field, value=getattr(change.value, "value", change.value),
                                            text=what_if_text(change, kb), status=change.status))
    drugs = tuple(
        drug_model(drug=drug.id, name=drug.name, brand=drug.brand, status=decision.status[drug.id],
                   reasons=tuple(reasons[drug.id]), cautions=tuple(cautions[drug.id]),
                   schedule=personal_schedule(drug, schedules[drug.id] if schedules else schedule_of(drug), facts),
                   what_if=tuple(what_ifs[drug.id]),
                   side_effects=side_effects_of(drug) if decision.status[drug.id].info.listed else None)
        for drug in kb.drugs)
    # Notes without `when` are in every recommendation; the others when the engine found their tests hold.
    # A drug's note with `statuses` only where the drug has one of them.
    conditional = {n.id for n in kb.notes if n.when}
    by_status = {n.id: (n.drug, n.statuses) for n in kb.notes if n.statuses}
    given = tuple(n for n in (notes or notes_of(kb)) if (n.id not in conditional or n.id in decision.notes)
                  and (n.id not in by_status or decision.status[by_status[n.id][0]] in by_status[n.id][1]))  # type: ignore[index]
    return model(facts=facts, drugs=drugs, listed=decision.listed, notes=given,
                          disclaimer=kb.header.disclaimer, source=kb.header.source_title,
                          kb=KBIdentity(**kb.identity))
