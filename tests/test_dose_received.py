"""The mitoxantrone dose already received: what remains of the lifetime maximum (near it and at it) on
every surface; a dose not given is said so, never shown as 0 or a number; a given dose is written with its
own digits, never rounded."""

import json
import re
import warnings
from datetime import date

import pytest
from click.testing import CliRunner

from advisor import advise, default_advisor
from advisor.cli import main
from advisor.render import emit
from advisor.render.report import markdown
from advisor.render.terminal import table
from advisor.schedule import plan
from article_helpers import cards_of, client, flat, HTML, KB_ID, page_text, run  # noqa: F401 (the client fixture)

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")


def listed_dates(out):
    return [date.fromisoformat(d) for d in re.findall(r"^ *\d+\. (\d{4}-\d{2}-\d{2})", out, re.MULTILINE)]


START = date(2027, 1, 31)


# --- what remains of the lifetime maximum -------------------------------------------------------------------

def test_what_remains_of_the_lifetime_maximum_when_the_dose_received_is_known():
    r = run("schedule", "mitoxantrone", "--start", "2027-01-01", "--mitoxantrone-cumulative-mg-m2", "100")
    assert "100 mg/m² received so far: 40 of the 140 mg/m² lifetime maximum is left." in flat(r.stdout)
    r = run("schedule", "mitoxantrone", "--start", "2027-01-01", "--mitoxantrone-cumulative-mg-m2", "140")
    assert listed_dates(r.stdout) == [] and "the 140 mg/m² lifetime maximum is reached. None of it is left." in flat(r.stdout)
    r = run("schedule", "mitoxantrone", "--start", "2027-01-01", "--mitoxantrone-cumulative-mg-m2", "150")
    assert listed_dates(r.stdout) == [] and "the 140 mg/m² lifetime maximum is passed. None of it is left." in flat(r.stdout)
    r = run("schedule", "natalizumab", "--start", "2027-01-01", "--mitoxantrone-cumulative-mg-m2", "10")
    assert r.exit_code == 2 and "no lifetime maximum" in r.stderr
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 60})
    assert rec.drug("mitoxantrone").schedule.remaining_mg_m2 == 80
    assert advise({"ms_type": "spms", "severity": "severe"}).drug("mitoxantrone").schedule.remaining is None


def test_near_the_maximum_says_what_remains():
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 139.9})
    s = rec.drug("mitoxantrone").schedule
    assert s.remaining == "139.9 mg/m² received so far: 0.1 of the 140 mg/m² lifetime maximum is left."
    assert s.remaining_mg_m2 == 0.1
    assert "0.1 of the 140 mg/m² lifetime maximum is left" in flat(table(rec)) and "0.1 of the 140" in markdown(rec)


def test_the_page_says_what_remains_of_the_lifetime_maximum_as_the_other_formats_do(client):
    text = page_text(client, "/advice?ms_type=spms&severity=severe&mitoxantrone_cumulative_mg_m2=100")
    assert "100 mg/m² received so far: 40 of the 140 mg/m² lifetime maximum is left." in text


# --- a dose not given ---------------------------------------------------------------------------------------

def test_a_dose_not_given_is_said_so_on_every_surface(client):
    rec = advise({"ms_type": "spms", "severity": "severe"})
    assert rec.facts.mitoxantrone_cumulative_mg_m2 is None
    reason = rec.drug("mitoxantrone").reasons[0].text
    assert "if no mitoxantrone has been received" in reason and "below the lifetime maximum" not in reason
    assert "mitoxantrone received: not given" in flat(table(rec))
    assert "**Mitoxantrone already received:** not given" in markdown(rec)
    assert json.loads(emit(rec, "json"))["facts"]["mitoxantrone_cumulative_mg_m2"] is None
    assert "Mitoxantrone already received not given" in page_text(client, "/advice?ms_type=spms&severity=severe")
    card = cards_of(rec)["mitoxantrone"]["detail"]
    assert "if no mitoxantrone has been received" in card and "below the lifetime maximum" not in card
    for out in (flat(table(rec)), markdown(rec)):
        assert "received: 0" not in out and "received:** 0" not in out
    given = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 0}).drug("mitoxantrone").reasons[0].text
    assert "below the lifetime maximum dose" in given and "if no mitoxantrone" not in given


def test_the_interview_takes_an_empty_dose_as_not_given():
    r = CliRunner().invoke(main, ["interview", "--format", "json"], input="spms\nsevere\n0\nn\n\n\n")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["facts"]["mitoxantrone_cumulative_mg_m2"] is None


def test_explain_never_shows_a_dose_not_given_as_a_number():
    out = flat(run("explain", "mitoxantrone", "--ms-type", "relapsing", "--severity", "severe").stdout)
    assert "is not given (decided as none received)" in out and "0.0" not in out
    assert "is 0 " in flat(run("explain", "mitoxantrone", "--ms-type", "relapsing", "--severity", "severe",
                               "--mitoxantrone-cumulative-mg-m2", "0").stdout)  # a dose given as 0 is that number, as written


# --- a given dose, as written -------------------------------------------------------------------------------

@pytest.mark.parametrize("dose,shown", [("0", "is 0"), ("139.99999", "is 139.99999"), ("0.0000001", "is 0.0000001")])
def test_explain_writes_a_given_dose_with_its_own_digits(dose, shown):
    r = run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe", "--mitoxantrone-cumulative-mg-m2", dose)
    out = flat(r.stdout)
    assert f"needs mitoxantrone_cumulative_mg_m2 >= 140, {shown}" in out and "is 0.0 " not in out + " " and "e-07" not in out
    assert f"mitoxantrone received: {shown[3:]} mg/m²" in out
    data = json.loads(run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe",
                          "--mitoxantrone-cumulative-mg-m2", dose, "--format", "json").stdout)
    assert any(shown in f for m in data["not_fired"] for f in m["failed"])


@pytest.mark.parametrize("received, shown", [(139.99999, "139.99999"), (1e-7, "0.0000001"), (72.5, "72.5")])
def test_the_dose_received_is_written_with_its_own_digits_never_rounded_to_the_maximum(received, shown):
    p = plan(default_advisor(), "mitoxantrone", START, received=received)
    assert f"after the {shown} mg/m² already received" in p.left_unknown and p.remaining.startswith(f"{shown} mg/m² received so far")
    assert "e-" not in p.left_unknown + p.remaining
