"""Audit measures: named numbers an objective can gate on.

:data:`MEASURES` is an explicit registry, written by hand: pattern -> :class:`Measure`.
A pattern has at most one ``{placeholder}`` (a column, a segment expression or a
check name), so ``segment.channel == 'app'.auc`` parses even when the expression
holds dots. To add a measure, write a function ``f(ctx, arg) -> float`` and add one
line to the dict. A function raises :class:`Unavailable` (with the reason) when the
measure cannot be computed on this run, for example a quality metric without labels.

The measures of the optional checks (``data``, ``drift``, ``attribution``) are read
from their results and findings by :mod:`toolkit._audit_checks`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import ConfigError, InputError

if TYPE_CHECKING:
    from toolkit._audit_checks import AuditContext
    from toolkit._audit_config import AuditConfig, Objective

__all__ = ["KEY_MEASURES", "MEASURES", "Measure", "Unavailable", "find_measure", "measure_value"]

INF = math.inf


class Unavailable(Exception):
    """A measure cannot be computed on this run; the message says why."""


@dataclasses.dataclass(frozen=True)
class Measure:
    """How to compute one family of measures.

    ``low``/``high`` bound the values it can take (thresholds outside are config
    errors); ``needs`` names config keys or checks it requires; ``layer`` is the
    layer a breach points to.
    """

    pattern: str
    compute: Callable[[AuditContext, str | None], float]
    description: str
    layer: str
    low: float = -INF
    high: float = INF
    needs: tuple[str, ...] = ()

    @property
    def regex(self) -> re.Pattern[str]:
        head, _, rest = self.pattern.partition("{")
        if not rest:
            return re.compile(re.escape(self.pattern) + "$")
        _, _, tail = rest.partition("}")
        return re.compile(re.escape(head) + "(?P<arg>.+)" + re.escape(tail) + "$")


# --- compute functions (cheap; the audit computes them itself) ---------------------


def _rows(ctx: AuditContext, arg: str | None) -> float:
    return float(len(ctx.current))


def _reference_rows(ctx: AuditContext, arg: str | None) -> float:
    return float(len(ctx.reference))


def _volume_ratio(ctx: AuditContext, arg: str | None) -> float:
    span = ctx.reference_span_seconds()
    if not span or len(ctx.reference) == 0:
        raise Unavailable("the reference has no time span to scale its volume to the window")
    expected = len(ctx.reference) * ctx.window_seconds() / span
    return len(ctx.current) / expected


def _column(ctx: AuditContext, column: str | None, *, side: str = "current") -> Any:
    df = ctx.current if side == "current" else ctx.reference
    if column not in df.columns:
        raise Unavailable(f"column {column!r} is not in the {side} window")
    return df[column]


def _null_rate(ctx: AuditContext, arg: str | None) -> float:
    col = _column(ctx, arg)
    if len(col) == 0:
        raise Unavailable("the current window has no rows")
    return float(col.isna().mean())


def _null_rate_change(ctx: AuditContext, arg: str | None) -> float:
    ref = _column(ctx, arg, side="reference")
    if len(ref) == 0:
        raise Unavailable("the reference window has no rows")
    return _null_rate(ctx, arg) - float(ref.isna().mean())


def _max_null_rate(ctx: AuditContext, arg: str | None) -> float:
    if len(ctx.current) == 0:
        raise Unavailable("the current window has no rows")
    return float(ctx.current.isna().mean().max())


def _scores(ctx: AuditContext, side: str) -> Any:
    scores = ctx.scores(side)
    scores = scores[~scores.isna()]
    if len(scores) == 0:
        raise Unavailable(f"no prediction in the {side} window")
    return scores


def _prediction_mean(ctx: AuditContext, arg: str | None) -> float:
    return float(_scores(ctx, "current").mean())


def _prediction_std(ctx: AuditContext, arg: str | None) -> float:
    return float(_scores(ctx, "current").std(ddof=0))


def _prediction_mean_change(ctx: AuditContext, arg: str | None) -> float:
    return float(_scores(ctx, "current").mean() - _scores(ctx, "reference").mean())


def _labelled(ctx: AuditContext, side: str, segment: str | None = None) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    y = ctx.target_values(side)
    s = ctx.scores(side)
    if segment is not None:
        mask = ctx.segment_mask(segment, side)
        y, s = y[mask], s[mask]
    if not pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):
        raise Unavailable(f"the target column {ctx.config.target!r} is not numeric or boolean")
    keep = ~(y.isna() | s.isna())
    if not keep.any():
        where = f"segment {segment!r} of the {side} window" if segment else f"{side} window"
        raise Unavailable(f"no row with both a label and a prediction in the {where}")
    return np.asarray(y[keep], dtype=float), np.asarray(s[keep], dtype=float)


def _auc_of(y: Any, s: Any) -> float:
    """ROC AUC as the Mann-Whitney U statistic over average ranks (ties count half).

    Computed here rather than with scikit-learn so a nightly kernel does not pay
    for importing it.
    """
    import numpy as np
    import pandas as pd

    classes = np.unique(y)
    if len(classes) != 2:
        raise Unavailable(f"AUC needs a binary label with both classes; got values {classes[:5]}")
    positive = y == classes[1]
    ranks = pd.Series(s).rank(method="average").to_numpy()
    n1, n0 = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _auc(ctx: AuditContext, arg: str | None) -> float:
    return _auc_of(*_labelled(ctx, "current"))


def _auc_change(ctx: AuditContext, arg: str | None) -> float:
    return _auc(ctx, arg) - _auc_of(*_labelled(ctx, "reference"))


def _mae(ctx: AuditContext, arg: str | None) -> float:
    y, s = _labelled(ctx, "current", arg)
    return float(abs(y - s).mean())


def _rmse(ctx: AuditContext, arg: str | None) -> float:
    y, s = _labelled(ctx, "current")
    return float(((y - s) ** 2).mean() ** 0.5)


def _positive_rate(ctx: AuditContext, arg: str | None) -> float:
    y = ctx.target_values("current").dropna()
    if len(y) == 0:
        raise Unavailable("no label in the current window")
    return float((y.astype(float) > 0).mean())


def _segment_rows(ctx: AuditContext, arg: str | None) -> float:
    return float(ctx.segment_mask(arg, "current").sum())


def _segment_auc(ctx: AuditContext, arg: str | None) -> float:
    return _auc_of(*_labelled(ctx, "current", arg))


def _segment_prediction_mean(ctx: AuditContext, arg: str | None) -> float:
    s = ctx.scores("current")[ctx.segment_mask(arg, "current")].dropna()
    if len(s) == 0:
        raise Unavailable(f"no prediction in segment {arg!r}")
    return float(s.mean())


def _from_check(name: str) -> Callable[[AuditContext, str | None], float]:
    def compute(ctx: AuditContext, arg: str | None) -> float:
        return ctx.check_measure(name, arg)

    compute.__name__ = f"check_measure_{name}"
    return compute


_M = Measure
#: Pattern -> measure. Filled by hand; keep families together.
MEASURES: dict[str, Measure] = {
    "volume.rows": _M("volume.rows", _rows, "rows in the audit window", "pipeline", 0),
    "volume.reference_rows": _M("volume.reference_rows", _reference_rows,
                                "rows in the reference", "pipeline", 0),
    "volume.ratio": _M("volume.ratio", _volume_ratio, "rows in the window / rows expected from "
                       "the reference's rate", "pipeline", 0),
    "missing.max_null_rate": _M("missing.max_null_rate", _max_null_rate,
                                "largest share of missing values of any column", "data", 0, 1),
    "missing.{column}.null_rate": _M("missing.{column}.null_rate", _null_rate,
                                     "share of missing values of a column", "data", 0, 1),
    "missing.{column}.null_rate_change": _M("missing.{column}.null_rate_change",
                                            _null_rate_change, "null rate minus the "
                                            "reference's", "data", -1, 1),
    "prediction.mean": _M("prediction.mean", _prediction_mean, "mean prediction", "model",
                          needs=("prediction",)),
    "prediction.std": _M("prediction.std", _prediction_std, "standard deviation of the "
                         "predictions", "model", 0, needs=("prediction",)),
    "prediction.mean_change": _M("prediction.mean_change", _prediction_mean_change,
                                 "mean prediction minus the reference's", "model",
                                 needs=("prediction",)),
    "quality.auc": _M("quality.auc", _auc, "ROC AUC of the predictions against the target",
                      "concept", 0, 1, ("prediction", "target")),
    "quality.auc_change": _M("quality.auc_change", _auc_change, "AUC minus the reference's",
                             "concept", -1, 1, ("prediction", "target")),
    "quality.mae": _M("quality.mae", _mae, "mean absolute error", "concept", 0,
                      needs=("prediction", "target")),
    "quality.rmse": _M("quality.rmse", _rmse, "root mean squared error", "concept", 0,
                       needs=("prediction", "target")),
    "quality.positive_rate": _M("quality.positive_rate", _positive_rate,
                                "share of positive labels", "concept", 0, 1, ("target",)),
    "segment.{segment}.rows": _M("segment.{segment}.rows", _segment_rows,
                                 "rows of a segment in the window", "population", 0),
    "segment.{segment}.auc": _M("segment.{segment}.auc", _segment_auc, "AUC within a segment",
                                "concept", 0, 1, ("prediction", "target")),
    "segment.{segment}.mae": _M("segment.{segment}.mae", _mae, "MAE within a segment",
                                "concept", 0, needs=("prediction", "target")),
    "segment.{segment}.prediction_mean": _M("segment.{segment}.prediction_mean",
                                            _segment_prediction_mean, "mean prediction within "
                                            "a segment", "model", needs=("prediction",)),
    "drift.max_effect": _M("drift.max_effect", _from_check("drift.max_effect"),
                           "largest drift effect size (PSI) of any feature", "population", 0,
                           needs=("check:drift",)),
    "drift.flagged_count": _M("drift.flagged_count", _from_check("drift.flagged_count"),
                              "features whose drift passes the practical threshold",
                              "population", 0, needs=("check:drift",)),
    "drift.feature.{column}.effect": _M("drift.feature.{column}.effect",
                                        _from_check("drift.feature.effect"),
                                        "drift effect size (PSI) of one feature",
                                        "population", 0,
                                        needs=("check:drift",)),
    "drift.prediction.effect": _M("drift.prediction.effect",
                                  _from_check("drift.prediction.effect"),
                                  "drift effect size (PSI) of the predictions", "model", 0,
                                  needs=("check:drift", "prediction")),
    "attribution.ndcg": _M("attribution.ndcg", _from_check("attribution.ndcg"),
                           "NDCG of the current feature-importance ranking against the "
                           "reference's", "model", 0, 1, ("check:attribution",)),
    "findings.count": _M("findings.count", _from_check("findings.count"),
                         "findings of the checks that ran", "data", 0, needs=("checks",)),
    "findings.critical_count": _M("findings.critical_count",
                                  _from_check("findings.critical_count"),
                                  "critical findings of the checks that ran", "data", 0,
                                  needs=("checks",)),
    "findings.warning_count": _M("findings.warning_count", _from_check("findings.warning_count"),
                                 "warning findings of the checks that ran", "data", 0,
                                 needs=("checks",)),
    "findings.check.{check}.count": _M("findings.check.{check}.count",
                                       _from_check("findings.check.count"),
                                       "findings of one check (e.g. scale.unit_change)",
                                       "data", 0, needs=("checks",)),
}

#: Measures recorded in the history of every run (when they can be computed), so
#: trends exist even for measures no objective names yet.
KEY_MEASURES: tuple[str, ...] = (
    "volume.rows", "missing.max_null_rate", "prediction.mean", "quality.auc",
    "drift.max_effect", "attribution.ndcg", "findings.critical_count",
    "findings.warning_count",
)


def find_measure(name: str) -> tuple[Measure, str | None]:
    """The registry entry of a measure name and its placeholder value.

    Raises
    ------
    ConfigError
        No pattern matches; the message suggests the closest patterns.
    """
    import difflib

    if name in MEASURES:
        return MEASURES[name], None
    for measure in MEASURES.values():
        match = measure.regex.match(name)
        if match and "{" in measure.pattern:
            return measure, match.group("arg")
    close = difflib.get_close_matches(name, list(MEASURES), n=2, cutoff=0.5)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise ConfigError(f"unknown measure {name!r}.{hint} Known measures: {', '.join(MEASURES)}.")


def check_objective(objective: Objective, config: AuditConfig, *, key: str) -> None:
    """Config-time checks of one objective: known measure, thresholds in range, needs met."""
    try:
        measure, arg = find_measure(objective.measure)
    except ConfigError as exc:
        raise ConfigError(f"{key}.measure: {exc}") from None
    for bound in ("min", "max"):
        value = getattr(objective, bound)
        if value is not None and not measure.low <= value <= measure.high:
            raise ConfigError(
                f"{key}.{bound} = {value:g} is out of range: {objective.measure} "
                f"({measure.description}) lies in [{measure.low:g}, {measure.high:g}]. "
                f"Pick a threshold inside that range."
            )
    if measure.pattern.startswith("segment.") and arg is not None:
        from toolkit.segment_expr import parse_segment

        try:  # the grammar is read now, so a bad segment stops the audit before any kernel
            parse_segment(arg)
        except InputError as exc:
            raise ConfigError(f"{key}.measure: {exc}") from None
    for need in measure.needs:
        _check_need(need, objective, config, key=key)


def _check_need(need: str, objective: Objective, config: AuditConfig, *, key: str) -> None:
    if need.startswith("check:"):
        check = need[6:]
        if check not in config.checks:
            raise ConfigError(f"{key}.measure: {objective.measure} comes from the {check!r} "
                              f"check, which this audit does not run. Add {check} to checks.")
    elif need == "prediction":
        if config.prediction is None and config.model is None:
            raise ConfigError(f"{key}.measure: {objective.measure} needs predictions; set "
                              f"'prediction: <column>' or 'model: <path or URI>'.")
    elif need == "checks" and not config.checks:
        raise ConfigError(f"{key}.measure: {objective.measure} counts the findings of the "
                          f"checks, and this audit runs none. Add checks: [data, drift].")
    elif need == "target" and config.target is None:
        raise ConfigError(f"{key}.measure: {objective.measure} needs labels; set "
                          f"'target: <column>'.")


def measure_value(ctx: AuditContext, name: str) -> tuple[float | None, str | None]:
    """``(value, None)`` or ``(None, reason)`` for one measure on one run."""
    measure, arg = find_measure(name)
    try:
        value = float(measure.compute(ctx, arg))
    except Unavailable as exc:
        return None, str(exc)
    except Exception as exc:  # one odd column must not hide every other objective
        return None, f"computing {name} failed: {type(exc).__name__}: {exc}"
    if not math.isfinite(value):
        return None, f"{name} is not a finite number ({value})"
    return value, None
