"""What `ms-advisor batch` and advisor.batch read: every format and its gzip, the format of stdin and of
unknown suffixes, CSV delimiters, encodings, booleans and empty cells, extra fields, --map, columns
repeated or named loosely, quotes never closed, blank lines, YAML and JSON lists one case at a time,
directories, duplicate ids, and inputs that never end (bounded, never a hang)."""

import csv
import gzip
import io
import json
import os
import stat
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import Advisor
from advisor.batch import CaseOptions, ReadOptions, csv_reader, evaluate, read_paths, readers, run
from advisor.batch import fast as fast_module
from advisor.batch.chunks import Worker
from advisor.batch.sources import JsonlBlock
from advisor.batch.writers import writer_for
from advisor.cli import main

CASE = {"id": "a", "ms_type": "spms", "severity": "severe", "prior_failures": 2, "conditions": ["pml"]}


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_text(paths, **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, **kw)
    return out.getvalue(), summary


def cli(*args, input=None):
    return CliRunner().invoke(main, ["batch", *args], input=input)


def run_records(paths, fmt="jsonl", **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, fmt=fmt, **kw)
    text = out.getvalue()
    return (text if fmt != "jsonl" else [json.loads(line) for line in text.splitlines()]), summary


def run_records_skipping_blank_lines(paths, fmt="jsonl", **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, fmt=fmt, **kw)
    return (records(out.getvalue()) if fmt == "jsonl" else out.getvalue()), summary


ALLOWED_FIELDS = "ms_type, severity, prior_failures, rapidly_worsening, mitoxantrone_cumulative_mg_m2, conditions, id, expect"


def evaluate_one(facts):
    from advisor.batch import evaluate
    return next(evaluate([facts]))["status"]


CASE_TEXT = '{"id":"ok","ms_type":"spms","severity":"mild"}'


def gzip_of_newlines(n):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(b"\n" * n) + c.flush()


CASE_LINE = '{"id":"ok","ms_type":"spms","severity":"mild"}\n'


def batch(paths, fmt="jsonl"):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, fmt=fmt)
    return [json.loads(line) for line in out.getvalue().splitlines()], summary


BAD = Path(__file__).parent / "data" / "bad"


EXE = str(Path(sys.executable).parent / "ms-advisor")


# --- formats and gzip ---------------------------------------------------------------------------------------

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


def test_read_options_limit_documents(tmp_path):
    f = tmp_path / "big.json"
    f.write_text(json.dumps([CASE] * 100))
    [r] = records(run_text([f], read=ReadOptions(max_document_bytes=1000))[0])
    assert not r["ok"] and "larger than 1,000 bytes" in r["error"]


# --- CSV ----------------------------------------------------------------------------------------------------

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


def test_csv_multiline_row_source_is_its_first_line_and_a_bad_byte_spoils_only_its_row(tmp_path):
    f = tmp_path / "m.csv"
    f.write_bytes(b'id,ms_type,severity\n"a\nb",spms,mild\nbad\xff,spms,mild\nc,spms,mild\n')
    recs, _ = run_records([f])
    assert [(r["source"].split(":")[-1], r["ok"]) for r in recs] == [("2", True), ("4", False), ("5", True)]
    assert "not valid utf-8 text" in recs[1]["error"]


def test_a_quote_never_closed_names_its_line_and_says_the_rest_was_not_read(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('id,ms_type,severity,conditions\na,spms,severe,pml\n\nb,spms,severe,"pml\nc,ppms,mild,\nd,ppms,mild,\n')
    recs, summary = run_records_skipping_blank_lines([f])
    assert [r["id"] for r in recs] == ["a", f"{f}:4"]
    assert recs[1]["error"] == (f'(case): not valid CSV: the quote (") that opens cell 4 (conditions) on line 4 is never '
                                f"closed, so the rest of {f} (lines 4 to 6) was not read")
    assert summary.cases == 2 and summary.invalid == 1


def test_a_quote_closed_at_the_end_of_the_file_and_a_multiline_cell_are_read(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('id,ms_type,severity,conditions\na,spms,severe,"pml;\ncancer"')
    [r], _ = run_records_skipping_blank_lines([f])
    assert r["ok"] and r["cautions"]["natalizumab"] == ["pml"], r


def test_a_quote_never_closed_in_a_long_file_stops_at_the_cell_limit(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('id,ms_type,severity,conditions\na,spms,severe,"pml\n' + "b,ppms,mild,\n" * 20_000)
    recs, _ = run_records_skipping_blank_lines([f])
    assert len(recs) == 1 and "a quote (\") never closed?" in recs[0]["error"] and "is not read" in recs[0]["error"]


def test_a_csv_fifo_is_not_read_ahead_for_its_columns(tmp_path, hang_guard):
    import os
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    keep = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # holds the pipe (and what is written to it) open
    try:
        with open(fifo, "w") as f:
            f.write("id,ms_type,severity,site\na,spms,mild,Leeds\n")
        with hang_guard(30):
            r = cli(str(fifo), "--out", "-", "--format", "csv", "--extra", "keep")
    finally:
        os.close(keep)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert r.exit_code == 0 and [(x["id"], json.loads(x["input"])) for x in rows] == [("a", {"site": "Leeds"})], r.output


# --- fields and columns: extra, mapped, repeated, named loosely ---------------------------------------------

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


def test_the_batch_options_are_checked_by_the_library_with_the_projects_errors():
    """A program running batches checks a person's --map, --delimiter and --encoding as the command does:
    the same message (without the option's name, which the command adds), as a BatchError."""
    from advisor import AdvisorError
    from advisor.batch import BatchError, options

    assert options.map_pairs(["patient_id = id", "type=ms_type", "patient_id=id"]) == [("patient_id", "id"), ("type", "ms_type")]
    assert options.delimiter("tab") == "\t" and options.delimiter(";") == ";" and options.delimiter(None) is None
    assert options.encoding("cp1252") == "cp1252"
    for call, message in [
        (lambda: options.map_pairs(["patient_id=ident"]), f"'patient_id=ident': 'ident' is not a field (FIELD one of: {ALLOWED_FIELDS})"),
        (lambda: options.map_pairs(["a=id", "a=ms_type"]), "'a' is renamed twice (to id and to ms_type): which is meant cannot be known"),
        (lambda: options.delimiter('"'), "one character (not a quote, a line break or another control character), or 'tab'"),
        (lambda: options.encoding("klingon"), "unknown encoding 'klingon'"),
    ]:
        with pytest.raises(BatchError) as e:
            call()
        assert str(e.value) == message and isinstance(e.value, AdvisorError)


def test_map_may_rename_two_sources_to_one_field_for_files_that_differ(tmp_path):
    (tmp_path / "a.csv").write_text("patient_id,ms_type,severity\np1,spms,mild\n")
    (tmp_path / "b.csv").write_text("pid,ms_type,severity\np2,spms,mild\n")
    r = cli(str(tmp_path / "a.csv"), str(tmp_path / "b.csv"), "--out", "-", "--map", "patient_id=id", "--map", "pid=id")
    assert r.exit_code == 0 and [x["id"] for x in records(r.stdout)] == ["p1", "p2"]


def test_map_applies_the_csv_typing_of_the_field_it_maps_to(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("PF;ms_type;severity;RW;cond;who\n2;spms;severe;yes;pml,cancer;p1\n1.0;ppms;mild;No;;p2\n")
    r = cli(str(f), "--out", "-", "--map", "PF=prior_failures", "--map", "RW=rapidly_worsening", "--map", "cond=conditions",
            "--map", "who=id", "--echo-facts")
    assert r.exit_code == 0, r.output
    facts = [(x["id"], x["facts"]["prior_failures"], x["facts"]["rapidly_worsening"], x["facts"]["conditions"]) for x in records(r.stdout)]
    assert facts == [("p1", 2, True, ["pml", "cancer"]), ("p2", 1, False, [])]


def test_a_repeated_column_refuses_each_row_that_fills_it_twice_naming_it(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("id,ms_type,severity,severity\na,spms,mild,severe\nb,ppms,mild,\nc,ppms,mild,mild\nd,ppms,,severe\n")
    recs, summary = run_records_skipping_blank_lines([f])
    assert [(r["id"], r["ok"]) for r in recs] == [("a", False), ("b", True), ("c", False), ("d", True)]
    assert recs[0]["error"] == "severity: is given twice (which value is meant cannot be known): columns 3 and 4 of the header"
    assert recs[3]["status"] == evaluate_one({"ms_type": "ppms", "severity": "severe"})
    assert summary.notes == {f"{f}: fact given by two columns: severity (columns 3, 4): a row that fills it twice is "
                             "refused naming it": None}


@pytest.mark.parametrize("header,message", [
    ("id,MS_Type,ms_type,severity", "ms_type: is given twice (which value is meant cannot be known): columns 2 (MS_Type) and 3 of the header"),
    ("PF,ms_type,severity,prior_failures", "prior_failures: is given twice (which value is meant cannot be known): "
                                           "columns 1 (PF, --map PF=prior_failures) and 4 of the header"),
])
def test_two_columns_read_as_one_fact_are_a_repeated_column(tmp_path, header, message):
    f = tmp_path / "d.csv"
    f.write_text(f"{header}\n1,spms,mild,2\n")
    [r], _ = run_records_skipping_blank_lines([f], options=CaseOptions(mapping=(("PF", "prior_failures"),)))
    assert r["error"] == message


def test_header_names_match_facts_whatever_their_case_and_separators(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("ID,MS Type,Severity,prior-failures,Rapidly_Worsening\na,spms,severe,2,yes\nb,ppms,mild,0,no\n")
    recs, summary = run_records_skipping_blank_lines([f])
    assert [(r["id"], r["ok"]) for r in recs] == [("a", True), ("b", True)]
    assert recs[0]["status"] == evaluate_one({"ms_type": "spms", "severity": "severe", "prior_failures": 2, "rapidly_worsening": True})
    assert list(summary.notes) == [f"{f}: columns read as facts: 'ID' as id, 'MS Type' as ms_type, 'Severity' as severity, "
                                   "'prior-failures' as prior_failures, 'Rapidly_Worsening' as rapidly_worsening"]


def test_an_unknown_column_gets_did_you_mean_and_the_facts_once_and_a_note_once_per_file(tmp_path):
    f = tmp_path / "u.csv"
    f.write_text("id,ms_type,Sevrity,site\n" + "".join(f"p{i},spms,mild,Leeds\n" for i in range(50)) + "q,spms,,\n")
    r = cli(str(f), "--out", "-")
    recs = records(r.stdout)
    assert recs[0]["error"] == ("severity: is required (allowed: mild, moderate, severe); Sevrity: unknown column, did you mean "
                                "severity?; site: unknown column (allowed: ms_type, severity, prior_failures, rapidly_worsening, "
                                "mitoxantrone_cumulative_mg_m2, conditions, id)")
    assert recs[0]["error"].count("allowed: ms_type") == 1
    assert "Sevrity" not in recs[-1]["error"]  # an empty cell is not given: nothing unknown in it
    note = f"{f}: unknown columns 'Sevrity' (did you mean severity?), 'site': a row that fills one is refused naming it"
    assert r.stderr.count("unknown columns") == 1 and note in r.stderr


def test_a_header_of_many_unknown_or_repeated_columns_is_named_in_bounded_text():
    from advisor.batch.csv_columns import columns
    from advisor.batch.records import from_csv
    from advisor.batch.sources import CsvRow
    from advisor.errors import InvalidFacts
    pairs = tuple(f"c{i // 2}" for i in range(20_000))
    plan = columns(pairs, (), "keep")
    assert plan.notes == ("facts given by two columns: " + ", ".join(f"c{i} (columns {2 * i + 1}, {2 * i + 2})" for i in range(20))
                          + " and 9,980 more: a row that fills one of them twice is refused naming it",)
    with pytest.raises(InvalidFacts) as e:
        from_csv(CsvRow(pairs, ["x"] * 20_000, ","), CaseOptions(extra="keep"))
    assert len(e.value.errors) == 20
    with pytest.raises(InvalidFacts) as e:  # the last pair too: every pair is checked, 20 are named
        from_csv(CsvRow(pairs, [""] * 19_998 + ["x", "y"], ","), CaseOptions(extra="keep"))
    assert [x["field"] for x in e.value.errors] == ["c9999"]
    plan = columns(tuple(f"x{i}" for i in range(5000)), (), "error")
    assert len(plan.unknown) == 5000 and plan.notes[0].endswith("and 4,980 more: a row that fills one is refused naming it")


def test_many_columns_read_as_one_fact_are_named_a_few_and_counted_so_the_note_keeps_its_end(tmp_path):
    """100,000 columns each a spelling of ms_type: the notes were cut mid-list (the first silently after
    7 names, the second at the summary's 400 characters, losing what happens to a row)."""
    from advisor.batch.csv_columns import columns
    header = ("id",) + tuple(("MS TYPE", "ms-type")[i % 2] for i in range(100_000))
    read, twice = columns(header, (), "error").notes
    assert read == "columns read as facts: 'MS TYPE' as ms_type, 'ms-type' as ms_type"
    assert twice == ("fact given by two columns: ms_type (columns 2 (MS TYPE), 3 (ms-type), 4 (MS TYPE), 5 (ms-type), "
                     "6 (MS TYPE) and 99,995 more): a row that fills it twice is refused naming it")
    names = tuple(f"MS{'_' * i}TYPE" for i in range(1, 13))
    assert columns(names, (), "error").notes[0] == ("columns read as facts: " + ", ".join(f"'{n}' as ms_type" for n in names[:10])
                                                    + " and 2 more")


# --- gzip bombs, blank lines and line ends ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["c.jsonl.gz", "c.csv.gz"])
def test_a_gzipped_input_is_bounded_once_decompressed(tmp_path, name):
    first = "id,ms_type,severity\nok,spms,mild\n" if name.startswith("c.csv") else CASE_TEXT + "\n"
    f = tmp_path / name
    f.write_bytes(gzip.compress(first.encode()) + gzip_of_newlines(3 * 2**20))  # two members: a case, then newlines
    recs, _ = run_records_skipping_blank_lines([f], read=ReadOptions(max_decompressed_bytes=2**20))
    assert recs[0]["ok"] and recs[0]["id"] == "ok"
    assert recs[-1]["error"] == (f"(case): cannot read {f}: it is larger than 1 MiB once decompressed (the bound of a "
                                 "gzipped input; --max-decompressed sets it); the cases after this point are not read")
    r = cli(str(f), "--out", "-", "--max-decompressed", "0.001")
    assert r.exit_code == 1 and "larger than 1.0 MiB once decompressed" in r.output
    assert "--max-decompressed GIB" in cli("--help").output


def test_gzipped_stdin_is_bounded_too():
    r = CliRunner().invoke(main, ["batch", "-", "--out", "-", "--max-decompressed", "0.001"], input=gzip_of_newlines(2**21))
    assert r.exit_code == 1 and "larger than 1.0 MiB once decompressed" in r.stdout


def test_blocks_of_blank_lines_are_not_handed_on(tmp_path):
    f = tmp_path / "blank.jsonl.gz"
    f.write_bytes(gzip.compress(CASE_TEXT.encode() + b"\n" * 3_000_000 + b" \r\n\t\n" + CASE_TEXT.encode() + b"\n\n"))
    items = list(readers.read_items([str(f)]))
    assert len(items) == 2  # the two blocks that hold a case, not the dozen of newlines between them
    recs, _ = run_records_skipping_blank_lines([f])
    assert [r["source"].rsplit(":", 1)[-1] for r in recs] == ["1", "3000003"]


def test_blank_lines_in_a_block_are_skipped_without_a_step_per_line(monkeypatch):
    decoded = []
    original = fast_module.FastPath._decode
    monkeypatch.setattr(fast_module.FastPath, "_decode", lambda self, line, decoder=None: decoded.append(line) or original(self, line, decoder))
    data = (CASE_TEXT.encode() + b"\n" + b"\n" * 100_000 + b"  \n") * 3 + b"{oops\n" + b"\n" * 100_000
    advisor = Advisor()
    worker = Worker(advisor, writer_for("jsonl", advisor.drug_ids), CaseOptions())
    text, *_ = worker.process(JsonlBlock("b.jsonl", 1, data))
    recs = records(text.decode())
    assert [r["source"] for r in recs] == ["b.jsonl:1", "b.jsonl:100003", "b.jsonl:200005", "b.jsonl:300007"]
    assert [r["ok"] for r in recs] == [True, True, True, False]
    assert len(decoded) <= 4  # the lines that are not blank, at most


def test_fast_and_plain_paths_agree_on_blank_lines_of_every_kind(tmp_path):
    lines = [CASE_TEXT.encode(), b"", b" ", b"\r", b"\t\x0b\x0c", b"{oops", b"", b'{"id":"x","ms_type":"ppms","severity":"mild"}\r',
             b"", b"  " + CASE_TEXT.replace('"ok"', '"y"').encode(), b"\x0c"]
    for data in (b"\n".join(lines), b"\n" + b"\n".join(lines) + b"\n\n", b"\n".join(lines[:5])):
        advisor = Advisor()
        out = []
        for fast in (True, False):
            worker = Worker(advisor, writer_for("jsonl", advisor.drug_ids), CaseOptions(), fast=fast)
            out.append(worker.process(JsonlBlock("b.jsonl", 7, data))[:3])
        assert out[0] == out[1]


def test_a_csv_of_blank_lines_is_read_in_pieces_not_line_by_line(tmp_path):
    f = tmp_path / "blank.csv"
    f.write_text("id,ms_type,severity,note\n" + "\n" * 500_000 + 'a,spms,mild,"x\n\n\r\n\ny"\n\r\n\r\nb,ppms,mild,\n')
    pieces = list(csv_reader._Lines(io.TextIOWrapper(io.BytesIO(f.read_bytes()), newline=""), 2**20))
    assert len(pieces) < 20
    recs, _ = run_records_skipping_blank_lines([f], options=CaseOptions(extra="keep"))
    assert [(r["id"], r["source"].rsplit(":", 1)[-1]) for r in recs] == [("a", "500002"), ("b", "500009")]
    assert recs[0]["input"] == {"note": "x\n\n\r\n\ny"}  # the blank lines inside a quoted cell are kept in it


def test_a_jsonl_file_with_carriage_returns_only_says_so(tmp_path):
    f = tmp_path / "mac.jsonl"
    f.write_bytes(((CASE_TEXT + "\r") * 3).encode())
    [r], _ = run_records_skipping_blank_lines([f])
    assert r["error"] == ("(case): not valid JSON: Extra data at column 48 (its lines end with a carriage return only? "
                          "JSONL's end with a line feed)"), r
    g = tmp_path / "extra.jsonl"
    g.write_text(CASE_TEXT + " x\n")
    assert run_records_skipping_blank_lines([g])[0][0]["error"] == "(case): not valid JSON: Extra data at column 48"


# --- YAML and JSON lists of cases ---------------------------------------------------------------------------

def test_yaml_case_files_are_scanned_by_libyaml_not_character_by_character_in_python(monkeypatch):
    """8 MiB of blank lines took PyYAML's Python scanner ~7 s (a 64 MiB YAML document about a minute):
    the scanning is libyaml's (C), the checks (tags, anchors, nesting, keys twice) still this loader's."""
    import yaml
    import yaml.reader

    from advisor.batch.casefile import CaseLoader, parse_text
    pytest.importorskip("yaml._yaml")  # PyYAML's wheels ship libyaml
    steps = []
    forward = yaml.reader.Reader.forward

    def counted(self, length=1):
        steps.append(length)
        forward(self, length)
    monkeypatch.setattr(yaml.reader.Reader, "forward", counted)
    text = "ms_type: spms\n" + "\n" * 100_000 + "severity: mild\n"
    assert parse_text(text, "c.yaml") == {"ms_type": "spms", "severity": "mild"}
    assert steps == [] and not issubclass(CaseLoader, yaml.reader.Reader)


def test_a_yaml_list_of_cases_is_composed_one_case_at_a_time():
    """A document that is a list was composed whole before its first case was read: some 400 bytes per
    item (412 MiB for 1,000,000 items of `- {}`, 13 GiB for a 64 MiB file of `-` lines). Item by item,
    the cases before a broken one are read too."""
    from advisor.batch.casefile import CaseFileError, parse_yaml_stream
    got = list(parse_yaml_stream("- {a: 1}\n- {b: 2}\n- [unclosed\n", "l.yaml"))
    assert got[:2] == [(1, {"a": 1}), (2, {"b": 2})] and isinstance(got[2][1], CaseFileError), got


def test_a_yaml_case_of_too_many_values_is_refused_and_the_cases_before_it_kept(tmp_path):
    f = tmp_path / "big.yaml"
    f.write_text("- {id: a, ms_type: spms, severity: mild}\n- conditions: [" + "x, " * 10_000 + "]\n")
    recs, _ = run_records_skipping_blank_lines([f])
    assert recs[0]["ok"] and "a case holds more than 10,000 values" in recs[1]["error"], recs


@pytest.mark.parametrize("text,read", [
    ('[{"id": "a"},\n {"id": "b"},\n {"id": ', ["a", "b", "c.json:3"]),
    (' [ ]\n', []),
    ('[{"id": "a"}] x', ["a", "c.json:1"]),
    ('[{"id": "a"}, ]', ["a", "c.json:1"]),
    ('[{"id": "a"} {"id": "b"}]', ["a", "c.json:1"]),
    ('\n{"id": "a"}\n', ["a"]),
])
def test_a_json_list_of_cases_is_decoded_one_case_at_a_time(tmp_path, text, read):
    """Decoded whole, a 15 MiB `.json` of `{},` took 1.2 GiB (64 MiB, the limit, some 5 GiB); one case
    at a time it takes what one case does, and the cases before a syntax error are read."""
    f = tmp_path / "c.json"
    f.write_text(text)
    recs, _ = run_records_skipping_blank_lines([f])
    assert [r["id"].replace(f"{tmp_path}/", "") for r in recs] == read, recs
    if read and read[-1] == "c.json:1":
        assert "not valid JSON" in recs[-1]["error"] and "the rest of" in recs[-1]["error"]


# --- directories and duplicate ids --------------------------------------------------------------------------

def test_symlinked_and_unreadable_subdirectories_give_error_records(tmp_path, monkeypatch):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "a.jsonl").write_text(CASE_LINE)
    (d / "locked").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (d / "link").symlink_to(tmp_path / "elsewhere")
    real = os.scandir

    def scandir(path):  # tests run as root, which reads any directory: refuse this one by hand
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real(path)
    monkeypatch.setattr(os, "scandir", scandir)
    recs, _ = run_records([d])
    errors = {r["source"]: r["error"] for r in recs if not r["ok"]}
    assert any("link" in s and "symbolic link" in e for s, e in errors.items())
    assert any("locked" in s and "Permission denied" in e for s, e in errors.items())
    assert any(r["ok"] for r in recs)


def test_duplicate_ids_are_flagged_and_both_kept():
    records, summary = batch([BAD / "duplicate_ids.jsonl"])
    assert [r.get("duplicate_id", False) for r in records] == [False, True, False]
    assert summary.duplicate_ids == 1


def test_duplicate_check_is_bounded(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("".join(f'{{"id":"i{i % 7}","ms_type":"spms","severity":"mild"}}\n' for i in range(30)))
    recs, summary = run_records([f], duplicate_check_limit=3)
    assert summary.duplicate_check_stopped_at == 3
    # i0, i1, i2 are remembered: their 4, 4 and 3 repeats are flagged; i3..i6 come after the limit
    assert summary.duplicate_ids == sum(1 for r in recs if r.get("duplicate_id")) == 11
    assert "--duplicate-check-limit" in summary.text()


# --- inputs that never end ----------------------------------------------------------------------------------

def test_a_line_over_the_limit_is_an_error_and_memory_stays_bounded(tmp_path):
    f = tmp_path / "long.jsonl"
    f.write_text(CASE_LINE + "x" * 3_000_000 + "\n" + CASE_LINE)
    recs, _ = run_records([f], read=ReadOptions(max_line_bytes=1_000_000))
    assert recs[0]["ok"] and not recs[1]["ok"] and "longer than 1,000,000 bytes" in recs[1]["error"]


@pytest.mark.slow
def test_devices_are_refused_and_an_endless_stdin_stops_at_the_line_limit(tmp_path):
    zero = tmp_path / "zero"
    os.mknod(zero, stat.S_IFCHR | 0o600, os.makedev(1, 5))
    p = subprocess.run([EXE, "batch", str(zero), "--input-format", "jsonl", "--out", "-"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "is a device" in p.stdout
    with open(zero, "rb") as stdin:
        p = subprocess.run([EXE, "batch", "-", "--out", "-"], stdin=stdin, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "longer than" in p.stdout and "Traceback" not in p.stderr


def test_a_fifo_input_with_no_writer_does_not_hang(tmp_path, hang_guard):
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    with hang_guard(30):
        r = cli(str(fifo), "--out", "-")
    assert r.exit_code == 0 and r.stdout == "", r.output
