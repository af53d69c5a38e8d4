"""What a dated schedule may say of a course (issue 20, items 4 and 12): after some mitoxantrone already
received there is no new three-year course (the article gives no dose per infusion, so how many infusions
remain cannot be worked out: dates only for an explicit count, every run saying so); alemtuzumab's
schedule ends with the article's silence about what comes after it."""

import json
import re
import warnings
from datetime import date

import pytest
from click.testing import CliRunner

from advisor import advise, default_advisor
from advisor.cli import main
from advisor.render import markdown, table
from advisor.schedule import ics_of, plan

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

START = date(2027, 1, 31)
CANNOT = "The article gives no dose per infusion, so how many infusions remain after the {:g} mg/m² already received cannot be worked out from it."
HTML = {"accept": "text/html"}


def run(*args):
    return CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})


def dates(out):
    return re.findall(r"^ *\d+\. (\d{4}-\d{2}-\d{2})", out, re.MULTILINE)


@pytest.fixture(scope="module")
def client():
    from advisor.web import create_app

    return TestClient(create_app(default_advisor()))


# --- 20.4: the library ---------------------------------------------------------------------------------

@pytest.mark.parametrize("received", [0.5, 40, 100, 139.9])
def test_after_a_dose_received_no_dates_without_a_count_and_the_reason_said(received):
    p = plan(default_advisor(), "mitoxantrone", START, received=received)
    assert p.infusions == () and p.left_unknown == CANNOT.format(received)
    assert p.total is None and not p.cut_short and p.course_end is None  # no three-year course from this start
    assert p.remaining and "lifetime maximum remains" in p.remaining


def test_after_a_dose_received_a_count_lists_that_many_and_says_the_same():
    p = plan(default_advisor(), "mitoxantrone", START, count=4, received=40)
    assert [str(i.date) for i in p.infusions] == ["2027-01-31", "2027-04-30", "2027-07-31", "2027-10-31"]
    assert p.left_unknown == CANNOT.format(40) and p.total is None and not p.cut_short and p.course_end is None
    far = plan(default_advisor(), "mitoxantrone", START, count=20, received=40)  # never past three years from the start
    assert len(far.infusions) == 13 and far.course_end == date(2030, 1, 31) and far.left_unknown == CANNOT.format(40)


@pytest.mark.parametrize("received", [None, 0])
def test_without_a_dose_received_the_course_is_listed_as_before(received):
    p = plan(default_advisor(), "mitoxantrone", START, received=received)
    assert len(p.infusions) == 13 and p.left_unknown is None and p.course_end == date(2030, 1, 31)


@pytest.mark.parametrize("received", [140, 150])
def test_at_the_lifetime_maximum_no_dates_and_no_count_needed(received):
    p = plan(default_advisor(), "mitoxantrone", START, count=5, received=received)
    assert p.infusions == () and p.left_unknown is None and "none of it remains" in p.remaining


# --- 20.4: the command line and its calendar --------------------------------------------------------

def test_the_schedule_command_lists_no_new_course_after_a_dose_and_says_why():
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100")
    flat = " ".join(r.stdout.split())
    assert r.exit_code == 0 and dates(r.stdout) == []
    assert "No dates are listed. " + CANNOT.format(100) + " Give --count N to list N infusions from --start." in flat
    assert "ends by" not in flat
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--count", "3")
    flat = " ".join(r.stdout.split())
    assert r.exit_code == 0 and dates(r.stdout) == ["2027-01-31", "2027-04-30", "2027-07-31"]
    assert CANNOT.format(100) + " These dates come from --count, not from the article." in flat
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--format", "json")
    assert json.loads(r.stdout)["left_unknown"] == CANNOT.format(100) and json.loads(r.stdout)["infusions"] == []
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--count", "2",
            "--format", "markdown")
    assert CANNOT.format(100) in r.stdout and r.stdout.count("| infusion |") == 2


def test_the_calendar_after_a_dose_needs_a_count_and_says_the_same(tmp_path):
    target = tmp_path / "mito.ics"
    target.write_text("BEGIN:VCALENDAR old calendar", encoding="utf-8")
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--ics", str(target))
    assert r.exit_code == 2 and "--ics: no dates to write. " + CANNOT.format(100) in r.stderr and "--count N" in r.stderr
    assert target.read_text(encoding="utf-8") == "BEGIN:VCALENDAR old calendar" and "Traceback" not in r.output
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--count", "2",
            "--ics", str(target))
    text = target.read_bytes().decode("utf-8")
    unfolded = text.replace("\r\n ", "").replace("\\,", ",")
    assert r.exit_code == 0 and text.count("BEGIN:VEVENT") == 2
    assert CANNOT.format(100) + " These dates come from the count asked for, not from the article." in unfolded
    full = ics_of(plan(default_advisor(), "mitoxantrone", START)).replace("\r\n ", "")
    assert "worked out from it. These dates" not in full  # without a dose, no such sentence


def test_without_a_dose_the_course_end_is_no_date_the_course_ends_on():
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31")
    flat = " ".join(r.stdout.split())
    assert len(dates(r.stdout)) == 13 and "likely within 2 to 3 years" in flat
    assert "No date is listed after 2030-01-31, whatever --count says: " in flat and "ends by" not in flat


# --- 20.4: the page ------------------------------------------------------------------------------------

def test_the_schedule_page_after_a_dose_has_a_count_field_and_says_the_same(client):
    page = client.get("/schedule/mitoxantrone?start=2027-01-31&mitoxantrone_cumulative_mg_m2=100", headers=HTML).text
    assert 'name="count"' in page and "No dates are listed." in page and CANNOT.format(100) in page
    assert "<time" not in page and ".ics?" not in page
    page = client.get("/schedule/mitoxantrone?start=2027-01-31&mitoxantrone_cumulative_mg_m2=100&count=4", headers=HTML).text
    assert page.count("<time") == 4 and CANNOT.format(100) in page and "not from the article" in page
    ics = re.search(r'href="(/schedule/mitoxantrone\.ics\?[^"]+)"', page).group(1).replace("&amp;", "&")
    body = client.get(ics).text
    assert body.count("BEGIN:VEVENT") == 4 and "cannot be worked out" in body.replace("\r\n ", "")
    r = client.get("/schedule/mitoxantrone.ics?start=2027-01-31&mitoxantrone_cumulative_mg_m2=100", headers=HTML)
    assert r.status_code == 422 and CANNOT.format(100) in r.text and "How many infusions to list" in r.text


# --- 20.12: alemtuzumab's schedule ends with the article's silence -----------------------------------------

SILENT = "the article says nothing about treatment after this."


def test_alemtuzumabs_schedule_ends_with_the_articles_silence_on_every_surface(client):
    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2})
    assert rec.drug("alemtuzumab").schedule.text.endswith(SILENT)
    for text in (table(rec), markdown(rec), rec.model_dump_json()):
        assert SILENT in " ".join(text.split())
    r = run("schedule", "alemtuzumab", "--start", "2027-03-01")
    assert SILENT in " ".join(r.stdout.split()) and len(dates(r.stdout)) == 8
    page = client.get("/advice?ms_type=relapsing&severity=severe&prior_failures=2", headers=HTML).text
    assert SILENT in page and SILENT in client.get("/schedule/alemtuzumab?start=2027-03-01", headers=HTML).text
    from advisor.serve.cards import detail

    assert SILENT in " ".join(detail(rec.drug("alemtuzumab"), rec.disclaimer).split())


@pytest.mark.parametrize("received, shown", [(139.99999, "139.99999"), (1e-7, "0.0000001"), (72.5, "72.5")])
def test_the_dose_received_is_written_with_its_own_digits_never_rounded_to_the_maximum(received, shown):
    p = plan(default_advisor(), "mitoxantrone", START, received=received)
    assert f"after the {shown} mg/m² already received" in p.left_unknown and p.remaining.startswith(f"{shown} mg/m² already received")
    assert "e-" not in p.left_unknown + p.remaining
