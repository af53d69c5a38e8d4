"""Each ms-advisor command, and each of its error paths (exit 2, one line on stderr, nothing on stdout);
what a command imports; the facts schema."""

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import SHARED_SOURCE

from advisor import __version__, advise
from advisor.cli import main

FACTS = ["--ms-type", "spms", "--severity", "mild", "--prior-failures", "1"]


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env=env)


def assert_user_error(r, *words):
    assert r.exit_code == 2, (r.exit_code, r.output)
    assert r.stdout == ""
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) >= 1
    for w in words:
        assert w in r.stderr


def test_version_and_help_with_examples():
    assert run("--version").stdout.strip().endswith(__version__)
    r = run("--help")
    assert r.exit_code == 0 and "Examples:" in r.stdout
    for command in ("advise", "explain", "drugs", "rules", "kb", "schema", "interview", "schedule"):
        assert command in r.stdout
        assert run(command, "--help").exit_code == 0


# --- advise --case ---------------------------------------------------------------------------------

def test_advise_reads_a_yaml_case_and_flags_override_it(tmp_path):
    case = tmp_path / "p.yaml"
    case.write_text("id: p-1\nms_type: secondary progressive\nseverity: severe\nconditions: [pml]\nexpect:\n  listed: [mitoxantrone]\n")
    r = run("advise", "--case", str(case), "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == advise({"id": "p-1", "ms_type": "spms", "severity": "severe", "conditions": ["pml"]}).model_dump(mode="json")
    r = run("advise", "--case", str(case), "--severity", "mild", "--format", "json")
    assert json.loads(r.stdout)["facts"]["severity"] == "mild"


def test_advise_reads_json_from_stdin():
    r = run("advise", "--case", "-", "--format", "json", input='{"ms_type": "ppms", "severity": "mild"}')
    assert r.exit_code == 0 and json.loads(r.stdout)["listed"] == ["ocrelizumab"]


@pytest.mark.parametrize("content,name,words", [
    ("ms_type: spms\nseverity: mild\nage: 40\n", "p.yaml", ["age", "unknown field"]),
    ("ms_type: [unclosed\n", "p.yaml", ["p.yaml", "YAML"]),
    ('{"ms_type": "spms",', "p.json", ["p.json", "JSON"]),
    ("- ms_type: spms\n", "p.yaml", ["p.yaml", "one case"]),
    ("!!python/object/apply:os.system ['echo hacked']\n", "p.yaml", ["p.yaml"]),
])
def test_advise_bad_case_files(tmp_path, content, name, words):
    case = tmp_path / name
    case.write_text(content)
    assert_user_error(run("advise", "--case", str(case)), *words)


def test_advise_missing_case_file():
    assert_user_error(run("advise", "--case", "/nonexistent/p.yaml"), "/nonexistent/p.yaml", "no such file")


def test_no_colour_when_not_a_tty_or_no_color_set():
    r = run("advise", *FACTS, "--format", "table", env={"NO_COLOR": "1"})
    assert "\x1b[" not in r.stdout


# --- explain ---------------------------------------------------------------------------------------

def test_explain_shows_fired_and_unfired_rules_with_quotes_and_what_if():
    r = run("explain", "alemtuzumab", *FACTS, "--condition", "cancer")
    assert r.exit_code == 0
    out = " ".join(r.stdout.split())  # undo the line wrapping
    assert "✓ alemtuzumab.fewer_than_two_failures" in out
    assert "✗ alemtuzumab.two_or_more_failures (→ applicable): needs prior_failures >= 2, is 1" in out
    assert "at least two other MS medications" in out and "cancer:" in out
    assert "The article describes alemtuzumab for people with 2 or more prior treatment failures." in out


def test_explain_accepts_brand_names():
    assert "Natalizumab (Tysabri)" in run("explain", "TYSABRI", *FACTS).stdout


def test_explain_unknown_drug():
    assert_user_error(run("explain", "aspirin", *FACTS), "aspirin", "ocrelizumab")


# --- drugs, rules, schema ----------------------------------------------------------------------------

def test_drugs_lists_all_four_with_quotes():
    r = run("drugs")
    assert r.exit_code == 0
    for name in ("Alemtuzumab (Lemtrada)", "Natalizumab (Tysabri)", "Mitoxantrone hydrochloride", "Ocrelizumab (Ocrevus)"):
        assert name in r.stdout
    assert "“You receive this drug once every four weeks.”" in r.stdout


def test_drugs_one_as_json():
    data = json.loads(run("drugs", "ocrelizumab", "--format", "json").stdout)
    assert [d["id"] for d in data] == ["ocrelizumab"]
    assert {e["text"] for e in data[0]["side_effects"]["serious"]} >= {"PML", "a weakened immune system"}


def test_drugs_unknown():
    assert_user_error(run("drugs", "aspirin"), "aspirin")


def test_rules_text_and_json():
    text = run("rules").stdout
    assert "mitoxantrone.lifetime_maximum_reached  [mitoxantrone → excluded]" in text
    assert "when: mitoxantrone_cumulative_mg_m2 >= 140" in text
    data = json.loads(run("rules", "--format", "json").stdout)
    assert {d["kind"] for d in data} == {"status", "caution"} and len(data) == 12 + 24
    assert all(d["quote"] for d in data)


@pytest.mark.parametrize("which,key", [("facts", "ms_type"), ("recommendation", "listed")])
def test_schema(which, key):
    data = json.loads(run("schema", which).stdout)
    assert key in data["properties"]


def test_schema_facts_forbids_unknown_fields():
    assert json.loads(run("schema", "facts").stdout)["additionalProperties"] is False


# --- kb check --------------------------------------------------------------------------------------

def test_kb_check_passes_on_the_shipped_kb():
    r = run("kb", "check")
    assert r.exit_code == 0 and r.stdout.startswith("ok:") and "162 combinations" in r.stdout


def test_kb_check_fails_naming_a_rule_whose_quote_was_altered(kb_copy):
    path = kb_copy / "decisions.toml"
    path.write_text(path.read_text("utf-8").replace("at least two other MS medications.", "at least 2 other MS medications.", 1), "utf-8")
    r = run("kb", "check", "--rules-dir", str(kb_copy))
    assert r.exit_code == 1
    assert "decisions.toml: alemtuzumab.two_or_more_failures: quote not found verbatim" in r.stderr


def test_kb_check_finds_overlapping_and_unreachable_rules(kb_copy):
    path = kb_copy / "decisions.toml"
    text = path.read_text("utf-8")
    text = text.replace('op = "<", value = 2 }', 'op = "<", value = 3 }', 1)            # 2 failures: two statuses
    text = text.replace('value = "spms" }]', 'value = "relapsing" }]', 1)             # ocrelizumab: SPMS left out
    text += """
[[rule]]
id = "alemtuzumab.never"
drug = "alemtuzumab"
status = "excluded"
when = [{ fact = "prior_failures", op = "<", value = 0 }]
text = "This rule is unreachable."
quote = "Doctors give alemtuzumab (Lemtrada) to people who haven’t responded well to at least two other MS medications."
section = "Alemtuzumab (Lemtrada)"
"""
    path.write_text(text, "utf-8")
    r = run("kb", "check", "--rules-dir", str(kb_copy))
    assert r.exit_code == 1
    assert "alemtuzumab: 2 statuses (applicable, not_applicable)" in r.stderr
    assert "ocrelizumab: 2 statuses (applicable, not_applicable)" in r.stderr
    assert "ocrelizumab: no status for {'ms_type': 'spms'" in r.stderr
    assert "decisions.toml: alemtuzumab.never: never fires" in r.stderr


def test_kb_check_against_another_source(tmp_path):
    other = tmp_path / "other.txt"
    other.write_text("Nothing here.\n")
    r = run("kb", "check", "--source", str(other))
    assert r.exit_code == 1 and "quote not found verbatim" in r.stderr


def test_kb_check_missing_directory():
    assert_user_error(run("kb", "check", "--rules-dir", "/nonexistent"), "/nonexistent")


# --- interview ---------------------------------------------------------------------------------------

def test_interview_with_piped_answers():
    r = run("interview", "--format", "json", input="secondary progressive\nsevere\n3\ny\n0\npml, infections\n")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["facts"]["ms_type"] == "spms" and data["facts"]["conditions"] == ["pml", "infections"]
    assert data["listed"] == ["alemtuzumab", "mitoxantrone"]


def test_interview_asks_again_after_a_bad_answer():
    r = run("interview", "--format", "json", input="progressive\nppms\nmild\n-1\n0\n\n-5\n0\ngout\n\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["listed"] == ["ocrelizumab"]
    assert "gout" in r.stderr


# --- schedule --------------------------------------------------------------------------------------

def dates(out):
    """The listed infusion dates (numbered lines)."""
    return re.findall(r"^ *\d+\. (\d{4}-\d{2}-\d{2})", out, re.MULTILINE)


def test_schedule_alemtuzumab_two_courses():
    r = run("schedule", "alemtuzumab", "--start", "2027-03-01")
    assert r.exit_code == 0
    assert dates(r.stdout) == ["2027-03-01", "2027-03-02", "2027-03-03", "2027-03-04", "2027-03-05",
                               "2028-03-01", "2028-03-02", "2028-03-03"]
    assert "2 hours" in r.stdout and "24 hours" in r.stdout


def test_schedule_ocrelizumab_and_natalizumab():
    assert dates(run("schedule", "ocrelizumab", "--start", "2027-01-04", "--count", "4").stdout) == [
        "2027-01-04", "2027-01-18", "2027-07-18", "2028-01-18"]
    assert dates(run("schedule", "natalizumab", "--start", "2027-01-04", "--count", "3").stdout) == [
        "2027-01-04", "2027-02-01", "2027-03-01"]


def test_schedule_mitoxantrone_says_the_limit_cannot_be_dated():
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--count", "3")
    assert dates(r.stdout) == ["2027-01-31", "2027-04-30", "2027-07-31"]
    assert "no dose per infusion" in r.stdout


def test_schedule_writes_an_ics_calendar(tmp_path):
    ics = tmp_path / "n.ics"
    r = run("schedule", "natalizumab", "--start", "2027-01-04", "--count", "2", "--ics", str(ics))
    assert r.exit_code == 0
    data = ics.read_bytes()
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    assert data.count(b"BEGIN:VEVENT") == 2 and b"DTSTART;VALUE=DATE:20270201" in data
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))


@pytest.mark.parametrize("args,word", [
    (["aspirin", "--start", "2027-01-01"], "aspirin"),
    (["ocrelizumab", "--start", "01/02/2027"], "--start"),
    (["ocrelizumab"], "--start"),
    (["ocrelizumab", "--start", "2027-01-01", "--count", "0"], "--count"),
])
def test_schedule_errors(args, word):
    assert_user_error(run("schedule", *args), word)


@pytest.mark.skipif(not SHARED_SOURCE.exists(), reason="the project's shared/ folder is not beside this checkout")
def test_kb_check_against_the_projects_shared_source():
    r = run("kb", "check", "--source", str(SHARED_SOURCE))
    assert r.exit_code == 0, r.stderr


def modules_after(*args):
    """The modules a fresh `ms-advisor ARGS` process has imported when it ends (its exit code, the modules)."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + ' '.join(sorted(sys.modules))))\n"
            "from advisor.cli import main\n"
            "main(sys.argv[1:], prog_name='ms-advisor')\n")
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    return r.returncode, set(r.stderr.rsplit("MODULES ", 1)[1].split())


SERVICE_BATCH_WEB = ["advisor.batch", "advisor.serve", "advisor.web", "advisor.batch.casefile", "advisor.cli.interview", "advisor.kb.table",
                     "yaml", "fastapi", "starlette", "uvicorn", "jinja2", "httpx", "msgspec", "multiprocessing", "sqlite3", "jwt"]


PYDANTIC = ["pydantic", "pydantic_core", "advisor.core.models", "advisor.kb.vocabulary", "advisor.kb"]


RELAPSING_SEVERE = ["--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]


def run_at_100_columns(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


# --- what a command imports ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args,absent", [
    (["advise", *RELAPSING_SEVERE], SERVICE_BATCH_WEB),
    (["advise", *RELAPSING_SEVERE, "--format", "table", "--condition", "heart failure"], SERVICE_BATCH_WEB),
    (["--help"], SERVICE_BATCH_WEB + PYDANTIC),
    (["advise", "--help"], SERVICE_BATCH_WEB + PYDANTIC),
])
def test_a_command_does_not_import_the_service_batch_or_web_stacks(args, absent):
    code, modules = modules_after(*args)
    assert code == 0 and "advisor.cli" in modules
    assert not modules & set(absent), sorted(modules & set(absent))


def test_advise_with_a_proven_kb_imports_neither_the_checks_nor_the_decision_aid():
    """The second `advise` finds the packaged KB parsed and proven in the store (advisor/cache.py): no
    TOML parser, none of load()'s checks, no summary or comparison grid."""
    modules_after("advise", *RELAPSING_SEVERE)
    code, modules = modules_after("advise", *RELAPSING_SEVERE)
    absent = {"tomllib", "advisor.kb.claims", "advisor.kb.problems", "advisor.kb.space", "advisor.kb.compare", "advisor.core.summary",
              "advisor.grid"}
    assert code == 0 and "advisor.core.engine" in modules
    assert not modules & absent, sorted(modules & absent)


# --- the facts schema ---------------------------------------------------------------------------------------

def test_the_facts_schema_accepts_what_ms_advisor_accepts():
    schema = json.loads(run_at_100_columns("schema", "facts").stdout)
    props = schema["properties"]
    assert schema["additionalProperties"] is False and {"id", "expect"} <= set(props)
    from advisor.core.models import MS_TYPE_ALIASES
    from advisor.kb.vocabulary import ALIASES, CONDITIONS

    for name in MS_TYPE_ALIASES:
        for variant in (name, name.upper(), f"  {name.title()} "):
            assert re.fullmatch(props["ms_type"]["pattern"], variant)
            advise({"ms_type": variant, "severity": "mild"})  # and the tool takes it too
    assert not re.fullmatch(props["ms_type"]["pattern"], "progressive")
    for name in [c.id for c in CONDITIONS] + list(ALIASES):
        assert re.fullmatch(props["conditions"]["items"]["pattern"], name.upper())
    assert not re.fullmatch(props["conditions"]["items"]["pattern"], "gout")
    assert set(props["expect"]["properties"]) == {"listed", "status"}
    assert props["expect"]["properties"]["listed"]["items"]["enum"] == ["alemtuzumab", "natalizumab", "mitoxantrone", "ocrelizumab"]
