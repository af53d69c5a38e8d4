"""The decision log: migrations, two processes on one file, and `ms-advisor log`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from advisor.cli import main
from advisor.serve.store import MIGRATIONS, Store, StoreError
from serve_helpers import hook, person, serve_app, serve_app_module, stamp  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
URL = "/cds-services/ms-infusion-advisor"


def test_a_new_log_is_migrated_to_the_latest_version_in_wal_mode(tmp_path):
    Store(tmp_path / "d.sqlite3").close()
    db = sqlite3.connect(tmp_path / "d.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"decisions", "cards", "feedback", "jwt_seen"} <= {r[0] for r in db.execute("SELECT name FROM sqlite_master")}


def test_a_log_newer_than_the_program_is_refused(tmp_path):
    Store(tmp_path / "d.sqlite3").close()
    sqlite3.connect(tmp_path / "d.sqlite3").execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer than this program"):
        Store(tmp_path / "d.sqlite3")


def test_a_file_that_is_not_sqlite_is_refused_clearly(tmp_path):
    (tmp_path / "d.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="cannot be used as the decision log"):
        Store(tmp_path / "d.sqlite3")


@pytest.mark.slow
def test_two_processes_write_the_same_log(tmp_path):
    db = tmp_path / "d.sqlite3"
    script = (
        "import sys; from advisor.serve.store import Store\n"
        "s = Store(sys.argv[1])\n"
        "kb = {'name': 'k', 'version': '1', 'sha256': 'x'}\n"
        "for i in range(200):\n"
        "    s.log_decisions([{'id': sys.argv[2] + str(i), 'channel': 'advise', 'kb': kb, 'facts': {}, 'rules': [], 'statuses': {}}])\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), tag]) for tag in ("a", "b")]
    assert [p.wait(60) for p in procs] == [0, 0]
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM decisions").fetchone()[0] == 400


@pytest.fixture(scope="module")
def filled(serve_app_module, tmp_path_factory):
    """A log with two CDS calls, their feedback and one /advise, shared by the tests that only read it."""
    db = tmp_path_factory.mktemp("log") / "decisions.sqlite3"
    _, client = serve_app_module(db=str(db))
    conds, obs = person("relapsing", "severe", failures=2)
    for _ in range(2):
        cards = client.post(URL, json=hook(conds, obs)).json()["cards"]
        by_drug = {c["extension"]["ms-infusion-advisor"]["drug"]: c["uuid"] for c in cards}
        client.post(URL + "/feedback", json={"feedback": [
            {"card": by_drug["alemtuzumab"], "outcome": "accepted", "outcomeTimestamp": stamp()},
            {"card": by_drug["ocrelizumab"], "outcome": "overridden", "outcomeTimestamp": stamp(),
             "overrideReason": {"reason": {"code": "patient-preference"}, "userComment": "evil\x1b[31m\u202ecomment"}}]})
    client.post("/advise", json={"ms_type": "ppms", "severity": "mild"})
    return str(db)


def test_log_json_has_decisions_and_override_rates(filled):
    r = CliRunner().invoke(main, ["log", "--db", filled, "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [d["channel"] for d in data["decisions"]] == ["cds", "cds", "advise"]
    rates = {x["drug"]: x for x in data["override_rates"]}
    assert rates["ocrelizumab"] == {"drug": "ocrelizumab", "cards": 2, "feedback": 2, "accepted": 0, "overridden": 2, "override_rate": 1.0}
    assert rates["alemtuzumab"]["override_rate"] == 0.0
    assert rates["mitoxantrone"]["feedback"] == 0 and rates["mitoxantrone"]["override_rate"] is None
    assert "\x1b" not in r.output and "\u202e" not in r.output


def test_log_table_escapes_what_users_typed(filled):
    r = CliRunner().invoke(main, ["log", "--db", filled])
    assert r.exit_code == 0
    assert "\x1b" not in r.output and "\u202e" not in r.output and "evil\\x1b[31m\\u202ecomment" in r.output
    assert "ocrelizumab" in r.output and "100%" in r.output


def test_log_csv_has_a_row_per_decision(filled):
    r = CliRunner().invoke(main, ["log", "--db", filled, "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert len(rows) == 3 and rows[0]["feedback.ocrelizumab"] == "overridden (patient-preference)"
    assert rows[2]["status.ocrelizumab"] == "applicable" and rows[2]["channel"] == "advise"


def test_log_since_filters_by_date(filled):
    r = CliRunner().invoke(main, ["log", "--db", filled, "--format", "json", "--since", "2999-01-01"])
    assert json.loads(r.output) == {"decisions": [], "override_rates": []}
    r = CliRunner().invoke(main, ["log", "--db", filled, "--since", "yesterday"])
    assert r.exit_code == 2


def test_log_of_a_missing_file_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(main, ["log", "--db", str(tmp_path / "none.sqlite3")])
    assert r.exit_code == 2 and "no such decision log" in r.output
    assert not (tmp_path / "none.sqlite3").exists()


def test_a_log_is_migrated_from_version_1_to_the_latest(tmp_path, monkeypatch):
    import advisor.serve.store as store_module

    db = tmp_path / "d.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    with monkeypatch.context() as m:
        m.setattr(store_module, "MIGRATIONS", MIGRATIONS[:1])  # an older program created the file
        store_module.migrate(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()
    Store(db).close()
    db2 = sqlite3.connect(db)
    assert db2.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 2
    assert "cards_decision" in {r[0] for r in db2.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


@pytest.mark.slow
def test_log_streams_a_long_log(tmp_path):
    s = Store(tmp_path / "d.sqlite3")
    kb = {"name": "k", "version": "1", "sha256": "x"}
    for chunk in range(20):
        s.log_decisions([{"id": f"{chunk}-{i}", "channel": "batch", "kb": kb, "facts": None, "rules": ["r"],
                          "statuses": {"b_drug": "applicable", "a_drug": "excluded"}} for i in range(1000)])
    s.close()
    r = CliRunner().invoke(main, ["log", "--db", str(tmp_path / "d.sqlite3"), "--format", "csv"])
    lines = r.output.splitlines()
    assert len(lines) == 20_001 and lines[0].split(",")[5:7] == ["status.b_drug", "status.a_drug"]
    r = CliRunner().invoke(main, ["log", "--db", str(tmp_path / "d.sqlite3"), "--format", "json"])
    assert len(json.loads(r.output)["decisions"]) == 20_000


@pytest.mark.slow
def test_several_processes_opening_a_new_log_at_once_all_start(tmp_path):
    """`serve --workers N` opens one new log from N processes at once: SQLite can answer 'database is
    locked' at once while another switches the file to WAL (its busy timeout does not cover that; seen
    in CI as a failed start). Each must wait and start."""
    script = "import sys; from advisor.serve.store import Store\nStore(sys.argv[1])\n"
    for attempt in range(5):
        db = tmp_path / f"d{attempt}.sqlite3"
        procs = [subprocess.Popen([sys.executable, "-c", script, str(db)], stderr=subprocess.PIPE, text=True) for _ in range(6)]
        results = [(p.wait(60), p.stderr.read()) for p in procs]
        assert all(code == 0 for code, _ in results), [err for code, err in results if code]


def test_a_log_locked_while_another_process_sets_it_up_is_waited_for(tmp_path, monkeypatch):
    """The retry itself, deterministically: the first two attempts to put the file in WAL mode are
    told 'database is locked' (as SQLite answers at once while another process switches it)."""
    import advisor.serve.store as store

    real_connect, refused = store._connect, []

    class Locked:
        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, *args):
            if "journal_mode" in sql and len(refused) < 2:
                refused.append(sql)
                raise sqlite3.OperationalError("database is locked")
            return self.conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.conn, name)
    monkeypatch.setattr(store, "_connect", lambda path: Locked(real_connect(path)))
    s = store.Store(tmp_path / "d.sqlite3")
    assert len(refused) == 2
    s.log_decisions([{"id": "a", "channel": "advise", "kb": {"name": "k", "version": "1", "sha256": "x"}}])
    s.close()
    assert sqlite3.connect(tmp_path / "d.sqlite3").execute("PRAGMA journal_mode").fetchone()[0] == "wal"
