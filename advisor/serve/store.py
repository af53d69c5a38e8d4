"""The decision log and CDS Hooks feedback, in SQLite (the standard library's sqlite3).

Schema changes are numbered migrations applied in order under ``PRAGMA user_version``, inside an
immediate transaction, so two server processes starting on the same file migrate it once. The file is
in WAL mode: several processes (``--workers``, or a second server) read and write it concurrently.
No patient identifier is stored unless the server was started with ``--log-patient-ids``.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, TypeVar

from advisor.errors import ServiceError
from advisor.text import visible

T = TypeVar("T")
MIGRATIONS: tuple[str, ...] = (
    # 1: decisions, their cards, feedback on cards, and the JWT ids already seen (replay protection)
    """
    CREATE TABLE decisions (
        id TEXT PRIMARY KEY,            -- a uuid; for CDS Hooks the first card's uuid names it too
        time TEXT NOT NULL,             -- UTC, ISO 8601
        channel TEXT NOT NULL,          -- advise, batch or cds
        kb_name TEXT NOT NULL,
        kb_version TEXT NOT NULL,
        kb_sha256 TEXT NOT NULL,
        facts TEXT,                     -- JSON: the facts decided on (without the case's id)
        rules TEXT NOT NULL,            -- JSON list: the rules that fired (status and caution rules)
        statuses TEXT NOT NULL,         -- JSON object: drug -> status ({} when no decision was made)
        outcome TEXT NOT NULL,          -- decided, or why not (e.g. missing facts)
        patient_id TEXT                 -- only with --log-patient-ids
    );
    CREATE INDEX decisions_time ON decisions(time);
    CREATE TABLE cards (
        uuid TEXT PRIMARY KEY,
        decision_id TEXT NOT NULL REFERENCES decisions(id),
        drug TEXT,                      -- null for cards about the facts (missing, assumed)
        status TEXT,
        indicator TEXT NOT NULL
    );
    CREATE TABLE feedback (
        id INTEGER PRIMARY KEY,
        card_uuid TEXT NOT NULL REFERENCES cards(uuid),
        outcome TEXT NOT NULL,          -- accepted or overridden
        reason_code TEXT,
        reason_system TEXT,
        comment TEXT,
        outcome_time TEXT,
        received TEXT NOT NULL
    );
    CREATE INDEX feedback_card ON feedback(card_uuid);
    CREATE TABLE jwt_seen (
        issuer TEXT NOT NULL,
        jti TEXT NOT NULL,
        expires INTEGER NOT NULL,
        PRIMARY KEY (issuer, jti)
    );
    """,
    # 2: ms-advisor log reads decisions with their cards in one pass
    """
    CREATE INDEX cards_decision ON cards(decision_id);
    """,
)


class StoreError(ServiceError, RuntimeError):
    """The database cannot be used (unreadable, newer than this program, not SQLite)."""


class LogUnavailable(StoreError):
    """A write to the log failed while serving (disk full, made read-only, locked past the timeout):
    the service answers 503 with the reason. The transaction was rolled back: nothing half-written."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _connect(path: str) -> sqlite3.Connection:
    if path != ":memory:" and not os.path.exists(path):
        # The log holds health data: a new file is the user's alone (SQLite gives its -wal and -shm
        # files the database file's permissions). An existing file keeps the mode its owner gave it.
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as e:
            raise StoreError(f"{path}: cannot be created: {e.strerror}") from None
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; return its version. Refuses a file newer than this program."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(f"the database has schema version {version}, newer than this program's {len(MIGRATIONS)}")
        for n in range(version, len(MIGRATIONS)):
            for statement in re.sub(r"--[^\n]*", "", MIGRATIONS[n]).split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {n + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)


class Store:
    """One connection per process, used under a lock (calls are short)."""

    def __init__(self, path: str | os.PathLike[str], log_patient_ids: bool = False, writable: bool = True):
        """``writable``: check at once that the log can be written (a server's log), not only read."""
        self.path = str(path)
        self.log_patient_ids = log_patient_ids
        if self.path != ":memory:":
            if os.path.exists(self.path) and not os.path.isfile(self.path):
                raise StoreError(f"{self.path}: not a regular file (a decision log is an SQLite file)")
            if os.path.islink(self.path) and not os.path.exists(self.path):  # SQLite would create the target 0644
                raise StoreError(f"{self.path}: a symbolic link to {visible(os.readlink(self.path))}, which does not exist: "
                                 "a new decision log is not created through a link (give the path where it is to be)")
            try:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"{self.path}: cannot create its folder: {e.strerror}") from None
        created = self.path != ":memory:" and not os.path.lexists(self.path)
        self._conn = _connect(self.path)
        try:
            self._set_up()
            if writable:
                self._check_writable()
        except (sqlite3.DatabaseError, StoreError) as e:
            self._conn.close()
            if created:  # a full disk, say: leave no empty or partial log behind
                for leftover in (self.path, self.path + "-wal", self.path + "-shm"):
                    try:
                        os.unlink(leftover)
                    except OSError:
                        pass
            if isinstance(e, StoreError):
                raise
            raise StoreError(f"{self.path}: cannot be used as the decision log: {e}") from None
        self._lock = threading.RLock()  # re-entrant: a query may run while decisions() streams

    def _check_writable(self) -> None:
        """A log that opens but cannot take a write (a read-only file, a folder where SQLite cannot
        keep its -wal file) is refused at start-up, not at the first request."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")  # the value it has: a write that changes nothing
            self._conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: the decision log cannot be written: {e}") from None
        finally:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    def _write(self, work: Callable[[], T]) -> T:
        """Run ``work`` in one immediate transaction; a failure of the database (disk full, read-only,
        locked past the busy timeout) rolls it back and becomes LogUnavailable."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work()
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:  # SQLite may have rolled back itself (a full disk)
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as e:
                raise LogUnavailable(f"the decision log cannot be written ({e})") from None
            return result

    def _set_up(self) -> None:
        """WAL mode, then the schema. Two processes opening a new log at once (``serve --workers 2``)
        can find it locked while the other switches its journal mode, which SQLite reports at once,
        without waiting (its busy timeout does not cover that): try again for up to 10 s."""
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.path != ":memory:":
                    mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                    if mode.lower() != "wal":
                        raise StoreError(f"cannot put the database in WAL mode (got {mode})")
                self._conn.execute("PRAGMA synchronous = NORMAL")
                self._conn.execute("PRAGMA foreign_keys = ON")
                migrate(self._conn)
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) and "busy" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- writing --------------------------------------------------------------------------------

    def log_decisions(self, rows: Iterable[dict[str, Any]], cards: Iterable[dict[str, Any]] = ()) -> None:
        """Store decisions (dicts with the decisions columns; JSON columns as Python values) and cards."""
        stamp = now()
        values = [(r["id"], r.get("time", stamp), r["channel"], r["kb"]["name"], r["kb"]["version"], r["kb"]["sha256"],
                   None if r.get("facts") is None else json.dumps(r["facts"], ensure_ascii=False, separators=(",", ":")),
                   json.dumps(list(r.get("rules", ()))), json.dumps(r.get("statuses", {})), r.get("outcome", "decided"),
                   r.get("patient_id") if self.log_patient_ids else None) for r in rows]
        card_values = [(c["uuid"], c["decision_id"], c.get("drug"), c.get("status"), c["indicator"]) for c in cards]

        def work() -> None:
            self._conn.executemany("INSERT INTO decisions VALUES (?,?,?,?,?,?,?,?,?,?,?)", values)
            self._conn.executemany("INSERT INTO cards VALUES (?,?,?,?,?)", card_values)
        self._write(work)

    def cards(self, uuids: list[str]) -> dict[str, tuple[str, str | None]]:
        """The logged cards among ``uuids``: uuid -> (when its decision was made, UTC ISO 8601; its drug,
        None for a card about the facts). A uuid the service never issued is not in it."""
        if not uuids:
            return {}
        with self._lock:
            return {row[0]: (row[1], row[2]) for row in self._conn.execute(
                f"SELECT c.uuid, d.time, c.drug FROM cards c JOIN decisions d ON d.id = c.decision_id "
                f"WHERE c.uuid IN ({','.join('?' * len(uuids))})", uuids)}

    def add_feedback(self, items: list[dict[str, Any]]) -> None:
        stamp = now()
        values = [(i["card"], i["outcome"], i.get("reason_code"), i.get("reason_system"), i.get("comment"),
                   i.get("outcome_time"), stamp) for i in items]
        self._write(lambda: self._conn.executemany("INSERT INTO feedback (card_uuid, outcome, reason_code, reason_system, "
                                                   "comment, outcome_time, received) VALUES (?,?,?,?,?,?,?)", values))

    def first_use_of_jti(self, issuer: str, jti: str, expires: int) -> bool:
        """Record a JWT id; False if the same issuer's id was seen before (a replay). Ids whose token
        has expired are forgotten (an expired token is refused anyway)."""
        def work() -> bool:
            self._conn.execute("DELETE FROM jwt_seen WHERE expires < ?", (int(time.time()) - 300,))
            try:
                self._conn.execute("INSERT INTO jwt_seen VALUES (?,?,?)", (issuer, jti, expires))
                return True
            except sqlite3.IntegrityError:
                return False
        return self._write(work)

    # --- reading (ms-advisor log) -------------------------------------------------------------------

    def drugs(self, since: str | None = None) -> list[str]:
        """The drugs the logged decisions name, in the order the statuses list them."""
        where, args = (" WHERE d.time >= ?", (since,)) if since else ("", ())
        with self._lock:
            return [r[0] for r in self._conn.execute(
                f"SELECT j.key FROM decisions d, json_each(d.statuses) j{where} GROUP BY j.key ORDER BY MIN(d.rowid), MIN(j.id)", args)]

    def count(self, since: str | None = None) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM decisions" + (" WHERE time >= ?" if since else ""),
                                          (since,) if since else ()).fetchone()[0])

    def decisions(self, since: str | None = None) -> Iterator[dict[str, Any]]:
        """Logged decisions from ``since`` (an ISO date or time, UTC) on, oldest first, each with its
        cards and the feedback on them. Streamed in one pass: memory stays flat however long the log."""
        where, args = (" WHERE d.time >= ?", (since,)) if since else ("", ())
        query = ("SELECT d.id, d.time, d.channel, d.kb_name, d.kb_version, d.kb_sha256, d.facts, d.rules, d.statuses, "
                 "d.outcome, d.patient_id, c.uuid, c.drug, c.status, c.indicator, f.outcome, f.reason_code, f.comment "
                 "FROM decisions d LEFT JOIN cards c ON c.decision_id = d.id LEFT JOIN feedback f ON f.card_uuid = c.uuid"
                 f"{where} ORDER BY d.time, d.rowid, c.rowid, f.id")
        current: dict[str, Any] | None = None
        cards: dict[str, dict[str, Any]] = {}
        with self._lock:
            for r in self._conn.execute(query, args):
                if current is None or current["id"] != r[0]:
                    if current is not None:
                        yield {**current, "cards": list(cards.values())}
                    current = {"id": r[0], "time": r[1], "channel": r[2], "kb": {"name": r[3], "version": r[4], "sha256": r[5]},
                               "facts": None if r[6] is None else json.loads(r[6]), "rules": json.loads(r[7]),
                               "statuses": json.loads(r[8]), "outcome": r[9], "patient_id": r[10]}
                    cards = {}
                if r[11] is not None:
                    card = cards.setdefault(r[11], {"uuid": r[11], "drug": r[12], "status": r[13], "indicator": r[14], "feedback": []})
                    if r[15] is not None:
                        card["feedback"].append({"outcome": r[15], "reason": r[16], "comment": r[17]})
            if current is not None:
                yield {**current, "cards": list(cards.values())}

    def override_rates(self, since: str | None = None) -> list[dict[str, Any]]:
        """Per drug: cards shown, cards with feedback, accepted, overridden, and the override rate
        (overridden / cards with feedback), from the cards of decisions since ``since``. A card's
        latest feedback counts (an EHR may send a changed outcome again)."""
        query = """
            SELECT c.drug,
                   COUNT(DISTINCT c.uuid),
                   COUNT(f.id),
                   SUM(CASE WHEN f.outcome = 'accepted' THEN 1 ELSE 0 END),
                   SUM(CASE WHEN f.outcome = 'overridden' THEN 1 ELSE 0 END)
            FROM cards c JOIN decisions d ON d.id = c.decision_id
            LEFT JOIN feedback f ON f.id = (SELECT MAX(id) FROM feedback WHERE card_uuid = c.uuid)
            WHERE c.drug IS NOT NULL""" + (" AND d.time >= ?" if since else "") + " GROUP BY c.drug ORDER BY c.drug"
        with self._lock:
            rows = self._conn.execute(query, (since,) if since else ()).fetchall()
        return [{"drug": drug, "cards": cards, "feedback": fb, "accepted": acc or 0, "overridden": ov or 0,
                 "override_rate": round((ov or 0) / fb, 4) if fb else None} for drug, cards, fb, acc, ov in rows]


def open_existing(path: str) -> Store:
    """Open a log for reading; refuse a path that is not there (rather than create an empty log)."""
    if not os.path.isfile(path):
        raise StoreError(f"{path}: no such decision log")
    return Store(path, writable=False)  # a log kept read-only can be read
