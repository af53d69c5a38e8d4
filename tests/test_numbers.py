"""Numbers the rules engine compares: every number the facts model accepts evaluates, and every
comparison durable-rules makes is the comparison Python makes (issue 9)."""

import json
import math
import operator

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from advisor import Advisor
from advisor.cli import main
from advisor.engine import Engine, ordered_int

OPS = {"$lt": operator.lt, "$lte": operator.le, "$gt": operator.gt, "$gte": operator.ge, "$neq": operator.ne, "==": operator.eq}
HARD = [0.0, -0.0, 5e-324, 1e-323, 2.2250738585072014e-308, 1e-05, 2e-05, 1.5e-05, 0.1, 1.0, 1e16, 1e+300,
        139.99999999999997, 140.0, 140.00000000000003, 1.7976931348623157e308, math.nextafter(1.7976931348623157e308, 0),
        -1e-05, -140.0, -1.7976931348623157e308, 10**15, 2**53, -(2**53), 140, 0, -1]


def engine_for(threshold):
    rules = {op: {"all": [{"m": ({"n": threshold} if op == "==" else {op: {"n": threshold}})}]} for op in OPS}
    return Engine("numbers", rules)


def check(engine, threshold, value):
    fired = set(engine.evaluate({"n": value}))
    expected = {op for op, f in OPS.items() if f(value, threshold)}
    assert fired == expected, (value, threshold)


@pytest.mark.parametrize("threshold", [0, 140, 140.0, 1e-05, 5e-324, 1e16, 1.7976931348623157e308, -1e-05, 0.1])
def test_every_comparison_at_the_edges_of_the_float_range_is_pythons(threshold):
    engine = engine_for(threshold)
    near = [math.nextafter(threshold, math.inf), math.nextafter(threshold, -math.inf)]
    for value in HARD + [threshold] + [v for v in near if math.isfinite(v)]:
        check(engine, threshold, value)


finite = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53)


@given(finite, st.lists(finite, min_size=1, max_size=8))
def test_any_two_numbers_compare_in_the_engine_as_in_python(threshold, values):
    engine = engine_for(threshold)
    near = math.nextafter(float(threshold), math.inf)
    for value in values + ([near] if math.isfinite(near) else []):
        check(engine, threshold, value)


@given(finite, finite)
def test_ordered_int_is_strictly_increasing_and_fits_a_c_long(a, b):
    ka, kb = ordered_int(a), ordered_int(b)
    assert (ka < kb) == (a < b) and (ka == kb) == (a == b)
    assert -(2**63) < ka < 2**63


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 2**53 + 1, 10**400])
def test_numbers_the_engine_cannot_compare_exactly_are_refused_before_any_session(value):
    engine = engine_for(1)
    with pytest.raises((ValueError, OverflowError)):
        engine.evaluate({"n": value})
    check(engine, 1, 2)  # and the engine still works


@pytest.mark.parametrize("dose,mitoxantrone", [
    (1e-05, "applicable"), (2e-05, "applicable"), (5e-324, "applicable"), (1e-300, "applicable"),
    (139.99999999999997, "applicable"), (1.4e2, "excluded"), (140.00000000000003, "excluded"), (1e8, "excluded"),
])
def test_exponent_form_doses_evaluate(dose, mitoxantrone):
    for advisor in (Advisor(cache=False), Advisor()):
        rec = advisor.advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": dose})
        assert rec.drug("mitoxantrone").status.value == mitoxantrone


@pytest.mark.parametrize("text", ["1e-05", "2e-05", "1e16", "5e-324", "1.4e2", "1E2", "1e400"])
def test_exponent_form_doses_in_a_json_case_file(tmp_path, text):
    f = tmp_path / "case.json"
    f.write_text('{"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": %s}' % text)
    r = CliRunner().invoke(main, ["advise", "--case", str(f), "--format", "json"])
    value = float(text)
    if math.isfinite(value) and value <= 1e9:
        assert r.exit_code == 0, r.output
        status = json.loads(r.stdout)["drugs"][2]["status"]
        assert status == ("excluded" if value >= 140 else "applicable")
    else:
        assert r.exit_code == 2 and r.stderr.startswith("ms-advisor: invalid facts: mitoxantrone_cumulative_mg_m2: ")
    assert "Traceback" not in r.output


@pytest.mark.parametrize("text,status", [("1e-5", "applicable"), ("1.4e2", "excluded"), ("5e-324", "applicable")])
def test_exponent_form_doses_on_the_command_line_and_in_the_interview(text, status):
    r = CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "severe", "--mitoxantrone-cumulative-mg-m2", text, "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["drugs"][2]["status"] == status
    r = CliRunner().invoke(main, ["interview", "--format", "json"], input=f"spms\nsevere\n0\nn\n{text}\n\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["drugs"][2]["status"] == status
