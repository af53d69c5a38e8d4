"""Numbers: every number the facts model accepts evaluates, and every comparison durable-rules makes is
the comparison Python makes; one rule for numbers written as text on every path (library, flag, case
file, batch, service, web form: ASCII digits only, a count written 2.0 is 2, 2.5 refused); minus zero
shown as 0; one plausible bound for ints and floats."""

import io
import json
import math
import operator

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from serve_helpers import serve_app  # noqa: F401 (fixture)

from advisor import Advisor, InvalidFacts, advise
from advisor.batch import run
from advisor.cli import main
from advisor.core.engine import Engine, ordered_int
from advisor.core.models import number_from_text

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


# --- ASCII digits only, in every number and date the CLI reads ----------------------------------------------

ADVISE = ["advise", "--ms-type", "spms", "--severity", "mild"]
SCHEDULE = ["schedule", "natalizumab", "--start", "2027-01-04"]
OPTIONS = [  # (arguments, the option the error must name, what it must say)
    (["schedule", "ocrelizumab", "--start", "２０２６-01-05"], "--start", "YYYY-MM-DD"),
    (["schedule", "ocrelizumab", "--start", "٢٠٢٦-٠١-٠٥"], "--start", "YYYY-MM-DD"),
    (["schedule", "ocrelizumab", "--start", "2026-01-0५"], "--start", "YYYY-MM-DD"),
    ([*SCHEDULE, "--count", "３"], "--count", "ASCII digits"),
    ([*SCHEDULE, "--mitoxantrone-cumulative-mg-m2", "１４０"], "--mitoxantrone-cumulative-mg-m2", "ASCII digits"),
    ([*ADVISE, "--prior-failures", "３"], "--prior-failures", "ASCII digits"),
    ([*ADVISE, "--mitoxantrone-cumulative-mg-m2", "١٤٠"], "--mitoxantrone-cumulative-mg-m2", "ASCII digits"),
    (["log", "--since", "２０２６-01-01"], "--since", "YYYY-MM-DD"),
    (["log", "--since", "2026-01-01T10:00:0０"], "--since", "YYYY-MM-DDTHH:MM:SS"),
    (["batch", "-", "--out", "-", "--workers", "２"], "--workers", "ASCII digits"),
    (["batch", "-", "--out", "-", "--duplicate-check-limit", "１０"], "--duplicate-check-limit", "ASCII digits"),
    (["serve", "--port", "８０８０"], "--port", "ASCII digits"),
    (["serve", "--workers", "２"], "--workers", "ASCII digits"),
    (["serve", "--fhir-timeout", "３"], "--fhir-timeout", "ASCII digits"),
]


@pytest.mark.parametrize("args,option,says", OPTIONS)
def test_other_scripts_digits_are_refused_by_every_number_and_date_option(args, option, says, monkeypatch):
    def never(*a, **kw):
        raise AssertionError("the server started")
    monkeypatch.setattr("uvicorn.run", never)  # were the value taken, `serve` would not return
    r = CliRunner().invoke(main, args, input="")
    assert r.exit_code == 2 and r.stdout == "", r.output
    [line] = r.stderr.splitlines()
    assert f"'{option}'" in line and says in line and "Traceback" not in line


@pytest.mark.parametrize("args,expected", [
    (["schedule", "ocrelizumab", "--start", "2027-02-30"], "'2027-02-30' is not a real date"),
    (["schedule", "ocrelizumab", "--start", "2027-1-4"], "'2027-1-4' is not a date written YYYY-MM-DD in ASCII digits"),
    ([*SCHEDULE, "--count", "0"], "0 is not from 1 to 1000"),
    (["serve", "--port", "70000"], "70000 is not from 0 to 65535"),
])
def test_dates_and_counts_out_of_their_range_are_one_line_naming_the_option(args, expected):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and expected in r.stderr, r.stderr


def test_ascii_dates_and_counts_still_work():
    r = CliRunner().invoke(main, [*SCHEDULE, "--count", "3", "--format", "json"])
    assert r.exit_code == 0 and [i["date"] for i in json.loads(r.stdout)["infusions"]] == ["2027-01-04", "2027-02-01", "2027-03-01"]
    assert CliRunner().invoke(main, ["log", "--since", "2026-01-01T10:00:00", "--db", "/nonexistent/x.sqlite3"]).stderr \
        .startswith("ms-advisor: /nonexistent/x.sqlite3")  # the date passed; the missing log is what is refused


def test_columns_in_other_scripts_digits_is_ignored():
    def drugs(columns):
        return CliRunner().invoke(main, ["drugs"], env={"COLUMNS": columns} if columns else {}).stdout
    assert drugs("５０") == drugs("") == drugs("100") != drugs("50")


@pytest.mark.parametrize("text", ['prior_failures: "３"', "prior_failures: ３", 'mitoxantrone_cumulative_mg_m2: "١٤٠"'])
def test_other_scripts_digits_in_a_case_file_are_refused_naming_the_field(tmp_path, text):
    case = tmp_path / "case.yaml"
    case.write_text(f"ms_type: spms\nseverity: mild\n{text}\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["advise", "--case", str(case)])
    assert r.exit_code == 2 and text.split(":")[0] in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


# --- numbers no float holds exactly are refused, never rounded ------------------------------------
# 139.99999999999999999 is below the 140 mg/m² lifetime maximum, but a 64-bit float reads it as 140.0;
# 1.99999999999999999999 prior failures would read as 2 (alemtuzumab's threshold); 1e-400 as 0.0.
INEXACT = {"mitoxantrone_cumulative_mg_m2": ["139.99999999999999999", "1e-400", "140.0000000000000000001"],
           "prior_failures": ["1.99999999999999999999"]}
EXACT = ["0.30000000000000004", "139.99999999999997", "139.999999999999", "140.000000000000000000", "5e-324", "1.4e2"]
CASES_INEXACT = [(field, text) for field, texts in INEXACT.items() for text in texts]


def _refused(message, field, text):
    assert f"{field}: " in message and "compare exactly" in message, message
    assert "\n" not in message.strip()


@pytest.mark.parametrize("field,text", CASES_INEXACT)
def test_a_number_no_float_holds_is_refused_in_json_and_yaml_case_files_naming_the_field(tmp_path, field, text):
    for name, body in (("case.json", '{"ms_type": "spms", "severity": "severe", "%s": %s}' % (field, text)),
                       ("case.yaml", f"ms_type: spms\nseverity: severe\n{field}: {text}\n")):
        f = tmp_path / name
        f.write_text(body)
        r = CliRunner().invoke(main, ["advise", "--case", str(f), "--format", "json"])
        assert r.exit_code == 2, (name, r.output)
        _refused(r.stderr, field, text)
        assert "Traceback" not in r.output


@pytest.mark.parametrize("field,text", CASES_INEXACT)
def test_a_number_no_float_holds_is_refused_on_the_command_line_naming_the_option(field, text):
    option = "--" + field.replace("_", "-")
    r = CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "severe", option, text, "--format", "json"])
    assert r.exit_code == 2 and r.stdout == ""
    assert f"Invalid value for '{option}'" in r.stderr and "compare exactly" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_the_interview_asks_again_for_a_dose_no_float_holds():
    r = CliRunner().invoke(main, ["interview", "--format", "json"], input="spms\nsevere\n0\nn\n139.99999999999999999\n100\n\n")
    assert r.exit_code == 0, r.output
    assert "compare exactly" in r.stderr
    assert json.loads(r.stdout)["facts"]["mitoxantrone_cumulative_mg_m2"] == 100.0


@pytest.mark.parametrize("text", EXACT)
def test_numbers_a_float_holds_exactly_are_taken_from_text_everywhere(tmp_path, text):
    f = tmp_path / "case.json"
    f.write_text('{"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": %s}' % text)
    r = CliRunner().invoke(main, ["advise", "--case", str(f), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["drugs"][2]["status"] == ("excluded" if float(text) >= 140 else "applicable")
    r2 = CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "severe", "--mitoxantrone-cumulative-mg-m2", text,
                                   "--format", "json"])
    assert r2.exit_code == 0 and r2.stdout == r.stdout


def test_the_library_takes_a_decimal_only_when_a_float_holds_it_exactly():
    from decimal import Decimal

    from advisor import InvalidFacts, advise

    assert advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": Decimal("139.5")}).drug(
        "mitoxantrone").status.value == "applicable"
    for value in (Decimal("139.99999999999999999"), Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(InvalidFacts) as e:
            advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": value})
        assert e.value.errors[0]["field"] == "mitoxantrone_cumulative_mg_m2"


def test_batch_refuses_a_number_no_float_holds_in_every_format_and_keeps_the_other_cases(tmp_path):
    from advisor.batch import run

    (tmp_path / "a.jsonl").write_text('{"id":"j1","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":139.99999999999999999}\n'
                                      '{"id":"j2","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":139.99999999999997}\n')
    (tmp_path / "b.csv").write_text("id,ms_type,severity,prior_failures,mitoxantrone_cumulative_mg_m2\n"
                                    "c1,spms,severe,1.99999999999999999999,\nc2,spms,severe,,139.99999999999999999\nc3,spms,severe,2.0,\n")
    (tmp_path / "c.json").write_text('[{"id":"d1","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":1e-400}]')
    (tmp_path / "d.yaml").write_text("id: y1\nms_type: spms\nseverity: severe\nmitoxantrone_cumulative_mg_m2: 139.99999999999999999\n")
    import io
    out = io.StringIO()
    run([str(tmp_path)], out)
    recs = {r["id"]: r for r in map(json.loads, out.getvalue().splitlines())}
    assert {i for i, r in recs.items() if r["ok"]} == {"j2", "c3"}
    assert recs["j2"]["status"]["mitoxantrone"] == "applicable"
    for i, field in (("j1", "mitoxantrone_cumulative_mg_m2"), ("c1", "prior_failures"), ("c2", "mitoxantrone_cumulative_mg_m2"),
                     ("d1", "mitoxantrone_cumulative_mg_m2"), ("y1", "mitoxantrone_cumulative_mg_m2")):
        _refused(recs[i]["error"], field, None)


def test_batch_extra_keep_keeps_an_unknown_field_with_a_long_number_as_its_float(tmp_path):
    from advisor.batch import evaluate
    from advisor.batch.records import CaseOptions
    from advisor.batch.sources import RawCase

    record = next(evaluate([RawCase("x:1", "line", b'{"ms_type":"spms","severity":"mild","lab":0.100000000000000000001}')],
                           options=CaseOptions(extra="keep")))
    assert record["ok"] and record["input"] == {"lab": 0.1}


def test_a_kb_threshold_no_float_holds_is_refused_at_load(kb_copy):
    from advisor.errors import KnowledgeBaseError
    from advisor.kb.load import load

    f = kb_copy / "decisions.toml"
    f.write_text(f.read_text().replace('op = ">=", value = 140 }', 'op = ">=", value = 139.99999999999999999 }'))
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert "decisions.toml" in str(e.value) and "139.99999999999999999" in str(e.value)


def test_the_service_web_page_and_cds_refuse_a_dose_no_float_holds(serve_app):
    from serve_helpers import hook, person

    client = serve_app()[1]
    body = '{"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 139.99999999999999999}'
    r = client.post("/advise", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "mitoxantrone_cumulative_mg_m2"
    assert "compare exactly" in r.json()["errors"][0]["message"]
    r = client.get("/advice?ms_type=spms&severity=severe&mitoxantrone_cumulative_mg_m2=139.99999999999999999",
                   headers={"accept": "text/html"})
    assert r.status_code == 422 and "compare exactly" in r.text
    conds, obs = person(dose=None)
    raw = json.dumps(hook(conds, obs + [{"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/p1"},
                                         "code": {"coding": [{"system": "urn:ms-infusion-advisor:facts", "code": "mitoxantrone-cumulative-dose"}]},
                                         "valueQuantity": {"value": 1234.5, "unit": "mg/m2", "system": "http://unitsofmeasure.org",
                                                           "code": "mg/m2"}}]))
    cards = client.post("/cds-services/ms-infusion-advisor", content=raw.replace("1234.5", "139.99999999999999999"),
                        headers={"content-type": "application/json"}).json()["cards"]
    assert len(cards) == 1 and "compare exactly" in cards[0]["detail"] and "mitoxantrone-cumulative-dose" in cards[0]["detail"]


def test_a_number_with_more_digits_than_a_float_is_called_a_number_in_messages():
    from decimal import Decimal

    from advisor.core.models import PatientFacts
    from advisor.errors import InvalidFacts
    with pytest.raises(InvalidFacts) as e:
        PatientFacts.parse({"ms_type": "spms", "severity": "mild", "conditions": Decimal("1.00000000000000000001")})
    assert "must be a list of conditions, got number" in str(e.value) and "Decimal" not in str(e.value)


BASE = {"ms_type": "spms", "severity": "severe"}


FACTS = {"ms_type": "spms", "severity": "severe"}


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_text(paths, **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, **kw)
    return out.getvalue(), summary


def run_records(paths, fmt="jsonl", **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, fmt=fmt, **kw)
    text = out.getvalue()
    return (text if fmt != "jsonl" else [json.loads(line) for line in text.splitlines()]), summary


def advise_case(path, fmt="json"):
    return CliRunner().invoke(main, ["advise", "--case", str(path), "--format", fmt])


# --- one number rule on every path --------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["١٤٠", "١٤", "1_0", "0x2", "012", "inf", "nan", "+5", "1.", ".5", " 5x", "", "۵", "５"])
def test_number_text_refuses_non_ascii_digits_underscores_and_other_forms(text):
    assert number_from_text(text) is None


@pytest.mark.parametrize("flag,text", [("--prior-failures", "١٤"), ("--prior-failures", "1_0"), ("--prior-failures", "0x2"),
                                       ("--mitoxantrone-cumulative-mg-m2", "١٤٠"), ("--mitoxantrone-cumulative-mg-m2", "1_40"),
                                       ("--mitoxantrone-cumulative-mg-m2", "inf"), ("--prior-failures", "２")])
def test_command_line_numbers_follow_the_same_rule(flag, text):
    r = CliRunner().invoke(main, ["advise", *sum(([f"--{k.replace('_', '-')}", v] for k, v in BASE.items()), []), flag, text])
    assert r.exit_code == 2 and flag in r.stderr and "ASCII digits" in r.stderr, r.output


def test_library_flag_case_file_and_batch_agree(tmp_path):
    assert advise({**FACTS, "prior_failures": 2.0}).drug("alemtuzumab").status.value == "applicable"
    with pytest.raises(InvalidFacts, match="prior_failures"):
        advise({**FACTS, "prior_failures": 2.5})
    r = CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "severe", "--prior-failures", "2.0", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["facts"]["prior_failures"] == 2
    assert CliRunner().invoke(main, ["advise", "--ms-type", "spms", "--severity", "severe", "--prior-failures", "2.5"]).exit_code == 2
    case = tmp_path / "p.json"
    case.write_text(json.dumps({**FACTS, "prior_failures": 2.0}))
    assert json.loads(CliRunner().invoke(main, ["advise", "--case", str(case), "--format", "json"]).output)["facts"]["prior_failures"] == 2
    out = io.StringIO()
    run([str(case)], out, advisor=Advisor())
    assert json.loads(out.getvalue())["status"]["alemtuzumab"] == "applicable"


def test_the_service_and_the_web_form_agree(serve_app):
    _, client = serve_app()
    r = client.post("/advise", json={**FACTS, "prior_failures": 2.0})
    assert r.status_code == 200 and r.json()["facts"]["prior_failures"] == 2
    assert client.post("/advise", json={**FACTS, "prior_failures": 2.5}).status_code == 422
    page = client.get("/advice?ms_type=spms&severity=severe&prior_failures=2.0", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'data-drug="alemtuzumab" data-status="applicable"' in page.text
    assert client.get("/advice?ms_type=spms&severity=severe&prior_failures=2.5", headers={"Accept": "text/html"}).status_code == 422


def test_counts_written_2_0_are_2_in_every_format(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id":"j","ms_type":"spms","severity":"severe","prior_failures":2.0}\n'
                                      '{"id":"k","ms_type":"spms","severity":"severe","prior_failures":2.5}\n')
    (tmp_path / "b.json").write_text('{"id":"n","ms_type":"spms","severity":"severe","prior_failures":2.0}')
    (tmp_path / "c.yaml").write_text("id: y\nms_type: spms\nseverity: severe\nprior_failures: 2.0\n")
    recs = {r["id"]: r for r in records(run_text([tmp_path])[0])}
    for i in "jny":
        assert recs[i]["ok"] and recs[i]["status"]["alemtuzumab"] == "applicable", recs[i]
    assert not recs["k"]["ok"]


def test_exponent_form_doses_in_a_batch_evaluate_on_both_paths(tmp_path):
    f = tmp_path / "e.jsonl"
    f.write_text("".join(json.dumps({"id": f"d{i}", "ms_type": "ppms", "severity": "severe"})[:-1]
                         + f',"mitoxantrone_cumulative_mg_m2":{v}}}\n' for i, v in enumerate(["1e-05", "2e-05", "1e16", "5e-324", "1.4e2"])))
    for advisor, fast in ((Advisor(), True), (Advisor(cache=False), False)):  # each value reaches the engine
        recs, _ = run_records([f], advisor=advisor, fast=fast)
        assert [r["ok"] for r in recs] == [True, True, False, True, True]
        assert recs[2]["error"].startswith("mitoxantrone_cumulative_mg_m2: is not a plausible dose")  # 1e16
        assert recs[4]["status"]["mitoxantrone"] == "excluded" and recs[0]["status"]["mitoxantrone"] != "excluded"


def test_csv_refuses_non_ascii_digits_and_reads_counts_written_as_floats(tmp_path):
    f = tmp_path / "n.csv"
    f.write_text("id,ms_type,severity,prior_failures,mitoxantrone_cumulative_mg_m2\n"
                 "a,ppms,severe,,١٤٠\nb,ppms,severe,٢,\nc,ppms,severe,2.0,1_0\nd,ppms,severe,2.0,140\n", encoding="utf-8")
    recs, _ = run_records([f])
    assert [r["ok"] for r in recs] == [False, False, False, True]
    assert "mitoxantrone_cumulative_mg_m2" in recs[0]["error"] and "prior_failures" in recs[1]["error"]
    assert "mitoxantrone_cumulative_mg_m2" in recs[2]["error"] and recs[3]["status"]["mitoxantrone"] == "excluded"


# --- minus zero and the plausible bound ---------------------------------------------------------------------

@pytest.mark.parametrize("dose", [-0.0, 0, 0.0])
def test_minus_zero_is_shown_as_zero(dose):
    rec = advise({**BASE, "mitoxantrone_cumulative_mg_m2": dose})
    assert math.copysign(1, rec.facts.mitoxantrone_cumulative_mg_m2) == 1
    assert '"mitoxantrone_cumulative_mg_m2": 0.0' in json.dumps(rec.model_dump(mode="json"))


def test_minus_zero_in_a_case_file_is_shown_as_zero(tmp_path):
    f = tmp_path / "case.yaml"
    f.write_text("ms_type: spms\nseverity: severe\nmitoxantrone_cumulative_mg_m2: -0.0\n")
    for fmt, shown in (("json", '"mitoxantrone_cumulative_mg_m2": 0.0'), ("table", "mitoxantrone received: 0 mg/m²"),
                       ("markdown", "**Mitoxantrone already received:** 0 mg/m²")):
        r = advise_case(f, fmt)
        assert r.exit_code == 0 and shown in r.stdout and "-0" not in r.stdout, r.output


@pytest.mark.parametrize("dose", [10**9 + 1, 1e9 + 1, 1e16, 10**16, -(10**16), -1e16])
def test_the_plausible_dose_bound_is_the_same_for_ints_and_floats(dose):
    with pytest.raises(InvalidFacts, match="mitoxantrone_cumulative_mg_m2: is not a plausible dose"):
        advise({**BASE, "mitoxantrone_cumulative_mg_m2": dose})
    for ok in (10**9, 1e9):
        assert advise({**BASE, "mitoxantrone_cumulative_mg_m2": ok}).drug("mitoxantrone").status.value == "excluded"
