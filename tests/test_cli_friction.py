"""Issue 14: what a new user at a terminal, an analyst and a Python developer ran into (output width,
formats, ids, calendar files, usage errors, interview answers, the schema, the library's names and
errors), and the structure that keeps the command line thin."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import advisor
from advisor import AdvisorError, CaseFileError, InvalidFacts, KnowledgeBaseError, UnknownDrug, advise
from advisor.cli import main
from advisor.render import plain_width

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "advisor"
FACTS = ["--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]
ANSI = re.compile("\x1b\\[[0-9;]*m")


def run(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


# --- output ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("columns", [40, 60, 80, 132])
@pytest.mark.parametrize("command", [
    ["advise", *FACTS, "--condition", "heart_failure", "--condition", "cancer", "--explain", "--format", "table", "--id", "person-7"],
    ["explain", "mitoxantrone", *FACTS, "--condition", "heart_failure"],
    ["schedule", "mitoxantrone", "--start", "2027-01-31", "--mitoxantrone-cumulative-mg-m2", "100"],
])
def test_tables_wrap_to_COLUMNS(command, columns):
    r = run(*command, env={"COLUMNS": str(columns)})
    assert r.exit_code == 0, r.output
    widths = [plain_width(line) for line in r.stdout.splitlines()]
    assert max(widths) <= columns
    if columns >= 80:
        assert max(widths) > columns - 15  # it uses the width it has, not a fixed 100


def test_colour_codes_take_no_width():
    plain = run("advise", *FACTS, "--condition", "heart_failure", "--format", "table", env={"COLUMNS": "70"})
    coloured = run("advise", *FACTS, "--condition", "heart_failure", "--format", "table", env={"COLUMNS": "70"}, color=True)
    assert "\x1b[" in coloured.stdout and "\x1b[" not in plain.stdout
    assert ANSI.sub("", coloured.stdout) == plain.stdout  # the same lines: the caution wraps where it would uncoloured


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


def test_schedule_count_says_when_it_cut_a_finite_schedule_short():
    r = run("schedule", "alemtuzumab", "--start", "2027-03-01", "--count", "3")
    assert "5 more of the 8 infusions of the course not listed" in r.stdout
    data = json.loads(run("schedule", "alemtuzumab", "--start", "2027-03-01", "--count", "3", "--format", "json").stdout)
    assert data["cut_short"] is True and data["total"] == 8
    whole = run("schedule", "alemtuzumab", "--start", "2027-03-01", "--count", "8").stdout
    assert "not listed" not in whole


def test_weekend_dates_are_marked():
    r = run("schedule", "natalizumab", "--start", "2027-01-02", "--count", "2")  # a Saturday, 4 weeks on a Saturday
    lines = [line for line in r.stdout.splitlines() if re.match(r"\s+\d+\. ", line)]
    assert all(line.endswith("(weekend)") for line in lines)
    r = run("schedule", "natalizumab", "--start", "2027-01-04", "--count", "2", "--format", "json")
    assert [i["weekend"] for i in json.loads(r.stdout)["infusions"]] == [False, False]


def test_markdown_quotes_are_blockquotes_after_a_blank_line():
    md = run("advise", *FACTS, "--format", "markdown").stdout
    notes = md.split("## Notes", 1)[1]
    lines = md.splitlines()
    quotes = [i for i, line in enumerate(lines) if line.lstrip().startswith(">")]
    assert quotes and "    > “" in notes
    for i in quotes[1:]:  # (the first is the disclaimer at the top)
        assert lines[i].startswith("    > ") and lines[i - 1] == "", lines[i]
    assert not any(re.search(r"\S\s+> “", line) for line in lines)  # never a '>' in the middle of a line


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_the_id_is_shown_in_every_format(fmt, tmp_path):
    for command in (["advise", *FACTS], ["explain", "ocrelizumab", *FACTS], ["schedule", "ocrelizumab", "--start", "2027-01-04"]):
        r = run(*command, "--id", "MRN-0042", "--format", fmt)
        assert r.exit_code == 0, r.output
        assert "MRN-0042" in r.stdout, (command, fmt)
    case = tmp_path / "p.yaml"
    case.write_text("id: from-the-file\nms_type: ppms\nseverity: mild\n")
    assert "from-the-file" in run("advise", "--case", str(case), "--format", fmt).stdout


def test_ics_uids_hold_the_id_and_the_summary_names_the_infusion(tmp_path):
    uids = {}
    for person in ("anna", "ben"):
        out = tmp_path / f"{person}.ics"
        r = run("schedule", "natalizumab", "--start", "2027-01-04", "--count", "2", "--ics", str(out), "--id", person)
        assert r.exit_code == 0, r.output
        text = out.read_text().replace("\r\n ", "")
        uids[person] = re.findall(r"^UID:(.*)$", text, re.M)
        assert all(person in uid for uid in uids[person])
        assert re.findall(r"^SUMMARY:(.*?)\r?$", text, re.M) == ["Natalizumab infusion"] * 2
    assert not set(uids["anna"]) & set(uids["ben"])
    out = tmp_path / "ocr.ics"
    run("schedule", "ocrelizumab", "--start", "2027-01-04", "--count", "3", "--ics", str(out))
    assert "SUMMARY:Ocrelizumab infusion 600 mg (maintenance)" in out.read_text().replace("\r\n ", "")


@pytest.mark.parametrize("args", [["advise", "--prior-failures", "two"], ["advise", "--no-such-option"], ["no-such-command"],
                                  ["schedule", "natalizumab"], ["explain"]])
def test_click_usage_errors_are_one_line_on_stderr(args):
    r = run(*args)
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("ms-advisor: ") and "--help" in r.stderr


# --- input -----------------------------------------------------------------------------------------

def test_condition_adds_to_the_case_file_and_no_condition_clears(tmp_path):
    case = tmp_path / "p.yaml"
    case.write_text("ms_type: relapsing\nseverity: mild\nconditions: [cancer]\n")

    def facts(*extra):
        return json.loads(run("advise", "--case", str(case), *extra, "--format", "json").stdout)["facts"]["conditions"]

    assert facts() == ["cancer"]
    assert facts("--condition", "pml") == ["cancer", "pml"]
    assert facts("--no-condition") == []
    assert facts("--no-condition", "--condition", "pml") == ["pml"]
    assert "added to the file's conditions" in " ".join(run("advise", "--help").stdout.split())


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


def test_interview_end_of_input_exits_2_with_a_message(tmp_path):
    saved = tmp_path / "never.yaml"
    r = run("interview", "--save", str(saved), input="spms\nsevere\n")
    assert r.exit_code == 2 and r.stdout == "" and not saved.exists()
    assert "input ended before every question was answered" in r.stderr and "Aborted" not in r.stderr


def test_the_facts_schema_accepts_what_ms_advisor_accepts():
    schema = json.loads(run("schema", "facts").stdout)
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


# --- library ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["tysabri", "Tysabri", "TYSABRI", "natalizumab", "Natalizumab", " natalizumab "])
def test_recommendation_drug_takes_every_name_the_cli_takes(name):
    assert advise({"ms_type": "relapsing", "severity": "mild"}).drug(name).drug == "natalizumab"


def test_an_unknown_drug_is_a_key_error_listing_the_drugs():
    rec = advise({"ms_type": "relapsing", "severity": "mild"})
    with pytest.raises(KeyError) as e:
        rec.drug("aspirin")
    assert isinstance(e.value, UnknownDrug) and isinstance(e.value, AdvisorError)
    assert str(e.value) == "unknown drug 'aspirin' (allowed: alemtuzumab, natalizumab, mitoxantrone, ocrelizumab)"
    r = run("explain", "aspirin", *FACTS)
    assert r.exit_code == 2 and "allowed: alemtuzumab" in r.stderr


def test_one_base_for_every_library_error():
    from advisor.batch import BatchError

    for cls in (InvalidFacts, KnowledgeBaseError, CaseFileError, UnknownDrug, BatchError):
        assert issubclass(cls, AdvisorError)
    with pytest.raises(AdvisorError):
        advise({"ms_type": "cis", "severity": "mild"})
    from advisor.batch import read_case

    with pytest.raises(CaseFileError):
        read_case("/nonexistent/case.yaml")


def test_public_names_have_docstrings_with_an_example():
    import doctest

    from advisor import batch, errors, render, schedule
    from advisor.core import advisor as core
    from advisor.core import models as models
    from advisor.core import schemas as schema
    from advisor.batch import readers

    for obj in (advisor, advisor.advise, advisor.Advisor, advisor.Recommendation, advisor.Recommendation.drug,
                models.DrugAdvice, batch.evaluate, batch.read_paths, core.Advisor.explain):
        assert obj.__doc__ and ">>>" in obj.__doc__, obj
    for module in (advisor, errors, models, core, render, schedule, schema, batch, readers, advisor.api):
        failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert failed == 0, module.__name__


