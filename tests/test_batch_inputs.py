"""Issue 11: the inputs data teams have, the options that shape records, knowledge from the KB only,
and the library not knowing the CLI."""

import csv
import gzip
import io
import json
import re
import types

import pytest
from click.testing import CliRunner

from advisor import Advisor
from advisor.batch import CaseOptions, ReadOptions, evaluate, read_paths, run
from advisor.batch import runner
from advisor.batch.runner import terminal_progress
from advisor.cli import main

CASE = {"id": "a", "ms_type": "spms", "severity": "severe", "prior_failures": 2, "conditions": ["pml"]}


def cli(*args, input=None):
    return CliRunner().invoke(main, ["batch", *args], input=input)


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_text(paths, **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, **kw)
    return out.getvalue(), summary


def test_evaluate_reads_what_read_paths_gives(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(CASE) + "\n")
    (tmp_path / "b.csv").write_text("id,ms_type,severity\nb,ppms,mild\n")
    got = [(r["id"], r["ok"], r["source"].rsplit("/", 1)[-1]) for r in evaluate(read_paths([str(tmp_path)]))]
    assert got == [("a", True, "a.jsonl:1"), ("b", True, "b.csv:2")]


@pytest.mark.parametrize("name,text", [
    ("c.ndjson", json.dumps(CASE) + "\n"),
    ("c.jsonl.gz", json.dumps(CASE) + "\n"),
    ("c.csv.gz", "id,ms_type,severity,prior_failures,conditions\na,spms,severe,2,pml\n"),
    ("c.json.gz", json.dumps([CASE])),
    ("c.yaml.gz", "id: a\nms_type: spms\nseverity: severe\nprior_failures: 2\nconditions: [pml]\n"),
    ("c.yml", "id: a\nms_type: spms\nseverity: severe\nprior_failures: 2.0\nconditions: [pml]\n"),
])
def test_every_format_and_its_gzip(tmp_path, name, text):
    f = tmp_path / name
    f.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    [r] = records(run_text([f])[0])
    assert r["ok"] and r["id"] == "a" and r["status"]["natalizumab"] != "excluded", r


def test_a_broken_gzip_is_an_error_record(tmp_path):
    f = tmp_path / "c.jsonl.gz"
    f.write_bytes(gzip.compress((json.dumps(CASE) + "\n").encode() * 1000)[:200])
    recs = records(run_text([f])[0])
    assert not recs[-1]["ok"] and "cannot read" in recs[-1]["error"]


@pytest.mark.parametrize("fmt,text", [
    ("jsonl", json.dumps(CASE) + "\n"),
    ("csv", "id;ms_type;severity;prior_failures;conditions\na;spms;severe;2;pml\n"),
    ("json", json.dumps(CASE)),
    ("yaml", "id: a\nms_type: spms\nseverity: severe\nprior_failures: 2\nconditions: [pml]\n"),
])
def test_input_format_for_stdin_gzipped_stdin_and_unknown_suffixes(tmp_path, fmt, text):
    for data in (text.encode(), gzip.compress(text.encode())):
        r = CliRunner().invoke(main, ["batch", "-", "--out", "-", "--input-format", fmt], input=data)
        assert r.exit_code == 0 and records(r.stdout)[0]["id"] == "a", r.output
    f = tmp_path / "export.txt"
    f.write_text(text)
    assert records(cli(str(f), "--out", "-", "--input-format", fmt).stdout)[0]["ok"]
    r = cli(str(f), "--out", "-")
    assert r.exit_code == 1 and "unknown file type" in r.stdout


@pytest.mark.parametrize("delimiter,items", [(",", "pml;cancer"), (";", "pml,cancer"), ("\t", "pml|cancer"), (";", "pml|cancer")])
def test_csv_delimiter_is_sniffed_and_list_cells_use_another_separator(tmp_path, delimiter, items):
    f = tmp_path / "x.csv"
    f.write_text(delimiter.join(["id", "ms_type", "severity", "conditions"]) + "\n" + delimiter.join(["a", "spms", "mild", items]) + "\n")
    [r] = records(run_text([f])[0])
    assert r["ok"] and r["cautions"]["ocrelizumab"] == ["pml", "cancer"]


def test_csv_delimiter_and_encoding_options(tmp_path):
    f = tmp_path / "x.csv"
    f.write_bytes("id|ms_type|severity\ncafé|spms|mild\n".encode("cp1252"))
    r = cli(str(f), "--out", "-", "--delimiter", "|", "--encoding", "cp1252")
    assert r.exit_code == 0 and records(r.stdout)[0]["id"] == "café"
    r = cli(str(f), "--out", "-", "--delimiter", "|")  # read as UTF-8: that row is refused, by itself
    assert r.exit_code == 1 and "not valid utf-8 text" in records(r.stdout)[0]["error"]
    assert cli(str(f), "--out", "-", "--encoding", "nope").exit_code == 2
    assert cli(str(f), "--out", "-", "--delimiter", "ab").exit_code == 2
    f.write_bytes(b"\xef\xbb\xbfid\tms_type\tseverity\nb\tspms\tmild\n")  # BOM, tab
    assert records(cli(str(f), "--out", "-", "--delimiter", "tab").stdout)[0]["id"] == "b"


def test_csv_booleans_counts_and_empty_cells(tmp_path):
    f = tmp_path / "x.csv"
    rows = [("t", "YES", "2.0"), ("u", "no", ""), ("v", "1", "2.5"), ("w", "0", "02"), ("x", "True", "1e0"), ("y", "maybe", "")]
    f.write_text("id,ms_type,severity,rapidly_worsening,prior_failures\n" + "".join(f"{i},spms,severe,{b},{n}\n" for i, b, n in rows))
    recs = {r["id"]: r for r in records(run_text([f], options=CaseOptions(echo_facts=True))[0])}
    assert recs["t"]["facts"]["rapidly_worsening"] is True and recs["t"]["facts"]["prior_failures"] == 2
    assert recs["u"]["facts"]["rapidly_worsening"] is False and recs["u"]["facts"]["prior_failures"] == 0
    assert "prior_failures" in recs["v"]["error"] and "whole number" in recs["v"]["error"]
    assert "prior_failures" in recs["w"]["error"] and recs["x"]["facts"]["rapidly_worsening"] is True  # 02: no leading zeros, as everywhere
    assert "rapidly_worsening" in recs["y"]["error"]


def test_counts_written_2_0_are_2_in_every_format(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id":"j","ms_type":"spms","severity":"severe","prior_failures":2.0}\n'
                                      '{"id":"k","ms_type":"spms","severity":"severe","prior_failures":2.5}\n')
    (tmp_path / "b.json").write_text('{"id":"n","ms_type":"spms","severity":"severe","prior_failures":2.0}')
    (tmp_path / "c.yaml").write_text("id: y\nms_type: spms\nseverity: severe\nprior_failures: 2.0\n")
    recs = {r["id"]: r for r in records(run_text([tmp_path])[0])}
    for i in "jny":
        assert recs[i]["ok"] and recs[i]["status"]["alemtuzumab"] == "applicable", recs[i]
    assert not recs["k"]["ok"]


def test_extra_fields_error_ignore_keep(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("id,ms_type,severity,age,site\na,spms,mild,40,X\nb,spms,mild,,\n")
    j = tmp_path / "x.jsonl"
    j.write_text('{"id":"c","ms_type":"spms","severity":"mild","age":40,"tags":["x"]}\n')
    err = records(run_text([f, j])[0])
    assert [r["ok"] for r in err] == [False, True, False]
    assert "age: unknown column" in err[0]["error"] and "site: unknown column" in err[0]["error"]
    ignore = records(run_text([f, j], options=CaseOptions(extra="ignore"))[0])
    assert all(r["ok"] and "input" not in r for r in ignore)
    keep = records(run_text([f, j], options=CaseOptions(extra="keep"))[0])
    assert [r.get("input") for r in keep] == [{"age": "40", "site": "X"}, None, {"age": 40, "tags": ["x"]}]
    r = cli(str(f), "--out", "-", "--extra", "keep", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert (rows[0]["input.age"], rows[0]["input.site"], rows[0]["input"]) == ("40", "X", "")  # a column each


def test_map_renames_fields_and_columns(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("patient_id,type,severity\np1,spms,mild\n")
    r = cli(str(f), "--out", "-", "--map", "patient_id=id", "--map", "type=ms_type")
    assert r.exit_code == 0 and records(r.stdout)[0]["id"] == "p1"
    f.write_text("patient_id,type,severity\np2,nope,mild\n")  # the id is known even when the row is refused
    assert records(cli(str(f), "--out", "-", "--map", "patient_id=id", "--map", "type=ms_type").stdout)[0]["id"] == "p2"
    assert cli(str(f), "--out", "-", "--map", "patient_id").exit_code == 2


ALLOWED_FIELDS = "ms_type, severity, prior_failures, rapidly_worsening, mitoxantrone_cumulative_mg_m2, conditions, id, expect"


@pytest.mark.parametrize("maps,message", [
    (["patient_id=ident"], f"ms-advisor: --map: 'patient_id=ident': 'ident' is not a field (FIELD one of: {ALLOWED_FIELDS})"),
    (["patient_id=id", "type=MS_TYPE"], f"ms-advisor: --map: 'type=MS_TYPE': 'MS_TYPE' is not a field (FIELD one of: {ALLOWED_FIELDS})"),
    (["patient_id"], f"ms-advisor: --map: 'patient_id' is not SOURCE=FIELD (FIELD one of: {ALLOWED_FIELDS})"),
    (["a=id", "a=ms_type"], "ms-advisor: --map: 'a' is renamed twice (to id and to ms_type): which is meant cannot be known"),
])
def test_map_targets_are_checked_before_any_work(tmp_path, maps, message):
    f = tmp_path / "x.csv"
    f.write_text("patient_id,type,severity\np1,spms,mild\n")
    out = tmp_path / "out.jsonl"
    r = cli(str(f), "--out", str(out), *[a for m in maps for a in ("--map", m)])
    assert r.exit_code == 2 and r.stderr == message + "\n"
    assert not out.exists() and list(tmp_path.iterdir()) == [f]  # nothing read, nothing written


def test_map_may_rename_two_sources_to_one_field_for_files_that_differ(tmp_path):
    (tmp_path / "a.csv").write_text("patient_id,ms_type,severity\np1,spms,mild\n")
    (tmp_path / "b.csv").write_text("pid,ms_type,severity\np2,spms,mild\n")
    r = cli(str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--out", "-", "--map", "patient_id=id", "--map", "pid=id")
    assert r.exit_code == 0 and [x["id"] for x in records(r.stdout)] == ["p1", "p2"]


def test_summary_json_and_echo_facts(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps(CASE) + "\n" + '{"id":"bad","ms_type":"x","severity":"mild"}\n'
                 + json.dumps({**CASE, "id": "e", "expect": {"listed": []}}) + "\n")
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
    return kb_copy


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


def test_the_library_raises_its_own_errors_not_the_clis(tmp_path):
    from advisor.batch import OutputError, run_to_file
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps(CASE) + "\n")
    with pytest.raises(OutputError, match="no such directory"):
        run_to_file([str(f)], str(tmp_path / "no" / "o.jsonl"), advisor=Advisor(), progress=False)
    import inspect
    from advisor.batch import output
    assert "on_error" not in inspect.signature(run_to_file).parameters and "click" not in inspect.getsource(output)
    assert not hasattr(Advisor(), "derived")


def test_read_options_limit_documents(tmp_path):
    f = tmp_path / "big.json"
    f.write_text(json.dumps([CASE] * 100))
    [r] = records(run_text([f], read=ReadOptions(max_document_bytes=1000))[0])
    assert not r["ok"] and "larger than 1,000 bytes" in r["error"]
