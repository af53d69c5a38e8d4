"""Issues 21 and 24 (batch inputs): repeated and loosely named CSV columns, --map typing, a quote never
closed, gzip bombs and blank lines, the summary's commonest errors, and CSV output for spreadsheets."""

import csv
import gzip
import io
import json
import zlib

import pytest
from click.testing import CliRunner

from advisor import Advisor
from advisor.batch import CaseOptions, ReadOptions, run
from advisor.batch import fast as fast_module
from advisor.batch import csv_reader, readers
from advisor.batch.chunks import Worker
from advisor.batch.sources import JsonlBlock
from advisor.batch.writers import Format, writer_for
from advisor.cli import main

CASE = '{"id":"ok","ms_type":"spms","severity":"mild"}'


def cli(*args, input=None):
    return CliRunner().invoke(main, ["batch", *args], input=input)


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_records(paths, fmt="jsonl", **kw):
    out = io.StringIO()
    summary = run([str(p) for p in paths], out, fmt=fmt, **kw)
    return (records(out.getvalue()) if fmt == "jsonl" else out.getvalue()), summary


def gzip_of_newlines(n):
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    return c.compress(b"\n" * n) + c.flush()


# --- 21.8: a quote never closed -----------------------------------------------------------------------

def test_a_quote_never_closed_names_its_line_and_says_the_rest_was_not_read(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('id,ms_type,severity,conditions\na,spms,severe,pml\n\nb,spms,severe,"pml\nc,ppms,mild,\nd,ppms,mild,\n')
    recs, summary = run_records([f])
    assert [r["id"] for r in recs] == ["a", f"{f}:4"]
    assert recs[1]["error"] == (f'(case): not valid CSV: the quote (") that opens cell 4 (conditions) on line 4 is never '
                                f"closed, so the rest of {f} (lines 4 to 6) was not read")
    assert summary.cases == 2 and summary.invalid == 1


def test_a_quote_closed_at_the_end_of_the_file_and_a_multiline_cell_are_read(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('id,ms_type,severity,conditions\na,spms,severe,"pml;\ncancer"')
    [r], _ = run_records([f])
    assert r["ok"] and r["cautions"]["natalizumab"] == ["pml"], r


def test_a_quote_never_closed_in_a_long_file_stops_at_the_cell_limit(tmp_path):
    f = tmp_path / "q.csv"
    f.write_text('id,ms_type,severity,conditions\na,spms,severe,"pml\n' + "b,ppms,mild,\n" * 20_000)
    recs, _ = run_records([f])
    assert len(recs) == 1 and "a quote (\") never closed?" in recs[0]["error"] and "is not read" in recs[0]["error"]


# --- 21.12: gzip bombs and blank lines ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["c.jsonl.gz", "c.csv.gz"])
def test_a_gzipped_input_is_bounded_once_decompressed(tmp_path, name):
    first = "id,ms_type,severity\nok,spms,mild\n" if name.startswith("c.csv") else CASE + "\n"
    f = tmp_path / name
    f.write_bytes(gzip.compress(first.encode()) + gzip_of_newlines(3 * 2**20))  # two members: a case, then newlines
    recs, _ = run_records([f], read=ReadOptions(max_decompressed_bytes=2**20))
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
    f.write_bytes(gzip.compress(CASE.encode() + b"\n" * 3_000_000 + b" \r\n\t\n" + CASE.encode() + b"\n\n"))
    items = list(readers.read_items([str(f)]))
    assert len(items) == 2  # the two blocks that hold a case, not the dozen of newlines between them
    recs, _ = run_records([f])
    assert [r["source"].rsplit(":", 1)[-1] for r in recs] == ["1", "3000003"]


def test_blank_lines_in_a_block_are_skipped_without_a_step_per_line(monkeypatch):
    decoded = []
    original = fast_module.FastPath._decode
    monkeypatch.setattr(fast_module.FastPath, "_decode", lambda self, line, decoder=None: decoded.append(line) or original(self, line, decoder))
    data = (CASE.encode() + b"\n" + b"\n" * 100_000 + b"  \n") * 3 + b"{oops\n" + b"\n" * 100_000
    advisor = Advisor()
    worker = Worker(advisor, writer_for("jsonl", advisor.drug_ids), CaseOptions())
    text, *_ = worker.process(JsonlBlock("b.jsonl", 1, data))
    recs = records(text.decode())
    assert [r["source"] for r in recs] == ["b.jsonl:1", "b.jsonl:100003", "b.jsonl:200005", "b.jsonl:300007"]
    assert [r["ok"] for r in recs] == [True, True, True, False]
    assert len(decoded) <= 4  # the lines that are not blank, at most


def test_fast_and_plain_paths_agree_on_blank_lines_of_every_kind(tmp_path):
    lines = [CASE.encode(), b"", b" ", b"\r", b"\t\x0b\x0c", b"{oops", b"", b'{"id":"x","ms_type":"ppms","severity":"mild"}\r',
             b"", b"  " + CASE.replace('"ok"', '"y"').encode(), b"\x0c"]
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
    recs, _ = run_records([f], options=CaseOptions(extra="keep"))
    assert [(r["id"], r["source"].rsplit(":", 1)[-1]) for r in recs] == [("a", "500002"), ("b", "500009")]
    assert recs[0]["input"] == {"note": "x\n\n\r\n\ny"}  # the blank lines inside a quoted cell are kept in it


# --- 21.6: a repeated column; 24.4: names matched loosely, said once per file; 24.2: --map typing -------

def test_a_repeated_column_refuses_each_row_that_fills_it_twice_naming_it(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("id,ms_type,severity,severity\na,spms,mild,severe\nb,ppms,mild,\nc,ppms,mild,mild\nd,ppms,,severe\n")
    recs, summary = run_records([f])
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
    [r], _ = run_records([f], options=CaseOptions(mapping=(("PF", "prior_failures"),)))
    assert r["error"] == message


def test_map_applies_the_csv_typing_of_the_field_it_maps_to(tmp_path):
    f = tmp_path / "m.csv"
    f.write_text("PF;ms_type;severity;RW;cond;who\n2;spms;severe;yes;pml,cancer;p1\n1.0;ppms;mild;No;;p2\n")
    r = cli(str(f), "--out", "-", "--map", "PF=prior_failures", "--map", "RW=rapidly_worsening", "--map", "cond=conditions",
            "--map", "who=id", "--echo-facts")
    assert r.exit_code == 0, r.output
    facts = [(x["id"], x["facts"]["prior_failures"], x["facts"]["rapidly_worsening"], x["facts"]["conditions"]) for x in records(r.stdout)]
    assert facts == [("p1", 2, True, ["pml", "cancer"]), ("p2", 1, False, [])]


def test_header_names_match_facts_whatever_their_case_and_separators(tmp_path):
    f = tmp_path / "h.csv"
    f.write_text("ID,MS Type,Severity,prior-failures,Rapidly_Worsening\na,spms,severe,2,yes\nb,ppms,mild,0,no\n")
    recs, summary = run_records([f])
    assert [(r["id"], r["ok"]) for r in recs] == [("a", True), ("b", True)]
    assert recs[0]["status"] == evaluate_one({"ms_type": "spms", "severity": "severe", "prior_failures": 2, "rapidly_worsening": True})
    assert list(summary.notes) == [f"{f}: columns read as facts: 'ID' as id, 'MS Type' as ms_type, 'Severity' as severity, "
                                   "'prior-failures' as prior_failures, 'Rapidly_Worsening' as rapidly_worsening"]


def evaluate_one(facts):
    from advisor.batch import evaluate
    return next(evaluate([facts]))["status"]


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


# --- 24.5: the commonest errors in the summary ---------------------------------------------------------

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


# --- 24.6: CSV output for spreadsheets -----------------------------------------------------------------

EXPORT = ("patient_id;ms_type;severity;prior_failures;rapidly_worsening;conditions;site;Age\n"
          "p-001;spms;severe;2.0;yes;pml,cancer;Leeds;40\np-002;relapsing;mild;;no;;York;\n")


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


def test_a_header_of_many_unknown_or_repeated_columns_is_named_in_bounded_text():
    from advisor.batch.records import columns
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


# --- YAML read by libyaml; hostile YAML ---------------------------------------------------------------

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


@pytest.mark.parametrize("text,message", [
    ("id: a\nms_type: spms\x01\nseverity: mild\n", "not valid YAML: character #x0001 on line 2: control characters are not allowed"),
    ("\x7fid: a\n", "not valid YAML: character #x007f on line 1: control characters are not allowed"),
    ("id: a\nconditions: " + "[" * 5000 + "\n", "conditions: is nested deeper than 20 levels"),
])
def test_a_yaml_file_with_a_control_character_or_deep_flow_nesting_is_one_error_record(tmp_path, text, message):
    """A control character near the start of a YAML file was raised by PyYAML's reader as the loader was
    made, outside every handler: a traceback, and the other inputs' cases lost."""
    bad, good = tmp_path / "bad.yaml", tmp_path / "good.jsonl"
    bad.write_text(text)
    good.write_text(CASE + "\n")
    recs, summary = run_records([bad, good])
    assert [r["ok"] for r in recs] == [False, True] and message in recs[0]["error"], recs
    assert summary.cases == 2


def test_a_json_line_with_a_raw_control_character_says_where_once(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_bytes(b'{"id":"\x1b[31mx","ms_type":"spms","severity":"severe"}\n' + CASE.encode() + b"\n")
    recs, _ = run_records([f])
    assert recs[0]["error"] == "(case): not valid JSON: Invalid control character at column 8" and recs[1]["ok"], recs


def test_many_columns_read_as_one_fact_are_named_a_few_and_counted_so_the_note_keeps_its_end(tmp_path):
    """100,000 columns each a spelling of ms_type: the notes were cut mid-list (the first silently after
    7 names, the second at the summary's 400 characters, losing what happens to a row)."""
    from advisor.batch.records import columns
    header = ("id",) + tuple(("MS TYPE", "ms-type")[i % 2] for i in range(100_000))
    read, twice = columns(header, (), "error").notes
    assert read == "columns read as facts: 'MS TYPE' as ms_type, 'ms-type' as ms_type"
    assert twice == ("fact given by two columns: ms_type (columns 2 (MS TYPE), 3 (ms-type), 4 (MS TYPE), 5 (ms-type), "
                     "6 (MS TYPE) and 99,995 more): a row that fills it twice is refused naming it")
    names = tuple(f"MS{'_' * i}TYPE" for i in range(1, 13))
    assert columns(names, (), "error").notes[0] == ("columns read as facts: " + ", ".join(f"'{n}' as ms_type" for n in names[:10])
                                                    + " and 2 more")


def test_a_jsonl_file_with_carriage_returns_only_says_so(tmp_path):
    f = tmp_path / "mac.jsonl"
    f.write_bytes(((CASE + "\r") * 3).encode())
    [r], _ = run_records([f])
    assert r["error"] == ("(case): not valid JSON: Extra data at column 48 (its lines end with a carriage return only? "
                          "JSONL's end with a line feed)"), r
    g = tmp_path / "extra.jsonl"
    g.write_text(CASE + " x\n")
    assert run_records([g])[0][0]["error"] == "(case): not valid JSON: Extra data at column 48"


def test_an_invisible_byte_order_mark_in_a_header_is_shown_escaped_in_the_summary(tmp_path):
    """A second BOM (two exports joined) made "unknown column 'id' (did you mean id?)" on the terminal."""
    f = tmp_path / "b.csv"
    f.write_bytes(b"\xef\xbb\xbf\xef\xbb\xbfid,ms_type,severity\na,spms,mild\n")
    r = cli(str(f), "--out", str(tmp_path / "r.jsonl"))
    assert "unknown column '\\ufeffid' (did you mean id?)" in r.stderr and "\ufeff" not in r.stderr, r.stderr


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
    recs, _ = run_records([f])
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
    recs, _ = run_records([f])
    assert [r["id"].replace(f"{tmp_path}/", "") for r in recs] == read, recs
    if read and read[-1] == "c.json:1":
        assert "not valid JSON" in recs[-1]["error"] and "the rest of" in recs[-1]["error"]
