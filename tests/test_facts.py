"""PatientFacts: aliases are normalised; every kind of bad input is refused with the field named."""

import math

import pytest

from advisor import InvalidFacts, PatientFacts, advise

BASE = {"ms_type": "relapsing", "severity": "mild"}


@pytest.mark.parametrize("alias,expected", [
    ("relapsing", "relapsing"), ("RRMS", "relapsing"), ("Relapsing-Remitting", "relapsing"),
    ("relapsing remitting", "relapsing"), ("  relapsing   remitting ", "relapsing"),
    ("spms", "spms"), ("Secondary Progressive", "spms"), ("secondary-progressive", "spms"),
    ("PPMS", "ppms"), ("primary progressive", "ppms"), ("Primary-Progressive", "ppms"),
])
def test_ms_type_aliases(alias, expected):
    assert PatientFacts.parse({**BASE, "ms_type": alias}).ms_type.value == expected


def test_bare_progressive_is_refused_and_says_what_to_pick():
    with pytest.raises(InvalidFacts) as e:
        PatientFacts.parse({**BASE, "ms_type": "progressive"})
    assert e.value.errors[0]["field"] == "ms_type"
    assert "ambiguous" in str(e.value) and "spms" in str(e.value) and "ppms" in str(e.value)


def test_severity_is_case_insensitive_and_defaults_apply():
    f = PatientFacts.parse({"ms_type": "ppms", "severity": "SEVERE"})
    assert f.severity.value == "severe"
    assert (f.prior_failures, f.rapidly_worsening, f.mitoxantrone_cumulative_mg_m2, f.conditions, f.id) == (0, False, None, (), None)
    assert f.decided("mitoxantrone_cumulative_mg_m2") == 0.0 and f.not_given == ("mitoxantrone_cumulative_mg_m2",)


def test_conditions_are_normalised_and_deduplicated():
    f = PatientFacts.parse({**BASE, "conditions": ["PML", "pml", "hepatitis_b"]})
    assert [c.value for c in f.conditions] == ["pml", "hepatitis_b"]


@pytest.mark.parametrize("update,field,allowed_word", [
    ({"colour": "blue"}, "colour", "ms_type"),
    ({"ms_type": "benign"}, "ms_type", "ppms"),
    ({"ms_type": True}, "ms_type", "ppms"),
    ({"ms_type": 3}, "ms_type", "ppms"),
    ({"severity": "terrible"}, "severity", "moderate"),
    ({"severity": None}, "severity", "moderate"),
    ({"prior_failures": "two"}, "prior_failures", None),
    ({"prior_failures": "2"}, "prior_failures", None),
    ({"prior_failures": 2.5}, "prior_failures", None),
    ({"prior_failures": -1}, "prior_failures", None),
    ({"prior_failures": True}, "prior_failures", None),
    ({"prior_failures": 10**30}, "prior_failures", None),
    ({"rapidly_worsening": "yes"}, "rapidly_worsening", "true"),
    ({"rapidly_worsening": 1}, "rapidly_worsening", "true"),
    ({"mitoxantrone_cumulative_mg_m2": math.nan}, "mitoxantrone_cumulative_mg_m2", None),
    ({"mitoxantrone_cumulative_mg_m2": math.inf}, "mitoxantrone_cumulative_mg_m2", None),
    ({"mitoxantrone_cumulative_mg_m2": -0.5}, "mitoxantrone_cumulative_mg_m2", None),
    ({"mitoxantrone_cumulative_mg_m2": "100"}, "mitoxantrone_cumulative_mg_m2", None),
    ({"mitoxantrone_cumulative_mg_m2": False}, "mitoxantrone_cumulative_mg_m2", None),
    ({"conditions": "pml"}, "conditions", "hepatitis_b"),
    ({"conditions": ["gout"]}, "conditions", "hepatitis_b"),
    ({"conditions": [True]}, "conditions", "hepatitis_b"),
    ({"conditions": ["\ud800"]}, "conditions", "hepatitis_b"),  # a lone surrogate (YAML "\ud800" gives one)
    ({"severity": "\ud800\udc00"}, "severity", "moderate"),
    ({"id": 7}, "id", None),
])
def test_bad_input_is_refused_naming_the_field(update, field, allowed_word):
    with pytest.raises(InvalidFacts) as e:
        advise({**BASE, **update})
    fields = [err["field"].split(".")[0] for err in e.value.errors]
    assert field in fields
    assert isinstance(e.value, ValueError)
    assert field in str(e.value)
    if allowed_word:
        assert allowed_word in str(e.value)


def test_missing_required_fields_are_each_named():
    with pytest.raises(InvalidFacts) as e:
        advise({})
    assert {err["field"] for err in e.value.errors} == {"ms_type", "severity"}


def test_several_problems_are_reported_together():
    with pytest.raises(InvalidFacts) as e:
        advise({"ms_type": "progressive", "severity": "x", "prior_failures": -1, "extra": 1})
    assert {err["field"] for err in e.value.errors} == {"ms_type", "severity", "prior_failures", "extra"}


@pytest.mark.parametrize("data", [None, [], "relapsing", 3])
def test_facts_must_be_a_mapping(data):
    with pytest.raises(InvalidFacts):
        advise(data)


def test_patient_facts_instance_is_accepted_and_echoed():
    facts = PatientFacts.parse({**BASE, "id": "case-7"})
    rec = advise(facts)
    assert rec.facts == facts and rec.facts.id == "case-7"
