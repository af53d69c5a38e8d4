"""The example case library: `ms-advisor batch cases/` passes, covers every rule, and the deliberately
invalid cases are all flagged."""

import json
from pathlib import Path

from click.testing import CliRunner

from advisor import Advisor
from advisor.batch import read_paths
from advisor.cli import main

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"
INVALID = Path(__file__).resolve().parent / "data" / "invalid_cases"


def batch(path, tmp_path):
    out = tmp_path / "out.jsonl"
    r = CliRunner().invoke(main, ["batch", str(path), "--out", str(out)])
    return r, [json.loads(line) for line in out.read_text().splitlines()]


def test_batch_cases_exits_0_with_every_expectation_holding(tmp_path):
    r, records = batch(CASES, tmp_path)
    assert r.exit_code == 0, r.stderr
    assert len(records) >= 35 and all(r["ok"] and r["expected_ok"] for r in records)
    assert "rule coverage: every rule fired in at least one case" in r.stderr


def test_case_library_uses_every_input_format_and_every_case_has_an_expectation():
    suffixes = {p.suffix for p in CASES.rglob("*") if p.is_file()}
    assert {".yaml", ".json", ".jsonl", ".csv"} <= suffixes
    raws = list(read_paths([str(CASES)]))
    assert len(raws) >= 35 and all(raw.kind != "error" for raw in raws)


def test_case_library_fires_every_rule(tmp_path):
    _, records = batch(CASES, tmp_path)
    fired = {rule for r in records for rule in r["rules"]}
    kb = Advisor().kb
    assert {r.id for r in kb.rules} | {c.id for c in kb.cautions} <= fired


def test_invalid_cases_are_all_flagged_and_none_lost(tmp_path):
    r, records = batch(INVALID, tmp_path)
    assert r.exit_code == 1
    assert len(records) == 9 + 3 + 2
    assert not any(rec["ok"] for rec in records)
    errors = {rec["id"]: rec["error"] for rec in records}
    assert "age: unknown field" in errors["bad-unknown-field"]
    assert "ambiguous" in errors["bad-bare-progressive"]
    assert "severity: is required" in errors["bad-missing-severity"]
    assert "expect" in errors["bad-expect-drug"] and "aspirin" in errors["bad-expect-drug"]
    assert any("not valid JSON" in e for e in errors.values())
    assert "mitoxantrone_cumulative_mg_m2" in errors["bad-csv-dose"]
