"""What load() refuses beyond the schema: a text that says more than its quote, a threshold outside
what the facts model accepts, a rule too large for the rules engine, a drug name confusable with another.
"""

from __future__ import annotations

from typing import Any

from advisor.kb.claims import overstatement, unused_allowances
from advisor.kb.schema import PACKAGED_FACTS, Drug, Rule, numeric
from advisor.kb.facts import FactSpec
from advisor.core.models import FACTS
from advisor.text import name_key

MAX_ID_LENGTH = 64
# Where each of the packaged number facts' values lie, as the facts model accepts them (a KB's own: each
# fact's min and max in facts.toml).
FACT_RANGES: dict[str, tuple[float, float]] = {f.id: (f.low, f.high) for f in FACTS if numeric(f)}


def claim_problems(drugs: list[Any], rules: list[Any], cautions: list[Any], notes: list[Any]) -> list[tuple[str, str, str]]:
    """Every text that says more than its quote: a claim word or number not in it nor in ``allow``."""
    texts: list[tuple[str, str, str, str | None, tuple[str, ...]]] = []
    for d in drugs:
        labels = tuple(q for q in (d.side_effects.serious_label, d.side_effects.after) if q)
        for q in (d.how_it_works, *d.about, *d.side_effects.common, *d.side_effects.serious, *labels):
            texts.append(("drugs.toml", d.id, q.text, q.quote, q.allow))
        s = d.schedule
        texts += [("drugs.toml", d.id, t, s.quote, s.allow) for t in (s.text, s.note, s.course_why) if t]
        if d.side_effects.list_note:
            texts.append(("drugs.toml", d.id, d.side_effects.list_note, None, d.side_effects.allow))
        if d.brand_note:
            texts.append(("drugs.toml", d.id, d.brand_note, None, ()))
    texts += [("decisions.toml", r.id, t, " ".join(q.quote for q in (r, *r.also)), r.allow)
              for r in rules for t in (r.text, r.text_not_given, r.short) if t]
    texts += [("cautions.toml", c.id, c.text, c.quote, c.allow) for c in cautions]
    texts += [("notes.toml", n.id, n.text, n.quote, n.allow) for n in notes]
    out = []
    uses: dict[tuple[str, str, int], tuple[tuple[str, ...], list[str]]] = {}
    for file, ident, text, quote, allow in texts:
        problem = overstatement(text, quote, allow)
        if problem:
            out.append((file, ident, problem))
        if allow:  # one `allow` may serve several texts of an item (a schedule's text and note)
            uses.setdefault((file, ident, id(allow)), (allow, []))[1].append(text)
    for (file, ident, _), (allow, used_by) in uses.items():
        out += [(file, ident, p) for p in unused_allowances(allow, used_by)]
    return out


def threshold_problems(rules: list[Rule], facts: dict[str, FactSpec] | None = None) -> list[tuple[str, str, str]]:
    """A number a rule compares a fact with must be a value the facts model accepts for that fact."""
    ranges = {name: (f.low, f.high) for name, f in (facts or PACKAGED_FACTS).items() if numeric(f)}
    out = []
    for rule in rules:
        for test in rule.when:
            if test.fact in ranges:
                low, high = ranges[test.fact]
                for v in (test.value if isinstance(test.value, list) else [test.value]):
                    if isinstance(v, (int, float)) and not low <= v <= high:
                        out.append(("decisions.toml", rule.id, f"{test.fact} {test.op} {v}: outside what the facts model "
                                                               f"accepts for {test.fact} ({low:g} to {high:g})"))
    return out


MAX_TESTS_PER_RULE = 8
MAX_LIST_VALUES = 16
MAX_ALTERNATIVES = 64  # the product of a rule's "in" list lengths: the rules engine expands them


def rule_shape_problems(rules: list[Rule]) -> list[tuple[str, str, str]]:
    """Bounds that keep a rule within what the rules engine compiles: tests per rule, values per
    list, and the alternatives its "in" lists multiply into."""
    out = []
    for rule in rules:
        if len(rule.when) > MAX_TESTS_PER_RULE:
            out.append(("decisions.toml", rule.id, f"has {len(rule.when)} tests (at most {MAX_TESTS_PER_RULE})"))
        alternatives = 1
        for test in rule.when:
            if isinstance(test.value, list):
                if len(test.value) > MAX_LIST_VALUES:
                    out.append(("decisions.toml", rule.id, f"{test.fact} {test.op}: {len(test.value)} values (at most {MAX_LIST_VALUES})"))
                if test.op == "in":
                    alternatives *= len(set(test.value))
        if alternatives > MAX_ALTERNATIVES:
            out.append(("decisions.toml", rule.id, f"its 'in' lists make {alternatives} alternatives (at most {MAX_ALTERNATIVES})"))
    return out


def name_problems(drugs: list[Drug]) -> list[tuple[str, str, str]]:
    """Drug ids fit the CSV and JSON output (columns ``status.<id>``); names and brands are non-empty
    and no two drugs share or nearly share an id, name or brand."""
    out = []
    owner: dict[str, str] = {}
    for d in drugs:
        if len(d.id) > MAX_ID_LENGTH:
            out.append(("drugs.toml", d.id[:MAX_ID_LENGTH], f"drug id longer than {MAX_ID_LENGTH} characters"))
        for label, value in (("id", d.id), ("name", d.name), ("brand", d.brand)):
            if value is None:
                continue
            key = name_key(value)
            if not key:
                out.append(("drugs.toml", d.id, f"{label} is empty"))
            elif owner.get(key, d.id) != d.id:
                out.append(("drugs.toml", d.id, f"{label} '{value}' is the same as, or confusable with, a name of {owner[key]}"))
            else:
                owner[key] = d.id
    return out
