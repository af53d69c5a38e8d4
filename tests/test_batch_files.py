"""Issues 21 and 24 (batch inputs): repeated and loosely named CSV columns, --map typing, a quote never
closed, gzip bombs and blank lines, the summary's commonest errors, and CSV output for spreadsheets."""

import gzip
import io
import json
import zlib

import pytest
from click.testing import CliRunner

from advisor import Advisor
from advisor.batch import CaseOptions, ReadOptions, run
from advisor.batch import fast as fast_module
from advisor.batch import readers
from advisor.batch.chunks import Worker
from advisor.batch.sources import JsonlBlock
from advisor.batch.writers import writer_for
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
    pieces = list(readers._Lines(io.TextIOWrapper(io.BytesIO(f.read_bytes()), newline=""), 2**20))
    assert len(pieces) < 20
    recs, _ = run_records([f], options=CaseOptions(extra="keep"))
    assert [(r["id"], r["source"].rsplit(":", 1)[-1]) for r in recs] == [("a", "500002"), ("b", "500009")]
    assert recs[0]["input"] == {"note": "x\n\n\r\n\ny"}  # the blank lines inside a quoted cell are kept in it
