"""``run_audit``: one scheduled audit, from config to run folder and history row.

The config is validated in this process, so a bad config fails before any kernel
starts; so do a reports folder that cannot be written and a history that cannot be used
(exit 3). Then the run is recorded in the history as ``running``,
``templates/audit.ipynb`` runs through :func:`toolkit.runner.run_template` into a new
run folder, the objective results it emits are written to ``objectives.json`` beside
the report, and the history row is completed. An audit stopped by SIGINT or SIGTERM
completes its row as ``interrupted`` (exit 130 or 143); one killed outright leaves it
``running``, and it reads as ``interrupted`` once its process is gone.

A second run of the same config and window is skipped (the earlier run folder is
returned) unless forced. Two runs of one config and window started together (a cron
retry, two schedulers) take turns on a lock file beside the history: the second waits,
then finds the first's record and is skipped. The lock file goes with the run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from toolkit._audit_config import AuditConfig, Window, load_config, parse_now
from toolkit._audit_history import History, history_path
from toolkit._exceptions import ConfigError, RunInterrupted, StewardError, StorageError
from toolkit._run_trace import storage_error, write_atomic

__all__ = ["EXIT_CODES", "AuditRun", "run_audit"]

#: Exit code of ``steward audit`` per run status.
EXIT_CODES = {"passed": 0, "breached": 1, "failed": 2}
TEMPLATE = "audit"
#: Longest wait for another run of the same config and window before giving up.
LOCK_WAIT_SECONDS = 3600.0


@dataclasses.dataclass
class AuditRun:
    """What :func:`run_audit` did.

    ``status`` is passed, breached or failed; ``skipped`` is True when an earlier run
    of the same config and window was found and nothing ran (its folder and status
    are reported).
    """

    config: str
    window: Window
    status: str
    run_dir: Path | None
    objectives: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    breached: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    skipped: bool = False

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def lines(self) -> list[str]:
        """A short human summary, one fact per line."""
        head = f"audit {self.config!r}, window {self.window.label}: {self.status.upper()}"
        out = [head + (" (already audited; use --force to run again)" if self.skipped else "")]
        by_name = {o["name"]: o for o in self.objectives}
        for name in self.breached:
            o = by_name.get(name, {})
            if o.get("value") is None:
                out.append(f"  breached: {name} ({o.get('measure')} unavailable: "
                           f"{o.get('reason')})")
            else:
                out.append(f"  breached: {name} ({o['measure']} = {o['value']:.4g}, "
                           f"expected {o['rule']})")
        if self.error:
            out.append(f"  error: {self.error}")
        if self.run_dir is not None:
            if (self.run_dir / "report.html").exists():
                out.append(f"  report: {self.run_dir / 'report.html'}")
            out.append(f"  run folder: {self.run_dir}")
        return out


def run_audit(config: str | Path | AuditConfig, *, reports_dir: str | Path = "reports",
              force: bool = False, now: _dt.datetime | str | None = None) -> AuditRun:
    """Run one audit into a new run folder and record it in the history.

    Parameters
    ----------
    config : path or AuditConfig
        The YAML config (validated before anything runs).
    reports_dir : path, default="reports"
        Run folders go to ``<reports_dir>/audit/``; the history is
        ``<reports_dir>/audit/history.sqlite``.
    force : bool, default=False
        Run even when this config and window were audited already.
    now : datetime or ISO str, optional
        The time the audit is taken to run at (default: the clock); it decides the
        window (``yesterday`` of ``now``).

    Returns
    -------
    AuditRun

    Raises
    ------
    ConfigError
        The config is invalid; nothing ran and no folder was made.
    StorageError
        The reports folder cannot be written or the history cannot be used (checked
        before any kernel starts), or a file of the run could not be written.
    RunInterrupted
        SIGINT or SIGTERM stopped the run; its history row says ``interrupted``.
    """
    cfg = config if isinstance(config, AuditConfig) else load_config(config)
    if cfg.model is not None:  # a model that cannot load is a config to fix, not a breach
        from toolkit._exceptions import ModelError
        from toolkit.io import load_model

        try:
            load_model(cfg.model, name="audit model")
        except ModelError as exc:
            raise ConfigError(f"model: {exc}") from exc
    at = parse_now(now)
    window = cfg.window_at(at)
    from toolkit._run_kernel import catch_signals
    from toolkit.runner import check_reports_dir, new_run_dir

    check_reports_dir(reports_dir)
    history = History(history_path(reports_dir))
    history.reap()  # the history opens for writing, and a killed run's row says so
    with _window_lock(history.path, cfg, window):
        if not force:
            done = history.find_run(config=cfg.name, config_sha256=cfg.sha256,
                                    window_start=window.start.isoformat(),
                                    window_end=window.end.isoformat())
            if done is not None:
                return _skipped(cfg, window, done)
        with catch_signals():
            run_dir = new_run_dir(reports_dir, TEMPLATE).resolve()  # read from other folders too
            row = _history_row(cfg, window, AuditRun(cfg.name, window, "failed", run_dir),
                               started=_now(), forced=force)
            run_id = history.start(row)
            run = _execute(cfg, window, at, history, run_dir=run_dir, end=(run_id, row))
    return run


@contextlib.contextmanager
def _window_lock(history: Path, cfg: AuditConfig, window: Window) -> Iterator[None]:
    """Hold an exclusive lock for this config and window while it is checked and run.

    An advisory ``flock`` on a file beside the history, removed by its holder when the
    run ends. A waiter that then holds a lock on the removed file sees that the path no
    longer names it and locks the path afresh, so two runs never both hold "the" lock.
    Where there is no ``flock`` (not POSIX), runs are not serialised and the history's
    own locking still keeps it whole.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    key = hashlib.sha256(f"{cfg.name}|{cfg.sha256}|{window.start.isoformat()}|"
                         f"{window.end.isoformat()}".encode()).hexdigest()[:16]
    folder = history.parent / "locks"
    path = folder / f"{key}.lock"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, path, what="the audit lock") from exc
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        handle = _open_lock(path)
        if _acquire(handle, fcntl, deadline, path, cfg, window) and _still_names(path, handle):
            break
        handle.close()  # the holder before us removed the file: lock the path afresh
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # before unlocking, so no newcomer can lock the old file
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _open_lock(path: Path) -> IO[str]:
    try:
        return open(path, "a")
    except OSError as exc:
        raise storage_error(exc, path, what="the audit lock") from exc


def _acquire(handle: IO[str], fcntl: Any, deadline: float, path: Path, cfg: AuditConfig,
             window: Window) -> bool:
    while True:  # wait for a run of the same window to finish, but not forever
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.close()
                raise StewardError(
                    f"Another audit of {cfg.name!r} for the window {window.start:%Y-%m-%d %H:%M} "
                    f"has held {str(path)!r} for over {LOCK_WAIT_SECONDS:.0f} s. If no such "
                    f"run is alive (a hung kernel), stop it; the lock goes with its process."
                ) from None
            time.sleep(0.5)


def _still_names(path: Path, handle: IO[str]) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
    except FileNotFoundError:
        return False


def _execute(cfg: AuditConfig, window: Window, at: _dt.datetime, history: History, *,
             run_dir: Path, end: tuple[int, dict[str, Any]]) -> AuditRun:
    """Run the template into ``run_dir`` and complete the history row ``end`` however it ends."""
    from toolkit.runner import read_emitted, run_template

    params = {"config": cfg.source, "now": at.isoformat(), "history": str(history.path.resolve())}
    try:
        result = run_template(TEMPLATE, params, run_dir=run_dir)
    except RunInterrupted as exc:
        _close(history, end, _failed(cfg, window, run_dir, "interrupted", str(exc)), exc.exit_code)
        raise
    except StorageError as exc:
        with contextlib.suppress(StewardError):  # the history may share the failing disk
            _close(history, end, _failed(cfg, window, run_dir, "failed", str(exc)), 3)
        raise
    except BaseException as exc:
        with contextlib.suppress(StewardError):
            _close(history, end, _failed(cfg, window, run_dir, "failed", repr(exc)), 1)
        raise
    payloads = read_emitted(result.notebook, "objectives") if result.notebook.exists() else []
    if result.ok and payloads:
        payload = dict(payloads[-1])
    else:
        payload = _failed(cfg, window, run_dir, "failed", result.error
                          or "the audit template finished without emitting its objectives")
    run = AuditRun(cfg.name, window, payload["status"], run_dir, payload.get("objectives", []),
                   list(payload.get("breached", [])), payload.get("error"))
    _close(history, end, payload, run.exit_code)
    return run


def _failed(cfg: AuditConfig, window: Window, run_dir: Path, status: str,
            error: str) -> dict[str, Any]:
    return {"config": cfg.name, "config_sha256": cfg.sha256, "window": window.to_dict(),
            "status": status, "breached": [], "objectives": [], "measures": {}, "error": error,
            "run_dir": str(run_dir)}


def _close(history: History, end: tuple[int, dict[str, Any]], payload: dict[str, Any],
           exit_code: int) -> None:
    """Write ``objectives.json`` and complete the run's history row."""
    run_id, row = end
    payload["run_dir"] = row["run_dir"]
    write_atomic(Path(row["run_dir"]) / "objectives.json", json.dumps(payload, indent=2),
                 what="the objective results")
    history.finish(run_id, {
        **row, "status": payload["status"], "exit_code": exit_code, "finished": _now(),
        "breached": payload.get("breached", []), "error": payload.get("error"),
        "objectives": payload.get("objectives", []), "measures": payload.get("measures", {})})


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _history_row(cfg: AuditConfig, window: Window, run: AuditRun, *, started: str,
                 forced: bool) -> dict[str, Any]:
    return {
        "config": cfg.name, "config_sha256": cfg.sha256, "config_path": cfg.source,
        "window_start": window.start.isoformat(), "window_end": window.end.isoformat(),
        "status": run.status, "exit_code": run.exit_code, "started": started, "finished": None,
        "run_dir": None if run.run_dir is None else str(run.run_dir),
        "breached": run.breached, "error": run.error, "forced": forced,
        "objectives": run.objectives, "measures": {},
    }


def _skipped(cfg: AuditConfig, window: Window, done: dict[str, Any]) -> AuditRun:
    run_dir = Path(done["run_dir"]) if done.get("run_dir") else None
    objectives: list[dict[str, Any]] = []
    if run_dir is not None and (run_dir / "objectives.json").exists():
        objectives = json.loads((run_dir / "objectives.json").read_text()).get("objectives", [])
    return AuditRun(cfg.name, window, done["status"], run_dir, objectives,
                    list(done.get("breached", [])), skipped=True)
