"""What a run leaves behind while it runs: atomic files, a live manifest, and its process.

Every file a run writes goes through :func:`write_atomic`: a temporary file in the same
folder, then ``os.replace``. A write that fails (a full disk, a folder made read-only
under the run) leaves the previous version or nothing, never a truncated file that
looks complete, and becomes a :class:`~toolkit.StorageError` that names the path and the
fix (exit 3).

``manifest.json`` is written with status ``running`` before any kernel starts, with the
identity of the process that runs it: pid, host, and the process's start time, so that a
recycled pid is not taken for the run. It is replaced as the run moves on and at its
end. A run killed without a chance to write (SIGKILL, the out-of-memory killer, a power
cut) leaves a manifest that still says ``running``; :func:`reap_runs` marks those whose
process is gone from this host ``interrupted``. A run started on another host is left as
it is: its process cannot be looked up from here.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import os
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from toolkit._exceptions import StorageError

__all__ = ["Manifest", "add_banner", "interrupted_note", "package_versions", "process_state",
           "reap_runs", "storage_error", "this_process", "write_atomic"]

#: Packages whose versions every manifest records.
PACKAGES = ("mlsteward", "pandas", "numpy", "scikit-learn", "shap", "papermill", "nbconvert",
            "matplotlib", "pyarrow", "scipy", "lightgbm", "xgboost", "mlflow")

_WHY = {
    errno.ENOSPC: ("the disk holding {folder!r} is full",
                   "Free space there (old run folders can go) or pass {option} a folder on "
                   "another disk, then run again."),
    errno.EDQUOT: ("this user's disk quota for {folder!r} is used up",
                   "Free space there or pass {option} a folder on another disk, then run again."),
    errno.EROFS: ("{folder!r} is on a read-only file system",
                  "Remount it read-write or pass {option} a writable folder, then run again."),
    errno.EACCES: ("{folder!r} is not writable by this user",
                   "Give this user write access to it or pass {option} a folder it can write "
                   "to, then run again."),
    errno.ENOENT: ("the folder {folder!r} does not exist (removed or unmounted?)",
                   "Create or mount it, or pass {option} an existing folder, then run again."),
}
_WHY[errno.EPERM] = _WHY[errno.EACCES]
_WHY[errno.ENOTDIR] = _WHY[errno.ENOENT]


def storage_error(exc: OSError, path: str | os.PathLike[str], *, what: str,
                  option: str = "--reports-dir") -> StorageError:
    """A :class:`StorageError` for a failed write of ``what`` to ``path``: the path, the
    cause in words, and the fix."""
    folder = str(Path(path).parent)
    why, fix = _WHY.get(exc.errno or 0, ("{strerror}", "Check the disk and the folder, then "
                                         "run again."))
    strerror = exc.strerror or str(exc)
    return StorageError(
        f"Could not write {what} {str(path)!r}: "
        f"{why.format(folder=folder, strerror=strerror)} ({strerror}). "
        f"{fix.format(option=option)}")


def write_atomic(path: str | os.PathLike[str], data: str | bytes, *, what: str,
                 option: str = "--reports-dir") -> Path:
    """Write ``data`` to ``path`` whole or not at all (temporary file, fsync, rename).

    Raises
    ------
    StorageError
        The write failed; the temporary file is removed and ``path`` is as it was.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise storage_error(exc, target, what=what, option=option) from exc
    return target


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()


def this_process() -> dict[str, Any]:
    """Who runs this: pid, host, and the process's start time in clock ticks since boot
    (None where there is no /proc)."""
    fields = _proc_stat(os.getpid())
    return {"pid": os.getpid(), "host": socket.gethostname(),
            "start_ticks": fields[19] if fields and len(fields) > 19 else None}


def process_state(process: Mapping[str, Any] | None) -> str:
    """``"alive"``, ``"gone"``, or ``"unknown"`` (another host, or no pid recorded)."""
    if not process or not process.get("pid") or process.get("host") != socket.gethostname():
        return "unknown"
    pid = int(process["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        pass  # alive, and someone else's
    fields = _proc_stat(pid)
    if fields is None:
        return "alive"
    if fields[0] in ("Z", "X"):  # dead, not yet reaped by its parent
        return "gone"
    started = process.get("start_ticks")
    if started is not None and len(fields) > 19 and fields[19] != str(started):
        return "gone"  # the pid was recycled by a later process
    return "alive"


def gone_note(process: Mapping[str, Any]) -> str:
    return (f"The run stopped without finishing: its process (pid {process.get('pid')} on "
            f"{process.get('host')}) is gone, killed (SIGKILL, out of memory, a power cut) "
            f"before it could record its end. Seen at {_now()}.")


def package_versions() -> dict[str, str | None]:
    """Installed versions of :data:`PACKAGES` (None where one is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def interrupted_note(signame: str, execution: Any) -> str:
    """Where an interrupted run stopped, for its manifest, its banner and the command line."""
    where = (f"after {execution.cells_done} of {execution.cells_total} cells"
             if execution.kernel_started else "while its kernel was starting")
    return f"The run was stopped by {signame} {where}; the report shows only what ran before."


def add_banner(nb: Any, note: str) -> None:
    """Put a note that the run was interrupted above the notebook's first cell."""
    import nbformat

    nbformat.v4.upgrade(nb)  # cell ids need 4.5
    cell = nbformat.v4.new_markdown_cell(f"**Interrupted.** {note}")
    cell.metadata["tags"] = ["steward-interrupted"]
    nb.cells.insert(0, cell)


class Manifest:
    """A run's ``manifest.json``, rewritten whole and atomically on every change.

    Thread-safe: the kernel's progress hooks run in papermill's thread.
    """

    def __init__(self, path: Path, data: Mapping[str, Any]) -> None:
        self.path = path
        self.data: dict[str, Any] = dict(data)
        self._lock = threading.Lock()

    @classmethod
    def begin(cls, run_dir: Path, data: Mapping[str, Any]) -> Manifest:
        """Write the manifest of a run that starts now (status ``running``)."""
        manifest = cls(run_dir / "manifest.json", {
            "progress": {"stage": "starting", "cells_done": 0}, **data, "status": "running",
            "error": None, "started": _now(), "finished": None, "process": this_process()})
        manifest.update()
        return manifest

    def update(self, *, progress: Mapping[str, Any] | None = None, **fields: Any) -> None:
        with self._lock:
            self.data.update(fields)
            if progress:
                self.data["progress"] = {**self.data.get("progress", {}), **progress}
            self.data["updated"] = _now()
            text = json.dumps(self.data, indent=2, default=str)
            write_atomic(self.path, text, what="the run manifest")


def reap_runs(folder: Path, *, skip: Path | None = None, newest: int = 100) -> list[Path]:
    """Mark ``interrupted`` the runs under ``folder`` whose manifest says ``running`` but
    whose process is gone from this host; return their folders.

    Only the ``newest`` run folders are read, so a folder of years of runs stays cheap.
    A manifest that cannot be rewritten (read-only disk) is still reported.
    """
    try:
        runs = sorted((p for p in folder.iterdir() if p.is_dir() and p != skip), reverse=True)
    except OSError:
        return []
    found = []
    for run_dir in runs[:newest]:
        path = run_dir / "manifest.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("status") != "running" or process_state(data.get("process")) != "gone":
            continue
        data.update(status="interrupted", error=gone_note(data["process"]), updated=_now())
        with contextlib.suppress(StorageError):
            write_atomic(path, json.dumps(data, indent=2, default=str), what="a run manifest")
        found.append(run_dir)
    return found
