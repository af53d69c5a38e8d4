"""Conditions: the vocabulary is the KB's (its descriptions shown in the schema, the help and the
interview; a broken one refused at load), old names still accepted, a condition taken as people write it
or by its label on every path, an unknown one naming the nearest, the `conditions` command and
`--condition` on a case file."""

import json
import re
import tomllib

import pytest
from click.testing import CliRunner
from serve_helpers import serve_app  # noqa: F401 (fixture)

from advisor import Condition, InvalidFacts, KnowledgeBaseError, PatientFacts, advise
from advisor.cli import main
from advisor.kb.load import default_directory, load
from advisor.kb.vocabulary import CONDITIONS
from advisor.render import emit

KB_DIR = default_directory()


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, env={"NO_COLOR": "1"})


def flat(text):
    return " ".join(text.split())


def run_as_ms_advisor(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, prog_name="ms-advisor")


WRITTEN = ["Heart failure", "heart failure", " HEART-FAILURE ", "heart  failure", "heart_failure"]


FACTS = ["--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]


def run_at_100_columns(*args, input=None, env=None, color=False):
    return CliRunner().invoke(main, list(args), input=input, env={"COLUMNS": "100", **(env or {})}, color=color)


# --- the vocabulary is the KB's -----------------------------------------------------------------------------

def test_the_vocabulary_is_the_kbs():
    items = tomllib.loads((KB_DIR / "conditions.toml").read_text("utf-8"))["condition"]
    assert [c.value for c in Condition] == [i["id"] for i in items]
    assert {"other_autoimmune_disease", "allergies", "past_infusion_reaction"} <= {c.value for c in Condition}
    assert all(i["description"] for i in items)


def test_descriptions_shown_in_schema_help_and_interview():
    schema = json.loads(run("schema", "facts").stdout)
    described = json.dumps(schema)
    assert "the hepatitis B virus is already in the person's system" in described
    assert "a history of PML" in described and "current or frequent infections" in described
    assert "other_autoimmune_disease" in schema["properties"]["conditions"]["items"]["examples"]
    assert "autoimmune_disease" not in schema["properties"]["conditions"]["items"]["examples"]  # an alias: accepted, not offered
    assert re.fullmatch(schema["properties"]["conditions"]["items"]["pattern"], "Autoimmune_Disease")
    assert "the shingles virus is already in the person's system" in flat(run("conditions").stdout)  # advise --help points there
    r = run("interview", "--format", "json", input="ppms\nmild\n0\nn\n0\nautoimmune_disease, allergies\n")
    assert r.exit_code == 0, r.output
    assert "a history of PML" in r.stderr
    assert json.loads(r.stdout)["facts"]["conditions"] == ["other_autoimmune_disease", "allergies"]


def test_a_broken_vocabulary_is_refused_at_load(kb_copy):
    path = kb_copy / "conditions.toml"
    path.write_text(path.read_text("utf-8").replace('aliases = ["autoimmune_disease"]', 'aliases = ["pml"]'), "utf-8")
    with pytest.raises(KnowledgeBaseError) as e:
        load(kb_copy)
    assert any(f == "conditions.toml" and "'pml' names two conditions" in m for f, _, m in e.value.problems)


def test_old_name_accepted_everywhere_and_reported_under_the_new_one(tmp_path):
    facts = {"ms_type": "relapsing", "severity": "mild", "conditions": ["autoimmune_disease"]}
    rec = advise(facts)
    assert [c.value for c in rec.facts.conditions] == ["other_autoimmune_disease"]
    assert rec.drug("alemtuzumab").cautions[0].condition.value == "other_autoimmune_disease"
    assert Condition("autoimmune_disease") is Condition.other_autoimmune_disease is Condition.autoimmune_disease
    assert PatientFacts.parse({**facts, "conditions": ["Autoimmune_Disease"]}).conditions == (Condition.other_autoimmune_disease,)
    r = run("advise", "--ms-type", "relapsing", "--severity", "mild", "--condition", "autoimmune_disease", "--format", "json")
    assert json.loads(r.stdout)["facts"]["conditions"] == ["other_autoimmune_disease"]
    case = tmp_path / "p.yaml"
    case.write_text("ms_type: relapsing\nseverity: mild\nconditions: [autoimmune_disease]\n")
    assert json.loads(run("advise", "--case", str(case), "--format", "json").stdout)["facts"]["conditions"] == ["other_autoimmune_disease"]
    csv = tmp_path / "c.csv"
    csv.write_text("id,ms_type,severity,conditions\nc1,relapsing,mild,autoimmune_disease;pml\n")
    out = tmp_path / "o.jsonl"
    assert run("batch", str(csv), "--out", str(out)).exit_code == 0
    record = json.loads(out.read_text())
    assert record["cautions"]["alemtuzumab"] == ["other_autoimmune_disease"]


def test_the_conditions_command_lists_each_condition_with_its_description():
    r = run_as_ms_advisor("conditions")
    assert r.exit_code == 0
    from advisor.kb.vocabulary import LABELS

    for c in CONDITIONS:
        assert re.search(rf"^{c.id} — {LABELS[c.id]}$", r.stdout, re.M) and c.description[:30] in r.stdout
    data = json.loads(run_as_ms_advisor("conditions", "--format", "json").stdout)
    assert [d["id"] for d in data] == [c.id for c in CONDITIONS] and data[0]["description"] == CONDITIONS[0].description


# --- a condition as people write it, or by its label --------------------------------------------------------

@pytest.mark.parametrize("written", WRITTEN)
def test_a_condition_is_taken_as_written_by_the_library_and_the_command_line(written):
    assert advise({"ms_type": "spms", "severity": "mild", "conditions": [written]}).facts.conditions[0].value == "heart_failure"
    r = run_as_ms_advisor("advise", *FACTS, "--condition", written, "--condition", "Hepatitis B", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["facts"]["conditions"] == ["heart_failure", "hepatitis_b"]


def test_a_condition_is_taken_as_written_in_case_files_batch_and_the_schema(tmp_path):
    case = tmp_path / "p.yaml"
    case.write_text("ms_type: relapsing\nseverity: severe\nconditions: [Heart failure, other autoimmune disease, Autoimmune-Disease]\n")
    r = run_as_ms_advisor("advise", "--case", str(case), "--format", "json")
    assert json.loads(r.stdout)["facts"]["conditions"] == ["heart_failure", "other_autoimmune_disease"], r.output
    rows = tmp_path / "rows.csv"
    rows.write_text("id,ms_type,severity,conditions\na,spms,mild,Heart failure;Hepatitis B\n")
    out = tmp_path / "out.jsonl"
    r = run_as_ms_advisor("batch", str(rows), "--out", str(out), "--echo-facts")
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["facts"]["conditions"] == ["heart_failure", "hepatitis_b"]
    pattern = json.loads(run_as_ms_advisor("schema", "facts").stdout)["properties"]["conditions"]["items"]["pattern"]
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


def test_interview_takes_conditions_as_written_and_names_the_nearest():
    r = run_as_ms_advisor("interview", "--format", "json", input="spms\nsevere\n1\nn\n0\nheart failure, hep_b\nHeart Failure; Hepatitis-B\n")
    assert r.exit_code == 0, r.output
    assert "Error: unknown condition 'hep_b', did you mean 'hepatitis_b'?" in r.stderr
    assert json.loads(r.stdout)["facts"]["conditions"] == ["heart_failure", "hepatitis_b"]


def test_a_condition_is_taken_by_its_label_and_a_label_cannot_name_another_condition():
    from advisor.kb.vocabulary import LABELS, NAMES, ConditionItem, lookup, names_of, vocabulary_problems

    for cid, label in LABELS.items():  # the KB's labels ("Hepatitis B", "PML") on every path
        assert lookup(label).value == cid and lookup(f"  {label.upper()} ").value == cid
    pml = ConditionItem(id="pml", label="History of PML", description="a history of PML")
    assert names_of((pml,)) == {"history_of_pml": "pml", "pml": "pml"}  # a label unlike its id is a name too
    cancer = ConditionItem(id="cancer", label="PML", description="cancer")
    assert vocabulary_problems([pml, cancer]) == ["cancer: its label 'PML' names another condition (pml)"]
    assert set(NAMES.values()) == set(LABELS)


def test_markdown_names_conditions_by_their_labels():
    rec = advise({"ms_type": "spms", "severity": "severe", "conditions": ["heart_failure", "pml"]})
    assert "- **Conditions:** Heart failure, PML" in emit(rec, "markdown")
    explained = run("explain", "mitoxantrone", "--ms-type", "spms", "--severity", "severe", "--condition", "heart_failure",
                    "--format", "markdown")
    assert "- **Conditions:** Heart failure" in explained.stdout and "heart_failure," not in explained.stdout


# --- an unknown condition -----------------------------------------------------------------------------------

@pytest.mark.parametrize("written,near", [("hep_b", "hepatitis_b"), ("hepatits b", "hepatitis_b"), ("Heart failur", "heart_failure"),
                                          ("autoimune disease", "other_autoimmune_disease"), ("gout", None)])
def test_an_unknown_condition_names_the_nearest_and_items_count_from_1(written, near):
    r = run_as_ms_advisor("advise", *FACTS, "--condition", "pml", "--condition", written)
    assert r.exit_code == 2 and r.stdout == ""
    hint = f", did you mean '{near}'?" if near else " (allowed: "
    assert f"conditions: item 2: unknown condition '{written}'{hint}" in r.stderr, r.stderr
    assert "item 0" not in r.stderr


def test_a_huge_unknown_condition_is_named_in_short_and_given_no_suggestion():
    with pytest.raises(InvalidFacts) as e:
        advise({"ms_type": "spms", "severity": "mild", "conditions": ["hepatitis_b" * 20_000]})
    assert len(str(e.value)) < 600 and "did you mean" not in str(e.value) and "'..." in str(e.value)


# --- --condition and a case file ----------------------------------------------------------------------------

def test_condition_adds_to_the_case_file_and_no_condition_clears(tmp_path):
    case = tmp_path / "p.yaml"
    case.write_text("ms_type: relapsing\nseverity: mild\nconditions: [cancer]\n")

    def facts(*extra):
        return json.loads(run_at_100_columns("advise", "--case", str(case), *extra, "--format", "json").stdout)["facts"]["conditions"]

    assert facts() == ["cancer"]
    assert facts("--condition", "pml") == ["cancer", "pml"]
    assert facts("--no-condition") == []
    assert facts("--no-condition", "--condition", "pml") == ["pml"]
    assert "added to the file's conditions" in " ".join(run_at_100_columns("advise", "--help").stdout.split())
