"""`ms-advisor interview`: answers read as people type them, yes and no, a number refused and asked again,
and the end of input an exit 2 with a message."""

import json

import pytest
from click.testing import CliRunner

from advisor.cli import main


def run(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


def test_interview_reads_answers_as_people_type_them(tmp_path):
    saved = tmp_path / "answers.yaml"
    r = run("interview", "--format", "json", "--save", str(saved),
            input="progressive\nSecondary Progressive\nSevere\ntwo\n2\nyes\n0\nheart failure, PML\n")
    assert r.exit_code == 0, r.output
    said = " ".join(r.stderr.split())  # wrapped at the terminal's width
    assert "relapsing (rrms, relapsing remitting); spms (secondary progressive); ppms (primary progressive)" in said
    assert "say 'spms' (secondary progressive) or 'ppms'" in said
    assert "'two': type the number in digits, e.g. 2" in r.stderr
    facts = json.loads(r.stdout)["facts"]
    assert facts["ms_type"] == "spms" and facts["prior_failures"] == 2 and facts["rapidly_worsening"] is True
    assert facts["conditions"] == ["heart_failure", "pml"]
    again = json.loads(run("advise", "--case", str(saved), "--format", "json").stdout)
    assert again["facts"] == facts


@pytest.mark.parametrize("answer,expected", [("y", True), ("YES", True), ("n", False), ("no", False), ("", False)])
def test_interview_yes_no(answer, expected):
    r = run("interview", "--format", "json", input=f"ppms\nmild\n0\n{answer}\n0\n\n")
    assert json.loads(r.stdout)["facts"]["rapidly_worsening"] is expected


def test_interview_refuses_non_ascii_digits_and_asks_again():
    r = CliRunner().invoke(main, ["interview", "--format", "json"], input="spms\nsevere\n١٤\n2\nn\n1_0\n١٤٠\n1.4e2\n\n")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["facts"]["prior_failures"] == 2 and out["facts"]["mitoxantrone_cumulative_mg_m2"] == 140.0
    assert r.stderr.count("ASCII digits") == 3


def test_interview_end_of_input_exits_2_with_a_message(tmp_path):
    saved = tmp_path / "never.yaml"
    r = run("interview", "--save", str(saved), input="spms\nsevere\n")
    assert r.exit_code == 2 and r.stdout == "" and not saved.exists()
    assert "input ended before every question was answered" in r.stderr and "Aborted" not in r.stderr
