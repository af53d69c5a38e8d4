"""What `ms-advisor batch` writes besides the records' decisions: the summary (its commonest errors, in
bounded memory, --summary-json), echoed facts, progress, CSV for spreadsheets (delimiter, BOM, formulas
neutralised, controls escaped, the fast path's bytes equal to the plain path's) and a fifth drug's columns."""

import csv
import io
import json
import re
import types

import pytest
from click.testing import CliRunner

from advisor import Advisor
from advisor.batch import CaseOptions, run, runner
from advisor.batch.chunks import Worker
from advisor.batch.runner import terminal_progress
from advisor.batch.sources import JsonlBlock
from advisor.batch.writers import Format, writer_for
from advisor.cli import main


def cli(*args, input=None):
    return CliRunner().invoke(main, ["batch", *args], input=input)


CASE = '{"id":"ok","ms_type":"spms","severity":"mild"}'


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


CASE_FACTS = {"id": "a", "ms_type": "spms", "severity": "severe", "prior_failures": 2, "conditions": ["pml"]}


EXPORT = ("patient_id;ms_type;severity;prior_failures;rapidly_worsening;conditions;site;Age\n"
          "p-001;spms;severe;2.0;yes;pml,cancer;Leeds;40\np-002;relapsing;mild;;no;;York;\n")


def run_records(paths, fmt="jsonl", **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, fmt=fmt, **kw)
    text = out.getvalue()
    return (text if fmt != "jsonl" else [json.loads(line) for line in text.splitlines()]), summary


@pytest.fixture
def five_drugs(kb_copy):
    """The shipped KB with a fifth drug (a copy of ocrelizumab's entries under another id)."""
    drugs = (kb_copy / "drugs.toml").read_text("utf-8")
    block = drugs[drugs.rindex("[[drug]]"):]
    (kb_copy / "drugs.toml").write_text(drugs + "\n" + block.replace('id = "ocrelizumab"', 'id = "testdrug"')
                                        .replace('name = "Ocrelizumab"', 'name = "Testdrug"')
                                        .replace('brand = "Ocrevus"', 'brand = "Testbrand"'), "utf-8")
    rules = (kb_copy / "decisions.toml").read_text("utf-8")
    block = rules[rules.index("[[rule]]\nid = \"ocrelizumab.relapsing\""):]
    block = block.replace('id = "ocrelizumab.', 'id = "testdrug.').replace('drug = "ocrelizumab"', 'drug = "testdrug"')
    (kb_copy / "decisions.toml").write_text(rules + "\n" + block, "utf-8")
    # every drug fills every row of the comparison grid: the fifth drug's cells are ocrelizumab's
    grid = (kb_copy / "compare.toml").read_text("utf-8")
    grid = re.sub(r"(\[row\.cells\.ocrelizumab\]\n)((?:(?!\[)[^\n]*\n)*)", lambda m: m.group(0) + "[row.cells.testdrug]\n" + m.group(2), grid)
    (kb_copy / "compare.toml").write_text(grid, "utf-8")
    return kb_copy


def run_text(paths, **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, **kw)
    return out.getvalue(), summary


# --- the summary --------------------------------------------------------------------------------------------

def test_the_summary_shows_the_commonest_errors_with_counts_and_first_ids_before_rule_coverage(tmp_path):
    f = tmp_path / "e.jsonl"
    lines = [CASE.replace('"ok"', f'"g{i}"') for i in range(5)]
    lines += [f'{{"id":"pf{i}","ms_type":"spms","severity":"mild","prior_failures":-1}}' for i in range(7)]
    lines += [f'{{"id":"t{i}","ms_type":"cis","severity":"mild"}}' for i in range(2)] + ["{oops"]
    f.write_text("\n".join(lines) + "\n")
    for workers in ("1", "2"):
        r = cli(str(f), "--out", "-", "--workers", workers, "--summary-json", str(tmp_path / f"s{workers}.json"))
        err = r.stderr.splitlines()
        at = err.index("most common errors (3 of 3 distinct):")
        assert err[at + 1] == "  7 × prior_failures: must be a whole number from 0 to 1000  (first: pf0, pf1, pf2, …)"
        assert err[at + 2] == "  2 × ms_type: unknown MS type 'cis'  (first: t0, t1)"
        assert err[at + 3] == f"  1 × (case): not valid JSON: Expecting property name enclosed in double quotes at column 2  (first: {f}:15)"
        assert err[at + 4].startswith("rule")
        common = json.loads((tmp_path / f"s{workers}.json").read_text())["common_errors"]
        assert [(c["cases"], c["first_ids"]) for c in common] == [(7, ["pf0", "pf1", "pf2"]), (2, ["t0", "t1"]), (1, [f"{f}:15"])]


def test_the_summary_counts_messages_in_bounded_memory(monkeypatch):
    from advisor.batch import summary as summary_module
    monkeypatch.setattr(summary_module, "MESSAGES", 3)
    from advisor.batch import RawCase, run_items
    cases = [RawCase(f"#{i}", "object", {"id": f"x{i}", "ms_type": f"bad{i}", "severity": "mild"}) for i in range(10)]
    s = run_items(cases, io.StringIO())
    assert len(s.messages) == 3 and s.other_messages == 7 and "(3 of 4 distinct)" in s.text()


def test_an_invisible_byte_order_mark_in_a_header_is_shown_escaped_in_the_summary(tmp_path):
    """A second BOM (two exports joined) made "unknown column 'id' (did you mean id?)" on the terminal."""
    f = tmp_path / "b.csv"
    f.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbfid,ms_type,severity\na,spms,mild\n")
    r = cli(str(f), "--out", str(tmp_path / "r.jsonl"))
    assert "unknown column '\\ufeffid' (did you mean id?)" in r.stderr and "\ufeff" not in r.stderr, r.stderr


def test_summary_json_and_echo_facts(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps(CASE_FACTS) + "\n" + '{"id":"bad","ms_type":"x","severity":"mild"}\n'
                 + json.dumps({**CASE_FACTS, "id": "e", "expect": {"listed": []}}) + "\n")
    s = tmp_path / "summary.json"
    r = cli(str(f), "--out", str(tmp_path / "o.jsonl"), "--summary-json", str(s), "--echo-facts")
    assert r.exit_code == 1
    summary = json.loads(s.read_text())
    kb = Advisor().kb
    assert summary["knowledge_base"] == {"name": kb.header.name, "version": kb.header.version, "sha256": kb.sha256}
    assert (summary["cases"], summary["valid"], summary["invalid"], summary["expectation_failures"]) == (3, 2, 1, 1)
    assert set(summary["status"]) == set(kb.drug_ids) and summary["status"]["alemtuzumab"]["applicable"] == 2
    assert summary["invalid_cases"][0]["id"] == "bad" and summary["expectation_failure_cases"][0]["id"] == "e"
    assert summary["rule_coverage"]["rules"] == len(kb.rules) + len(kb.cautions) and summary["seconds"] >= 0
    first = records((tmp_path / "o.jsonl").read_text())[0]
    assert first["facts"]["ms_type"] == "spms" and first["facts"]["conditions"] == ["pml"]


def test_progress_shows_share_read_and_eta(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True
    stream = Tty()
    clock = iter([100.0, 100.6])  # the start, then a show 0.6 s later (past the 0.5 s refresh), without sleeping
    monkeypatch.setattr(runner, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    show = terminal_progress(stream)
    show(1000, 250, 1000)
    assert re.search(r"1,000 cases, [\d,]+/s, 25% read, ETA \d+:\d\d", stream.getvalue())
    assert terminal_progress(io.StringIO()) is None


# --- CSV output ---------------------------------------------------------------------------------------------

def test_csv_output_takes_the_input_delimiter_or_its_own_and_a_bom_for_excel(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text(EXPORT)
    base = [str(f), "--map", "patient_id=id", "--extra", "ignore", "--out", "-", "--format", "csv"]
    same = cli(*base, "--delimiter", ";")
    assert same.exit_code == 0 and same.stdout.startswith("id;source;ok;error;listed;status.")
    rows = list(csv.DictReader(io.StringIO(same.stdout), delimiter=";"))
    assert [r["id"] for r in rows] == ["p-001", "p-002"] and rows[0]["cautions.ocrelizumab"] == "pml;cancer"
    tab = cli(*base, "--out-delimiter", "tab")
    assert tab.stdout.startswith("id\tsource\tok\t") and len(list(csv.DictReader(io.StringIO(tab.stdout), delimiter="\t"))) == 2
    assert cli(*base).stdout.startswith("id,source,ok,")  # sniffed input; comma output as before
    out = tmp_path / "r.csv"
    assert cli(*base[:-4], "--out", str(out), "--format", "csv", "--bom").exit_code == 0
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfid,source,") and data.count(b"\xef\xbb\xbf") == 1
    r = cli(str(f), "--out", "-", "--bom")
    assert r.exit_code == 2 and "--bom: only with --format csv" in r.output
    assert "--out-delimiter: one character" in cli(*base, "--out-delimiter", "ab").output
    assert "another control character" in cli(*base, "--out-delimiter", "\x1b").output  # never raw on a terminal


def test_echoed_facts_and_kept_columns_are_columns_of_their_own(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text(EXPORT)
    j = tmp_path / "more.jsonl"
    j.write_text('{"id":"j1","ms_type":"ppms","severity":"mild","note":"x","tags":["a","b"]}\n')
    r = cli(str(f), str(j), "--map", "patient_id=id", "--extra", "keep", "--echo-facts", "--out", "-", "--format", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    header = r.stdout.splitlines()[0].split(",")
    assert "facts" not in header and header[header.index("facts.ms_type") - 1] == "differences"
    assert [c for c in header if c.startswith("input")] == ["input.site", "input.Age", "input"]
    assert (rows[0]["facts.prior_failures"], rows[0]["facts.rapidly_worsening"], rows[0]["facts.conditions"]) == ("2", "true", "pml;cancer")
    assert (rows[0]["input.site"], rows[0]["input.Age"], rows[0]["input"]) == ("Leeds", "40", "")
    assert (rows[1]["input.site"], rows[1]["input.Age"]) == ("York", "")
    assert rows[2]["input.site"] == "" and json.loads(rows[2]["input"]) == {"note": "x", "tags": ["a", "b"]}  # JSON's extras


@pytest.mark.parametrize("fmt", [Format("csv", delimiter=";"), Format("csv", delimiter="\t", bom=True, fact_columns=True)])
def test_fast_path_gives_the_same_bytes_as_the_plain_path_for_csv_options(fmt):
    lines = [CASE.replace('"ok"', f'"c{i}"') for i in range(50)] + ['{"id":"c3","ms_type":"x","severity":"mild"}', "{oops", ""]
    block = JsonlBlock("b.jsonl", 1, "\n".join(lines).encode())
    advisor = Advisor()
    outs = [Worker(advisor, writer_for(fmt, advisor.drug_ids), CaseOptions(), fast=fast).process(block)[:3] for fast in (True, False)]
    assert outs[0] == outs[1]


def test_csv_output_neutralises_formulas(tmp_path):
    f = tmp_path / "f.jsonl"
    f.write_text('{"id":"=HYPERLINK(1)","ms_type":"spms","severity":"mild"}\n{"id":"+1","ms_type":"spms"}\n'
                 '{"id":"@x","ms_type":"spms","severity":"mild"}\n{"id":"-2","ms_type":"spms","severity":"mild"}\n'
                 '{"id":"\\tt","ms_type":"spms","severity":"mild"}\n{"id":"\\rr","ms_type":"spms","severity":"mild"}\n')
    text, _ = run_records([f], fmt="csv")
    import csv
    rows = list(csv.DictReader(io.StringIO(text)))
    # a leading tab or CR is shown escaped (as every control character in CSV output), so it starts no formula
    assert [r["id"] for r in rows] == ["'=HYPERLINK(1)", "'+1", "'@x", "'-2", "\\x09t", "\\x0dr"]


def test_csv_output_shows_control_characters_escaped(tmp_path):
    f = tmp_path / "e.jsonl"
    f.write_text('{"id":"\\u001b]0;TITLE\\u0007x","ms_type":"spms","severity":"severe"}\n')
    text, _ = run_records([f], fmt="csv")
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;TITLE\\x07x" in text


# --- a fifth drug -------------------------------------------------------------------------------------------

def test_a_fifth_drug_works_in_records_csv_and_summaries(five_drugs, tmp_path):
    advisor = Advisor(rules_dir=five_drugs)
    assert advisor.drug_ids[-1] == "testdrug"
    f = tmp_path / "c.jsonl"
    f.write_text('{"id":"p","ms_type":"ppms","severity":"mild"}\n')
    text, summary = run_text([f], advisor=advisor, fmt="csv")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["status.testdrug"] == "applicable" and "cautions.testdrug" in row and row["listed"] == "ocrelizumab;testdrug"
    assert summary.statuses["testdrug"]["applicable"] == 1 and "testdrug" in summary.text()
    r = cli(str(f), "--out", str(tmp_path / "o.jsonl"), "--rules-dir", str(five_drugs), "--summary-json", str(tmp_path / "s.json"))
    assert r.exit_code == 0 and "testdrug" in r.stderr
    assert json.loads((tmp_path / "s.json").read_text())["status"]["testdrug"]["applicable"] == 1
    assert records((tmp_path / "o.jsonl").read_text())[0]["status"]["testdrug"] == "applicable"
