"""The summary for the clinic (one printed page for most people): a person's facts, each drug's status
with its reason and quote (from ``advise``), what matters to the person (rules/matters.toml) with the KB's
quoted texts that speak to it, questions to ask (from the article's silences and the person's cautions,
each asked once), and the source.

What matters never changes a status, a ranking or an order: the summary takes the recommendation as
``advise`` gives it and only adds the person's answers beside it. It never advises one option over another.

    >>> from advisor import summary
    >>> s = summary({"ms_type": "spms", "severity": "severe"}, matters=["course_ends"])
    >>> [(d.drug, d.status) for d in s.drugs][:2]
    [('alemtuzumab', 'not listed'), ('natalizumab', 'not listed')]
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from advisor.errors import InvalidFacts

NOT_SAID = "The article does not say."
MAX_ANSWERS = 50  # matters, unsure and avoid together: more is refused, never read at length


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class FactLine(_Out):
    field: str
    label: str
    value: str = Field(description="the value in words, or 'not given'")
    given: bool


class DrugLine(_Out):
    drug: str
    name: str
    status: str = Field(description="the status in words")
    reason: str
    quote: str = Field(description="verbatim from the source document")
    section: str


class Cell(_Out):
    """What the KB says about one drug for one concern: a text with its verbatim quote, or the article's silence."""
    drug: str
    name: str
    texts: tuple[str, ...]
    quotes: tuple[str, ...] = ()
    section: str | None = None
    note: str | None = Field(None, description="how a side-effect list is attributed, when the article prints it without a drug name")


class Concern(_Out):
    id: str
    question: str
    answer: Literal["yes", "no", "don't know"]
    rows: tuple[str, ...] = Field(description="the compare rows that speak to it")
    effects: tuple[str, ...] = Field((), description="the side effects the person picked (a side-effect concern)")
    cells: tuple[Cell, ...] = Field((), description="for a concern answered yes: what the KB says for each drug, in the KB's order")


class Question(_Out):
    text: str
    quote: str | None = None
    section: str | None = None


class Summary(_Out):
    facts: tuple[FactLine, ...]
    drugs: tuple[DrugLine, ...] = Field(description="every drug in the knowledge base's order")
    concerns: tuple[Concern, ...]
    questions: tuple[Question, ...]
    own_questions: int = Field(3, description="how many empty lines are left for the person's own questions")
    disclaimer: str
    source: str
    kb_name: str
    kb_version: str
    kb_sha256: str
    made: date


def _bad(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def answers(kb: Any, matters: Any = (), unsure: Any = (), avoid: Any = ()) -> tuple[dict[str, str], tuple[str, ...]]:
    """The person's answers checked against the KB: each concern's answer (yes / no / don't know) and the
    side effects picked, by their names in matters.toml. Raises InvalidFacts naming the field and the
    allowed values. Picking a side effect answers the side-effect concern yes."""
    lists = {"matters": matters or (), "unsure": unsure or (), "avoid": avoid or ()}  # None: none
    errors: list[dict[str, str]] = []
    for name, value in lists.items():
        if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)) or not all(isinstance(v, str) for v in value):
            errors.append(_bad(name, "must be a list of texts"))
    if errors:
        raise InvalidFacts(errors)
    if sum(len(v) for v in lists.values()) > MAX_ANSWERS:
        raise InvalidFacts([_bad("matters", f"at most {MAX_ANSWERS} answers in all")])
    ids = [m.id for m in kb.matters]
    found: dict[str, str] = {}
    for name, answer in (("matters", "yes"), ("unsure", "don't know")):
        for v in lists[name]:
            key = v.strip().lower().replace("-", "_").replace(" ", "_")
            if key not in ids:
                errors.append(_bad(name, f"unknown concern '{v[:40]}' (allowed: {', '.join(ids) or 'none in this knowledge base'})"))
            elif found.get(key, answer) != answer:
                errors.append(_bad(name, f"'{key}' is answered both yes and don't know"))
            else:
                found[key] = answer
    choices = {c.name.casefold(): c.name for m in kb.matters for c in m.choices}
    picked: list[str] = []
    for v in lists["avoid"]:
        chosen = choices.get(" ".join(v.split()).casefold())
        if chosen is None:
            errors.append(_bad("avoid", f"unknown side effect '{v[:40]}' (allowed: {', '.join(choices.values())})"))
        elif chosen not in picked:
            picked.append(chosen)
    side = [m.id for m in kb.matters if m.choices]
    if picked and side:
        if found.get(side[0]) == "don't know":
            errors.append(_bad("avoid", f"side effects are picked, but '{side[0]}' is answered don't know"))
        found[side[0]] = "yes"
    if errors:
        raise InvalidFacts(errors)
    return {i: found.get(i, "no") for i in ids}, tuple(picked)


def _cells(kb: Any, matter: Any, picked: tuple[str, ...], notes: dict[str, Any]) -> tuple[Cell, ...]:
    out = []
    for d in kb.drugs:
        title = d.name + (f" ({d.brand})" if d.brand else "")
        if matter.shows == "schedule":
            out.append(Cell(drug=d.id, name=title, texts=(d.schedule.text,), quotes=(d.schedule.quote,), section=d.section))
        elif matter.shows == "course":
            if d.schedule.course_within is not None:
                out.append(Cell(drug=d.id, name=title, texts=(d.schedule.text,), quotes=(d.schedule.quote,), section=d.section))
            else:
                out.append(Cell(drug=d.id, name=title, texts=("The article does not say that this treatment ends.",)))
        elif matter.shows == "notes":
            mine = [notes[n] for n in matter.notes if n in notes and notes[n].drug == d.id]
            if mine:
                out.append(Cell(drug=d.id, name=title, texts=tuple(n.text for n in mine),
                                quotes=tuple(n.quote for n in mine if n.quote), section=mine[0].section))
            else:
                out.append(Cell(drug=d.id, name=title, texts=(NOT_SAID,)))
        else:
            wanted = {e for c in matter.choices if c.name in picked for e in c.effects}
            se = d.side_effects
            found = [("common", e) for e in se.common if e.text in wanted] + [("serious", e) for e in se.serious if e.text in wanted]
            if found:
                out.append(Cell(drug=d.id, name=title, texts=tuple(f"{e.text} ({kind})" for kind, e in found),
                                quotes=tuple(e.quote for _, e in found), section=se.section, note=se.list_note))
            else:
                out.append(Cell(drug=d.id, name=title, texts=("Not in the article's side-effect lists for this drug.",)))
    return tuple(out)


def build(advisor: Any, facts: Any, matters: Any = (), unsure: Any = (), avoid: Any = (), today: date | None = None) -> Summary:
    """The summary for ``facts`` (validated as ``advise`` does) and the person's answers; raises InvalidFacts."""
    from advisor.kb.vocabulary import label

    kb = advisor.kb
    answer, picked = answers(kb, matters, unsure, avoid)  # the answers are checked before the facts: both named
    rec = advisor.advise(facts)
    f = rec.facts
    lines = []
    for spec in type(f).facts_specs:
        value = getattr(f, spec.id)
        given = spec.id in f.model_fields_set and value is not None
        if spec.kind == "conditions":
            words = ", ".join(label(c) for c in value) or "none"
        else:
            words = spec.value_words(value) + (f" {spec.unit}" if spec.unit and value is not None else "")
        if not given:
            words = "not given" + (f" (the advice took it as {words})" if value not in (None, ()) and value != [] else "")
        lines.append(FactLine(field=spec.id, label=spec.heading, value=words, given=given))
    drugs = []
    for d in rec.drugs:
        r = d.reasons[0]
        drugs.append(DrugLine(drug=d.drug, name=d.name + (f" ({d.brand})" if d.brand else ""), status=str(d.status.info.words),
                              reason=r.text, quote=r.quote, section=r.section))
    notes = {n.id: n for n in kb.notes}
    concerns = []
    for m in kb.matters:
        concerns.append(Concern(id=m.id, question=m.question, answer=answer[m.id], rows=m.rows,
                                effects=picked if m.choices else (),
                                cells=_cells(kb, m, picked, notes) if answer[m.id] == "yes" else ()))
    questions = [Question(text=n.text) for n in kb.notes if n.silent]
    for d in rec.drugs:
        for c in d.cautions:
            questions.append(Question(text=f"{c.text} You have {_lower(label(c.condition))}: ask how that affects the choice.",
                                      quote=c.quote, section=c.section))
    for d in kb.drugs:
        if d.schedule.note:
            questions.append(Question(text=f"{d.name}: {d.schedule.note} Ask your MS team about this."))
    return Summary(facts=tuple(lines), drugs=tuple(drugs), concerns=tuple(concerns), questions=_once(questions),
                   disclaimer=rec.disclaimer, source=rec.source, kb_name=rec.kb.name, kb_version=rec.kb.version,
                   kb_sha256=rec.kb.sha256, made=today or date.today())


def _once(questions: list[Question]) -> tuple[Question, ...]:
    """Each question once, where it first comes: the same text with the same quote (a caution the article
    gives "for all of these drugs", met through one condition) is asked once, not once per drug it is
    attached to. Questions whose texts differ are all kept, each with its own drug's words."""
    seen: set[tuple[str, str | None]] = set()
    out = []
    for q in questions:
        if (q.text, q.quote) not in seen:
            seen.add((q.text, q.quote))
            out.append(q)
    return tuple(out)


def _lower(words: str) -> str:
    """A label inside a sentence: "Heart failure" -> "heart failure", an abbreviation ("PML") kept."""
    return words if words[:2].isupper() else words[:1].lower() + words[1:]
