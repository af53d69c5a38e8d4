"""Issue 24: what a newcomer meets first at the terminal: the help with no arguments, text wrapped at
the terminal's width, condition names as people write them, the output format, the library's
answers, and a quick start."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import InvalidFacts, advise
from advisor.cli import main
from advisor.kb.vocabulary import CONDITIONS
from serve_helpers import serve_app  # noqa: F401 (fixture)

EXE = str(Path(sys.executable).with_name("ms-advisor"))  # the installed command, in a process of its own
FACTS = ["--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, prog_name="ms-advisor")


# --- 24.1: no arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("args,first", [([], "Usage: ms-advisor [OPTIONS] COMMAND"), (["kb"], "Usage: ms-advisor kb [OPTIONS] COMMAND")])
def test_no_arguments_print_the_help_as_click_does(args, first):
    r = run(*args)
    assert r.exit_code == 2 and r.stdout == ""  # click's convention: no command is a usage error, help on stderr
    assert r.stderr.startswith(first) and "\\x0a" not in r.stderr and "ms-advisor: " not in r.stderr
    assert len(r.stderr.splitlines()) > 8 and "Commands:" in r.stderr.splitlines()
    assert r.stderr == run(*args, "--help").stdout  # the same help --help prints


# --- 24.9: conditions as people write them ---------------------------------------------------------------

WRITTEN = ["Heart failure", "heart failure", " HEART-FAILURE ", "heart  failure", "heart_failure"]


@pytest.mark.parametrize("written", WRITTEN)
def test_a_condition_is_taken_as_written_by_the_library_and_the_command_line(written):
    assert advise({"ms_type": "spms", "severity": "mild", "conditions": [written]}).facts.conditions[0].value == "heart_failure"
    r = run("advise", *FACTS, "--condition", written, "--condition", "Hepatitis B", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["facts"]["conditions"] == ["heart_failure", "hepatitis_b"]


def test_a_condition_is_taken_as_written_in_case_files_batch_and_the_schema(tmp_path):
    case = tmp_path / "p.yaml"
    case.write_text("ms_type: relapsing\nseverity: severe\nconditions: [Heart failure, other autoimmune disease, Autoimmune-Disease]\n")
    r = run("advise", "--case", str(case), "--format", "json")
    assert json.loads(r.stdout)["facts"]["conditions"] == ["heart_failure", "other_autoimmune_disease"], r.output
    rows = tmp_path / "rows.csv"
    rows.write_text("id,ms_type,severity,conditions\na,spms,mild,Heart failure;Hepatitis B\n")
    out = tmp_path / "out.jsonl"
    r = run("batch", str(rows), "--out", str(out), "--echo-facts")
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["facts"]["conditions"] == ["heart_failure", "hepatitis_b"]
    pattern = json.loads(run("schema", "facts").stdout)["properties"]["conditions"]["items"]["pattern"]
    for c in CONDITIONS:  # the schema takes what the tool takes, and refuses what it refuses
        for written in (c.id, c.id.replace("_", " ").title(), f" {c.id.replace('_', '-').upper()} "):
            assert re.fullmatch(pattern, written), written
            advise({"ms_type": "spms", "severity": "mild", "conditions": [written]})
    for wrong in ("heart", "heart_failure_", "_pml", "heartfailure", "pml pml"):
        assert not re.fullmatch(pattern, wrong)
        with pytest.raises(InvalidFacts):
            advise({"ms_type": "spms", "severity": "mild", "conditions": [wrong]})


def test_a_condition_is_taken_as_written_by_the_api(serve_app):
    _, client = serve_app()
    r = client.post("/advise", json={"ms_type": "spms", "severity": "mild", "conditions": ["Heart failure", "hep_b"]})
    assert r.status_code == 422 and "item 2: unknown condition 'hep_b', did you mean 'hepatitis_b'?" in r.text
    r = client.post("/advise", json={"ms_type": "spms", "severity": "mild", "conditions": ["Heart failure", "Hepatitis B"]})
    assert r.json()["facts"]["conditions"] == ["heart_failure", "hepatitis_b"]


@pytest.mark.parametrize("written,near", [("hep_b", "hepatitis_b"), ("hepatits b", "hepatitis_b"), ("Heart failur", "heart_failure"),
                                          ("autoimune disease", "other_autoimmune_disease"), ("gout", None)])
def test_an_unknown_condition_names_the_nearest_and_items_count_from_1(written, near):
    r = run("advise", *FACTS, "--condition", "pml", "--condition", written)
    assert r.exit_code == 2 and r.stdout == ""
    hint = f", did you mean '{near}'?" if near else " (allowed: "
    assert f"conditions: item 2: unknown condition '{written}'{hint}" in r.stderr, r.stderr
    assert "item 0" not in r.stderr


def test_a_huge_unknown_condition_is_named_in_short_and_given_no_suggestion():
    with pytest.raises(InvalidFacts) as e:
        advise({"ms_type": "spms", "severity": "mild", "conditions": ["hepatitis_b" * 20_000]})
    assert len(str(e.value)) < 600 and "did you mean" not in str(e.value) and "'..." in str(e.value)


def test_interview_takes_conditions_as_written_and_names_the_nearest():
    r = run("interview", "--format", "json", input="spms\nsevere\n1\nn\n0\nheart failure, hep_b\nHeart Failure; Hepatitis-B\n")
    assert r.exit_code == 0, r.output
    assert "Error: unknown condition 'hep_b', did you mean 'hepatitis_b'?" in r.stderr
    assert json.loads(r.stdout)["facts"]["conditions"] == ["heart_failure", "hepatitis_b"]


def test_advise_help_has_its_own_examples_and_points_to_the_conditions():
    text = run("advise", "--help").stdout
    examples = re.sub(r" \\\n +", " ", text[text.index("Examples:"):])  # a shell continuation: one command
    assert all(line.strip().startswith(("ms-advisor advise", "export MS_ADVISOR_FORMAT")) for line in examples.splitlines()[1:] if line.strip())
    option = text[text.index("--condition NAME"):text.index("--no-condition")]
    assert len(option.splitlines()) <= 5 and "ms-advisor conditions" in option
    assert not any(c.description in text for c in CONDITIONS if len(c.description) > 20)  # not the whole list


def test_the_conditions_command_lists_each_condition_with_its_description():
    r = run("conditions")
    assert r.exit_code == 0
    from advisor.kb.vocabulary import LABELS

    for c in CONDITIONS:
        assert re.search(rf"^{c.id} — {LABELS[c.id]}$", r.stdout, re.M) and c.description[:30] in r.stdout
    data = json.loads(run("conditions", "--format", "json").stdout)
    assert [d["id"] for d in data] == [c.id for c in CONDITIONS] and data[0]["description"] == CONDITIONS[0].description


# --- 24.10: the output format ----------------------------------------------------------------------------

def test_advise_help_says_first_that_a_pipe_gets_json():
    lines = run("advise", "--help").stdout.splitlines()
    head = " ".join(lines[:6])
    assert "JSON into a pipe" in head and "MS_ADVISOR_FORMAT" in head


@pytest.mark.parametrize("command", [["advise", *FACTS], ["explain", "natalizumab", *FACTS], ["schedule", "natalizumab", "--start", "2027-01-04"]])
def test_MS_ADVISOR_FORMAT_sets_the_default_format(command):
    assert run(*command).stdout.lstrip().startswith("{" if command[0] == "advise" else ("MS type", "Natalizumab"))  # a pipe
    assert run(*command, env={"MS_ADVISOR_FORMAT": "markdown"}).stdout.startswith("# ")
    assert run(*command, env={"MS_ADVISOR_FORMAT": "json"}).stdout.startswith("{")
    assert run(*command, "--format", "json", env={"MS_ADVISOR_FORMAT": "markdown"}).stdout.startswith("{")  # --format wins
    assert run(*command, env={"MS_ADVISOR_FORMAT": ""}).stdout == run(*command).stdout  # empty: not set


@pytest.mark.parametrize("value", ["xml", "TABLE ", "\x1b[2Jtable"])
def test_a_bad_MS_ADVISOR_FORMAT_is_an_error_naming_the_variable_and_the_formats(value):
    r = run("advise", *FACTS, env={"MS_ADVISOR_FORMAT": value})
    assert r.exit_code == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("ms-advisor: MS_ADVISOR_FORMAT: '") and "(allowed: table, json, markdown;" in r.stderr
    assert "\x1b" not in r.stderr


# --- 24.7: every text at the terminal's width, broken between words ----------------------------------------

EXPLAIN = ["explain", "mitoxantrone", *FACTS, "--condition", "heart failure", "--condition", "allergies"]
TEXTS = [EXPLAIN, ["explain", "natalizumab", "--ms-type", "spms", "--severity", "mild"], ["drugs"], ["rules"], ["kb", "check"],
         ["kb", "info"], ["conditions"], ["advise", *FACTS, "--explain", "--format", "table", "--condition", "cancer"],
         ["schedule", "mitoxantrone", "--start", "2027-01-04"]]


def words(text):
    return text.split()


@pytest.mark.parametrize("columns", [80, 50])
@pytest.mark.parametrize("command", TEXTS, ids=[" ".join(c[:2]) for c in TEXTS])
def test_texts_wrap_at_the_width_between_words(command, columns):
    r = run(*command, env={"COLUMNS": str(columns)})
    assert r.exit_code == 0, r.output
    over = [line for line in r.stdout.splitlines() if len(line) > columns]
    long_words = [w for w in words(r.stdout) if len(w) > columns - 8]  # a SHA-256 at 50: on its own line, whole
    assert all(line.strip() in long_words for line in over), over
    # wrapped only between words: the same words as at a width nothing wraps at (no 'pp / ms', no 'ms- / advisor')
    assert words(r.stdout) == words(run(*command, env={"COLUMNS": "100000"}).stdout)


def test_interview_questions_and_lists_wrap_at_the_width():
    answers = "secondary\nspms\nsevere\n1\nn\n0\nheart failure, hep_b\nheart failure\n"
    r = run("interview", "--format", "json", input=answers, env={"COLUMNS": "60"})
    assert r.exit_code == 0, r.output
    wide = run("interview", "--format", "json", input=answers, env={"COLUMNS": "100000"})
    assert words(r.stderr) == words(wide.stderr)
    said = r.stderr
    for answer in sorted(filter(None, answers.splitlines()), key=len, reverse=True):
        said = said.replace(f": {answer}\n", ": \n")  # the test runner echoes each answer after its question
    assert max(map(len, said.splitlines())) <= 60, [line for line in said.splitlines() if len(line) > 60]


@pytest.mark.parametrize("columns", [80, 60])
@pytest.mark.parametrize("command", [[], ["advise"], ["batch"], ["serve"], ["kb", "check"], ["schedule"], ["interview"]])
def test_help_wraps_at_the_width_never_at_a_hyphen(command, columns):
    env = {**os.environ, "COLUMNS": str(columns)}
    text = subprocess.run([EXE, *command, "--help"], capture_output=True, text=True, env=env).stdout
    assert text.startswith("Usage: ")
    assert max(map(len, text.splitlines())) <= columns
    assert not re.search(r"\w-\n", text)  # 'ms-' / 'advisor', '--rules-' / 'dir'
    wide = subprocess.run([EXE, *command, "--help"], capture_output=True, text=True,
                          env={**env, "COLUMNS": "100"}).stdout
    joined = re.sub(r" \\\n +", " ", text)  # an example over shell continuation lines is the same command
    assert [w for w in words(joined) if w.startswith("ms-advisor")] == [w for w in words(wide) if w.startswith("ms-advisor")]


# --- 24.14: the library's enums print as their values --------------------------------------------------------

def test_enums_print_as_their_values():
    from advisor import Condition, MSType, Severity, Status

    for enum in (Status, MSType, Severity, Condition):
        for member in enum:
            assert str(member) == f"{member}" == member.value and f"{member:>40}" == f"{member.value:>40}"
            assert member == member.value and isinstance(member, str)
    assert json.dumps({"status": Status.applicable}) == '{"status": "applicable"}'


# --- 24.15: a command imports what it needs --------------------------------------------------------------

SERVICE_BATCH_WEB = ["advisor.batch", "advisor.serve", "advisor.web", "advisor.batch.casefile", "advisor.interview", "advisor.kb.table",
                     "yaml", "fastapi", "starlette", "uvicorn", "jinja2", "httpx", "msgspec", "multiprocessing", "sqlite3", "jwt"]
PYDANTIC = ["pydantic", "pydantic_core", "advisor.core.models", "advisor.kb.vocabulary", "advisor.kb"]


def modules_after(*args):
    """The modules a fresh `ms-advisor ARGS` process has imported when it ends (its exit code, the modules)."""
    code = ("import atexit, sys\n"
            "atexit.register(lambda: sys.__stderr__.write('\\nMODULES ' + ' '.join(sorted(sys.modules))))\n"
            "from advisor.cli import main\n"
            "main(sys.argv[1:], prog_name='ms-advisor')\n")
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    return r.returncode, set(r.stderr.rsplit("MODULES ", 1)[1].split())


@pytest.mark.parametrize("args,absent", [
    (["advise", *FACTS], SERVICE_BATCH_WEB),
    (["advise", *FACTS, "--format", "table", "--condition", "heart failure"], SERVICE_BATCH_WEB),
    (["--help"], SERVICE_BATCH_WEB + PYDANTIC),
    (["advise", "--help"], SERVICE_BATCH_WEB + PYDANTIC),
])
def test_a_command_does_not_import_the_service_batch_or_web_stacks(args, absent):
    code, modules = modules_after(*args)
    assert code == 0 and "advisor.cli" in modules
    assert not modules & set(absent), sorted(modules & set(absent))


def test_a_condition_is_taken_by_its_label_and_a_label_cannot_name_another_condition():
    from advisor.kb.vocabulary import ConditionItem, LABELS, NAMES, lookup, names_of, vocabulary_problems

    for cid, label in LABELS.items():  # the KB's labels ("Hepatitis B", "PML") on every path
        assert lookup(label).value == cid and lookup(f"  {label.upper()} ").value == cid
    pml = ConditionItem(id="pml", label="History of PML", description="a history of PML")
    assert names_of((pml,)) == {"history_of_pml": "pml", "pml": "pml"}  # a label unlike its id is a name too
    cancer = ConditionItem(id="cancer", label="PML", description="cancer")
    assert vocabulary_problems([pml, cancer]) == ["cancer: its label 'PML' names another condition (pml)"]
    assert set(NAMES.values()) == set(LABELS)
