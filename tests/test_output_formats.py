"""The output formats (table, markdown, json) of advise, explain and schedule: each command takes all three,
MS_ADVISOR_FORMAT sets the default (a bad value named), the id is shown in every format, and markdown
quotes are blockquotes."""

import json
import re

import pytest
from click.testing import CliRunner

from advisor.cli import main


def run(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


FACTS = ["--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]


def run_as_ms_advisor(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, prog_name="ms-advisor")


@pytest.mark.parametrize("command", [["explain", "natalizumab", *FACTS], ["schedule", "natalizumab", "--start", "2027-01-04"]])
def test_explain_and_schedule_take_the_three_formats(command):
    data = json.loads(run(*command, "--format", "json").stdout)
    md = run(*command, "--format", "markdown").stdout
    table = run(*command).stdout
    assert md.startswith("# ") and "Natalizumab" in md and "Natalizumab" in table
    if command[0] == "explain":
        assert data["drug"] == "natalizumab" and "not_fired" in data and data["recommendation"]["facts"]["prior_failures"] == 2
    else:
        assert data["drug"] == "natalizumab" and len(data["infusions"]) == 10 and data["every"] == "4 weeks"


@pytest.mark.parametrize("command", [["advise", *FACTS], ["explain", "natalizumab", *FACTS], ["schedule", "natalizumab", "--start", "2027-01-04"]])
def test_MS_ADVISOR_FORMAT_sets_the_default_format(command):
    assert run_as_ms_advisor(*command).stdout.lstrip().startswith("{" if command[0] == "advise" else ("MS type", "Natalizumab"))  # a pipe
    assert run_as_ms_advisor(*command, env={"MS_ADVISOR_FORMAT": "markdown"}).stdout.startswith("# ")
    assert run_as_ms_advisor(*command, env={"MS_ADVISOR_FORMAT": "json"}).stdout.startswith("{")
    assert run_as_ms_advisor(*command, "--format", "json", env={"MS_ADVISOR_FORMAT": "markdown"}).stdout.startswith("{")  # --format wins
    assert run_as_ms_advisor(*command, env={"MS_ADVISOR_FORMAT": ""}).stdout == run_as_ms_advisor(*command).stdout  # empty: not set


@pytest.mark.parametrize("value", ["xml", "TABLE ", "\x1b[2Jtable"])
def test_a_bad_MS_ADVISOR_FORMAT_is_an_error_naming_the_variable_and_the_formats(value):
    r = run_as_ms_advisor("advise", *FACTS, env={"MS_ADVISOR_FORMAT": value})
    assert r.exit_code == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith("ms-advisor: MS_ADVISOR_FORMAT: '") and "(allowed: table, json, markdown;" in r.stderr
    assert "\x1b" not in r.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_the_id_is_shown_in_every_format(fmt, tmp_path):
    for command in (["advise", *FACTS], ["explain", "ocrelizumab", *FACTS], ["schedule", "ocrelizumab", "--start", "2027-01-04"]):
        r = run(*command, "--id", "MRN-0042", "--format", fmt)
        assert r.exit_code == 0, r.output
        assert "MRN-0042" in r.stdout, (command, fmt)
    case = tmp_path / "p.yaml"
    case.write_text("id: from-the-file\nms_type: ppms\nseverity: mild\n")
    assert "from-the-file" in run("advise", "--case", str(case), "--format", fmt).stdout


def test_markdown_quotes_are_blockquotes_after_a_blank_line():
    md = run("advise", *FACTS, "--format", "markdown").stdout
    notes = md.split("## Notes", 1)[1]
    lines = md.splitlines()
    quotes = [i for i, line in enumerate(lines) if line.lstrip().startswith(">")]
    assert quotes and "    > “" in notes
    for i in quotes[1:]:  # (the first is the disclaimer at the top)
        assert lines[i].startswith("    > ") and lines[i - 1] == "", lines[i]
    assert not any(re.search(r"\S\s+> “", line) for line in lines)  # never a '>' in the middle of a line
