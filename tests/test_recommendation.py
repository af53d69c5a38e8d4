"""What a Recommendation says: reasons, cautions, what-ifs, schedules, notes, disclaimer, JSON."""

import itertools
import json

import pytest

from advisor import Advisor, Condition, Recommendation, advise

DRUGS = ("alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab")

# Which conditions meet a side effect the document names, per drug (from the source's lists).
CAUTIONS = {
    "alemtuzumab": {"other_autoimmune_disease", "cancer", "blood_disorder", "infections", "past_infusion_reaction"},
    "natalizumab": {"pml", "liver_disease", "infections", "depression", "allergies", "past_infusion_reaction"},
    "mitoxantrone": {"heart_failure", "kidney_disease", "blood_disorder", "infections",
                     "depression", "past_infusion_reaction"},
    "ocrelizumab": {"pml", "hepatitis_b", "shingles", "weakened_immune_system", "cancer", "infections",
                    "past_infusion_reaction"},
}


def test_all_four_drugs_in_order_each_with_reasons():
    rec = advise({"ms_type": "spms", "severity": "moderate"})
    assert tuple(d.drug for d in rec.drugs) == DRUGS
    for d in rec.drugs:
        assert d.reasons, d.drug
        for r in d.reasons:
            assert r.rule.startswith(d.drug + ".") and r.quote and r.section


@pytest.mark.parametrize("condition", [c.value for c in Condition])
def test_cautions_for_each_condition_whatever_the_status(condition):
    rec = advise({"ms_type": "spms", "severity": "mild", "conditions": [condition]})
    for d in rec.drugs:
        assert {c.condition.value for c in d.cautions} == ({condition} & CAUTIONS[d.drug]), d.drug
        for c in d.cautions:
            assert c.quote and c.text


def test_all_conditions_at_once():
    rec = advise({"ms_type": "relapsing", "severity": "severe", "conditions": [c.value for c in Condition]})
    assert {d.drug: {c.condition.value for c in d.cautions} for d in rec.drugs} == CAUTIONS


def test_reason_text_names_the_persons_facts():
    rec = advise({"ms_type": "relapsing", "severity": "mild", "prior_failures": 3})
    assert rec.drug("alemtuzumab").reasons[0].text.startswith("3 other MS medications")
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 150})
    assert "150 mg/m²" in rec.drug("mitoxantrone").reasons[0].text


def test_both_mitoxantrone_reasons_when_spms_and_rapidly_worsening():
    rec = advise({"ms_type": "spms", "severity": "severe", "rapidly_worsening": True})
    assert [r.rule for r in rec.drug("mitoxantrone").reasons] == ["mitoxantrone.severe_spms", "mitoxantrone.severe_rapidly_worsening"]


def test_what_if_lists_single_changes_that_would_list_a_drug():
    rec = advise({"ms_type": "spms", "severity": "mild", "prior_failures": 0})
    what_if = {d.drug: {(w.field, w.value, w.status.value) for w in d.what_if} for d in rec.drugs}
    assert what_if["alemtuzumab"] == {("prior_failures", 2, "applicable")}
    assert what_if["natalizumab"] == set()  # no criteria: no fact changes that
    assert what_if["mitoxantrone"] == {("severity", "severe", "applicable")}  # severe SPMS
    assert what_if["ocrelizumab"] == {("ms_type", "relapsing", "applicable"), ("ms_type", "ppms", "applicable")}
    # the article's criterion restated, never a goal, never as if the MS type could change (issue 20, item 14)
    assert rec.drug("alemtuzumab").what_if[0].text == "The article describes alemtuzumab for people with 2 or more prior treatment failures."
    assert {w.text for w in rec.drug("ocrelizumab").what_if} == {
        "The article describes ocrelizumab for people with relapsing MS.",
        "The article describes ocrelizumab for people with primary progressive MS (PPMS)."}
    texts = [w.text for d in rec.drugs for w in d.what_if]
    assert not [t for t in texts if "would become" in t or "if the MS were" in t.lower()]


def test_what_if_gives_the_status_the_change_would_give():
    rec = advise({"ms_type": "relapsing", "severity": "mild"})
    assert {(w.field, w.value, w.status.value) for w in rec.drug("mitoxantrone").what_if} == {("severity", "severe", "consider")}
    assert rec.drug("mitoxantrone").what_if[0].text == \
        "The article's statements point to mitoxantrone for people with severe MS (worth considering)."
    assert rec.drug("natalizumab").what_if == ()


def test_what_if_never_lowers_a_lifetime_total():
    rec = advise({"ms_type": "spms", "severity": "severe", "prior_failures": 1, "mitoxantrone_cumulative_mg_m2": 140})
    assert rec.drug("mitoxantrone").status.value == "excluded"
    assert rec.drug("mitoxantrone").what_if == ()


def test_listed_drugs_have_no_what_if():
    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2})
    assert rec.listed == ("alemtuzumab", "ocrelizumab", "mitoxantrone")
    assert all(d.what_if == () for d in rec.drugs)


def test_structured_schedules():
    rec = advise({"ms_type": "relapsing", "severity": "mild"})
    ocr = rec.drug("ocrelizumab").schedule
    assert [(p.count, p.every.n, p.every.unit, p.dose_mg) for p in ocr.phases] == [(2, 2, "weeks", 300), (None, 6, "months", 600)]
    alem = rec.drug("alemtuzumab").schedule
    assert [(p.start.n, p.start.unit, p.count) for p in alem.phases] == [(0, "days", 5), (1, "years", 3)]
    assert rec.drug("natalizumab").schedule.phases[0].every.model_dump() == {"n": 4, "unit": "weeks"}
    mito = rec.drug("mitoxantrone").schedule
    assert mito.lifetime_max_mg_m2 == 140 and "no dose per infusion" in mito.note


def test_notes_and_disclaimer():
    rec = advise({"ms_type": "relapsing", "severity": "mild"})
    notes = {n.id: n for n in rec.notes}
    assert "24 hours" in notes["infusion_reaction_window"].quote
    assert "aggressive or advanced MS" in notes["aggressive_or_advanced"].quote and "all four" in notes["aggressive_or_advanced"].text
    assert "not a prescription" in rec.disclaimer
    assert rec.drug("mitoxantrone").brand is None


def test_json_form_round_trips():
    rec = advise({"ms_type": "ppms", "severity": "severe", "conditions": ["pml"], "id": "p1"})
    data = json.loads(json.dumps(rec.model_dump(mode="json")))
    assert data["facts"]["id"] == "p1" and data["listed"] == ["ocrelizumab", "mitoxantrone"]
    assert Recommendation.model_validate(data) == rec


def test_every_rule_fires_for_some_facts_and_not_for_others():
    a = Advisor()
    fired_sets = []
    for t, s, pf, rw, dose in itertools.product(["relapsing", "spms", "ppms"], ["mild", "moderate", "severe"],
                                                 [0, 1, 2], [False, True], [0, 140]):
        rec = a.advise({"ms_type": t, "severity": s, "prior_failures": pf, "rapidly_worsening": rw,
                        "mitoxantrone_cumulative_mg_m2": dose, "conditions": ["pml"] if pf else ["cancer", "depression"]})
        fired_sets.append({r.rule for d in rec.drugs for r in d.reasons} | {c.rule for d in rec.drugs for c in d.cautions})
    all_ids = {r.id for r in a.kb.rules}
    assert all_ids <= set().union(*fired_sets)
    # every rule but one that tests nothing (natalizumab's: no criteria, for every set of facts)
    assert all(any(rule not in s for s in fired_sets) for rule in all_ids if a.kb.rule(rule).when)
