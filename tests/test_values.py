"""One text-to-value parser (advisor.values): the same awkward texts give the same answer, a value or
an error, on every surface where a person or a file writes a fact's value as text."""

import json
import re

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from advisor import default_advisor
from advisor.batch.csv_columns import typed_cell
from advisor.cli import main
from advisor.errors import InvalidFacts
from advisor.core.models import PatientFacts
from advisor.values import ValueTextError, count_value, number_value, yes_no_value
from advisor.web import create_app

ERROR = "error"
# prior_failures written as text -> the count every surface takes, or ERROR. "" is not given: the default 0.
TABLE = [("012", ERROR), ("+2", ERROR), ("2.0", 2), (" 2 ", 2), ("٢", ERROR), ("２", ERROR), ("1e2", 100), ("yes", ERROR),
         ("", 0), ("2", 2), ("-1", ERROR), ("1001", ERROR), ("nan", ERROR), ("2.5", ERROR), ("0x2", ERROR), ("1_0", ERROR)]
BASE = ["--ms-type", "spms", "--severity", "severe"]


def by_cli(text):
    r = CliRunner().invoke(main, ["advise", *BASE, "--prior-failures", text, "--format", "json"])
    return json.loads(r.stdout)["facts"]["prior_failures"] if r.exit_code == 0 else ERROR


def by_case_file(tmp_path, text):
    f = tmp_path / "case.yaml"
    f.write_text(f"ms_type: spms\nseverity: severe\nprior_failures: {text}\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["advise", "--case", str(f), "--format", "json"])
    return json.loads(r.stdout)["facts"]["prior_failures"] if r.exit_code == 0 else ERROR


def by_batch(tmp_path, text, suffix):
    f = tmp_path / f"cases{suffix}"
    if suffix == ".csv":
        f.write_text(f"id,ms_type,severity,prior_failures\nc1,spms,severe,{text}\n", encoding="utf-8")
    else:
        f.write_text(f"- id: c1\n  ms_type: spms\n  severity: severe\n  prior_failures: {text}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    CliRunner().invoke(main, ["batch", str(f), "--out", str(out), "--echo-facts"])
    record = json.loads(out.read_text().splitlines()[0])
    return record["facts"]["prior_failures"] if record["ok"] else ERROR


def by_form(client, text):
    r = client.get("/advice", params={"ms_type": "spms", "severity": "severe", "prior_failures": text}, headers={"accept": "text/html"})
    if r.status_code != 200:
        return ERROR
    found = re.search(r"did not work well</dt><dd>([^<]*)</dd>", r.text)
    assert found, r.text[:2000]
    return int(found.group(1))


def by_interview(text):
    r = CliRunner().invoke(main, ["interview", "--format", "json"], input=f"spms\nsevere\n{text}\n7\nn\n\n\n")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)["facts"]["prior_failures"]
    return ERROR if got == 7 else got  # asked again: the answer was refused


def by_library(text):
    try:
        value = count_value(text)
        facts = PatientFacts(ms_type="spms", severity="severe", **({} if value is None else {"prior_failures": value}))
    except (ValueTextError, ValueError, InvalidFacts):
        return ERROR
    return facts.prior_failures


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(default_advisor()))


@pytest.mark.parametrize("text,expected", TABLE, ids=[repr(t) for t, _ in TABLE])
def test_every_surface_gives_the_same_answer_for_a_count_written_as_text(tmp_path, client, text, expected):
    got = {"cli": by_cli(text), "case file (YAML)": by_case_file(tmp_path, text), "batch CSV": by_batch(tmp_path, text, ".csv"),
           "batch YAML": by_batch(tmp_path, text, ".yaml"), "web form": by_form(client, text), "interview": by_interview(text),
           "library": by_library(text)}
    assert got == dict.fromkeys(got, expected)


@pytest.mark.parametrize("text,expected", [("140", 140.0), (" 1.4e2 ", 140.0), ("72.5", 72.5), ("0", 0.0), ("", None)])
def test_a_dose_reads_the_same_in_the_parser_a_csv_cell_and_the_form(text, expected):
    assert number_value(text) == expected
    assert typed_cell("float", text.strip(), ",") == (expected if text.strip() else "")


@pytest.mark.parametrize("text", ["0140", "+140", "١٤٠", "inf", "nan", "1.", ".5", "1_40"])
def test_a_dose_refuses_the_texts_a_count_refuses(text):
    with pytest.raises(ValueTextError, match="not a number written in ASCII digits"):
        number_value(text)


@pytest.mark.parametrize("text,expected", [("yes", True), (" YES ", True), ("y", True), ("True", True), ("no", False),
                                           ("N", False), ("false", False), ("", None)])
def test_yes_no(text, expected):
    assert yes_no_value(text) is expected


def test_yes_no_names_what_was_expected():
    with pytest.raises(ValueTextError, match=r"'maybe' is not yes or no \(yes, y, true, no, n or false\)"):
        yes_no_value("maybe")


# the dose (a decimal number, may be not given) written as text -> the value every surface takes, or ERROR
DOSES = [("140", 140.0), (" 72.5 ", 72.5), ("1.4e2", 140.0), ("0140", ERROR), ("+140", ERROR), ("١٤٠", ERROR), ("1,5", ERROR),
         ("", None), ("-3", ERROR), ("nan", ERROR), ("inf", ERROR), (".5", ERROR), ("139.99999999999999999", ERROR)]
DOSE = "mitoxantrone_cumulative_mg_m2"


def dose_by_cli(text):
    r = CliRunner().invoke(main, ["advise", *BASE, "--mitoxantrone-cumulative-mg-m2", text, "--format", "json"])
    return json.loads(r.stdout)["facts"][DOSE] if r.exit_code == 0 else ERROR


def dose_by_case_file(tmp_path, text):
    f = tmp_path / "case.yaml"
    f.write_text(f"ms_type: spms\nseverity: severe\n{DOSE}: {text}\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["advise", "--case", str(f), "--format", "json"])
    return json.loads(r.stdout)["facts"][DOSE] if r.exit_code == 0 else ERROR


def dose_by_csv(tmp_path, text):
    f = tmp_path / "cases.csv"
    f.write_text(f"id;ms_type;severity;{DOSE}\nc1;spms;severe;{text}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    CliRunner().invoke(main, ["batch", str(f), "--out", str(out), "--echo-facts"])
    record = json.loads(out.read_text().splitlines()[0])
    return record["facts"][DOSE] if record["ok"] else ERROR


def dose_by_form(client, text):
    r = client.get("/advice", params={"ms_type": "spms", "severity": "severe", DOSE: text}, headers={"accept": "text/html"})
    if r.status_code != 200:
        return ERROR
    shown = re.search(r"already received</dt><dd>([^<]*)</dd>", r.text).group(1)
    return None if shown == "not given" else float(shown.removesuffix(" mg/m²").replace(",", ""))


def dose_by_interview(text):
    r = CliRunner().invoke(main, ["interview", "--format", "json"], input=f"spms\nsevere\n0\nn\n{text}\n7\n\n")
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)["facts"][DOSE]
    return ERROR if got == 7 else got


def dose_by_library(text):
    try:
        value = number_value(text)
        facts = PatientFacts(ms_type="spms", severity="severe", **{DOSE: value})
    except (ValueTextError, ValueError, InvalidFacts):
        return ERROR
    return getattr(facts, DOSE)


@pytest.mark.parametrize("text,expected", DOSES, ids=[repr(t) for t, _ in DOSES])
def test_every_surface_gives_the_same_answer_for_a_dose_written_as_text(tmp_path, client, text, expected):
    got = {"cli": dose_by_cli(text), "case file (YAML)": dose_by_case_file(tmp_path, text), "batch CSV": dose_by_csv(tmp_path, text),
           "web form": dose_by_form(client, text), "interview": dose_by_interview(text), "library": dose_by_library(text)}
    assert got == dict.fromkeys(got, expected)
