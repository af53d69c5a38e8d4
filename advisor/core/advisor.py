"""The Advisor: a validated knowledge base, its compiled rulesets, and the decisions they give.

Flow: rules/ --kb.load--> KnowledgeBase --engine--> Engine(s) --decide--> Decision --recommend--> Recommendation.
Decisions are memoized on the truth values of exactly the tests the KB's rules make (derived from the
KB), so the answer is always the engine's: two fact sets with the same key fire the same rules.
"""

from __future__ import annotations

import bisect
import json
import threading
from pathlib import Path
from types import SimpleNamespace
from enum import Enum
from typing import TYPE_CHECKING, Any

from pydantic import create_model

if TYPE_CHECKING:
    from advisor.grid import Comparison

import advisor.kb.load as kb_module
from advisor.core.engine import Engine, compile_caution, compile_rule
from advisor.core.decision import Change, Decision
from advisor.errors import KnowledgeBaseError, UnknownDrug
from advisor.text import name_key
from advisor.kb.schema import KnowledgeBase, NoteItem, Rule, Test
from advisor.kb.vocabulary import PACKAGED, PACKAGED_STATUSES
from advisor.core.models import (NOT_GIVEN, Caution, DrugAdvice, WhatIf, model_for, Condition,
                                  Explanation, PatientFacts, Recommendation, RuleMiss, Status)

if TYPE_CHECKING:
    from advisor.core.summary import Summary

NOTE = "note:"  # engine ids of conditional notes (a KB id never holds a colon)


class Advisor:
    """Advice from one knowledge base. Thread-safe; reuse one instance (building it compiles the KB).

        >>> from advisor import Advisor
        >>> advisor = Advisor()                      # the packaged KB; Advisor("my-rules") for another
        >>> advisor.advise({"ms_type": "spms", "severity": "severe", "rapidly_worsening": True}).listed
        ('mitoxantrone',)

    Raises :class:`advisor.KnowledgeBaseError` when the knowledge base is invalid."""

    def __init__(self, rules_dir: str | Path | None = None, *, kb: KnowledgeBase | None = None, cache: bool = True):
        if kb is None:
            kb = kb_module.load(rules_dir if rules_dir is not None else kb_module.default_directory())
        self.kb: KnowledgeBase = kb
        # The KB's facts model (the packaged PatientFacts for the packaged facts) and the Recommendation
        # that carries it: every surface validates and shows a person's facts by these.
        self.vocabulary = kb.vocabulary  # its conditions (conditions.toml)
        self.status_set = kb.status_set  # its statuses (statuses.toml)
        self.listed: tuple[Any, ...] = self.status_set.listed  # the listed statuses, in the KB's order
        self.facts_model: type[PatientFacts] = model_for(kb.facts, self.vocabulary)
        self.caution_model, self.what_if_model, self.rule_miss_model = Caution, WhatIf, RuleMiss
        self.drug_model, self.recommendation_model = DrugAdvice, Recommendation
        condition: Any = self.vocabulary.enum
        status: Any = self.status_set.enum
        if self.vocabulary is not PACKAGED:  # a Caution names a condition of this KB
            self.caution_model = create_model("Caution", __base__=Caution, __module__=Caution.__module__, condition=(condition, ...))
        if self.status_set is not PACKAGED_STATUSES:  # a drug's status, a what-if's and a rule's are this KB's
            self.what_if_model = create_model("WhatIf", __base__=WhatIf, __module__=WhatIf.__module__, status=(status, ...))
            self.rule_miss_model = create_model("RuleMiss", __base__=RuleMiss, __module__=RuleMiss.__module__, status=(status, ...))
        if self.caution_model is not Caution or self.what_if_model is not WhatIf:
            cautions: Any = tuple[self.caution_model, ...]  # type: ignore[name-defined]
            what_ifs: Any = tuple[self.what_if_model, ...]  # type: ignore[name-defined]
            self.drug_model = create_model("DrugAdvice", __base__=DrugAdvice, __module__=DrugAdvice.__module__,
                                           status=(status, ...), cautions=(cautions, ...), what_if=(what_ifs, ...))
        if self.facts_model is not PatientFacts or self.drug_model is not DrugAdvice:
            drugs: Any = tuple[self.drug_model, ...]  # type: ignore[name-defined]
            self.recommendation_model = create_model(
                "Recommendation", __base__=Recommendation, __module__=Recommendation.__module__,
                facts=(self.facts_model, ...), drugs=(drugs, ...))
        self._specs = kb.fact_specs
        self._assumed = self.facts_model.assumed
        self._rules = {r.id: r for r in self.kb.rules}
        self._caution_rules = {c.id: c for c in self.kb.cautions}
        # Conditional notes are rules too: compiled into the same ruleset (ids prefixed NOTE), so the
        # engine decides them with the statuses, in one evaluation.
        self._conditional_notes = {NOTE + n.id: n for n in self.kb.notes if n.when}
        self._status_engine = Engine("status", {**{r.id: compile_rule(r) for r in self.kb.rules},
                                                **{i: compile_rule(n) for i, n in self._conditional_notes.items()}})
        self._caution_engine = Engine("cautions", {c.id: compile_caution(c) for c in self.kb.cautions})
        # Every distinct test the status rules make: their truth values are the memo key.
        unique: dict[tuple[Any, ...], Test] = {}
        tested: list[Rule | NoteItem] = [*self.kb.rules, *self._conditional_notes.values()]
        for rule in tested:
            for test in rule.when:
                unique.setdefault((test.fact, test.op, repr(test.value)), test)
        self.tests: tuple[Test, ...] = tuple(unique.values())
        self.tested_facts: tuple[str, ...] = tuple(dict.fromkeys(t.fact for t in self.tests))
        self.drug_ids = self.kb.drug_ids
        # Numbers are keyed by where they fall among the thresholds the KB compares them with: every
        # <, <=, >, >=, ==, in test on a number has the same truth value for values in the same place.
        self._thresholds: dict[str, tuple[list[float], frozenset[float]]] = {
            fact: (points, frozenset(points)) for fact, points in self.kb.thresholds.items() if self._numeric(fact)}
        self._tests_on = {fact: [t for t in self.tests if t.fact == fact] for fact in self.tested_facts}
        self._classes: dict[tuple[Any, ...], tuple[bool, ...]] = {}
        self.caching = cache
        self._views: tuple[Any, ...] | None = None  # schedules and notes: built from the KB on first advise()
        self._decisions: dict[tuple[Any, ...], Decision] = {}
        self._cautions: dict[tuple[Condition, ...], tuple[str, ...]] = {}
        self._by_condition: dict[Condition, frozenset[str]] = {}  # bounded by the vocabulary
        self._lock = threading.Lock()

    # --- decisions (the engine) ------------------------------------------------------------------

    def engine_fact(self, facts: PatientFacts) -> dict[str, Any]:
        """The fact asserted into the status ruleset: the tested fields only, as JSON values."""
        return {name: _json_value(self._decided(facts, name)) for name in self.tested_facts}

    def decision_key(self, facts: PatientFacts) -> tuple[Any, ...]:
        """The memo key: the truth value of every test the status rules make, grouped by fact. Each
        fact's part is memoized by the value's class: the value itself for vocabularies and flags, and
        for numbers its place among the KB's thresholds (which interval, whether it equals one), since
        every <, <=, >, >=, ==, in test has the same truth value across such a class."""
        return tuple(self.fact_class(name, self._decided(facts, name)) for name in self.tested_facts)

    def fact_class(self, name: str, value: Any) -> tuple[bool, ...]:
        """One fact's part of the memo key: the truth values of the tests on ``name`` for ``value``
        (a validated value of that fact; None: not given). Equal parts for every fact mean the same decision."""
        if value is None and name in self._assumed:
            value = self._assumed[name]
        if name in self._thresholds:
            points, exact = self._thresholds[name]
            cls: tuple[Any, ...] = (name, bisect.bisect_left(points, value), value in exact)
        else:
            cls = (name, value)
        part = self._classes.get(cls)
        if part is None:
            values = {name: _json_value(value)}
            part = self._classes[cls] = tuple(t.holds(values) for t in self._tests_on[name])
        return part

    def decide(self, facts: PatientFacts) -> Decision:
        if not self.caching:
            return self._decide_uncached(facts)
        key = self.decision_key(facts)
        decision = self._decisions.get(key)
        if decision is None:
            decision = self._decide_uncached(facts)
            with self._lock:  # return the stored one: equal keys always give the same Decision object
                decision = self._decisions.setdefault(key, decision)
        return decision

    def evaluate(self, values: dict[str, Any]) -> tuple[tuple[str, ...], dict[str, set[Status]]]:
        """Run the status rules on engine-fact values; return the fired rule ids (conditional notes
        among them, prefixed NOTE) and the statuses they give each drug (more or fewer than one means
        the KB is broken for these values)."""
        fired = self._status_engine.evaluate(values)
        found: dict[str, set[Status]] = {d: set() for d in self.drug_ids}
        for rule_id in fired:
            if rule_id.startswith(NOTE):
                continue
            rule = self._rules[rule_id]
            found[rule.drug].add(rule.status)
        return fired, found

    def _decide_uncached(self, facts: PatientFacts) -> Decision:
        fired, found = self.evaluate(self.engine_fact(facts))
        status = {}
        for drug, statuses in found.items():
            if len(statuses) != 1:
                # Never guess: a KB that gives no status or two for a case is broken.
                what = "no rule gave a status" if not statuses else f"rules disagree ({', '.join(sorted(s.value for s in statuses))})"
                raise KnowledgeBaseError([("decisions.toml", drug, f"{what} for facts {self.engine_fact(facts)}")])
            status[drug] = statuses.pop()
        listed = tuple(d for s in self.listed for d in self.drug_ids if status[d] is s)
        notes = tuple(i.removeprefix(NOTE) for i in fired if i.startswith(NOTE))
        return Decision(status=status, fired=tuple(i for i in fired if not i.startswith(NOTE)), listed=listed, notes=notes)

    def caution_rules(self, facts: PatientFacts) -> tuple[str, ...]:
        """Ids of the caution rules that the person's conditions meet, in KB order. Each condition is
        asserted on its own (the caution rules each test one condition); memoized per condition and per
        condition set."""
        if not facts.conditions:
            return ()
        key = facts.conditions
        ids = self._cautions.get(key) if self.caching else None
        if ids is None:
            fired: set[str] = set()
            for condition in key:
                one = self._by_condition.get(condition) if self.caching else None
                if one is None:
                    one = self._by_condition[condition] = frozenset(
                        self._caution_engine.evaluate({"condition": condition.value}))
                fired |= one
            order = self._caution_engine.rule_ids
            ids = tuple(sorted(fired, key=order.index))
            if self.caching and len(self._cautions) < 100_000:
                self._cautions[key] = ids
        return ids

    def cautions_by_drug(self, caution_ids: tuple[str, ...]) -> dict[str, list[str]]:
        """The conditions each drug's cautions name, from caution rule ids (for compact records)."""
        out: dict[str, list[str]] = {d: [] for d in self.drug_ids}
        for rule_id in caution_ids:
            c = self._caution_rules[rule_id]
            out[c.drug].append(c.condition.value)
        return out

    # --- what would change the answer --------------------------------------------------------------

    def candidates(self, field: str, current: Any) -> list[Any]:
        """Values worth trying for one fact: every other value of a vocabulary or flag, and for numbers
        the values at and around each threshold the KB tests (only upwards for lifetime totals)."""
        spec = self._specs[field]
        if spec.kind == "yes_no":
            return [not current]
        if spec.kind == "choice":
            return [v for v in self.facts_model.enums[field] if v != current]
        kind: Any = int if spec.kind == "count" else float
        points: set[Any] = set()
        for v in self._thresholds[field][0]:
            points.update({v, v + 1} if kind is int else {v})
            if kind is int and v - 1 >= 0:
                points.add(v - 1)
            if kind is float:
                points.update({max(v - 0.1, 0.0), v + 0.1})
        if spec.only_increases:
            points = {p for p in points if p > current}
        return sorted(kind(p) for p in points if p != current and p >= 0)

    def changes(self, facts: PatientFacts, decision: Decision) -> list[Change]:
        """For each drug not listed, the single-fact changes that would list it (smallest first)."""
        out: list[Change] = []
        unlisted = [d for d in self.drug_ids if decision.status[d] not in self.listed]
        if not unlisted:
            return out
        base = {name: self._decided(facts, name) for name in self.tested_facts}
        for field in self.tested_facts:
            current = base[field]
            found: set[str] = set()
            for value in self.candidates(field, current):
                # Only the tested facts matter to a decision: a light copy with one of them changed.
                other = self.decide(SimpleNamespace(**{**base, field: value}))  # type: ignore[arg-type]
                for drug in unlisted:
                    if drug in found or other.status[drug] not in self.listed:
                        continue
                    if self._numeric(field):
                        found.add(drug)  # the smallest number that lists it is enough
                    out.append(Change(drug, field, value, other.status[drug]))
        return out

    # --- the recommendation -----------------------------------------------------------------------

    def advise(self, facts: dict[str, Any] | PatientFacts) -> Recommendation:
        """Validate ``facts`` (raising InvalidFacts) and return the explained recommendation."""
        from advisor.core.recommend import notes_of, recommendation, schedule_of

        parsed = self.facts_model.parse(facts)
        decision = self.decide(parsed)
        if self._views is None:
            self._views = ({d.id: schedule_of(d) for d in self.kb.drugs}, notes_of(self.kb))
        schedules, notes = self._views
        return recommendation(self.kb, parsed, decision, self.caution_rules(parsed), self.changes(parsed, decision),
                              schedules, notes, self)

    def summary(self, facts: dict[str, Any] | PatientFacts, matters: Any = (), unsure: Any = (), avoid: Any = ()) -> "Summary":
        """The summary for the clinic (:class:`advisor.Summary`) for ``facts`` and what matters to the person,
        from this knowledge base; see :func:`advisor.summary`. Raises InvalidFacts."""
        from advisor.core.summary import build

        return build(self, facts, matters=matters, unsure=unsure, avoid=avoid)

    def _numeric(self, field: str) -> bool:
        return self._specs[field].kind in ("count", "number")

    def _decided(self, facts: Any, name: str) -> Any:
        """The value of a fact the rules decide on: the assumed one when it was not given (facts.toml's
        ``assumed``)."""
        value = getattr(facts, name)
        return self._assumed[name] if value is None and name in self._assumed else value


    def drug_id(self, name: str) -> str:
        """A drug's id from its id, name or brand, in any case; :class:`advisor.UnknownDrug` otherwise."""
        key = name_key(name)
        for d in self.kb.drugs:
            if key and key in (name_key(d.id), name_key(d.name), name_key(d.brand or "")):
                return d.id
        raise UnknownDrug(name, self.kb.drug_ids)

    def not_fired(self, facts: PatientFacts, drug: str) -> tuple[RuleMiss, ...]:
        """The status rules of ``drug`` that did not fire for ``facts``, each with the tests that failed."""
        from advisor.core.recommend import dose_text

        values = self.engine_fact(facts)
        fired = set(self.decide(facts).fired)
        # a fact not given is never shown as a number (ASSUMED holds only the dose received, decided as none)
        # a dose given is written with its own digits, as the schedule texts write doses (0, not 0.0; 139.99999)
        shown = {f: (f"{NOT_GIVEN} (decided as none received)" if not v else f"{NOT_GIVEN} (decided as {json.dumps(v)})")
                 if f in facts.not_given else dose_text(v) if self._specs[f].kind == "number" else json.dumps(v)
                 for f, v in values.items()}
        return tuple(self.rule_miss_model(rule=rule.id, status=rule.status,
                              failed=tuple(f"needs {t.describe()}, is {shown[t.fact]}"
                                           for t in rule.when if not t.holds(values)))
                     for rule in self.kb.rules if rule.drug == drug and rule.id not in fired)

    def explain(self, facts: dict[str, Any] | PatientFacts, drug: str) -> Explanation:
        """How (or why not) ``drug`` (id, name or brand) got its status for ``facts``: the recommendation
        and every rule of the drug that did not fire, with why. Raises InvalidFacts or UnknownDrug.

            >>> from advisor import default_advisor
            >>> e = default_advisor().explain({"ms_type": "spms", "severity": "mild", "prior_failures": 1}, "alemtuzumab")
            >>> [(m.rule, m.failed) for m in e.not_fired]
            [('alemtuzumab.two_or_more_failures', ('needs prior_failures >= 2, is 1',))]
        """
        drug_id = self.drug_id(drug)
        rec = self.advise(facts)
        return Explanation(recommendation=rec, drug=drug_id, not_fired=self.not_fired(rec.facts, drug_id))

    def compare(self, facts: dict[str, Any] | PatientFacts | None = None, drugs: list[str] | None = None,
                matters: Any = (), unsure: Any = (), avoid: Any = ()) -> Comparison:
        """The comparison grid of this knowledge base (see :func:`advisor.grid.comparison`); ``matters``,
        ``unsure`` and ``avoid`` mark the rows and side effects that speak to the person's answers."""
        from advisor.grid import comparison

        return comparison(self, facts, drugs, matters=matters, unsure=unsure, avoid=avoid)


def _json_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value
