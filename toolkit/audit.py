"""Scheduled audits: objectives over named measures, a run history, and trends.

An audit is a YAML file (see ``examples/audit.yaml`` and ``docs/audit.md``) naming the
data, the window to audit and its reference, the model and columns, the optional
checks, and the **objectives**: a measure from :data:`MEASURES` that must stay within
``min``/``max``. ``steward audit CONFIG.yaml`` (:func:`run_audit`) executes
``templates/audit.ipynb`` into a new run folder, records the run in
``<reports_dir>/audit/history.sqlite`` and exits 0 (all met), 1 (an objective
breached) or 2 (the audit could not run).

>>> from toolkit import audit
>>> config = audit.load_config("examples/audit.yaml")  # doctest: +SKIP
>>> result = audit.evaluate_config(config, now="2024-03-11T02:00:00Z")  # doctest: +SKIP
>>> result.breached  # doctest: +SKIP
[]
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from toolkit import policy
from toolkit._audit_checks import AuditContext, load_history, load_windows
from toolkit._audit_config import AuditConfig, Objective, Window, load_config
from toolkit._audit_history import History, history_path
from toolkit._audit_measures import KEY_MEASURES, MEASURES, find_measure, measure_value
from toolkit._audit_run import EXIT_CODES, AuditRun, run_audit
from toolkit.findings import Finding

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXIT_CODES",
    "KEY_MEASURES",
    "MEASURES",
    "AuditConfig",
    "AuditResult",
    "AuditRun",
    "History",
    "Objective",
    "ObjectiveResult",
    "Window",
    "evaluate",
    "evaluate_config",
    "history_path",
    "load_config",
    "load_history",
    "load_windows",
    "measure_table",
    "run_audit",
    "summary_text",
    "trend_table",
]

@dataclasses.dataclass(frozen=True)
class ObjectiveResult:
    """One objective on one run: ``status`` is met, breached or unavailable."""

    objective: Objective
    value: float | None
    status: str
    reason: str | None = None

    @property
    def breached(self) -> bool:
        """Breached, or not measurable while required."""
        return self.status == "breached" or (
            self.status == "unavailable" and self.objective.required)

    def to_dict(self) -> dict[str, Any]:
        o = self.objective
        return {"name": o.name, "measure": o.measure, "value": self.value, "min": o.min,
                "max": o.max, "rule": o.rule, "severity": o.severity, "required": o.required,
                "status": self.status, "breached": self.breached, "reason": self.reason}


def _judge(objective: Objective, value: float | None, reason: str | None) -> ObjectiveResult:
    if value is None:
        return ObjectiveResult(objective, None, "unavailable", reason)
    low = objective.min is not None and value < objective.min
    high = objective.max is not None and value > objective.max
    return ObjectiveResult(objective, value, "breached" if low or high else "met")


@dataclasses.dataclass
class AuditResult:
    """Measures, objective results and findings of one audit window."""

    config: AuditConfig
    window: Window
    objectives: list[ObjectiveResult]
    measures: dict[str, float | None]
    unavailable: dict[str, str]
    findings: list[Finding]
    rows: dict[str, int]

    @property
    def breached(self) -> list[str]:
        """Names of the breached objectives, in config order."""
        return [r.objective.name for r in self.objectives if r.breached]

    @property
    def status(self) -> str:
        return "breached" if self.breached else "passed"

    def objective_table(self) -> pd.DataFrame:
        """One row per objective, for display."""
        import pandas as pd

        cols = ["name", "measure", "value", "rule", "severity", "status", "reason"]
        return pd.DataFrame([r.to_dict() for r in self.objectives], columns=cols)

    def to_dict(self) -> dict[str, Any]:
        """The ``objectives`` payload a template emits and ``objectives.json`` holds."""
        ref = self.config.reference_window(self.window)
        return {
            "config": self.config.name, "config_sha256": self.config.sha256,
            "window": self.window.to_dict(), "reference_window": ref and ref.to_dict(),
            "status": self.status, "breached": self.breached,
            "objectives": [r.to_dict() for r in self.objectives],
            "measures": self.measures, "unavailable": self.unavailable, "rows": self.rows,
            "data_files": self.config.data_files() + self.config.reference_files(),
        }


def evaluate(config: AuditConfig, reference: pd.DataFrame, current: pd.DataFrame, *,
             window: Window, model: Any = None, history: pd.DataFrame | None = None
             ) -> AuditResult:
    """Compute the measures and judge the objectives on two frames.

    Parameters
    ----------
    config : AuditConfig
    reference, current : DataFrame
        The reference and the audited window (see :func:`load_windows`); not modified.
    window : Window
        The audited window, recorded with the results.
    model : estimator, optional
        A loaded model; by default the config's model is loaded when a measure needs it.
    history : DataFrame, optional
        Older rows of the same data (see :func:`load_history`): severities are judged
        against pairs of its windows; without it, against slices of the reference.

    Returns
    -------
    AuditResult
    """
    ctx = AuditContext(config, window, reference, current, model=model, history=history)
    names = list(dict.fromkeys(o.measure for o in config.objectives))
    names += [m for m in KEY_MEASURES if m not in names and _applies(m, config)]
    values: dict[str, float | None] = {}
    unavailable: dict[str, str] = {}
    for name in names:
        values[name], reason = measure_value(ctx, name)
        if reason is not None:
            unavailable[name] = reason
    results = [_judge(o, values[o.measure], unavailable.get(o.measure))
               for o in config.objectives]
    findings = ctx.findings() + [_finding(r, window) for r in results if r.breached]
    # The one ranking: what the checks found (causes) before the objective breaches.
    return AuditResult(config, window, results, values, unavailable, policy.rank(findings),
                       {"reference": len(reference), "current": len(current)})


def _applies(name: str, config: AuditConfig) -> bool:
    """Whether a key measure makes sense for this config (no noise in the history)."""
    needs = find_measure(name)[0].needs
    has = {"prediction": config.prediction is not None or config.model is not None,
           "target": config.target is not None, "checks": bool(config.checks)}
    return all(has.get(n, n.removeprefix("check:") in config.checks) for n in needs)


def evaluate_config(config: AuditConfig, *, now: _dt.datetime | str | None = None) -> AuditResult:
    """Read the data of ``config`` and evaluate the window that is due at ``now``."""
    window = config.window_at(now)
    reference, current = load_windows(config, window)
    return evaluate(config, reference, current, window=window,
                    history=load_history(config, window))


def summary_text(result: AuditResult) -> str:
    """One paragraph: the audit, its window, its status and the breached objectives."""
    head = (f"Audit {result.config.name!r}, window {result.window.label}, "
            f"{result.rows['current']} rows against {result.rows['reference']} reference rows: ")
    if not result.breached:
        return head + f"PASSED, all {len(result.objectives)} objectives met."
    return head + f"BREACHED: {', '.join(result.breached)}."


def measure_table(result: AuditResult) -> pd.DataFrame:
    """Every measure of the run, with the reason when it could not be computed."""
    import pandas as pd

    return pd.DataFrame(
        [{"measure": k, "value": v, "unavailable": result.unavailable.get(k, "")}
         for k, v in result.measures.items()], columns=["measure", "value", "unavailable"])


def _finding(result: ObjectiveResult, window: Window) -> Finding:
    o = result.objective
    measure, arg = find_measure(o.measure)
    if result.value is None:
        summary = f"Objective {o.name!r} could not be measured: {result.reason}."
        score = 0.5
    else:
        below = o.min is not None and result.value < o.min
        bound = float((o.min if below else o.max) or 0.0)
        summary = (f"Objective {o.name!r} breached: {o.measure} = {result.value:.4g}, "
                   f"expected {o.rule}.")
        score = min(1.0, 0.5 + abs(result.value - bound) / (2 * max(abs(bound), 1e-9)))
    return Finding(
        check="audit.objective", layer=measure.layer, summary=summary, severity=o.severity,
        score=score, features=(arg,) if arg and "{column}" in measure.pattern else (),
        segment=arg if arg and "{segment}" in measure.pattern else None,
        evidence={"objective": o.name, "measure": o.measure, "value": result.value, "min": o.min,
                  "max": o.max, "reason": result.reason, **window.to_dict()},
        next_step=f"Open the trend of {o.measure} and the findings of this window; run "
                  f"'steward triage' on this window against the reference to find the cause.",
    )


def trend_table(history: History | str | Path | None, result: AuditResult) -> pd.DataFrame:
    """Objective values across past runs and this one, one row per (window, objective).

    Past runs come from ``history`` (the latest run of each earlier window of the same
    config); this run's rows have ``current`` True. Only objectives of this config
    appear.

    Returns
    -------
    DataFrame
        Columns ``window_start, objective, measure, value, min, max, status, current``.
    """
    import pandas as pd

    cols = ["window_start", "objective", "measure", "value", "min", "max", "status", "current"]
    rows: list[dict[str, Any]] = []
    names = {r.objective.name for r in result.objectives}
    if history is not None and str(history):
        store = history if isinstance(history, History) else History(history)
        for rec in store.objective_history(config=result.config.name,
                                           before=result.window.start.isoformat()):
            if rec["name"] in names:
                rows.append({"window_start": rec["window_start"], "objective": rec["name"],
                             "measure": rec["measure"], "value": rec["value"], "min": rec["min"],
                             "max": rec["max"], "status": rec["status"], "current": False})
    for r in result.objectives:
        rows.append({"window_start": result.window.start.isoformat(),
                     "objective": r.objective.name, "measure": r.objective.measure,
                     "value": r.value, "min": r.objective.min, "max": r.objective.max,
                     "status": r.status, "current": True})
    table = pd.DataFrame(rows, columns=cols)
    table["window_start"] = pd.to_datetime(table["window_start"], utc=True, format="ISO8601")
    for col in ("value", "min", "max"):
        table[col] = pd.to_numeric(table[col]).astype(float)
    order = {r.objective.name: i for i, r in enumerate(result.objectives)}
    table = table.sort_values("window_start", kind="stable")
    table = table.sort_values("objective", key=lambda s: s.map(order), kind="stable")
    return table.reset_index(drop=True)

