"""The audit history: one SQLite file beside the reports.

``<reports_dir>/audit/history.sqlite`` keeps every run (config, window, status, run
folder, error), its objective results and its key measures. Several audits may run at
the same moment (cron and a manual rerun, or many configs): the file is opened in WAL
mode with a busy timeout, and every write is one short ``BEGIN IMMEDIATE`` transaction.

A run is recorded when it starts (:meth:`History.start`, status ``running``, with the
pid, host and start time of its process) and completed when it ends
(:meth:`History.finish`), with its objectives and measures in the same transaction, so
readers never see half a result. A row left ``running`` by a process that is gone from
this host (killed by SIGKILL, out of memory, a power cut) reads as ``interrupted``, and
:meth:`History.reap`, called by the next audit, writes it so.

The file failing us (locked past the timeout, damaged, on a full or read-only disk) is
a :class:`~toolkit.StorageError` (exit 3) that says which, and advises moving the file
aside only when it is damaged.
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

from toolkit._exceptions import StorageError
from toolkit._run_trace import gone_note, process_state, storage_error, this_process

__all__ = ["History", "history_path"]

#: Seconds to wait for another writer before the history counts as locked.
TIMEOUT_SECONDS = 60.0

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
    forced INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    host TEXT,
    start_ticks TEXT
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

#: Run statuses: every objective met, one breached, the audit could not run, it is
#: running, or it was stopped (a signal, or its process vanished).
STATUSES = ("passed", "breached", "failed", "running", "interrupted")
#: Columns added after the first release; older files get them on the next write.
_ADDED = {"pid": "INTEGER", "host": "TEXT", "start_ticks": "TEXT"}
#: ``exit_code`` and ``finished`` of a row whose process has not ended (both NOT NULL).
_NO_EXIT, _NOT_FINISHED = -1, ""
_RUN_KEYS = ("config", "config_sha256", "config_path", "window_start", "window_end", "status",
             "exit_code", "started", "finished", "run_dir", "error")


def history_path(reports_dir: str | Path) -> Path:
    """Where the history of audits under ``reports_dir`` lives."""
    return Path(reports_dir) / "audit" / "history.sqlite"


class History:
    """Read and append audit runs in a SQLite file.

    Parameters
    ----------
    path : str or Path
        The SQLite file; it and its folder are created on the first write.
    timeout : float, optional
        Seconds to wait for another writer before giving up (default
        :data:`TIMEOUT_SECONDS`).
    """

    def __init__(self, path: str | Path, *, timeout: float | None = None) -> None:
        self.path = Path(path)
        self.timeout = TIMEOUT_SECONDS if timeout is None else timeout

    @contextlib.contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise storage_error(exc, self.path, what="the audit history") from exc
        elif not self.path.exists():
            raise FileNotFoundError(self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if write:
                self._prepare(conn)
            yield conn
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        finally:
            conn.close()

    def _error(self, exc: sqlite3.Error) -> StorageError:
        """What went wrong with the file, in words, and the fix for that cause only."""
        code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
        text, path = str(exc), str(self.path)
        if code in (11, 26) or "not a database" in text or "malformed" in text:  # CORRUPT, NOTADB
            return StorageError(
                f"The audit history {path!r} is damaged ({text}). Move it aside (mv {path} "
                f"{path}.damaged); the next audit starts a new history, and every past run "
                f"folder keeps its report and objectives.json.")
        if code in (5, 6) or "locked" in text:  # BUSY, LOCKED
            return StorageError(
                f"The audit history {path!r} stayed locked by another process for "
                f"{self.timeout:g} s ({text}). Another audit, or a program holding a long "
                f"transaction on it, has it: let that finish or stop it, then run again. The "
                f"file itself is fine; keep it where it is.")
        if code == 13 or "full" in text:  # FULL
            return StorageError(
                f"The disk holding the audit history {path!r} is full ({text}). Free space "
                f"there or pass --reports-dir a folder on another disk, then run again.")
        if code == 8 or "readonly" in text:  # READONLY
            return StorageError(
                f"The audit history {path!r} is read-only ({text}): it or its folder is on a "
                f"read-only file system or not writable by this user. Make both writable or "
                f"pass --reports-dir a writable folder, then run again.")
        return StorageError(
            f"The audit history {path!r} cannot be used ({text}): its folder may be missing, "
            f"unreadable or not writable by this user, or the disk failing. Check the folder, "
            f"its permissions and the disk, then run again.")

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # journal_mode=WAL may report "locked" without calling the busy handler while
        # another process switches it; retry briefly instead of failing the audit.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.executescript(_SCHEMA)
                self._migrate(conn)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        have = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
        for name, kind in _ADDED.items():
            if name not in have:
                try:
                    conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect(write=True) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def record(self, run: Mapping[str, Any]) -> int:
        """Append one finished run; returns its id.

        ``run`` has the keys of the ``runs`` table plus ``objectives`` (records with
        name, measure, value, min, max, severity, status, reason) and ``measures``
        (name -> value or None).
        """
        row = _row(run)
        row["finished"] = row["finished"] or _now()
        with self._transaction() as conn:
            run_id = self._insert(conn, row)
            self._results(conn, run_id, run)
        return run_id

    def start(self, run: Mapping[str, Any]) -> int:
        """Record a run that starts now (status ``running``, this process); returns its id."""
        row = _row({**run, "status": "running", "exit_code": _NO_EXIT,
                    "finished": _NOT_FINISHED})
        row.update(this_process())
        with self._transaction() as conn:
            return self._insert(conn, row)

    def finish(self, run_id: int, run: Mapping[str, Any]) -> None:
        """Complete the row of :meth:`start` with the run's end, objectives and measures."""
        row = _row(run)
        fields = {k: row[k] for k in ("status", "exit_code", "run_dir", "error", "breached")}
        fields["finished"] = row["finished"] or _now()
        with self._transaction() as conn:
            conn.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",
                         [*fields.values(), run_id])
            self._results(conn, run_id, run)

    def reap(self) -> list[int]:
        """Mark ``interrupted`` the rows left ``running`` by a process gone from this host.

        Opens the file for writing, so it is also the check that the history can be
        used before an audit starts.
        """
        with self._transaction() as conn:
            rows = conn.execute("SELECT id, pid, host, start_ticks FROM runs "
                                "WHERE status = 'running'").fetchall()
            gone = [dict(r) for r in rows if process_state(dict(r)) == "gone"]
            conn.executemany("UPDATE runs SET status = 'interrupted', error = ?, finished = ? "
                             "WHERE id = ?", [(gone_note(r), _now(), r["id"]) for r in gone])
        return [r["id"] for r in gone]

    @staticmethod
    def _insert(conn: sqlite3.Connection, row: Mapping[str, Any]) -> int:
        cur = conn.execute(
            f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()))
        return int(cur.lastrowid or 0)

    @staticmethod
    def _results(conn: sqlite3.Connection, run_id: int, run: Mapping[str, Any]) -> None:
        conn.executemany(
            "INSERT INTO objectives VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, o["name"], o["measure"], o.get("value"), o.get("min"),
              o.get("max"), o["severity"], o["status"], o.get("reason"))
             for o in run.get("objectives") or []])
        conn.executemany("INSERT INTO measures VALUES (?, ?, ?)",
                         [(run_id, k, v) for k, v in (run.get("measures") or {}).items()])

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
            "(SELECT MAX(id) FROM runs WHERE config = ? AND status IN ('passed', 'breached') "
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


def _row(run: Mapping[str, Any]) -> dict[str, Any]:
    row = {k: run.get(k) for k in _RUN_KEYS}
    row["breached"] = json.dumps(list(run.get("breached") or []))
    row["forced"] = int(bool(run.get("forced")))
    return row


def _run_dict(row: sqlite3.Row) -> dict[str, Any]:
    """A row as a reader sees it: a run whose process is gone reads as interrupted."""
    out = dict(row)
    out["breached"] = json.loads(out.get("breached") or "[]")
    out["forced"] = bool(out.get("forced"))
    if out.get("status") == "running" and process_state(out) == "gone":
        out["status"], out["error"] = "interrupted", gone_note(out)
    if out.get("exit_code") == _NO_EXIT:
        out["exit_code"] = None
    out["finished"] = out.get("finished") or None
    return out


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
