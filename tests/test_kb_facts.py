"""A fact is described once, in the knowledge base (rules/facts.toml), and every surface takes it from
there: a KB that adds a fact (here a yes/no fact that one rule tests) works on each surface with no
code change, and a broken facts.toml is refused by the loader and by `kb check`, one line per problem."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import Advisor, InvalidFacts, KnowledgeBaseError
from advisor.cli import main
from advisor.kb.load import default_directory

NEW_FACT = '''
[[fact]]
id = "had_relapse_this_year"
kind = "yes_no"
default = false
label = "relapse this year"
help = "whether the person had a relapse in the last year"
question = "A relapse in the last year? (y/n)"
column = "relapse_last_year"
fhir = { code = "relapse-this-year", value = "boolean" }
'''
# alemtuzumab is described only with a relapse this year, in this test KB (its quote is the article's;
# the extra test is the point, not medicine)
RULE_WHEN = 'when = [{ fact = "prior_failures", op = ">=", value = 2 }]'
NEW_WHEN = 'when = [{ fact = "prior_failures", op = ">=", value = 2 }, { fact = "had_relapse_this_year", op = "==", value = true }]'
NO_RELAPSE_RULE = '''
[[rule]]
id = "alemtuzumab.no_relapse_this_year"
drug = "alemtuzumab"
status = "not_applicable"
when = [{ fact = "prior_failures", op = ">=", value = 2 }, { fact = "had_relapse_this_year", op = "==", value = false }]
text = "The article says doctors give alemtuzumab to people who have not responded well to at least two other MS drugs."
quote = "Doctors give alemtuzumab (Lemtrada) to people who haven’t responded well to at least two other MS medications."
section = "Alemtuzumab (Lemtrada)"
'''
BASE = {"ms_type": "relapsing", "severity": "severe", "prior_failures": 2}


def make_kb(target: Path) -> Path:
    shutil.copytree(default_directory(), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (target / "facts.toml").write_text((target / "facts.toml").read_text("utf-8") + NEW_FACT, "utf-8")
    decisions = (target / "decisions.toml").read_text("utf-8")
    assert decisions.count(RULE_WHEN) == 1
    (target / "decisions.toml").write_text(decisions.replace(RULE_WHEN, NEW_WHEN) + NO_RELAPSE_RULE, "utf-8")
    return target


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory):
    return make_kb(tmp_path_factory.mktemp("facts") / "rules")


@pytest.fixture(scope="module")
def advisor(kb_dir):
    return Advisor(kb_dir)


def alemtuzumab(rec: dict) -> str:
    return next(d["status"] for d in rec["drugs"] if d["drug"] == "alemtuzumab")


def test_the_library_decides_on_a_fact_the_kb_adds(advisor):
    assert advisor.advise({**BASE, "had_relapse_this_year": True}).drug("alemtuzumab").status.value == "applicable"
    rec = advisor.advise(BASE)  # not given: its default, false
    assert rec.drug("alemtuzumab").status.value == "not_applicable"
    assert rec.model_dump(mode="json")["facts"]["had_relapse_this_year"] is False
    what_if = [w for w in rec.drug("alemtuzumab").what_if if w.field == "had_relapse_this_year"]
    assert what_if and what_if[0].text == "The article describes alemtuzumab for people with relapse this year = yes."
    with pytest.raises(InvalidFacts) as e:
        advisor.advise({**BASE, "had_relapse_this_year": "maybe"})
    assert e.value.errors[0]["field"] == "had_relapse_this_year" and e.value.errors[0]["allowed"] == ["true", "false"]
    assert "must be true or false" in str(e.value)
    with pytest.raises(InvalidFacts, match="had_relapse_this_year: unknown field"):  # the packaged KB's model is its own
        Advisor().advise({**BASE, "had_relapse_this_year": True})


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, list(args), input=input)


def test_the_command_line_takes_any_fact_of_the_kb_with_fact(kb_dir):
    base = ["--rules-dir", str(kb_dir), "--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2", "--format", "json"]
    yes = run("advise", *base, "--fact", "had_relapse_this_year=yes")
    assert yes.exit_code == 0, yes.output
    assert alemtuzumab(json.loads(yes.output)) == "applicable"
    no = run("advise", *base, "--fact", "had_relapse_this_year=no")
    assert alemtuzumab(json.loads(no.output)) == "not_applicable"
    bad = run("advise", *base, "--fact", "had_relapse_this_year=perhaps")
    assert bad.exit_code == 2 and "had_relapse_this_year" in bad.output and "yes or no" in bad.output, bad.output
    unknown = run("advise", *base, "--fact", "relapse=yes")
    assert unknown.exit_code == 2 and "relapse: unknown field" in unknown.output and "had_relapse_this_year" in unknown.output
    # a packaged fact by --fact too, and a value for a named option's fact
    same = run("advise", "--rules-dir", str(kb_dir), "--fact", "ms_type=spms", "--fact", "severity=severe", "--format", "json")
    assert same.exit_code == 0 and json.loads(same.output)["facts"]["ms_type"] == "spms", same.output
    explained = run("explain", "alemtuzumab", *base, "--fact", "had_relapse_this_year=yes")
    assert explained.exit_code == 0 and "Warning" not in explained.output, explained.output
    assert json.loads(explained.output)["recommendation"]["facts"]["had_relapse_this_year"] is True
    table = run("advise", *base[:-2], "--fact", "had_relapse_this_year=y", "--format", "table").output
    assert "relapse this year: yes" in " ".join(table.split()), table
    markdown = run("advise", *base[:-2], "--fact", "had_relapse_this_year=y", "--format", "markdown").output
    assert "- **Relapse this year:** yes" in markdown


def test_batch_reads_the_fact_from_csv_and_jsonl(kb_dir, tmp_path):
    csv = tmp_path / "cases.csv"
    csv.write_text("id,ms_type,severity,prior_failures,Relapse last year\na,relapsing,severe,2,yes\nb,relapsing,severe,2,no\n")
    jsonl = tmp_path / "cases.jsonl.gz"
    jsonl.write_bytes(gzip.compress(b"".join(json.dumps({"id": i, **BASE, "had_relapse_this_year": v}).encode() + b"\n"
                                             for i, v in (("a", True), ("b", False)))))
    for source in (csv, jsonl):
        out = tmp_path / f"{source.name}.out.jsonl"
        result = run("batch", str(source), "--out", str(out), "--rules-dir", str(kb_dir), "--echo-facts")
        assert result.exit_code == 0, result.output
        records = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
        assert records["a"]["status"]["alemtuzumab"] == "applicable", records
        assert records["b"]["status"]["alemtuzumab"] == "not_applicable"
        assert records["a"]["facts"]["had_relapse_this_year"] is True


def test_the_facts_schema_describes_the_kbs_fact(kb_dir):
    result = run("schema", "facts", "--rules-dir", str(kb_dir))
    assert result.exit_code == 0, result.output
    prop = json.loads(result.output)["properties"]["had_relapse_this_year"]
    assert prop["type"] == "boolean" and prop["description"] == "whether the person had a relapse in the last year"


def test_the_interview_asks_the_kbs_question(kb_dir):
    answers = "relapsing\nsevere\n2\nn\n\ny\n\n"
    result = CliRunner().invoke(main, ["interview", "--rules-dir", str(kb_dir), "--format", "json"], input=answers)
    assert result.exit_code == 0, result.output
    assert "A relapse in the last year? (y/n)" in result.output
    assert '"had_relapse_this_year": true' in result.output


def test_the_json_api_and_the_web_form_take_the_fact(kb_dir, tmp_path):
    from fastapi.testclient import TestClient

    from advisor.serve.app import Settings, create_app

    app = create_app(Settings(rules_dir=str(kb_dir), db=str(tmp_path / "log.db")))
    with TestClient(app) as client:
        r = client.post("/advise", json={**BASE, "had_relapse_this_year": True})
        assert r.status_code == 200, r.text
        assert alemtuzumab(r.json()) == "applicable"
        assert client.get("/schema/facts").json()["properties"]["had_relapse_this_year"]["type"] == "boolean"
        form = client.get("/")
        assert 'name="had_relapse_this_year"' in form.text and "Relapse this year" in form.text
        page = client.get("/advice", params={**BASE, "had_relapse_this_year": "true"})
        assert page.status_code == 200, page.text
        no = client.get("/advice", params={**BASE})
        assert page.text != no.text
        bad = client.get("/advice", params={**BASE, "had_relapse_this_year": "perhaps"})
        assert "had_relapse_this_year" in bad.text or "Relapse this year" in bad.text


def test_a_cds_card_reads_the_fact_from_its_observation(kb_dir, tmp_path):
    from fastapi.testclient import TestClient
    from serve_helpers import condition, hook, observation

    from advisor.serve.app import Settings, create_app

    app = create_app(Settings(rules_dir=str(kb_dir), db=str(tmp_path / "log.db")))
    conditions = [condition("426373005", "severe")]
    with TestClient(app) as client:
        def cards(*observations):
            r = client.post("/cds-services/ms-infusion-advisor", json=hook(conditions, list(observations)))
            assert r.status_code == 200, r.text
            return r.json()["cards"]

        failures = observation("prior-treatment-failures", valueInteger=2)
        listed = [c["extension"]["ms-infusion-advisor"]["drug"] for c in cards(failures, observation("relapse-this-year", valueBoolean=True))]
        assert "alemtuzumab" in listed
        without = cards(failures)
        assert "alemtuzumab" not in [c["extension"]["ms-infusion-advisor"]["drug"] for c in without]
        assumed = [c for c in without if c["extension"]["ms-infusion-advisor"]["status"] == "defaults-assumed"]
        assert "relapse this year: no, assumed" in assumed[0]["summary"]


@pytest.mark.parametrize("edit, problem", [
    (lambda t: t.replace('kind = "yes_no"', 'kind = "flag"'), "facts.toml: had_relapse_this_year: kind: Input should be"),
    (lambda t: t.replace('id = "had_relapse_this_year"', 'id = "prior_failures"'),
     "facts.toml: prior_failures: fact id 'prior_failures' is also prior_failures's"),
    (lambda t: t.replace('default = false\nlabel = "relapse', 'label = "relapse'),
     "facts.toml: had_relapse_this_year: a yes_no fact is required (required = true) or has a default"),
    (lambda t: t.replace('values = [{ id = "mild" }', 'values = [{ id = "mild", aliases = ["moderate"] }'),
     "facts.toml: severity: 'moderate' names two values (ids and aliases must be unique)"),
    (lambda t: t.replace('id = "had_relapse_this_year"', 'id = "parse"'), "facts.toml: parse: 'parse' is a name the facts model has itself"),
    (lambda t: t + "".join(f'\n[[fact]]\nid = "f{i}"\nkind = "yes_no"\ndefault = false\n' for i in range(60)),
     "facts.toml: 67 facts (at most 64)"),
])
def test_kb_check_refuses_a_broken_facts_file_one_line_per_problem(kb_dir, tmp_path, edit, problem):
    broken = tmp_path / "rules"
    shutil.copytree(kb_dir, broken)
    (broken / "facts.toml").write_text(edit((broken / "facts.toml").read_text("utf-8")), "utf-8")
    result = run("kb", "check", "--rules-dir", str(broken))
    assert result.exit_code == 1, result.output
    assert any(line.startswith("problem: " + problem) for line in result.output.splitlines()), result.output
    with pytest.raises(KnowledgeBaseError):
        Advisor(broken)


def test_kb_check_refuses_a_rule_on_a_fact_or_value_the_kb_does_not_have(kb_dir, tmp_path):
    broken = tmp_path / "rules"
    shutil.copytree(kb_dir, broken)
    decisions = (broken / "decisions.toml").read_text("utf-8")
    (broken / "decisions.toml").write_text(decisions.replace('"had_relapse_this_year", op = "==", value = false',
                                                             '"had_relapse_this_year", op = "==", value = 1')
                                           .replace('value = "severe" }', 'value = "extreme" }', 1), "utf-8")
    output = run("kb", "check", "--rules-dir", str(broken)).output
    assert "had_relapse_this_year: tests a boolean with == or != true/false" in output
    assert "severity: unknown value 'extreme' (allowed: mild, moderate, severe)" in output
    (broken / "facts.toml").write_text((broken / "facts.toml").read_text("utf-8").replace(NEW_FACT, ""), "utf-8")
    assert "unknown fact 'had_relapse_this_year'" in run("kb", "check", "--rules-dir", str(broken)).output


def test_kb_check_passes_the_kb_with_the_new_fact(kb_dir):
    result = run("kb", "check", "--rules-dir", str(kb_dir))
    assert result.exit_code == 0, result.output


# --- a condition the KB adds (conditions.toml and a caution in cautions.toml): no code change either ---

NEW_CONDITION = '''
[[condition]]
id = "migraine"
label = "Migraine"
description = "migraine headaches"
'''
NEW_CAUTION = '''
[[caution]]
id = "alemtuzumab.migraine"
drug = "alemtuzumab"
condition = "migraine"
text = "Headache is among the more common side effects in the list taken by position as alemtuzumab's."
quote = "headache"
section = "Side Effects of the Drugs — the first unheaded list (taken by position as alemtuzumab’s)"
'''


@pytest.fixture(scope="module")
def condition_kb(tmp_path_factory):
    target = make_kb(tmp_path_factory.mktemp("conditions") / "rules")
    for name, text in (("conditions.toml", NEW_CONDITION), ("cautions.toml", NEW_CAUTION)):
        (target / name).write_text((target / name).read_text("utf-8") + text, "utf-8")
    return target


def test_a_condition_the_kb_adds_works_on_every_surface(condition_kb, tmp_path):
    person = {**BASE, "conditions": ["Migraine"]}
    rec = Advisor(condition_kb).advise(person)
    assert [c.condition.value for c in rec.drug("alemtuzumab").cautions] == ["migraine"]
    assert rec.model_dump(mode="json")["facts"]["conditions"] == ["migraine"]
    with pytest.raises(InvalidFacts, match="conditions: item 1: unknown condition 'migraine'"):  # the packaged KB's own
        Advisor().advise({**BASE, "conditions": ["migraine"]})
    base = ["--rules-dir", str(condition_kb), "--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]
    table = run("advise", *base, "--condition", "migraine", "--format", "table")
    assert table.exit_code == 0 and "caution (Migraine)" in table.output, table.output
    assert "migraine — Migraine" in run("conditions", "--rules-dir", str(condition_kb)).output
    schema = json.loads(run("schema", "facts", "--rules-dir", str(condition_kb)).output)
    assert "migraine" in schema["properties"]["conditions"]["items"]["examples"]
    csv = tmp_path / "cases.csv"
    csv.write_text("id,ms_type,severity,conditions\na,relapsing,severe,migraine\n")
    out = tmp_path / "out.jsonl"
    assert run("batch", str(csv), "--out", str(out), "--rules-dir", str(condition_kb)).exit_code == 0
    assert json.loads(out.read_text())["cautions"]["alemtuzumab"] == ["migraine"]
    interview = run("interview", "--rules-dir", str(condition_kb), "--format", "json", input="relapsing\nsevere\n0\nn\n\nn\nmigraine\n")
    assert interview.exit_code == 0 and "migraine: migraine headaches" in interview.output, interview.output


def test_the_service_and_the_form_take_a_condition_the_kb_adds(condition_kb, tmp_path):
    from fastapi.testclient import TestClient

    from advisor.serve.app import Settings, create_app

    app = create_app(Settings(rules_dir=str(condition_kb), db=str(tmp_path / "log.db")))
    with TestClient(app) as client:
        r = client.post("/advise", json={**BASE, "conditions": ["migraine"]})
        assert r.status_code == 200, r.text
        assert [c["condition"] for d in r.json()["drugs"] for c in d["cautions"]] == ["migraine"]
        assert 'value="migraine"' in client.get("/").text
        page = client.get("/advice", params=[*BASE.items(), ("condition", "migraine")])
        assert page.status_code == 200 and "Migraine" in page.text, page.text


# --- a status the KB adds (statuses.toml): no code change either ----------------------------------------

NEW_STATUS = '''
[[status]]
id = "ask_the_team"
label = "ASK THE TEAM"
words = "Ask the MS team"
meaning = "a test status: the test KB gives it without a relapse this year"
group = "The other drugs"
listed = false
'''


@pytest.fixture(scope="module")
def status_kb(tmp_path_factory):
    target = make_kb(tmp_path_factory.mktemp("statuses") / "rules")
    (target / "statuses.toml").write_text((target / "statuses.toml").read_text("utf-8") + NEW_STATUS, "utf-8")
    decisions = (target / "decisions.toml").read_text("utf-8")
    (target / "decisions.toml").write_text(decisions.replace('id = "alemtuzumab.no_relapse_this_year"\ndrug = "alemtuzumab"\n'
                                                             'status = "not_applicable"',
                                                             'id = "alemtuzumab.no_relapse_this_year"\ndrug = "alemtuzumab"\n'
                                                             'status = "ask_the_team"'), "utf-8")
    return target


def test_a_status_the_kb_adds_works_on_every_surface(status_kb, tmp_path):
    assert run("kb", "check", "--rules-dir", str(status_kb)).exit_code == 0
    rec = Advisor(status_kb).advise(BASE)
    assert rec.drug("alemtuzumab").status.value == "ask_the_team" and rec.drug("alemtuzumab").status.info.words == "Ask the MS team"
    assert alemtuzumab(rec.model_dump(mode="json")) == "ask_the_team"
    base = ["--rules-dir", str(status_kb), "--ms-type", "relapsing", "--severity", "severe", "--prior-failures", "2"]
    assert "ASK THE TEAM" in run("advise", *base, "--format", "table").output
    explained = run("explain", "alemtuzumab", *base, "--format", "json")
    assert explained.exit_code == 0 and "Warning" not in explained.output, explained.output
    jsonl = tmp_path / "cases.jsonl"
    jsonl.write_text(json.dumps({**BASE, "expect": {"status": {"alemtuzumab": "ask_the_team"}}}) + "\n")
    summary = tmp_path / "summary.json"
    result = run("batch", str(jsonl), "--out", str(tmp_path / "out.jsonl"), "--rules-dir", str(status_kb), "--summary-json", str(summary))
    assert result.exit_code == 0, result.output
    assert json.loads(summary.read_text())["status"]["alemtuzumab"]["ask_the_team"] == 1
    schema = json.loads(run("schema", "facts", "--rules-dir", str(status_kb)).output)
    assert "ask_the_team" in schema["properties"]["expect"]["properties"]["status"]["additionalProperties"]["enum"]

    from fastapi.testclient import TestClient

    from advisor.serve.app import Settings, create_app

    with TestClient(create_app(Settings(rules_dir=str(status_kb), db=str(tmp_path / "log.db")))) as client:
        assert alemtuzumab(client.post("/advise", json=BASE).json()) == "ask_the_team"
        assert "Ask the MS team" in client.get("/advice", params=BASE).text


def test_kb_check_passes_a_required_fact_no_rule_tests(kb_dir, tmp_path):
    kb = tmp_path / "rules"
    shutil.copytree(kb_dir, kb)
    (kb / "facts.toml").write_text((kb / "facts.toml").read_text("utf-8") + '''
[[fact]]
id = "route"
kind = "choice"
required = true
values = [{ id = "infusion" }, { id = "other" }]
''', "utf-8")
    result = run("kb", "check", "--rules-dir", str(kb))
    assert result.exit_code == 0, result.output
    missing = run("advise", "--rules-dir", str(kb), "--ms-type", "spms", "--severity", "mild")
    assert missing.exit_code == 2 and "route: is required" in missing.output, missing.output
    given = run("advise", "--rules-dir", str(kb), "--ms-type", "spms", "--severity", "mild", "--fact", "route=Infusion", "--format", "json")
    assert json.loads(given.output)["facts"]["route"] == "infusion"


def test_every_name_the_facts_model_has_itself_is_refused_as_a_fact_id():
    from advisor.core.facts import FactsBase
    from advisor.kb.facts import MODEL_NAMES

    assert {n for n in dir(FactsBase) if not n.startswith(("_", "model_"))} <= MODEL_NAMES
