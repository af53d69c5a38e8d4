"""Hostile single cases through the library and `advise --case`: numbers in every form, huge and deep
values, lone surrogates, YAML 1.1 surprises and terminal escapes (issue 9). Each gives an answer or
InvalidFacts naming the field, one line on stderr, never a traceback."""

import io
import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import InvalidFacts, advise
from advisor.batch.casefile import parse_text, parse_yaml_stream
from advisor.cli import main
from advisor.core.models import number_from_text
from advisor.text import json_safe, visible

BAD = Path(__file__).parent / "data" / "bad"
BASE = {"ms_type": "spms", "severity": "severe"}


def advise_case(path, fmt="json"):
    return CliRunner().invoke(main, ["advise", "--case", str(path), "--format", fmt])


def assert_refused(r, *words):
    assert r.exit_code == 2, r.output
    assert r.stdout == "" and "Traceback" not in r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("ms-advisor: invalid facts: "), r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


# --- the corpus, file by file ----------------------------------------------------------------------

@pytest.mark.parametrize("name,outcome", [
    ("exponent_dose.json", {"mitoxantrone": "applicable"}),
    ("exponent_dose_excluded.yaml", {"mitoxantrone": "excluded"}),
    ("huge_int.yaml", "mitoxantrone_cumulative_mg_m2: is not a plausible dose"),
    ("deep_nesting.yaml", "conditions: is nested deeper than 20 levels"),
    ("surrogate.json", "ms_type: unknown MS type 'spms\\ud800'"),
    ("terminal_escapes.json", "ms_type: unknown MS type 'spms\\x1b]0;pwned\\x07\\x0d\\u202e'"),
])
@pytest.mark.parametrize("fmt", ["json", "markdown", "table"])
def test_hostile_case_file_through_advise(name, outcome, fmt):
    r = advise_case(BAD / name, fmt)
    if isinstance(outcome, str):
        assert_refused(r, outcome)
        assert "\x1b" not in r.stderr and "\r" not in r.stderr and "\u202e" not in r.stderr
    else:
        assert r.exit_code == 0, r.output
        if fmt == "json":
            status = {d["drug"]: d["status"] for d in json.loads(r.stdout)["drugs"]}
            assert {k: status[k] for k in outcome} == outcome


@pytest.mark.parametrize("name", ["yaml11_numbers.yaml", "yaml11_booleans.yaml"])
def test_yaml_1_1_surprises_are_text_and_refused(name):
    got = {}
    for _, item in parse_yaml_stream(io.StringIO((BAD / name).read_text()), name):
        try:
            got[item["id"]] = advise(item).facts
        except InvalidFacts as e:
            got[item["id"]] = str(e)
    expected_field = "rapidly_worsening" if "booleans" in name else None
    for case_id, outcome in got.items():
        if case_id == "plain_true":
            assert outcome.rapidly_worsening is True
            continue
        assert isinstance(outcome, str), (case_id, outcome)
        field = expected_field or ("mitoxantrone_cumulative_mg_m2" if case_id == "sexagesimal" else "prior_failures")
        assert outcome.startswith(f"{field}: "), outcome
    assert set(got) == ({"octal", "hex", "underscore", "sexagesimal"} if "numbers" in name else {"yes", "on", "no", "off", "plain_true"})


@pytest.mark.parametrize("text,value", [
    ("012", "012"), ("0x2", "0x2"), ("0o12", "0o12"), ("1_0", "1_0"), ("2:20", "2:20"), ("1:20:30", "1:20:30"),
    ("yes", "yes"), ("Yes", "Yes"), ("on", "on"), ("no", "no"), ("off", "off"), ("y", "y"), ("n", "n"),
    ("true", True), ("false", False), ("True", True), ("2027-01-04", "2027-01-04"), (".inf", ".inf"), (".nan", ".nan"),
    ("+5", "+5"), (".5", ".5"), ("1.", "1."), ("١٤٠", "١٤٠"), ("12", 12), ("-1", -1), ("12.5", 12.5), ("1e-5", 1e-5),
    ("1.4e2", 140.0), ("~", None), ("null", None), ("", None),
])
def test_yaml_plain_scalars_follow_json_numbers_and_yaml_1_2_booleans(text, value):
    got = parse_text(f"a: {text}\n", "case.yaml")["a"]
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text", ["!!int 0x2", "!!bool yes", "!!float .inf", "!!timestamp 2001-01-01", "!!set {a}", "!!binary aGk="])
def test_explicit_yaml_1_1_tags_are_refused(text):
    with pytest.raises(Exception) as e:
        parse_text(f"a: {text}\n", "case.yaml")
    assert type(e.value).__name__ == "CaseFileError"


def test_yaml_1_1_values_in_a_case_file_are_refused_naming_the_field(tmp_path):
    for line, field in [("prior_failures: 012", "prior_failures"), ("prior_failures: 0x2", "prior_failures"),
                        ("prior_failures: 1_0", "prior_failures"), ("mitoxantrone_cumulative_mg_m2: 2:20", "mitoxantrone_cumulative_mg_m2"),
                        ("rapidly_worsening: yes", "rapidly_worsening"), ("rapidly_worsening: on", "rapidly_worsening"),
                        ("rapidly_worsening: off", "rapidly_worsening"), ("rapidly_worsening: no", "rapidly_worsening")]:
        f = tmp_path / "case.yaml"
        f.write_text(f"ms_type: spms\nseverity: severe\n{line}\n")
        assert_refused(advise_case(f), f"{field}: ")


# --- numbers: one rule for every format --------------------------------------------------------------

@pytest.mark.parametrize("text", ["١٤٠", "١٤", "1_0", "0x2", "012", "inf", "nan", "+5", "1.", ".5", " 5x", "", "۵", "５"])
def test_number_text_refuses_non_ascii_digits_underscores_and_other_forms(text):
    assert number_from_text(text) is None


@pytest.mark.parametrize("flag,text", [("--prior-failures", "١٤"), ("--prior-failures", "1_0"), ("--prior-failures", "0x2"),
                                       ("--mitoxantrone-cumulative-mg-m2", "١٤٠"), ("--mitoxantrone-cumulative-mg-m2", "1_40"),
                                       ("--mitoxantrone-cumulative-mg-m2", "inf"), ("--prior-failures", "２")])
def test_command_line_numbers_follow_the_same_rule(flag, text):
    r = CliRunner().invoke(main, ["advise", *sum(([f"--{k.replace('_', '-')}", v] for k, v in BASE.items()), []), flag, text])
    assert r.exit_code == 2 and flag in r.stderr and "ASCII digits" in r.stderr, r.output


def test_interview_refuses_non_ascii_digits_and_asks_again():
    r = CliRunner().invoke(main, ["interview", "--format", "json"], input="spms\nsevere\n١٤\n2\nn\n1_0\n١٤٠\n1.4e2\n\n")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["facts"]["prior_failures"] == 2 and out["facts"]["mitoxantrone_cumulative_mg_m2"] == 140.0
    assert r.stderr.count("ASCII digits") == 3


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


def nested(depth, leaf=0):
    for _ in range(depth):
        leaf = [leaf]
    return leaf


@pytest.mark.parametrize("field,value,message", [
    ("prior_failures", 10**5000, "prior_failures: must be a whole number from 0 to 1000"),
    ("prior_failures", -(10**5000), "prior_failures: must be a whole number from 0 to 1000"),
    ("mitoxantrone_cumulative_mg_m2", 10**5000, "mitoxantrone_cumulative_mg_m2: is not a plausible dose"),
    ("conditions", nested(100_000), "conditions: item 1: must be a string, got list"),
    ("id", nested(100_000), "id: must be a string"),
    ("ms_type", nested(100_000), "ms_type: must be a string, got list"),
], ids=["huge_int", "huge_negative_int", "huge_dose", "deep_conditions", "deep_id", "deep_ms_type"])
def test_huge_and_deep_values_in_the_library_name_the_field(field, value, message):
    with pytest.raises(InvalidFacts) as e:
        advise({**BASE, field: value})
    assert str(e.value).startswith(message)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@pytest.mark.parametrize("field,text,message", [
    ("prior_failures", "9" * 5000, "prior_failures: must be a whole number from 0 to 1000"),
    ("prior_failures", "-" + "9" * 5000, "prior_failures: must be a whole number from 0 to 1000"),
    ("mitoxantrone_cumulative_mg_m2", "9" * 5000, "mitoxantrone_cumulative_mg_m2: is not a plausible dose"),
    ("mitoxantrone_cumulative_mg_m2", "9" * 5000 + ".5", "mitoxantrone_cumulative_mg_m2: must be a finite number"),
    ("id", "[" * 100_000 + "]" * 100_000, "id: is nested deeper than 20 levels"),
    ("conditions", "{" + '"a": {' * 100_000 + "}" * 100_001, "conditions: is nested deeper than 20 levels"),
], ids=["huge_int", "huge_negative_int", "huge_dose", "huge_float", "deep_list", "deep_mapping"])
def test_huge_and_deep_values_in_case_files_name_the_field(tmp_path, suffix, field, text, message):
    f = tmp_path / f"case{suffix}"
    if suffix == ".json":
        f.write_text(json.dumps(BASE)[:-1] + f', "{field}": {text}}}')
    else:
        f.write_text(f"ms_type: spms\nseverity: severe\n{field}: {text.replace(':', ': ')}\n")
    assert_refused(advise_case(f), message)


# --- lone surrogates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("facts,message", [
    ({**BASE, "id": "\ud800"}, "id: must be valid Unicode text (it holds a lone surrogate)"),
    ({**BASE, "ms_type": "\ud800"}, "ms_type: unknown MS type '\\ud800'"),
    ({**BASE, "severity": "x\udfff"}, "severity: unknown severity 'x\\udfff'"),
    ({**BASE, "conditions": ["pml", "\ud800"]}, "conditions: item 2: unknown condition '\\ud800'"),
    ({**BASE, "\ud800": 1}, "\\ud800: unknown field"),
    ({**BASE, "prior_failures": "\ud800"}, "prior_failures: must be a whole number"),
    ({**BASE, "mitoxantrone_cumulative_mg_m2": "\ud800"}, "mitoxantrone_cumulative_mg_m2: must be a number, got text '\\ud800'"),
])
def test_lone_surrogates_are_refused_naming_the_field(facts, message):
    with pytest.raises(InvalidFacts) as e:
        advise(facts)
    assert str(e.value).startswith(message), str(e.value)
    str(e.value).encode("utf-8")  # the message itself is encodable


@pytest.mark.parametrize("fmt", ["json", "markdown", "table"])
@pytest.mark.parametrize("field,json_value", [("id", '"\\ud800"'), ("ms_type", '"\\udc80"'), ("severity", '"\\ud800x"'),
                                              ("conditions", '["\\ud800"]'), ("\\ud800", "1")])
def test_lone_surrogates_in_a_case_file(tmp_path, fmt, field, json_value):
    f = tmp_path / "case.json"
    f.write_text('{"ms_type": "spms", "severity": "severe", "%s": %s}' % (field, json_value))
    r = advise_case(f, fmt)
    assert_refused(r, f"{field}: " if field != "\\ud800" else "\\ud800: unknown field")


# --- terminal escapes ----------------------------------------------------------------------------------

EVIL = "\x1b]0;pwned\x07\x1b[2J\r\x00\u202eevil\u2066\x9b\u2028"


def test_visible_escapes_every_terminal_control_and_keeps_text():
    assert visible(EVIL) == "\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x00\\u202eevil\\u2066\\x9b\\u2028"
    assert visible("Guillain-Barré, 140 mg/m²") == "Guillain-Barré, 140 mg/m²"
    text = json.dumps({"id": EVIL + "\ud800"}, ensure_ascii=False)
    assert json.loads(json_safe(text)) == {"id": EVIL + "\ud800"}
    json_safe(text).encode("utf-8")
    assert not any(c in json_safe(text) for c in "\x1b\r\x00\u202e\x9b\u2028")


def test_an_id_with_terminal_controls_is_shown_escaped_in_the_table_json_and_explain(tmp_path):
    f = tmp_path / "case.json"
    f.write_text(json.dumps({**BASE, "id": EVIL}))
    for args in (["advise", "--format", "table"], ["advise", "--format", "json"], ["explain", "mitoxantrone"]):
        r = CliRunner().invoke(main, [*args, "--case", str(f)])
        assert r.exit_code == 0, r.output
        assert not any(c in r.stdout for c in "\x1b\r\x00\u202e\u2066\x9b\u2028"), (args, r.stdout[:200])
        if "json" in args:
            assert json.loads(r.stdout)["facts"]["id"] == EVIL
        else:
            assert "[\\x1b]0;pwned\\x07" in r.stdout


@pytest.mark.parametrize("args", [
    ["explain", EVIL, "--ms-type", "spms", "--severity", "mild"],
    ["advise", "--case", str(Path("/nonexistent") / EVIL)],
    ["advise", "--ms-type", EVIL, "--severity", "mild"],
    ["advise", "--ms-type", "spms", "--severity", "mild", "--rules-dir", EVIL],
    ["schedule", EVIL, "--start", "2027-01-04"],
])
def test_error_messages_show_controls_escaped_on_one_line(args):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len([line for line in r.stderr.splitlines() if "pwned" in line or "evil" in line]) == 1, r.stderr
    assert not any(c in r.stderr for c in "\x1b\r\x00\u202e\u2066\x9b\u2028"), r.stderr
    assert "\\x1b]0;pwned\\x07" in r.stderr


def test_brackets_inside_json_strings_are_not_nesting(tmp_path):
    f = tmp_path / "case.json"
    f.write_text(json.dumps({**BASE, "id": "[" * 50 + '\\"{' * 30}))
    r = advise_case(f)
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["facts"]["id"] == "[" * 50 + '\\"{' * 30


def test_an_integer_longer_than_the_interpreters_limit_is_refused_whatever_the_limit(tmp_path):
    import sys

    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        f = tmp_path / "case.json"
        f.write_text('{"ms_type": "spms", "severity": "mild", "prior_failures": ' + "1" * 1000 + "}")
        assert_refused(advise_case(f), "prior_failures: must be a whole number from 0 to 1000")
    finally:
        sys.set_int_max_str_digits(old)


def test_yaml_1_1_text_is_named_in_the_message(tmp_path):
    f = tmp_path / "case.yaml"
    f.write_text("ms_type: spms\nseverity: severe\nprior_failures: 0x2\nrapidly_worsening: on\n")
    assert_refused(advise_case(f), "prior_failures: must be a whole number from 0 to 1000 in decimal digits, got text '0x2'",
                   "rapidly_worsening: must be true or false, got text 'on'")
