"""Run templates with papermill into run folders that are never overwritten.

A run folder ``<reports_dir>/<template>/<UTC timestamp>-<short id>/`` holds:

- ``<template>.ipynb``: the executed notebook (partial when a cell failed);
- ``report.html``: a self-contained HTML export that opens offline (inputs hidden
  unless ``show_inputs``);
- ``findings.json``: the ranked findings the template emitted;
- ``manifest.json``: parameters, input fingerprints, model identity, package
  versions, start and end times, status and error, the process that ran it and how far
  it got.

Parameters are checked against :func:`papermill.inspect_notebook` before any kernel
starts: an unknown or mistyped name is a :class:`~toolkit.ParameterError`.

Every run leaves a trace. The manifest is written with status ``running`` before the
kernel starts and replaced atomically after each cell and at the end (``succeeded``,
``failed`` or ``interrupted``). SIGINT or SIGTERM stops the kernel, renders what ran
with a banner saying so, marks the run ``interrupted`` and raises
:class:`~toolkit.RunInterrupted` (exit 130 or 143). A run killed outright keeps a
manifest that says ``running``; the next run in the same folder marks it
``interrupted`` once its process is gone. Files are written whole or not at all; a
full disk or a read-only folder is a :class:`~toolkit.StorageError` (exit 3). See
:mod:`toolkit._run_trace` and :mod:`toolkit._run_kernel`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import re
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError, ParameterError, RunError, RunInterrupted, StorageError
from toolkit._run_trace import (
    Manifest,
    add_banner,
    interrupted_note,
    package_versions,
    reap_runs,
    storage_error,
    write_atomic,
)
from toolkit.findings import Finding

if TYPE_CHECKING:
    from toolkit._run_kernel import Execution, Stop

__all__ = [
    "RunResult",
    "check_files",
    "coerce_parameters",
    "export_html",
    "list_templates",
    "new_run_dir",
    "raise_for_status",
    "read_emitted",
    "resolve_template",
    "run_template",
    "template_parameters",
]

#: Parameters whose values are files (or model URIs) to fingerprint in the manifest.
FILE_PARAMETERS = ("reference", "current", "model", "previous_model", "data", "config")

def _template_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    return [
        here.parent / "templates",  # a source checkout or editable install
        Path(sys.prefix) / "share" / "mlsteward" / "templates",  # a regular install
    ]


def list_templates() -> list[str]:
    """Bare names of the templates that ship with Steward."""
    names: set[str] = set()
    for d in _template_dirs():
        names.update(p.stem for p in d.glob("*.ipynb"))
    return sorted(names)


def resolve_template(template: str | os.PathLike[str]) -> Path:
    """A template's path from its path or bare name (``"investigate"``)."""
    p = Path(template)
    if p.suffix == ".ipynb" and p.is_file():
        return p.resolve()
    for d in _template_dirs():
        candidate = d / f"{p.stem if p.suffix == '.ipynb' else p.name}.ipynb"
        if candidate.is_file():
            return candidate
    raise ParameterError(
        f"Unknown template {str(template)!r}. Give the path of a notebook or one of: "
        f"{', '.join(list_templates()) or '(none found)'}."
    )


def template_parameters(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The template's parameters as papermill infers them (name, type, default, help)."""
    import papermill

    return dict(papermill.inspect_notebook(str(path)))


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _coerce(name: str, value: Any, type_name: str, template: str) -> Any:
    if not isinstance(value, str) or type_name in ("str", "None", ""):
        return value
    try:
        if type_name == "int":
            return int(value)
        if type_name == "float":
            return float(value)
        if type_name == "bool":
            low = value.strip().lower()
            if low in _TRUE | _FALSE:
                return low in _TRUE
            raise ValueError(value)
    except ValueError:
        raise ParameterError(
            f"Parameter {name!r} of template {template!r} must be of type {type_name}; "
            f"got {value!r}. Pass a value such as -p {name} "
            f"{ {'int': '10', 'float': '0.5', 'bool': 'true'}.get(type_name, '...') }."
        ) from None
    return value


def coerce_parameters(path: str | os.PathLike[str], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Check names against the template and convert text values to declared types.

    Raises
    ------
    ParameterError
        A name the template does not declare, or a value of the wrong type.
    """
    import difflib

    declared = template_parameters(path)
    name = Path(path).stem
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if key not in declared:
            close = difflib.get_close_matches(key, declared, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ParameterError(
                f"Template {name!r} has no parameter {key!r}.{hint} Its parameters are: "
                f"{', '.join(declared) or '(none)'}."
            )
        out[key] = _coerce(key, value, declared[key]["inferred_type_name"], name)
    return out


def check_reports_dir(reports_dir: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, a ``reports_dir`` that run folders cannot go under.

    Raises
    ------
    InputError
        The path runs into a file (a mistyped path: exit 2).
    StorageError
        The folder, or the nearest one that exists, is read-only or not writable (exit 3).
    """
    path = Path(reports_dir)
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent  # the folder that would hold the new ones
    if probe.exists() and not probe.is_dir():
        raise InputError(
            f"The reports folder {str(path)!r} cannot be made: {str(probe)!r} is a file. "
            f"Pass --reports-dir a folder path."
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        why = ("is on a read-only file system" if _read_only(probe) else
               "is not writable by this user")
        raise StorageError(
            f"The reports folder {str(path)!r} cannot be written: {str(probe)!r} {why}. "
            f"Make it writable (remount it read-write, or give this user write access) or "
            f"pass --reports-dir a folder you can write to."
        )
    return path


def _read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def new_run_dir(reports_dir: str | os.PathLike[str], template_name: str) -> Path:
    """Create a fresh run folder; an existing folder is never reused."""
    base = Path(check_reports_dir(reports_dir)) / template_name
    try:
        base.mkdir(parents=True, exist_ok=True)
        while True:
            stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            run_dir = base / f"{stamp}-{uuid.uuid4().hex[:6]}"
            try:
                run_dir.mkdir()
            except FileExistsError:
                continue
            return run_dir
    except OSError as exc:
        raise storage_error(exc, base, what="a run folder in") from exc


@dataclass
class RunResult:
    """What a template run left behind."""

    run_dir: Path
    status: str
    notebook: Path
    html: Path | None
    findings: list[Finding] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: Earlier run folders beside this one found ``running`` with their process gone,
    #: now marked ``interrupted``.
    reaped: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def read_emitted(notebook: str | os.PathLike[str], name: str) -> list[Any]:
    """Payloads a notebook emitted with :func:`toolkit.display.emit`, in order."""
    import nbformat

    return _emitted(nbformat.read(str(notebook), as_version=4), name)


def _emitted(nb: Any, name: str) -> list[Any]:
    from toolkit.display import MIME_PREFIX

    mime = f"{MIME_PREFIX}{name}+json"
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if mime in data:
                found.append(data[mime])
    return found


def _absolute(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """File parameters as absolute paths, so the kernel's working folder does not matter."""
    out = dict(parameters)
    for key, value in parameters.items():
        if isinstance(value, str) and value and key in FILE_PARAMETERS and Path(value).exists():
            out[key] = str(Path(value).resolve())
    return out


def run_template(
    template: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    reports_dir: str | os.PathLike[str] = "reports",
    show_inputs: bool = False,
    run_dir: Path | None = None,
    kernel_name: str = "python3",
) -> RunResult:
    """Execute a template into a new run folder.

    Parameters
    ----------
    template : str or path-like
        A notebook path or a bare template name such as ``"investigate"``.
    parameters : mapping, optional
        Template parameters; text values are converted to the declared types.
    reports_dir : path, default="reports"
        Where run folders go.
    show_inputs : bool, default=False
        Keep code cells in the HTML report.
    run_dir : Path, optional
        An empty folder made by :func:`new_run_dir` (the demo writes its inputs there
        first); a new one is made otherwise.
    kernel_name : str, default="python3"

    Returns
    -------
    RunResult
        With ``status`` ``"failed"`` when a cell raised; the folder is complete either way.

    Raises
    ------
    RunInterrupted
        SIGINT or SIGTERM arrived: the kernel was stopped, what ran is in the run
        folder's report under a banner, and the manifest says ``interrupted``.
    StorageError
        A file of the run could not be written (a full disk, a read-only folder); no
        truncated file is left, and the manifest says ``failed`` where it could be
        written.
    """
    from toolkit._run_kernel import catch_signals, prepare

    path = resolve_template(template)
    params = coerce_parameters(path, dict(parameters or {}))
    check_files(params)
    params = _absolute(params)
    nb = prepare(path, params, kernel_name=kernel_name)
    run_dir = run_dir or new_run_dir(reports_dir, path.stem)
    reaped = reap_runs(run_dir.parent, skip=run_dir)
    with catch_signals() as stop:
        manifest = _begin(path, params, run_dir, nb)
        execution = _execute(path, nb, run_dir, manifest, stop=stop, kernel_name=kernel_name)
        result = _finish(path, run_dir, manifest, execution, stop, show_inputs=show_inputs)
    result.reaped = reaped
    return result


def _begin(path: Path, params: dict[str, Any], run_dir: Path, nb: Any) -> Manifest:
    """The manifest of a run about to start; an empty run folder goes if it cannot be written."""
    cells = sum(1 for c in nb.cells if c.cell_type == "code" and c.source.strip())
    try:
        return Manifest.begin(run_dir, {
            "template": str(path), "parameters": params, "inputs": _fingerprints(params),
            "packages": package_versions(), "python": platform.python_version(),
            "platform": platform.platform(), "report": None,
            "progress": {"stage": "starting kernel", "cells_done": 0, "cells_total": cells}})
    except StorageError:
        with contextlib.suppress(OSError):
            run_dir.rmdir()  # empty: nothing ran, and the error says why
        raise


def _execute(path: Path, nb: Any, run_dir: Path, manifest: Manifest, *, stop: Stop,
             kernel_name: str) -> Execution:
    """Run the kernel on ``nb``; each step of progress is written to the manifest."""
    from toolkit._run_kernel import Execution, execute

    cells = manifest.data["progress"]["cells_total"]
    if stop.signum is not None:  # asked to stop before the kernel started
        return Execution(nb, cells_total=cells)
    late: list[StorageError] = []

    def progress(execution: Execution) -> None:
        stage = "executing" if execution.kernel_started else "starting kernel"
        try:
            manifest.update(progress={"stage": stage, "cells_done": execution.cells_done})
        except StorageError as exc:  # the run goes on; its final writes will say more
            late.append(exc)

    return execute(nb, input_path=path, run_dir=run_dir, kernel_name=kernel_name, stop=stop,
                   on_progress=progress)


def _finish(path: Path, run_dir: Path, manifest: Manifest, execution: Execution, stop: Stop,
            *, show_inputs: bool) -> RunResult:
    """Write the notebook, findings, report and final manifest of an ended run."""
    notebook = run_dir / f"{path.stem}.ipynb"
    status, error = execution.status, execution.error
    if stop.signum is not None:
        status, error = "interrupted", interrupted_note(stop.name, execution)
        manifest.update(status=status, error=error)  # first: the rest may be cut short
        add_banner(execution.nb, error)
    try:
        _write_notebook(execution.nb, notebook)
        findings = _write_findings(execution.nb, run_dir)
        html_path = _export_or_note(notebook, run_dir, show_inputs)
        if execution.fault is not None:
            raise storage_error(execution.fault, execution.fault.filename or run_dir,
                                what="a file of the run")
    except StorageError as exc:
        with contextlib.suppress(StorageError):
            manifest.update(status="interrupted" if stop.signum else "failed",
                            error=f"{error + ' ' if error else ''}{exc}", finished=_now())
        raise
    if stop.signum is not None and status != "interrupted":  # came while writing the report
        status, error = "interrupted", interrupted_note(stop.name, execution)
    manifest.update(status=status, error=error, finished=_now(),
                    report=None if html_path is None else html_path.name,
                    progress={"stage": "ended", "cells_done": execution.cells_done})
    if status == "interrupted":
        raise RunInterrupted(
            f"Interrupted by {stop.name}: {error} The partial report is "
            f"{run_dir / 'report.html'}; the manifest ({run_dir / 'manifest.json'}) says "
            f"'interrupted'.", signum=stop.signum or 0, run_dir=run_dir)
    return RunResult(run_dir, status, notebook, html_path, findings, dict(manifest.data), error)


def _write_notebook(nb: Any, notebook: Path) -> None:
    import nbformat

    write_atomic(notebook, nbformat.writes(nb), what="the executed notebook")


def _export_or_note(notebook: Path, run_dir: Path, show_inputs: bool) -> Path | None:
    if not notebook.exists():
        return None
    try:
        return export_html(notebook, run_dir / "report.html", show_inputs=show_inputs)
    except StorageError:
        raise
    except Exception as exc:  # the run's own error matters more; keep a trace of this one
        write_atomic(run_dir / "report-error.txt",
                     f"HTML export failed: {type(exc).__name__}: {exc}\n", what="a note")
        return None


def _write_findings(nb: Any, run_dir: Path) -> list[Finding]:
    payloads = _emitted(nb, "findings")
    records = payloads[-1]["findings"] if payloads else []
    findings = [Finding.from_dict(r) for r in records]
    write_atomic(run_dir / "findings.json", json.dumps({"findings": records}, indent=2),
                 what="the findings")
    return findings


def export_html(notebook: str | os.PathLike[str], out: str | os.PathLike[str], *,
                show_inputs: bool = False) -> Path:
    """Export an executed notebook to self-contained HTML that makes no request."""
    import nbformat
    from nbconvert import HTMLExporter

    from toolkit.display import MIME_PREFIX

    nb = nbformat.read(str(notebook), as_version=4)
    nb.metadata.pop("widgets", None)  # widget state would pull the widget manager from a CDN
    for cell in nb.cells:  # emitted payloads are for machines; the report does not show them
        cell["outputs"] = [o for o in cell.get("outputs", [])
                           if not all(k.startswith(MIME_PREFIX) for k in o.get("data", {"": 0}))]
    exporter = HTMLExporter(
        template_name="steward",
        extra_template_basedirs=[str(Path(__file__).resolve().parent / "_report")],
        exclude_input=not show_inputs,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": Path(notebook).stem}})
    return write_atomic(out, body, what="the HTML report")


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _fingerprints(params: Mapping[str, Any]) -> dict[str, Any]:
    from toolkit.io import fingerprint, is_model_uri

    out: dict[str, Any] = {}
    for key in FILE_PARAMETERS:
        value = params.get(key)
        if not isinstance(value, str) or not value:
            continue
        if is_model_uri(value):
            out[key] = {"uri": value}
        elif Path(value).is_file():
            out[key] = fingerprint(value)
        else:
            out[key] = {"path": value, "missing": True}
    return out


def raise_for_status(result: RunResult) -> RunResult:
    """Raise :class:`RunError` naming the run folder when the run failed."""
    if not result.ok:
        rejected = re.match(r"cell \d+ raised (InputError|ModelError|ParameterError|ConfigError):",
                            str(result.error or ""))
        raise RunError(
            f"The template run failed: {str(result.error).rstrip('.')}. The partial report, the executed "
            f"notebook and the manifest are in {result.run_dir}; open report.html to see "
            f"the failing cell.",
            run_dir=result.run_dir, bad_input=rejected is not None,
        )
    return result


def check_files(parameters: Mapping[str, Any]) -> None:
    """Raise InputError for a file parameter that does not exist (before a kernel starts)."""
    from toolkit.io import is_model_uri

    for key in FILE_PARAMETERS:
        value = parameters.get(key)
        if isinstance(value, str) and value and not is_model_uri(value) and not Path(value).exists():
            raise InputError(
                f"Parameter {key!r} names the file {value!r}, which does not exist "
                f"(relative paths are taken from {os.getcwd()!r}). Check the path."
            )
