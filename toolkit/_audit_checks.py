"""Audit data loading and the context measures are computed from.

:func:`load_windows` reads the configured files and cuts the audit window and its
reference out of them. :class:`AuditContext` holds both, scores them once, and runs
the optional checks (``data``, ``drift``, ``attribution``) lazily, the first time a
measure or the findings need them. A check that fails is reported as a finding, and
the measures that depend on it become unavailable: one broken check must not hide the
results of the others on a nightly run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from toolkit._audit_config import Window
from toolkit._audit_measures import Unavailable
from toolkit._exceptions import ConfigError, InputError
from toolkit.findings import Finding

if TYPE_CHECKING:
    import pandas as pd

    from toolkit._audit_config import AuditConfig

__all__ = ["AuditContext", "load_history", "load_windows"]


def _read_all(files: list[str], *, name: str) -> pd.DataFrame:
    import pandas as pd

    from toolkit.io import read_table

    frames = [read_table(f, name=name) for f in files]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def _times(df: pd.DataFrame, column: str, *, name: str) -> pd.Series:

    if column not in df.columns:
        shown = ", ".join(map(str, list(df.columns)[:20]))
        raise InputError(f"The timestamp column {column!r} is not in {name} "
                         f"(columns: {shown}). Fix 'timestamp:' in the audit config.")
    times = _parse_times(df[column])
    if len(df) and times.isna().all():
        raise InputError(f"No value of the timestamp column {column!r} in {name} "
                         f"parses as a date or time (first value: {df[column].iloc[0]!r}). "
                         f"Use ISO 8601 text or a datetime column.")
    return times


def _parse_times(values: pd.Series) -> pd.Series:
    """UTC times from datetimes, text in any format, or epoch numbers (unit by magnitude)."""
    from toolkit.io import parse_times

    return parse_times(values).dt.tz_localize("UTC")


def _in(times: pd.Series, window: Window) -> Any:
    import pandas as pd

    return ((times >= pd.Timestamp(window.start)) & (times < pd.Timestamp(window.end))).to_numpy()


def _outside(path: str, column: str, span: Window) -> bool:
    """True when a file has no row in ``span``, judged from its time column alone.

    Reading one column is far cheaper than the file (Parquet reads only that column;
    CSV parses only that field), and most files of a long history lie outside both
    windows.
    """
    import pandas as pd

    low = path.lower()
    try:
        if low.endswith((".parquet", ".pq")):
            values = pd.read_parquet(path, columns=[column])[column]
        else:
            from pathlib import Path

            from toolkit.io import _csv_dialect

            sep, decimal = _csv_dialect(Path(path))  # as read_table reads the whole file
            values = pd.read_csv(path, usecols=[column], sep=sep, decimal=decimal,
                                 low_memory=False)[column]
        times = _parse_times(values)
        if values.notna().any() and times.isna().mean() > 0.5:
            return False  # times that do not parse: the full read says so, by name
        return not _in(times, span).any()
    except Exception:  # a missing column or a bad file: the full read reports it clearly
        return False


def _read_span(files: list[str], column: str, span: Window, *,
               name: str) -> tuple[pd.DataFrame, pd.Series]:
    """Rows of ``files`` whose time lies in ``span``, and their times.

    Only those rows are kept, so a nightly audit over months of files holds its two
    windows in memory, not the whole history; files without a row in the span are
    skipped after reading their time column alone.
    """
    import pandas as pd

    from toolkit.io import read_table

    frames, times, empty = [], [], None
    for path in files:
        if _outside(path, column, span):
            continue
        df = read_table(path, name=name)
        t = _times(df, column, name=f"the {name} file {path!r}")
        keep = _in(t, span)
        empty = df.iloc[:0] if empty is None else empty
        if keep.any():
            frames.append(df.loc[keep])
            times.append(t[keep])
    if not frames:  # keep the columns, so measures say "no rows" rather than "no column"
        df = empty if empty is not None else read_table(files[0], name=name).iloc[:0]
        return df.reset_index(drop=True), pd.Series([], dtype="datetime64[ns, UTC]")
    return (pd.concat(frames, ignore_index=True), pd.concat(times, ignore_index=True))


def load_windows(config: AuditConfig, window: Window) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference and current frames of an audit.

    Parameters
    ----------
    config : AuditConfig
    window : Window
        The audit window (see :meth:`AuditConfig.window_at`).

    Returns
    -------
    reference, current : DataFrame
        The current frame holds the rows whose timestamp lies in ``window``; the
        reference is the trailing window before it, or the fixed reference files.

    Raises
    ------
    InputError
        A file cannot be read, or the timestamp column is missing or unparseable.
    """
    ref_window = config.reference_window(window)
    span = window if ref_window is None else Window(ref_window.start, window.end)
    data, times = _read_span(config.data_files(), config.timestamp, span, name="audit data")
    current = data.loc[_in(times, window)].reset_index(drop=True)
    if ref_window is not None:
        reference = data.loc[_in(times, ref_window)].reset_index(drop=True)
    else:
        reference = _read_all(config.reference_files(), name="reference")
    _require_named_columns(config, [*data.columns, *reference.columns])
    return reference, current


def load_history(config: AuditConfig, window: Window) -> pd.DataFrame | None:
    """The older rows of the data files that severities are judged against (the
    config's ``history:`` span before the reference), or None without one."""
    span = config.history_window(window)
    if span is None:
        return None
    data, times = _read_span(config.data_files(), config.timestamp, span, name="audit history")
    return data.loc[_in(times, span)].reset_index(drop=True)


def _require_named_columns(config: AuditConfig, columns: list[Any]) -> None:
    """A column the config names that no data file holds, but one nearly spelt so does,
    is a typo in the config.

    Found before any measure runs: a nightly audit must not page anyone over a
    misspelling. A named column with no near namesake may simply not be there yet
    (labels that arrive later): its measures say so, and breach if required. A
    column missing from the current window only is the data's problem, as is a
    prediction column the configured model can stand in for.
    """
    import difflib

    from toolkit._audit_measures import find_measure

    named = [("'target:'", config.target)]
    if config.model is None:
        named.append(("'prediction:'", config.prediction))
    for objective in config.objectives:
        measure, arg = find_measure(objective.measure)
        if "{column}" in measure.pattern:
            named.append((f"the measure of objective {objective.name!r}", arg))
    known = list(dict.fromkeys(str(c) for c in columns))
    typos = []
    for key, column in named:
        if column is None or column in known:
            continue
        close = [c for c in difflib.get_close_matches(column, known, n=3, cutoff=0.75)
                 if not _sibling(column, c)]
        if close:
            typos.append(f"{column!r} in {key} (did you mean {close[0]!r}?)")
    if typos:
        raise ConfigError(
            f"The audit config {config.name!r} names columns the data read for this "
            f"window does not hold: {'; '.join(typos)}. The data's columns: "
            f"{', '.join(known[:30])}. Fix the config."
        )


def _sibling(name: str, other: str) -> bool:
    """Names of two different columns rather than a misspelling: they differ only in a
    trailing number (``feature_12``, ``feature_13``) or one extends the other with a
    suffix (``label``, ``label_ts``)."""
    import re

    stem = re.compile(r"^(.*?)[_\-]?\d+$")
    a, b = stem.match(name), stem.match(other)
    if a and b and a.group(1) == b.group(1):
        return True
    return other.startswith(name + "_") or name.startswith(other + "_")


@dataclasses.dataclass
class _CheckRun:
    findings: list[Finding]
    result: Any = None
    error: str | None = None


class AuditContext:
    """Everything measures are computed from, with lazily computed parts cached."""

    def __init__(self, config: AuditConfig, window: Window, reference: pd.DataFrame,
                 current: pd.DataFrame, *, model: Any = None,
                 history: pd.DataFrame | None = None) -> None:
        self.config = config
        self.history = history
        self.window = window
        self.reference = reference
        self.current = current
        self._model = model
        self._scores: dict[str, pd.Series] = {}
        self._masks: dict[tuple[str, str], pd.Series] = {}
        self._checks: dict[str, _CheckRun] = {}
        self._stage: Any = None
        self._normal: Any = None
        self._judged: list[Finding] | None = None

    # --- frames and columns ------------------------------------------------------

    def frame(self, side: str) -> pd.DataFrame:
        return self.current if side == "current" else self.reference

    def window_seconds(self) -> float:
        return (self.window.end - self.window.start).total_seconds()

    def reference_span_seconds(self) -> float | None:
        ref_window = self.config.reference_window(self.window)
        if ref_window is not None:
            return (ref_window.end - ref_window.start).total_seconds()
        col = self.config.timestamp
        if col not in self.reference.columns or len(self.reference) < 2:
            return None

        times = _parse_times(self.reference[col]).dropna()
        span = (times.max() - times.min()).total_seconds() if len(times) > 1 else 0.0
        return span or None

    def model(self) -> Any:
        if self._model is None and self.config.model is not None:
            from toolkit.io import load_model

            self._model, _ = load_model(self.config.model, name="model")
        return self._model

    def stage(self) -> Any:
        """The pipeline's stage context for both windows (:mod:`toolkit.pipeline`), made
        once: the data and drift checks run as every other entry point runs them."""
        if self._stage is None:
            from toolkit.pipeline import StageContext

            cfg = self.config
            skip = {c for c in (cfg.timestamp, cfg.target, cfg.prediction) if c}
            features = [c for c in self.current.columns
                        if c not in skip and c in self.reference.columns]
            self._stage = StageContext(
                self.reference, self.current, timestamp=cfg.timestamp,
                target=_present(self, cfg.target), prediction=_present(self, cfg.prediction),
                features=features, random_state=cfg.random_state).find_clock()
        return self._stage

    def normal(self) -> Any:
        """What normal pairs of windows produce (:func:`toolkit.pipeline.baseline`), from
        the history when the config has one, else from slices of the reference."""
        if self._normal is None:
            from toolkit import pipeline

            self._normal = pipeline.baseline(self.stage(), history=self.history)
        return self._normal

    def judged(self, findings: list[Finding]) -> list[Finding]:
        """Findings judged by the one policy: clock columns, normal pairs, consequences."""
        from toolkit import pipeline, policy

        return policy.rank(pipeline.judge(findings, self.stage(), self.normal()))

    def scores(self, side: str) -> pd.Series:
        """Predictions of one side: the logged column, else the model's scores."""
        if side not in self._scores:
            self._scores[side] = self._compute_scores(side)
        return self._scores[side]

    def _compute_scores(self, side: str) -> pd.Series:
        import pandas as pd

        df = self.frame(side)
        col = self.config.prediction
        if col is not None and col in df.columns:
            return pd.to_numeric(df[col], errors="coerce").astype(float)
        if self.config.model is None:
            raise Unavailable(f"the prediction column {col!r} is not in the {side} window "
                              f"and no model is configured to score it")
        if len(df) == 0:
            return pd.Series([], dtype=float)
        from toolkit._exceptions import StewardError
        from toolkit.scoring import predict_scores

        try:
            scores = predict_scores(self.model(), df, name="model")
        except StewardError as exc:  # e.g. a renamed column: breach the objectives, by name
            raise Unavailable(f"the model cannot score the {side} window: {exc}") from None
        return pd.Series(scores, index=df.index)

    def target_values(self, side: str) -> pd.Series:
        col = self.config.target
        df = self.frame(side)
        if col is None or col not in df.columns:
            raise Unavailable(f"the target column {col!r} is not in the {side} window")
        return df[col]

    def segment_mask(self, expr: str | None, side: str) -> pd.Series:
        """Boolean rows of ``expr`` (a :mod:`toolkit.segment_expr` segment) on one side."""
        from toolkit.segment_expr import segment_mask

        key = (str(expr), side)
        if key not in self._masks:
            try:
                self._masks[key] = segment_mask(self.frame(side), str(expr),
                                                name=f"the {side} window")
            except InputError as exc:  # e.g. a column this window lacks: this measure only
                raise Unavailable(str(exc)) from None
        return self._masks[key]

    # --- optional checks ---------------------------------------------------------

    def check(self, name: str) -> _CheckRun:
        """Run one optional check once; failures become a finding, not an exception."""
        if name not in self._checks:
            self._checks[name] = self._run_check(name)
        return self._checks[name]

    def _run_check(self, name: str) -> _CheckRun:
        if len(self.current) == 0 or len(self.reference) == 0:
            side = "current" if len(self.current) == 0 else "reference"
            return _CheckRun([], error=f"the {side} window has no rows")
        try:
            return CHECK_RUNNERS[name](self)
        except Exception as exc:  # a nightly audit reports a broken check and goes on
            return _CheckRun([], error=f"{type(exc).__name__}: {exc}")

    def findings(self) -> list[Finding]:
        """Findings of every configured check, judged and ranked as every entry point
        does, plus one per check that could not run."""
        out: list[Finding] = []
        for name in self.config.checks:
            run = self.check(name)
            out.extend(run.findings)
            if run.error is not None:
                out.append(Finding(
                    check="audit.check_failed", layer="pipeline", severity="warning", score=0.5,
                    summary=f"The {name} check could not run on this audit: {run.error}",
                    evidence={"check": name, "error": run.error},
                    next_step="Fix the input or the check; its measures are unavailable "
                              "on this run."))
        if self._judged is None:
            self._judged = self.judged(out)
        return self._judged

    def check_measure(self, name: str, arg: str | None) -> float:
        """A measure read from the results of the optional checks."""
        return CHECK_MEASURES[name](self, arg)


# --- optional check runners: adapters to the stage modules ---------------------------


def _run_data(ctx: AuditContext) -> _CheckRun:
    from toolkit import pipeline

    return _CheckRun(list(pipeline.run_stage("checks", ctx.stage())[1]))


def _present(ctx: AuditContext, column: str | None) -> str | None:
    return column if column is not None and column in ctx.current.columns else None


def _run_drift(ctx: AuditContext) -> _CheckRun:
    """Feature drift of every shared column, and prediction drift when scores exist."""
    from toolkit import drift

    cfg = ctx.config
    stage = ctx.stage()
    if stage.profiles is None:  # the data check has not run: profile once here
        from toolkit.profile import profile_pair

        stage.profiles = profile_pair(ctx.reference, ctx.current, exclude=[cfg.timestamp])
    result: dict[str, Any] = {"features": drift.feature_drift(
        *stage.profiles, columns=stage.features, random_state=cfg.random_state)}
    findings = list(result["features"].findings)
    try:
        ref_scores, cur_scores = ctx.scores("reference"), ctx.scores("current")
    except Unavailable:
        result["prediction"] = None
    else:
        result["prediction"] = drift.prediction_drift(
            ref_scores, cur_scores, name=cfg.prediction or "prediction",
            random_state=cfg.random_state)
        findings += list(result["prediction"].findings)
    return _CheckRun(findings, result=result)


def _run_attribution(ctx: AuditContext) -> _CheckRun:
    from toolkit import attribution

    cfg = ctx.config
    result = attribution.attribution_drift(
        ctx.reference, ctx.current, model=ctx.model(), target=_present(ctx, cfg.target),
        random_state=cfg.random_state, progress=False)
    return _CheckRun(list(result.findings), result=result)


CHECK_RUNNERS: dict[str, Callable[[AuditContext], _CheckRun]] = {
    "data": _run_data,
    "drift": _run_drift,
    "attribution": _run_attribution,
}


# --- measures read from check results ------------------------------------------------


def _ran(ctx: AuditContext, name: str) -> _CheckRun:
    run = ctx.check(name)
    if run.error is not None:
        raise Unavailable(f"the {name} check could not run: {run.error}")
    return run


def _drift_table(ctx: AuditContext) -> pd.DataFrame:
    """Per-feature drift: ``feature``, ``effect`` (bias-corrected PSI), ``drifted``."""
    return _ran(ctx, "drift").result["features"].table


def _drift_max_effect(ctx: AuditContext, arg: str | None) -> float:
    effects = _drift_table(ctx)["effect"].dropna()
    return max(0.0, float(effects.max())) if len(effects) else 0.0


def _drift_flagged(ctx: AuditContext, arg: str | None) -> float:
    return float(_drift_table(ctx)["drifted"].astype(bool).sum())


def _drift_feature(ctx: AuditContext, arg: str | None) -> float:
    table = _drift_table(ctx)
    rows = table.loc[table["feature"] == arg, "effect"]
    if len(rows) == 0:
        skipped = _ran(ctx, "drift").result["features"].skipped
        reasons = dict(zip(skipped.get("feature", ()), skipped.get("reason", ())))
        why = f" (skipped: {reasons[arg]})" if arg in reasons else ""
        raise Unavailable(f"the drift check reports no effect for feature {arg!r}{why}")
    return float(rows.iloc[0])


def _drift_prediction(ctx: AuditContext, arg: str | None) -> float:
    pred = _ran(ctx, "drift").result["prediction"]
    if pred is None:
        raise Unavailable("no predictions to measure prediction drift on")
    return float(pred.stats["effect"])


def _attribution_ndcg(ctx: AuditContext, arg: str | None) -> float:
    value = float(_ran(ctx, "attribution").result.ndcg)
    if not math.isfinite(value):
        raise Unavailable("the attribution check reports no NDCG")
    return value


def _all_findings(ctx: AuditContext) -> list[Finding]:
    for name in ctx.config.checks:
        _ran(ctx, name)
    return ctx.findings()


CHECK_MEASURES: dict[str, Callable[[AuditContext, str | None], float]] = {
    "drift.max_effect": _drift_max_effect,
    "drift.flagged_count": _drift_flagged,
    "drift.feature.effect": _drift_feature,
    "drift.prediction.effect": _drift_prediction,
    "attribution.ndcg": _attribution_ndcg,
    "findings.count": lambda ctx, arg: float(len(_all_findings(ctx))),
    "findings.critical_count": lambda ctx, arg: float(
        sum(f.severity == "critical" for f in _all_findings(ctx))),
    "findings.warning_count": lambda ctx, arg: float(
        sum(f.severity == "warning" for f in _all_findings(ctx))),
    "findings.check.count": lambda ctx, arg: float(
        sum(f.check == arg for f in _all_findings(ctx))),
}
