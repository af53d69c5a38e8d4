"""Batch evaluation: one record per case in input order, bad cases flagged not dropped, expectations,
parallel workers, the memoized fast path equal to the plain one, exit codes, interruption."""

import csv
import io
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from advisor import Advisor, advise
from advisor.batch import evaluate, run
from advisor.batch.chunks import Worker
from advisor.batch.readers import JsonlBlock
from advisor.batch.records import CaseOptions
from advisor.batch.writers import writer_for
from advisor.cli import main

CONDITIONS = ["hepatitis_b", "shingles", "heart_failure", "kidney_disease", "liver_disease", "cancer",
              "autoimmune_disease", "blood_disorder", "depression", "infections", "weakened_immune_system", "pml"]


def random_cases(n, seed=3, invalid_every=0):
    rng = random.Random(seed)
    for i in range(n):
        case = {"id": f"c{i}", "ms_type": rng.choice(["relapsing", "spms", "ppms", "RRMS", "Secondary Progressive"]),
                "severity": rng.choice(["mild", "moderate", "severe"]), "prior_failures": rng.randint(0, 4),
                "rapidly_worsening": rng.random() < 0.4,
                "mitoxantrone_cumulative_mg_m2": rng.choice([0, 139.9, 140, 150.5, rng.uniform(0, 300)]),
                "conditions": rng.sample(CONDITIONS, rng.randint(0, 3))}
        if rng.random() < 0.3:
            case["expect"] = {"listed": rng.choice([[], ["ocrelizumab"]])}
        if invalid_every and i % invalid_every == 0:
            case["prior_failures"] = -1
        yield case


def write_jsonl(path, cases):
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


def records(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_library_evaluate_streams_records_matching_advise():
    cases = list(random_cases(200))
    caution_order = [c.id for c in Advisor().kb.cautions]
    for case, record in zip(cases, evaluate(iter(cases))):
        facts = {k: v for k, v in case.items() if k != "expect"}
        rec = advise(facts)
        assert record["id"] == case["id"] and record["ok"]
        assert record["listed"] == list(rec.listed)
        assert record["status"] == {d.drug: d.status.value for d in rec.drugs}
        assert record["cautions"] == {d.drug: [c.condition.value for c in d.cautions] for d in rec.drugs}
        assert record["rules"] == [r.rule for d in rec.drugs for r in d.reasons] + sorted(
            (c.rule for d in rec.drugs for c in d.cautions), key=caution_order.index)
        assert record["expected_ok"] == (case["expect"]["listed"] == list(rec.listed)) if "expect" in case else "expected_ok" not in record


def test_evaluate_is_lazy():
    def endless():
        while True:
            yield {"ms_type": "spms", "severity": "mild"}
    it = evaluate(endless())
    assert next(it)["ok"] and next(it)["ok"]


def test_full_puts_the_recommendation_in_the_record():
    record = next(evaluate([{"ms_type": "ppms", "severity": "mild"}], full=True))
    assert record["recommendation"] == advise({"ms_type": "ppms", "severity": "mild"}).model_dump(mode="json")


MIXED = [
    b'{"id":"a","ms_type":"spms","severity":"severe","prior_failures":2,"conditions":["pml","cancer"]}',
    b'{"id":"a","ms_type":"RRMS","severity":"mild"}',  # a repeated id
    b'', b'   ',
    b'{"ms_type":"ppms","severity":"moderate","mitoxantrone_cumulative_mg_m2":140}',
    b'{"id":"e","ms_type":"ppms","severity":"mild","mitoxantrone_cumulative_mg_m2":1.4e2}',
    b'{"id":"f","ms_type":"spms","severity":"severe","prior_failures":2.0}',
    b'{"id":"g","ms_type":"spms","severity":"severe","prior_failures":2.5}',
    b'{"id":"h","ms_type":"spms","severity":"severe","age":3}',
    b'{"id":"\\ud800","ms_type":"spms","severity":"mild"}',
    b'{"id":"=1+1","ms_type":"spms","severity":"mild","expect":{"listed":[]}}',
    b'{"id":"j","ms_type":"spms","severity":"mild","prior_failures":' + b'9' * 5000 + b'}',
    b'[' * 100_000,
    b'{"id":"k","ms_type":"sp\xffms","severity":"mild"}',
    b'{not json',
    b'7',
    b'{"id":"","ms_type":"spms","severity":"mild","rapidly_worsening":true}',
    b'{"id":"l","ms_type":"spms","ms_type":"ppms","severity":"mild"}',
    b'{"id":"m","ms_type":"spms","severity":"mild","conditions":["pml","pml","nope"]}',
    b'{"id":"n\\u001b[2J","ms_type":"spms","severity":"mild","mitoxantrone_cumulative_mg_m2":-0.0}',
    b'{"id":"o","ms_type":"spms","severity":"mild","mitoxantrone_cumulative_mg_m2":10000000000}',
    b'{"id":"p","ms_type":"spms","severity":"mild","rapidly_worsening":1}',
    b'{"id":"a","ms_type":"spms","severity":"mild","id":null}',
    # numbers no float holds exactly: refused on both paths, never rounded to 140.0, 2 or 0.0
    b'{"id":"q","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":139.99999999999999999}',
    b'{"id":"r","ms_type":"spms","severity":"severe","prior_failures":1.99999999999999999999}',
    b'{"id":"s","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":1e-400}',
    b'{"id":"t","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":  -0.000000000000000000000000000001e-300}',
    # ids with bidirectional and C1 controls: written escaped on both
    b'{"id":"rtl\\u202eid","ms_type":"spms","severity":"mild"}',
    '{"id":"raw\u202e\u2066\x85id","ms_type":"spms","severity":"mild"}'.encode(),
    # ... and numbers it holds exactly, however they are written, taken on both
    b'{"id":"u","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":139.99999999999997}',
    b'{"id":"v","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":140.000000000000000000}',
    b'{"id":"w: 139.99999999999999999","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":1.4e002}',
]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_fast_path_gives_the_same_bytes_and_summary_as_the_plain_path(tmp_path, fmt):
    lines = MIXED + [json.dumps(c).encode() for c in random_cases(1500, invalid_every=97)]
    block = JsonlBlock("f.jsonl", 1, b"\n".join(lines))
    clean = [{k: v for k, v in c.items() if k != "expect"} for c in random_cases(3000, seed=5)]
    clean[7]["id"] = clean[3]["id"]
    clean_block = JsonlBlock("g.jsonl", 11, "\n".join(json.dumps(c) for c in clean).encode())  # all taken at once
    # valid cases whose values are equal keys written apart (list order and repeats, 5 and 5.0), an id
    # with a colon (more colons than keys: the key pattern decides), and a key given twice among them
    alike = [b'{"id":"x1","ms_type":"spms","severity":"severe","conditions":["cancer","pml"]}',
             b'{"id":"x2","ms_type":"spms","severity":"severe","conditions":["pml","cancer","pml"]}',
             b'{"id":"x3","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":5}',
             b'{"id":"x4","ms_type":"spms","severity":"severe","mitoxantrone_cumulative_mg_m2":5.0}',
             b'{"id":"x5: a colon","ms_type":"ppms","severity":"mild","conditions":[]}',
             b'{"id":"x6","ms_type":"ppms","severity":"mild","conditions":null}']
    alike_block = JsonlBlock("h.jsonl", 1, b"\n".join(alike + [json.dumps(c).encode() for c in clean[:200]]))
    twice_block = JsonlBlock("i.jsonl", 1, b"\n".join(alike[:4] + [b'{"id":"x7","severity":"mild","ms_type":"spms","severity":"severe"}']))
    advisor = Advisor()
    for b in (block, clean_block, alike_block, twice_block):
        results = []
        for fast in (True, False):
            worker = Worker(advisor, writer_for(fmt, advisor.drug_ids), CaseOptions(), fast=fast)
            assert (worker.fast is not None) == fast
            data, ends, hashes, summary = worker.process(b)
            results.append((data, ends, hashes, summary.text(), summary.invalid_examples))
        assert results[0] == results[1]
    # and through the whole runner, one process and two
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(block.data + b"\n")
    outs = [_run_out(run, [str(f)], fmt=fmt, fast=fast, workers=w) for fast, w in ((True, 1), (False, 1), (True, 2))]
    assert outs[0] == outs[1] == outs[2]
    assert outs[0].count("duplicate_id") == 1  # the last "a" has id null (the last key wins)


def test_mixed_formats_with_bad_rows_one_record_per_case_in_order(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id":"j1","ms_type":"spms","severity":"mild"}\n{oops\n\n{"id":"j3","ms_type":"x","severity":"mild"}\n')
    (tmp_path / "b.yaml").write_text("- {id: y1, ms_type: ppms, severity: severe}\n- {id: y2, ms_type: ppms, severity: severe, age: 3}\n"
                                     "---\nid: y3\nms_type: rrms\nseverity: mild\n")
    (tmp_path / "c.csv").write_text("id,ms_type,severity,prior_failures,conditions\n"
                                    "v1,spms,severe,2,pml;cancer\nv2,spms,severe,two,\nv3,spms,severe\n")
    (tmp_path / "d.json").write_text('[{"id":"k1","ms_type":"relapsing","severity":"mild"}, 7]')
    out = io.StringIO()
    summary = run([str(tmp_path)], out)
    got = [(r["id"], r["ok"]) for r in records(out.getvalue())]
    assert got == [("j1", True), (f"{tmp_path}/a.jsonl:2", False), ("j3", False),
                   ("y1", True), ("y2", False), ("y3", True),
                   ("v1", True), ("v2", False), ("v3", False),
                   ("k1", True), (f"{tmp_path}/d.json:2", False)]
    errors = {r["id"]: r["error"] for r in records(out.getvalue()) if not r["ok"]}
    assert "not valid JSON" in errors[f"{tmp_path}/a.jsonl:2"] and "ms_type" in errors["j3"]
    assert "age: unknown field" in errors["y2"] and "prior_failures" in errors["v2"]
    assert "fewer cells" in errors["v3"] and "mapping" in errors[f"{tmp_path}/d.json:2"]
    assert (summary.cases, summary.valid, summary.invalid) == (11, 5, 6)


def test_csv_cells_conditions_and_expectations(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("id,ms_type,severity,rapidly_worsening,mitoxantrone_cumulative_mg_m2,conditions,expect.listed,expect.status.mitoxantrone\n"
                 "a,spms,severe,true,,heart_failure; pml,mitoxantrone,applicable\n"
                 "b,spms,severe,FALSE,140,,none,excluded\n"
                 "c,spms,mild,,,,none,\n"
                 "d,relapsing,mild,maybe,,,,\n")
    recs = records(_run_out(run, [str(f)]))
    assert [r["ok"] for r in recs] == [True, True, True, False]
    assert recs[0]["cautions"]["mitoxantrone"] == ["heart_failure"] and recs[0]["expected_ok"]
    assert recs[1]["status"]["mitoxantrone"] == "excluded" and recs[1]["expected_ok"]
    assert recs[2]["listed"] == [] and recs[2]["expected_ok"]
    assert "rapidly_worsening" in recs[3]["error"]


def _run_out(fn, paths, **kw):
    out = io.StringIO()
    fn(paths, out, **kw)
    return out.getvalue()


def test_csv_unknown_column_is_named_in_every_row(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("ms_type,severity,age\nspms,mild,40\nppms,mild,41\n")
    rs = records(_run_out(run, [str(f)]))
    assert [r["ok"] for r in rs] == [False, False] and all("age: unknown column" in r["error"] for r in rs)


def test_expectation_failures_are_reported_with_differences(tmp_path):
    f = write_jsonl(tmp_path / "e.jsonl", [
        {"id": "ok", "ms_type": "ppms", "severity": "mild", "expect": {"listed": ["ocrelizumab"], "status": {"alemtuzumab": "not_applicable"}}},
        {"id": "bad", "ms_type": "ppms", "severity": "mild", "expect": {"listed": [], "status": {"ocrelizumab": "excluded"}}},
        {"id": "badexp", "ms_type": "ppms", "severity": "mild", "expect": {"status": {"aspirin": "applicable"}}},
    ])
    recs = records(_run_out(run, [str(f)]))
    assert recs[0]["expected_ok"] and recs[0]["differences"] == []
    assert recs[1]["expected_ok"] is False
    assert recs[1]["differences"] == ["listed: expected [], got ['ocrelizumab']", "status.ocrelizumab: expected excluded, got applicable"]
    assert not recs[2]["ok"] and "aspirin" in recs[2]["error"]


@pytest.mark.slow
def test_workers_keep_input_order_and_give_the_same_records(tmp_path):
    f = write_jsonl(tmp_path / "many.jsonl", random_cases(6000, invalid_every=50))
    one = _run_out(run, [str(f)], workers=1)
    two = _run_out(run, [str(f)], workers=2, chunk_size=300)
    assert one == two and len(one.splitlines()) == 6000


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_output_formats(tmp_path, fmt):
    f = write_jsonl(tmp_path / "c.jsonl", random_cases(50, invalid_every=10))
    text = _run_out(run, [str(f)], fmt=fmt)
    if fmt == "json":
        data = json.loads(text)
    elif fmt == "csv":
        data = list(csv.DictReader(io.StringIO(text)))
        assert all(r["ok"] in ("true", "false") for r in data)
    else:
        data = records(text)
    assert len(data) == 50 and [r["id"] for r in data] == [f"c{i}" for i in range(50)]


def test_empty_input_gives_valid_empty_outputs(tmp_path):
    f = tmp_path / "empty.jsonl"
    f.write_text("")
    assert json.loads(_run_out(run, [str(f)], fmt="json")) == []
    assert _run_out(run, [str(f)]) == ""


# --- the command ------------------------------------------------------------------------------------

def cli(*args, input=None):
    return CliRunner().invoke(main, ["batch", *args], input=input)


def test_cli_exit_codes(tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"ms_type": "spms", "severity": "mild", "expect": {"listed": []}}])
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"ms_type": "spms", "severity": "mild", "expect": {"listed": ["ocrelizumab"]}}])
    out = tmp_path / "out.jsonl"
    r = cli(str(good), "--out", str(out))
    assert r.exit_code == 0 and out.exists() and [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []
    assert "cases: 1  valid: 1  invalid: 0" in r.stderr and "rules that fired in no case" in r.stderr
    assert cli(str(bad), "--out", str(out)).exit_code == 1
    r = cli(str(tmp_path / "missing.jsonl"), "--out", str(out))
    assert r.exit_code == 2 and "missing.jsonl" in r.stderr
    r = cli(str(good), "--out", str(tmp_path / "no" / "such" / "dir.jsonl"))
    assert r.exit_code == 2 and "cannot write" in r.stderr


def test_cli_stdin_to_stdout():
    r = cli("-", "--out", "-", input='{"id":"s","ms_type":"ppms","severity":"mild"}\n')
    assert r.exit_code == 0 and records(r.stdout)[0]["listed"] == ["ocrelizumab"]


def test_cli_invalid_rules_dir_stops_before_work(tmp_path):
    f = write_jsonl(tmp_path / "c.jsonl", [{"ms_type": "spms", "severity": "mild"}])
    bad_kb = tmp_path / "kb"
    bad_kb.mkdir()
    r = cli(str(f), "--out", str(tmp_path / "o.jsonl"), "--rules-dir", str(bad_kb))
    assert r.exit_code == 2 and "invalid knowledge base" in r.stderr and not (tmp_path / "o.jsonl").exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig,workers", [(signal.SIGINT, "1"), (signal.SIGTERM, "2")])
def test_interrupted_run_leaves_only_complete_records_in_partial(tmp_path, sig, workers):
    f = write_jsonl(tmp_path / "big.jsonl", random_cases(400_000))
    out = tmp_path / "out.jsonl"
    exe = str(Path(sys.executable).parent / "ms-advisor")
    # A shell's background jobs start with SIGINT ignored, which Python keeps: give the child the default.
    p = subprocess.Popen([exe, "batch", str(f), "--out", str(out), "--workers", workers], stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    def partial():
        found = [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
        return found[0] if found else None
    deadline = time.monotonic() + 30  # until several chunks (each up to ~0.5 MB of records) are done
    while time.monotonic() < deadline and (partial() is None or partial().stat().st_size < 3_000_000):
        time.sleep(0.05)
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "Traceback" not in err, err
    assert not out.exists()
    n = int(err.split("interrupted after ")[1].split()[0])
    assert str(partial()) in err
    lines = partial().read_text().splitlines()
    assert len(lines) == n > 0
    assert [json.loads(line)["id"] for line in lines] == [f"c{i}" for i in range(n)]
