"""A key given twice in one case is refused, naming it, on every path (JSON keeps the last value silently;
the advisor never guesses which one was meant), and in batch the other cases still come out."""

import io
import json

import pytest
from click.testing import CliRunner

from advisor import Advisor
from advisor.batch import run
from advisor.cli import main
from serve_helpers import serve_app  # noqa: F401 (fixture)

TWICE = '{"id": "d", "ms_type": "spms", "severity": "severe", "ms_type": "ppms"}'
GOOD = '{"id": "g", "ms_type": "spms", "severity": "severe"}'


@pytest.mark.parametrize("name,text", [("case.json", TWICE), ("case.yaml", "ms_type: spms\nseverity: severe\nms_type: ppms\n")])
def test_advise_refuses_a_case_file_with_a_key_given_twice(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    r = CliRunner().invoke(main, ["advise", "--case", str(f)])
    assert r.exit_code == 2 and "ms_type" in r.output and "is given twice" in r.output and len(r.output.splitlines()) == 1


@pytest.mark.parametrize("fast", [True, False])
def test_batch_refuses_that_case_alone_on_the_fast_and_the_plain_path(tmp_path, fast):
    f = tmp_path / "c.jsonl"
    colon_in_id = '{"id": "a\\":b", "ms_type": "spms", "severity": "severe"}'  # a `":` inside a string is no key
    spaced = '{"id": "s", "ms_type": "spms", "severity": "severe", "conditions": ["pml"], "conditions" : []}'
    f.write_text("\n".join([GOOD, TWICE, colon_in_id, spaced, GOOD]) + "\n")
    out = io.StringIO()
    run([str(f)], out, advisor=Advisor(), fast=fast)
    recs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["ok"] for r in recs] == [True, False, True, False, True]
    assert recs[1]["error"] == "ms_type: is given twice (which value is meant cannot be known)"
    assert recs[3]["error"].startswith("conditions: is given twice")
    assert recs[2]["id"] == 'a":b' and recs[2]["status"]["mitoxantrone"] == "applicable"


def test_a_json_array_keeps_its_other_cases(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(f"[{TWICE}, {GOOD}]")
    out = io.StringIO()
    run([str(f)], out, advisor=Advisor())
    a, b = [json.loads(line) for line in out.getvalue().splitlines()]
    assert not a["ok"] and a["error"].startswith("ms_type: is given twice") and b["ok"]  # as a JSONL line says it


def test_the_service_refuses_a_body_with_a_key_given_twice(serve_app):
    _, client = serve_app()
    r = client.post("/advise", content=TWICE, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "'ms_type' is given twice" in r.text


def test_the_service_reads_a_body_with_a_byte_order_mark_as_case_files_are_read(serve_app):
    _, client = serve_app()
    r = client.post("/advise", content="\ufeff" + GOOD, headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["listed"] == ["mitoxantrone"]
