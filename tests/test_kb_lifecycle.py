"""The knowledge base as a versioned, inspectable artefact: identity, decision table, diff, DMN, review."""

import csv
import io
import itertools
import json
import re
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from advisor import Advisor, advise
from advisor.cli import main
from advisor.kb.dmn import NS
from advisor.kb.diff import diff
from advisor.kb.table import decision_table, fact_classes, render

BASE = {"ms_type": "relapsing", "severity": "mild"}


def facts_for(example: dict) -> dict:
    return {**example, "prior_failures": int(example.get("prior_failures", 0))}


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# --- identity -----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_fingerprint_ignores_line_endings_and_sees_every_change(kb_copy):
    shipped = Advisor().kb.sha256
    assert re.fullmatch(r"[0-9a-f]{64}", shipped)
    assert Advisor(rules_dir=kb_copy).kb.sha256 == shipped  # same files elsewhere: same hash
    for path in [*kb_copy.glob("*.toml"), kb_copy / "sources" / "ms-infusions.txt"]:
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert Advisor(rules_dir=kb_copy).kb.sha256 == shipped
    kb = kb_copy / "kb.toml"
    kb.write_text(kb.read_text().replace('version = "1"', 'version = "1.1"'))
    assert Advisor(rules_dir=kb_copy).kb.sha256 != shipped


def test_a_change_to_the_source_changes_the_fingerprint(kb_copy):
    source = kb_copy / "sources" / "ms-infusions.txt"
    source.write_text(source.read_text() + "\nAn added line.\n")
    assert Advisor(rules_dir=kb_copy).kb.sha256 != Advisor().kb.sha256


def test_every_recommendation_names_its_knowledge_base():
    rec = advise(BASE)
    kb = Advisor().kb
    assert rec.kb.model_dump() == {"name": kb.header.name, "version": kb.header.version, "sha256": kb.sha256}
    assert rec.model_dump(mode="json")["kb"]["sha256"] == kb.sha256


def test_kb_info_command():
    out = run("kb", "info", "--format", "json")
    assert out.exit_code == 0
    info = json.loads(out.output)
    assert info["sha256"] == Advisor().kb.sha256 and info["status_rules"] == len(Advisor().kb.rules)
    assert f"sha256: {info['sha256']}" in run("kb", "info").output


# --- the decision table -----------------------------------------------------------------------------------

def expand(classes, row):
    """Every class combination a (merged) row stands for, as representative facts."""
    facts = list(classes)
    for combo in itertools.product(*(sorted(row.cells[f]) for f in facts)):
        yield {f: classes[f][i].value for f, i in zip(facts, combo)}, combo


@pytest.mark.parametrize("drugs", [None, ["mitoxantrone"], ["natalizumab", "ocrelizumab"]])
def test_every_row_of_the_table_is_what_advise_says_and_rows_partition_the_classes(drugs):
    advisor = Advisor()
    classes, rows = decision_table(advisor, drugs)
    covered = []
    for row in rows:
        for facts, combo in expand(classes, row):
            covered.append(combo)
            rec = advise(facts_for(facts))
            for drug, status in row.status.items():
                assert rec.drug(drug).status.value == status, (facts, drug)
                assert tuple(r.rule for r in rec.drug(drug).reasons) == row.rules[drug]
    assert len(covered) == len(set(covered)) == len(list(itertools.product(*classes.values())))


def test_table_merges_what_does_not_matter():
    classes, rows = decision_table(Advisor(), ["mitoxantrone"])
    text = render(classes, rows, "markdown").splitlines()
    assert len(rows) == 7 and len(text) == 9
    assert "| - | mild or moderate | - | - | < 140 | excluded | mitoxantrone.not_severe |" in text
    classes, rows = decision_table(Advisor(), ["natalizumab"])  # no criteria: one row, every fact "-"
    assert [r.status for r in rows] == [{"natalizumab": "no_criteria"}]


def test_number_classes_are_the_thresholds_intervals():
    classes = fact_classes(Advisor().kb)
    assert [c.label for c in classes["prior_failures"]] == ["< 2", ">= 2"]
    assert [c.label for c in classes["mitoxantrone_cumulative_mg_m2"]] == ["< 140", ">= 140"]


def test_table_command_formats():
    rows = list(csv.DictReader(io.StringIO(run("table", "--format", "csv").output)))
    assert rows and set(rows[0]) >= {"ms_type", "alemtuzumab", "ocrelizumab", "rules"}
    data = json.loads(run("table", "--format", "json", "--drug", "Tysabri").output)
    assert data["drugs"] == ["natalizumab"] and len(data["rows"]) == 1
    assert data["rows"][0]["status"] == {"natalizumab": "no_criteria"}
    assert run("table", "--drug", "nope").exit_code == 2


# --- kb diff ----------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_diff_of_identical_knowledge_bases_is_empty_and_exits_0(kb_copy):
    result = diff(Advisor(), Advisor(rules_dir=kb_copy))
    assert not result.decisions_changed
    assert all(not ids for parts in result.items.values() for ids in parts.values())
    assert run("kb", "diff", str(Advisor().kb.directory), str(kb_copy)).exit_code == 0


@pytest.mark.slow
def test_diff_names_the_classes_that_change_and_the_rules_that_changed(kb_copy):
    decisions = kb_copy / "decisions.toml"
    text = decisions.read_text()
    assert text.count('{ fact = "prior_failures", op = ">=", value = 2 }') == 1
    text = text.replace('{ fact = "prior_failures", op = ">=", value = 2 }', '{ fact = "prior_failures", op = ">=", value = 3 }')
    text = text.replace('{ fact = "prior_failures", op = "<", value = 2 }', '{ fact = "prior_failures", op = "<", value = 3 }')
    decisions.write_text(text)
    result = diff(Advisor(), Advisor(rules_dir=kb_copy))
    assert result.decisions_changed
    assert len(result.decisions) == 1
    row = result.decisions[0]
    assert row.status == {"alemtuzumab": "applicable → not_applicable"}
    labels = {f: c for f, c in result.as_dict()["decisions"][0]["when"].items()}
    assert labels == {"ms_type": "-", "severity": "-", "prior_failures": ">= 2 and < 3",
                      "rapidly_worsening": "-", "mitoxantrone_cumulative_mg_m2": "-"}
    changed = result.items["rules"]["changed"]
    assert any(c.startswith("alemtuzumab.two_or_more_failures (when") for c in changed)
    out = run("kb", "diff", str(Advisor().kb.directory), str(kb_copy))
    assert out.exit_code == 1
    assert "alemtuzumab applicable → not_applicable" in out.output


def test_diff_reports_added_and_removed_cautions(kb_copy):
    cautions = kb_copy / "cautions.toml"
    text = cautions.read_text()
    start = text.index("[[caution]]")
    end = text.index("[[caution]]", start + 1)
    removed_id = re.search(r'id = "([^"]+)"', text[start:end]).group(1)
    cautions.write_text(text[:start] + text[end:])
    result = diff(Advisor(), Advisor(rules_dir=kb_copy))
    assert result.items["cautions"]["removed"] == [removed_id]
    assert not result.decisions_changed



def test_diff_reports_changes_to_the_decision_aid_the_facts_and_the_header(kb_copy):
    """A reviewer sees every change, not only the rules': a comparison row, a term, a concern, a fact's
    help, a status, the header's fields and the source text are each named."""
    def edit(name, old, new):
        path = kb_copy / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) >= 1, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    edit("compare.toml", 'question = "Who is it for, in the article?"', 'question = "For whom, in the article?"')
    edit("terms.toml", 'forms = ["infusion reactions"]', 'forms = ["infusion reactions", "reactions to an infusion"]')
    edit("matters.toml", 'question = "Fewer infusion visits"', 'question = "Fewer visits for infusions"')
    edit("kb.toml", 'funding = "No one funds it."', 'funding = "No one funds it at all."')
    kb = Advisor(rules_dir=kb_copy).kb
    source = kb_copy / kb.header.source
    source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    result = diff(Advisor(), Advisor(rules_dir=kb_copy))
    assert result.items["compare"]["changed"] == ["for_whom (question)"]
    assert result.items["terms"]["changed"] == ["infusion_reaction (forms)"]
    assert result.items["matters"]["changed"] == ["fewer_visits (question)"]
    assert result.items["header"]["changed"] == ["kb.toml (funding)"]
    assert result.items["source"]["changed"] == ["source"]
    assert not any(result.items[kind][what] for kind in ("rules", "cautions", "drugs", "notes", "conditions", "facts", "statuses")
                   for what in ("added", "removed", "changed"))
    out = run("kb", "diff", str(Advisor().kb.directory), str(kb_copy))
    assert "Comparison rows (compare.toml): changed for_whom (question)" in out.output
    assert "Header (kb.toml): changed kb.toml (funding)" in out.output
    assert out.exit_code == 0  # no decision changes

# --- DMN --------------------------------------------------------------------------------------------------

def feel_unary(test: str, value) -> bool:
    """The FEEL unary tests the export writes: -, true/false, "a", "b", < n, <= n, > n, >= n, [a..b), n."""
    test = test.strip()
    if test == "-":
        return True
    if test in ("true", "false"):
        return value is (test == "true")
    if test.startswith('"'):
        return value in re.findall(r'"([^"]*)"', test)
    m = re.fullmatch(r"([\[(])([-\d.e]+)\.\.([-\d.e]+)([\])])", test)
    if m:
        low, high = float(m.group(2)), float(m.group(3))
        return (value >= low if m.group(1) == "[" else value > low) and (value <= high if m.group(4) == "]" else value < high)
    m = re.fullmatch(r"(<=|>=|<|>)\s*([-\d.e]+)", test)
    if m:
        n = float(m.group(2))
        return {"<": value < n, "<=": value <= n, ">": value > n, ">=": value >= n}[m.group(1)]
    return value == float(test)


def test_dmn_tables_evaluate_back_to_the_advisors_answers(tmp_path):
    advisor = Advisor()
    out = tmp_path / "kb.dmn"
    assert run("kb", "export", "--dmn", str(out)).exit_code == 0
    root = ET.parse(out).getroot()
    q = lambda tag: f"{{{NS}}}{tag}"  # noqa: E731
    assert root.tag == q("definitions")
    tables = {d.get("id"): d.find(q("decisionTable")) for d in root.findall(q("decision"))}
    assert set(tables) == {f"status_{d}" for d in advisor.drug_ids} | {"cautions"}
    classes = fact_classes(advisor.kb)
    for drug in advisor.drug_ids:
        table = tables[f"status_{drug}"]
        assert table.get("hitPolicy") == "UNIQUE"
        inputs = [i.find(q("inputExpression")).find(q("text")).text for i in table.findall(q("input"))]
        rules = [([e.find(q("text")).text for e in r.findall(q("inputEntry"))], r.find(q("outputEntry")).find(q("text")).text)
                 for r in table.findall(q("rule"))]
        for combo in itertools.product(*classes.values()):
            facts = {c.fact: c.value for c in combo}
            hits = [out for entries, out in rules if all(feel_unary(t, facts[f]) for t, f in zip(entries, inputs))]
            assert len(hits) == 1, (drug, facts, hits)  # UNIQUE holds
            assert hits[0] == f'"{advise(facts_for(facts)).drug(drug).status.value}"', (drug, facts)
    cautions = tables["cautions"]
    assert cautions.get("hitPolicy") == "COLLECT"
    entries = [(r.find(q("inputEntry")).find(q("text")).text, [o.find(q("text")).text for o in r.findall(q("outputEntry"))])
               for r in cautions.findall(q("rule"))]
    for c in advisor.kb.cautions:
        condition = getattr(c.condition, "value", c.condition)
        hits = [outs for test, outs in entries if f'"{condition}"' in test]
        assert [f'"{c.drug}"', f'"{c.id}"'] in hits
        rec = advise({**BASE, "conditions": [condition]})
        assert c.id in [x.rule for x in rec.drug(c.drug).cautions]


# --- review metadata ----------------------------------------------------------------------------------------

def _review_all(kb_dir, status="approved", except_id=None):
    for name in ("decisions.toml", "cautions.toml"):
        path = kb_dir / name
        out = []
        for line in path.read_text().splitlines():
            out.append(line)
            if line.startswith("id = ") and line != f'id = "{except_id}"':
                out += [f'review_status = "{status}"', 'reviewed_by = "A. Reviewer"', "reviewed_on = 2026-11-25"]
        path.write_text("\n".join(out) + "\n")


@pytest.mark.slow
def test_require_approved_fails_on_unreviewed_and_draft_rules_and_passes_when_all_are_approved(kb_copy):
    assert run("kb", "check").exit_code == 0
    shipped = run("kb", "check", "--require-approved")
    assert shipped.exit_code == 1 and "has no review" in shipped.output
    _review_all(kb_copy)
    assert run("kb", "check", "--rules-dir", str(kb_copy), "--require-approved").exit_code == 0
    assert str(Advisor(rules_dir=kb_copy).kb.rules[0].reviewed_on) == "2026-11-25"


def test_a_draft_rule_is_named(kb_copy):
    _review_all(kb_copy, except_id="mitoxantrone.not_severe")
    path = kb_copy / "decisions.toml"
    path.write_text(path.read_text().replace('id = "mitoxantrone.not_severe"', 'id = "mitoxantrone.not_severe"\nreview_status = "draft"'))
    out = run("kb", "check", "--rules-dir", str(kb_copy), "--require-approved")
    assert out.exit_code == 1
    assert "decisions.toml: mitoxantrone.not_severe: is a draft" in out.output
    assert "1 problem(s) found" in out.output


def test_review_status_outside_draft_or_approved_is_refused(kb_copy):
    path = kb_copy / "decisions.toml"
    path.write_text(path.read_text().replace('id = "mitoxantrone.not_severe"', 'id = "mitoxantrone.not_severe"\nreview_status = "ok"'))
    out = run("kb", "check", "--rules-dir", str(kb_copy))
    assert out.exit_code == 1 and "review_status" in out.output


@pytest.mark.parametrize("side", ["OLD_DIR", "NEW_DIR"])
def test_diff_errors_name_the_argument_and_the_path_given(tmp_path, kb_copy, side):
    """kb diff's errors name OLD_DIR or NEW_DIR and the path the user gave, never --rules-dir."""
    def diff_with(bad):
        args = [str(bad), str(kb_copy)] if side == "OLD_DIR" else [str(kb_copy), str(bad)]
        return CliRunner().invoke(main, ["kb", "diff", *args])

    missing = tmp_path / "no-such-kb"
    r = diff_with(missing)
    assert (r.exit_code, r.stderr) == (2, f"ms-advisor: {side}: {missing}: no such directory\n")
    broken = tmp_path / "broken-kb"
    broken.mkdir()
    (broken / "kb.toml").write_text("name = [\n")
    r = diff_with(broken)
    lines = r.stderr.splitlines()
    assert r.exit_code == 2 and lines[0] == f"ms-advisor: {side}: {broken}: invalid knowledge base:"
    assert "kb.toml: not valid TOML" in lines[1] and "conditions.toml: file is missing" in r.stderr
    assert "--rules-dir" not in r.stderr and "Traceback" not in r.stderr
    r = diff_with(tmp_path / "nul\x00kb")
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1 and side in r.stderr and "Traceback" not in r.stderr
