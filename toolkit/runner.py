"""Run templates with papermill into run folders that are never overwritten.

A run folder ``<reports_dir>/<template>/<UTC timestamp>-<short id>/`` holds:

- ``<template>.ipynb``: the executed notebook (partial when a cell failed);
- ``report.html``: a self-contained HTML export that opens offline (inputs hidden
  unless ``show_inputs``);
- ``findings.json``: the ranked findings the template emitted;
- ``manifest.json``: parameters, input fingerprints, model identity, package
  versions, start and end times, status and error.

Parameters are checked against :func:`papermill.inspect_notebook` before any kernel
starts: an unknown or mistyped name is a :class:`~toolkit.ParameterError`.
"""

from __future__ import annotations

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
from typing import Any

from toolkit._exceptions import InputError, ParameterError, RunError
from toolkit.findings import Finding

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
_PACKAGES = ("mlsteward", "pandas", "numpy", "scikit-learn", "shap", "papermill", "nbconvert",
             "matplotlib", "pyarrow", "scipy", "lightgbm", "xgboost", "mlflow")


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
    """Raise InputError, before any work, when run folders cannot go under ``reports_dir``."""
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
        raise InputError(
            f"The reports folder {str(path)!r} is not writable ({str(probe)!r} refuses new "
            f"files). Pass --reports-dir a folder you can write to."
        )
    return path


def new_run_dir(reports_dir: str | os.PathLike[str], template_name: str) -> Path:
    """Create a fresh run folder; an existing folder is never reused."""
    base = Path(check_reports_dir(reports_dir)) / template_name
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create the run folder under {str(reports_dir)!r}: "
                         f"{exc.strerror}. Pass --reports-dir a folder you can write to.") from exc
    while True:
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        run_dir = base / f"{stamp}-{uuid.uuid4().hex[:6]}"
        try:
            run_dir.mkdir()
        except FileExistsError:
            continue
        return run_dir


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

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def read_emitted(notebook: str | os.PathLike[str], name: str) -> list[Any]:
    """Payloads a notebook emitted with :func:`toolkit.display.emit`, in order."""
    import nbformat

    from toolkit.display import MIME_PREFIX

    mime = f"{MIME_PREFIX}{name}+json"
    nb = nbformat.read(str(notebook), as_version=4)
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
    """
    path = resolve_template(template)
    params = coerce_parameters(path, dict(parameters or {}))
    check_files(params)
    params = _absolute(params)
    run_dir = run_dir or new_run_dir(reports_dir, path.stem)
    notebook = run_dir / f"{path.stem}.ipynb"
    started = _now()
    status, error = _execute(path, notebook, params, kernel_name=kernel_name)
    html_path = _export_or_note(notebook, run_dir, show_inputs)
    findings = _write_findings(notebook, run_dir)
    manifest = _manifest(path, params, started, status, error, html_path)
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return RunResult(run_dir, status, notebook, html_path, findings, manifest, error)


def _ipc_kernel_manager(socket_dir: str) -> type:
    """A kernel manager on local IPC sockets in ``socket_dir``: no TCP ports open, and
    no warning about unencrypted TCP on every run."""
    from jupyter_client.manager import KernelManager

    class IPCKernelManager(KernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.setdefault("transport", "ipc")
            super().__init__(**kwargs)
            self.ip = os.path.join(socket_dir, "kernel")

    return IPCKernelManager


def _execute(path: Path, notebook: Path, params: dict[str, Any], *,
             kernel_name: str) -> tuple[str, str | None]:
    import tempfile

    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        with tempfile.TemporaryDirectory(prefix="steward-kernel-") as sockets:
            papermill.execute_notebook(
                str(path), str(notebook), parameters=params, kernel_name=kernel_name,
                progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                kernel_manager_class=_ipc_kernel_manager(sockets),
            )
    except PapermillExecutionError as exc:
        return "failed", f"cell {exc.exec_count} raised {exc.ename}: {exc.evalue}"
    except Exception as exc:  # kernel died, could not start, ...
        return "failed", f"{type(exc).__name__}: {exc}"
    return "succeeded", None


def _export_or_note(notebook: Path, run_dir: Path, show_inputs: bool) -> Path | None:
    if not notebook.exists():
        return None
    try:
        return export_html(notebook, run_dir / "report.html", show_inputs=show_inputs)
    except Exception as exc:  # the run's own error matters more; keep a trace of this one
        (run_dir / "report-error.txt").write_text(f"HTML export failed: {type(exc).__name__}: {exc}\n")
        return None


def _write_findings(notebook: Path, run_dir: Path) -> list[Finding]:
    payloads = read_emitted(notebook, "findings") if notebook.exists() else []
    records = payloads[-1]["findings"] if payloads else []
    findings = [Finding.from_dict(r) for r in records]
    (run_dir / "findings.json").write_text(json.dumps({"findings": records}, indent=2))
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
    out_path = Path(out)
    out_path.write_text(body, encoding="utf-8")
    return out_path


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _manifest(path: Path, params: dict[str, Any], started: str, status: str,
              error: str | None, html_path: Path | None) -> dict[str, Any]:
    return {
        "template": str(path),
        "parameters": params,
        "inputs": _fingerprints(params),
        "packages": _versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "started": started,
        "finished": _now(),
        "status": status,
        "error": error,
        "report": None if html_path is None else html_path.name,
    }


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


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
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
