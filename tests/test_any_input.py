"""Any input at all, property-based (hypothesis): the library refuses it naming a field or answers as the
decision semantics say, never raising anything but InvalidFacts, and the command line exits 0 or 2, never
with a traceback. `HYPOTHESIS_PROFILE=long` runs 20,000 examples a test."""

import json
import os

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor import InvalidFacts, Recommendation, advise
from advisor.cli import main

settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FIELDS = ["ms_type", "severity", "prior_failures", "rapidly_worsening", "mitoxantrone_cumulative_mg_m2", "conditions", "id"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30) | st.text(min_size=5000, max_size=6000),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


valid_values = {
    "ms_type": st.sampled_from(["relapsing", "spms", "ppms", "RRMS", "Relapsing-Remitting", "secondary progressive", "PRIMARY-PROGRESSIVE"]),
    "severity": st.sampled_from(["mild", "moderate", "severe", "Severe"]),
    "prior_failures": st.integers(0, 1000),
    "rapidly_worsening": st.booleans(),
    "mitoxantrone_cumulative_mg_m2": st.floats(0, 1e6, allow_nan=False) | st.integers(0, 10**6),
    "conditions": st.lists(st.sampled_from(["pml", "cancer", "hepatitis_b", "infections", "Depression"]), max_size=4),
    "id": st.text(max_size=40),
}


ENGINE_KEYS = ["sid", "$s", "$and", "$or", "$lt", "$nex", "advisor_case", "id", "m", "$i"]


@st.composite
def fact_dicts(draw):
    facts = {}
    for name in FIELDS:
        choice = draw(st.sampled_from(["valid", "valid", "valid", "junk", "missing"]))
        if choice == "valid":
            facts[name] = draw(valid_values[name])
        elif choice == "junk":
            facts[name] = draw(json_values)
    for key in draw(st.lists(st.sampled_from(ENGINE_KEYS) | st.text(max_size=10), max_size=2)):
        facts[key] = draw(json_values)
    return facts


def oracle(f: Recommendation) -> dict:
    """The decision semantics (the article's criteria, as tests/test_decision_table.py writes them out),
    written independently of the KB (a dose not given is decided as none received)."""
    t, s, pf = f.facts.ms_type.value, f.facts.severity.value, f.facts.prior_failures
    rw, dose = f.facts.rapidly_worsening, f.facts.mitoxantrone_cumulative_mg_m2 or 0
    mito = ("excluded" if dose >= 140 or s != "severe" else "applicable" if t == "spms" or rw else "consider")
    return {"alemtuzumab": "applicable" if pf >= 2 else "not_applicable",
            "natalizumab": "no_criteria",
            "mitoxantrone": mito,
            "ocrelizumab": "applicable" if t in ("relapsing", "ppms") else "not_applicable"}


@given(fact_dicts())
def test_any_input_is_refused_naming_a_field_or_answered_correctly(facts):
    try:
        rec = advise(facts)
    except InvalidFacts as e:
        assert e.errors
        for err in e.errors:
            named = [k for k in [*facts, "ms_type", "severity"] if err["field"] == k or err["field"].startswith(f"{k}.")]
            assert named, (err, facts)
        return
    assert set(facts) <= set(FIELDS)
    assert {d.drug: d.status.value for d in rec.drugs} == oracle(rec)
    assert all(d.reasons for d in rec.drugs)
    assert Recommendation.model_validate_json(json.dumps(rec.model_dump(mode="json"))) == rec


@given(st.dictionaries(st.text(max_size=12), json_values, max_size=6) | json_values)
def test_anything_at_all_never_raises_anything_but_invalid_facts(data):
    try:
        advise(data)
    except InvalidFacts:
        pass


@settings(max_examples=60)
@given(fact_dicts())
def test_the_cli_exits_0_or_2_and_never_shows_a_traceback(facts):
    try:
        text = json.dumps(facts, allow_nan=True)
    except (ValueError, OverflowError):
        return
    r = CliRunner().invoke(main, ["advise", "--case", "-", "--format", "json"], input=text)
    assert r.exit_code in (0, 2), r.output
    assert "Traceback" not in r.output
    if r.exit_code == 2:
        assert r.stderr.startswith("ms-advisor: ") and r.stdout == ""
    else:
        assert json.loads(r.stdout)["listed"] is not None
