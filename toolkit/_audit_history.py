"""The audit history: one SQLite file beside the reports.

``<reports_dir>/audit/history.sqlite`` keeps every run (config, window, status, run
folder, error), its objective results and its key measures. Several audits may run at
the same moment (cron and a manual rerun, or many configs): the file is opened in WAL
mode with a busy timeout, every write is one short ``BEGIN IMMEDIATE`` transaction,
and a run is written once, when it is finished, so readers never see half a run.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from toolkit._exceptions import InputError

__all__ = ["History", "history_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    config TEXT NOT NULL,
    config_sha256 TEXT NOT NULL,
    config_path TEXT,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER NOT NULL,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    run_dir TEXT,
    breached TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    forced INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_window ON runs (config, window_start, window_end);
CREATE TABLE IF NOT EXISTS objectives (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    measure TEXT NOT NULL,
    value REAL,
    min REAL,
    max REAL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS measures (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, name)
);
"""

#: Run statuses: every objective met, one breached, or the audit could not run.
STATUSES = ("passed", "breached", "failed")


def history_path(reports_dir: str | Path) -> Path:
    """Where the history of audits under ``reports_dir`` lives."""
    return Path(reports_dir) / "audit" / "history.sqlite"


class History:
    """Read and append audit runs in a SQLite file.

    Parameters
    ----------
    path : str or Path
        The SQLite file; it and its folder are created on the first write.
    timeout : float, default=60
        Seconds to wait for another writer before giving up.
    """

    def __init__(self, path: str | Path, *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    @contextlib.contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise FileNotFoundError(self.path)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if write:
                self._prepare(conn)
            yield conn
        except sqlite3.DatabaseError as exc:
            raise InputError(f"The audit history {str(self.path)!r} cannot be used: {exc}. "
                             f"If the file is damaged, move it away; a new one is started "
                             f"on the next run.") from exc
        finally:
            conn.close()

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # journal_mode=WAL may report "locked" without calling the busy handler while
        # another process switches it; retry briefly instead of failing the audit.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def record(self, run: Mapping[str, Any]) -> int:
        """Append one finished run; returns its id.

        ``run`` has the keys of the ``runs`` table plus ``objectives`` (records with
        name, measure, value, min, max, severity, status, reason) and ``measures``
        (name -> value or None).
        """
        row = {k: run.get(k) for k in (
            "config", "config_sha256", "config_path", "window_start", "window_end", "status",
            "exit_code", "started", "finished", "run_dir", "error")}
        row["breached"] = json.dumps(list(run.get("breached") or []))
        row["forced"] = int(bool(run.get("forced")))
        row["finished"] = row["finished"] or _now()
        with self._connect(write=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cur = conn.execute(
                    f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()))
                run_id = int(cur.lastrowid or 0)
                conn.executemany(
                    "INSERT INTO objectives VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, o["name"], o["measure"], o.get("value"), o.get("min"),
                      o.get("max"), o["severity"], o["status"], o.get("reason"))
                     for o in run.get("objectives") or []])
                conn.executemany("INSERT INTO measures VALUES (?, ?, ?)",
                                 [(run_id, k, v) for k, v in (run.get("measures") or {}).items()])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return run_id

    def runs(self, *, config: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Runs, newest first (by window, then by finish time)."""
        sql = "SELECT * FROM runs"
        args: list[Any] = []
        if config is not None:
            sql += " WHERE config = ?"
            args.append(config)
        sql += " ORDER BY window_start DESC, finished DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_run_dict(r) for r in self._query(sql, args)]

    def find_run(self, *, config: str, config_sha256: str, window_start: str,
                 window_end: str) -> dict[str, Any] | None:
        """The latest completed (passed or breached) run of this config and window."""
        rows = self._query(
            "SELECT * FROM runs WHERE config = ? AND config_sha256 = ? AND window_start = ? "
            "AND window_end = ? AND status IN ('passed', 'breached') ORDER BY id DESC LIMIT 1",
            [config, config_sha256, window_start, window_end])
        return _run_dict(rows[0]) if rows else None

    def objective_history(self, *, config: str, before: str | None = None) -> list[dict[str, Any]]:
        """Objective results of the config's completed runs, one run per window (the latest).

        ``before`` keeps windows that start before that ISO time.
        """
        sql = (
            "SELECT r.id AS run_id, r.window_start, r.window_end, r.status AS run_status, "
            "o.name, o.measure, o.value, o.min, o.max, o.severity, o.status, o.reason "
            "FROM objectives o JOIN runs r ON r.id = o.run_id WHERE r.config = ? AND r.id IN "
            "(SELECT MAX(id) FROM runs WHERE config = ? AND status != 'failed' "
            "GROUP BY window_start, window_end)")
        args: list[Any] = [config, config]
        if before is not None:
            sql += " AND r.window_start < ?"
            args.append(before)
        sql += " ORDER BY r.window_start, o.name"
        return [dict(r) for r in self._query(sql, args)]

    def objectives_of(self, run_id: int) -> list[dict[str, Any]]:
        """The objective results of one run, in name order."""
        rows = self._query("SELECT name, measure, value, min, max, severity, status, reason "
                           "FROM objectives WHERE run_id = ? ORDER BY name", [run_id])
        return [dict(r) for r in rows]

    def measures_of(self, run_id: int) -> dict[str, float | None]:
        rows = self._query("SELECT name, value FROM measures WHERE run_id = ?", [run_id])
        return {r["name"]: r["value"] for r in rows}

    def _query(self, sql: str, args: Sequence[Any]) -> list[sqlite3.Row]:
        try:
            with self._connect(write=False) as conn:
                if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone():
                    return []
                return list(conn.execute(sql, list(args)))
        except FileNotFoundError:
            return []


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["breached"] = json.loads(out.get("breached") or "[]")
    out["forced"] = bool(out.get("forced"))
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
