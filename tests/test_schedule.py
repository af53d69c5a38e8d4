"""Dated schedules (`schedule`, the library's plan, the page, the calendar file): a mitoxantrone course is
finite; after a dose already received there is no new three-year course (dates only for an explicit count,
every surface saying why); where a course ends and why, in the article's words; only a listed drug gets a
schedule; the dates themselves and the events of the calendar."""

import html
import json
import re
import warnings
from datetime import date

import pytest
from click.testing import CliRunner

from advisor import advise, default_advisor
from advisor.cli import main
from advisor.render.report import markdown
from advisor.render.terminal import table
from advisor.schedule import ics_of, infusions, plan
from advisor.serve.cards import drug_cards
from advisor.web import create_app

with warnings.catch_warnings():  # starlette's TestClient prefers httpx2; httpx is what we depend on
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, env={"NO_COLOR": "1"})


def listed_dates(out):
    return [date.fromisoformat(d) for d in re.findall(r"^ *\d+\. (\d{4}-\d{2}-\d{2})", out, re.MULTILINE)]


def flat(text):
    return " ".join(text.split())


START = date(2027, 1, 31)


CANNOT = "The article gives no dose per infusion. So how many infusions remain after the {:g} mg/m² already received cannot be worked out from it."


def run_wide(*args):
    return CliRunner().invoke(main, list(args), env={"NO_COLOR": "1", "COLUMNS": "200"})


def dates(out):
    return re.findall(r"^ *\d+\. (\d{4}-\d{2}-\d{2})", out, re.MULTILINE)


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(default_advisor()))


HTML = {"accept": "text/html"}


WHOLE_COURSE = "Dates are given up to three years after the first infusion"


def page_text(client, url):
    r = client.get(url, headers=HTML)
    assert r.status_code == 200, r.text[:300]
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", r.text)))


SILENT = "the article says nothing about treatment after this."


KB_ID = {"name": "n", "version": "1", "sha256": "0"}


def cards_of(rec):
    return {c["extension"]["ms-infusion-advisor"]["drug"]: c for c in drug_cards(rec, KB_ID, "title", "http://127.0.0.1/advice")}


def run_at_100_columns(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


OLD = b"BEGIN:VCALENDAR\r\nold content\r\nEND:VCALENDAR\r\n"


def schedule(*args):
    return CliRunner().invoke(main, ["schedule", *args])


def assert_one_line_error(r, *words):
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr


def ics_text(tmp_path, drug):
    path = tmp_path / f"{drug}.ics"
    assert run("schedule", drug, "--start", "2027-01-04", "--count", "3", "--ics", str(path)).exit_code == 0
    return path.read_bytes().decode("utf-8").replace("\r\n ", "").replace("\\,", ",").replace("\\;", ";").replace("\\n", "\n")


# --- a mitoxantrone course is finite ------------------------------------------------------------------------

def test_mitoxantrone_schedule_ends_within_three_years_whatever_count_says(tmp_path):
    ics = tmp_path / "m.ics"
    r = run("schedule", "mitoxantrone", "--start", "2027-01-31", "--count", "20", "--ics", str(ics))
    assert r.exit_code == 0, r.output
    days = listed_dates(r.stdout)
    assert days[0] == date(2027, 1, 31) and max(days) <= date(2030, 1, 31) and len(days) == 13
    assert ics.read_bytes().count(b"BEGIN:VEVENT") == 13
    assert b"DTSTART;VALUE=DATE:2030" in ics.read_bytes() and b"DTSTART;VALUE=DATE:2031" not in ics.read_bytes()
    out = flat(r.stdout)
    assert "It ends when the total dose reaches the lifetime maximum of 140 mg/m², likely within 2 to 3 years" in out
    assert "The article gives no dose per infusion" in out
    assert "... and on" not in out


def test_the_library_schedule_is_finite_too():
    sched = advise({"ms_type": "spms", "severity": "severe"}).drug("mitoxantrone").schedule
    assert sched.course_within.model_dump() == {"n": 3, "unit": "years"}
    days = [i.date for i in infusions(sched, date(2027, 3, 1))]  # would never end if the course were open
    assert days[-1] == date(2030, 3, 1) and len(days) == 13


# --- after a dose already received: the library -------------------------------------------------------------

@pytest.mark.parametrize("received", [0.5, 40, 100, 139.9])
def test_after_a_dose_received_no_dates_without_a_count_and_the_reason_said(received):
    p = plan(default_advisor(), "mitoxantrone", START, received=received)
    assert p.infusions == () and p.left_unknown == CANNOT.format(received)
    assert p.total is None and not p.cut_short and p.course_end is None  # no three-year course from this start
    assert p.remaining and "lifetime maximum is left" in p.remaining


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
    assert p.infusions == () and p.left_unknown is None and "None of it is left." in p.remaining


# --- after a dose already received: the command line, its calendar and the page -----------------------------

def test_the_schedule_command_lists_no_new_course_after_a_dose_and_says_why():
    r = run_wide("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100")
    flat = " ".join(r.stdout.split())
    assert r.exit_code == 0 and dates(r.stdout) == []
    assert "No dates are listed. " + CANNOT.format(100) + " Give --count N to list N infusions from --start." in flat
    assert "ends by" not in flat
    r = run_wide("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--count", "3")
    flat = " ".join(r.stdout.split())
    assert r.exit_code == 0 and dates(r.stdout) == ["2027-01-31", "2027-04-30", "2027-07-31"]
    assert CANNOT.format(100) + " These dates come from --count, not from the article." in flat
    r = run_wide("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--format", "json")
    assert json.loads(r.stdout)["left_unknown"] == CANNOT.format(100) and json.loads(r.stdout)["infusions"] == []
    r = run_wide("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--count", "2",
            "--format", "markdown")
    assert CANNOT.format(100) in r.stdout and r.stdout.count("| infusion |") == 2


def test_the_calendar_after_a_dose_needs_a_count_and_says_the_same(tmp_path):
    target = tmp_path / "mito.ics"
    target.write_text("BEGIN:VCALENDAR old calendar", encoding="utf-8")
    r = run_wide("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--ics", str(target))
    assert r.exit_code == 2 and "--ics: no dates to write. " + CANNOT.format(100) in r.stderr and "--count N" in r.stderr
    assert target.read_text(encoding="utf-8") == "BEGIN:VCALENDAR old calendar" and "Traceback" not in r.output
    r = run_wide("schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100", "--count", "2",
            "--ics", str(target))
    text = target.read_bytes().decode("utf-8")
    unfolded = text.replace("\r\n ", "").replace("\\,", ",")
    assert r.exit_code == 0 and text.count("BEGIN:VEVENT") == 2
    assert CANNOT.format(100) + " These dates come from the count asked for, not from the article." in unfolded
    full = ics_of(plan(default_advisor(), "mitoxantrone", START)).replace("\r\n ", "")
    assert "worked out from it. These dates" not in full  # without a dose, no such sentence


def test_without_a_dose_the_course_end_is_no_date_the_course_ends_on():
    r = run_wide("schedule", "mitoxantrone", "--start", "2027-01-31")
    flat = " ".join(r.stdout.split())
    assert len(dates(r.stdout)) == 13 and "likely within 2 to 3 years" in flat
    assert "No date is listed after 2030-01-31, whatever --count says: " in flat and "ends by" not in flat


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


@pytest.mark.parametrize("dose", [100, 139.5])
def test_after_a_dose_received_no_surface_promises_a_three_year_course_of_dates(client, dose):
    """The schedule's note on a course from no dose contradicted "No dates are listed" once a dose was received."""
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": dose})
    why = f"how many infusions remain after the {dose:g} mg/m² already received cannot be worked out"
    note = rec.drug("mitoxantrone").schedule.note
    assert note is not None and why in note
    for text in (table(rec), markdown(rec), page_text(client, f"/advice?ms_type=spms&severity=severe&mitoxantrone_cumulative_mg_m2={dose}"),
                 page_text(client, f"/schedule/mitoxantrone?start=2027-01-04&mitoxantrone_cumulative_mg_m2={dose}"),
                 flat(run("schedule", "mitoxantrone", "--start", "2027-01-04", "--mitoxantrone-cumulative-mg-m2", str(dose)).stdout),
                 flat(run("schedule", "mitoxantrone", "--start", "2027-01-04", "--mitoxantrone-cumulative-mg-m2", str(dose),
                          "--count", "2", "--format", "json").stdout)):
        assert WHOLE_COURSE not in flat(text)
    # without a dose (or with 0), the whole course and its note stay
    assert WHOLE_COURSE in flat(markdown(advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 0})))
    assert WHOLE_COURSE in flat(run("schedule", "mitoxantrone", "--start", "2027-01-04").stdout)


def test_a_schedule_with_the_maximum_reached_says_why_no_dates_are_listed():
    for fmt in ("table", "markdown"):
        out = flat(run("schedule", "mitoxantrone", "--start", "2027-01-04", "--mitoxantrone-cumulative-mg-m2", "140", "--format", fmt).stdout)
        assert "No dates are listed: the lifetime maximum is reached." in out


# --- where a course ends, and why ---------------------------------------------------------------------------

def test_alemtuzumabs_schedule_ends_with_the_articles_silence_on_every_surface(client):
    rec = advise({"ms_type": "relapsing", "severity": "severe", "prior_failures": 2})
    assert rec.drug("alemtuzumab").schedule.text.endswith(SILENT)
    for text in (table(rec), markdown(rec), rec.model_dump_json()):
        assert SILENT in " ".join(text.split())
    r = run_wide("schedule", "alemtuzumab", "--start", "2027-03-01")
    assert SILENT in " ".join(r.stdout.split()) and len(dates(r.stdout)) == 8
    page = client.get("/advice?ms_type=relapsing&severity=severe&prior_failures=2", headers=HTML).text
    assert SILENT in page and SILENT in client.get("/schedule/alemtuzumab?start=2027-03-01", headers=HTML).text
    from advisor.serve.cards import detail

    assert SILENT in " ".join(detail(rec.drug("alemtuzumab"), rec.disclaimer).split())


@pytest.mark.parametrize("dose", [None, "40"])
def test_the_course_end_says_why_in_the_articles_words(client, dose):
    args = ["schedule", "mitoxantrone", "--start", "2026-01-05", "--count", "20"]
    args += ["--mitoxantrone-cumulative-mg-m2", dose] if dose else []
    why = "the article says the lifetime maximum dose “will likely be reached within two to three years”"
    out = flat(run(*args).stdout)
    assert f"No date is listed after 2029-01-05, whatever --count says: {why}" in out
    assert why in flat(run(*args, "--format", "markdown").stdout)
    url = "/schedule/mitoxantrone?start=2026-01-05&count=20" + (f"&mitoxantrone_cumulative_mg_m2={dose}" if dose else "")
    assert f"No date is listed after 2029-01-05: {why}" in page_text(client, url)


# --- only a listed drug gets a schedule ---------------------------------------------------------------------

def test_markdown_gives_a_schedule_only_to_a_listed_drug_as_the_table_page_and_cards_do():
    rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": 140})
    sections = {s.split(":")[0]: s for s in markdown(rec).split("### ")[1:]}
    assert "**Schedule:**" not in sections["Mitoxantrone hydrochloride"]  # excluded
    assert "**Schedule:**" not in sections["Natalizumab (Tysabri)"]  # no criteria
    assert "**Schedule:**" not in sections["Ocrelizumab (Ocrevus)"]  # not applicable
    assert "**Schedule:**" in markdown(advise({"ms_type": "ppms", "severity": "mild"})).split("### Ocrelizumab")[1]


def test_card_summaries_keep_the_number_and_an_excluded_drug_has_no_schedule():
    for dose in (140, 139.99, 1000):
        rec = advise({"ms_type": "spms", "severity": "severe", "mitoxantrone_cumulative_mg_m2": dose})
        card = cards_of(rec)["mitoxantrone"]
        assert "140 mg/m²" in card["summary"] and len(card["summary"]) < 140, card["summary"]
        assert (f"{dose:g} mg/m²" in card["summary"]) is (dose >= 140) and ("0.01 of the" in card["summary"]) is (dose < 140)
        assert ("Schedule:" in card["detail"]) is (dose < 140)
    card = cards_of(advise({"ms_type": "spms", "severity": "mild"}))["mitoxantrone"]
    assert card["summary"].startswith("Mitoxantrone hydrochloride: excluded: the MS is mild") and "Schedule:" not in card["detail"]
    listed = cards_of(advise({"ms_type": "ppms", "severity": "mild"}))["ocrelizumab"]
    assert "Schedule:" in listed["detail"]


# --- the dates ----------------------------------------------------------------------------------------------

def test_schedule_count_says_when_it_cut_a_finite_schedule_short():
    r = run_at_100_columns("schedule", "alemtuzumab", "--start", "2027-03-01", "--count", "3")
    assert "5 more of the 8 infusions of the course not listed" in r.stdout
    data = json.loads(run_at_100_columns("schedule", "alemtuzumab", "--start", "2027-03-01", "--count", "3", "--format", "json").stdout)
    assert data["cut_short"] is True and data["total"] == 8
    whole = run_at_100_columns("schedule", "alemtuzumab", "--start", "2027-03-01", "--count", "8").stdout
    assert "not listed" not in whole


def test_weekend_dates_are_marked():
    r = run_at_100_columns("schedule", "natalizumab", "--start", "2027-01-02", "--count", "2")  # a Saturday, 4 weeks on a Saturday
    lines = [line for line in r.stdout.splitlines() if re.match(r"\s+\d+\. ", line)]
    assert all(line.endswith("(weekend)") for line in lines)
    r = run_at_100_columns("schedule", "natalizumab", "--start", "2027-01-04", "--count", "2", "--format", "json")
    assert [i["weekend"] for i in json.loads(r.stdout)["infusions"]] == [False, False]


@pytest.mark.parametrize("drug,start,count", [("natalizumab", "9999-12-01", None), ("alemtuzumab", "9999-06-01", None),
                                              ("ocrelizumab", "9999-12-31", "1"), ("natalizumab", "9999-12-31", "1")])
def test_a_schedule_past_the_year_9999_is_a_clear_error_and_leaves_the_ics_alone(tmp_path, drug, start, count):
    ics = tmp_path / "old.ics"
    ics.write_bytes(OLD)
    r = schedule(drug, "--start", start, *(["--count", count] if count else []), "--ics", str(ics))
    assert_one_line_error(r, f"--start {start}: the schedule runs past the year 9999")
    assert ics.read_bytes() == OLD


def test_the_last_possible_dates_still_work(tmp_path):
    r = schedule("natalizumab", "--start", "9999-01-01", "--count", "13", "--ics", str(tmp_path / "n.ics"))
    assert r.exit_code == 0, r.output
    assert "9999-12-03" in r.stdout and (tmp_path / "n.ics").read_bytes().count(b"BEGIN:VEVENT") == 13


# --- the calendar's events ----------------------------------------------------------------------------------

def test_ics_events_carry_the_reaction_window_the_disclaimer_and_the_assumption(tmp_path):
    ocr = ics_text(tmp_path, "ocrelizumab")
    for event in ocr.split("BEGIN:VEVENT")[1:]:
        assert "more likely within the first 2 hours" in event and "up to 24 hours later" in event
        assert "not a prescription" in event
        assert "counted here from the second 300 mg infusion. This is an assumption" in event
    nat = ics_text(tmp_path, "natalizumab")
    assert "not a prescription" in nat and "24 hours" in nat and "300 mg" not in nat


def test_ics_uids_hold_the_id_and_the_summary_names_the_infusion(tmp_path):
    uids = {}
    for person in ("anna", "ben"):
        out = tmp_path / f"{person}.ics"
        r = run_at_100_columns("schedule", "natalizumab", "--start", "2027-01-04", "--count", "2", "--ics", str(out), "--id", person)
        assert r.exit_code == 0, r.output
        text = out.read_text().replace("\r\n ", "")
        uids[person] = re.findall(r"^UID:(.*)$", text, re.M)
        assert all(person in uid for uid in uids[person])
        assert re.findall(r"^SUMMARY:(.*?)\r?$", text, re.M) == ["Natalizumab infusion"] * 2
    assert not set(uids["anna"]) & set(uids["ben"])
    out = tmp_path / "ocr.ics"
    run_at_100_columns("schedule", "ocrelizumab", "--start", "2027-01-04", "--count", "3", "--ics", str(out))
    assert "SUMMARY:Ocrelizumab infusion 600 mg (maintenance)" in out.read_text().replace("\r\n ", "")
