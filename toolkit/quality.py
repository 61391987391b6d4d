"""Quality with labels: overall and per segment, and concept drift inside a segment.

With labels in both windows, the question is whether the model still *fits* the world:
the same inputs now lead to different outcomes (concept drift). Inside each segment of
a low-cardinality column, the *residual* (mean label minus mean score) is compared
between windows. A residual that moves while the segment's scores do not is the mark of
concept drift; one that moves with the scores is a data or population problem, which
other checks own. Intervals are normal approximations of two independent means,
widened by a Bonferroni factor for the number of segments tried, and a practical
threshold keeps large samples from flagging trivia.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from toolkit.findings import Finding

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    import pandas as pd

__all__ = ["QualityResult", "quality_drift", "segment_columns"]


@dataclass
class QualityResult:
    """Overall and per-segment quality in both windows."""

    overall: dict[str, float]
    segments: pd.DataFrame
    findings: list[Finding]
    #: What was left out and why (columns of lists or dicts are not cut into segments).
    notes: list[str] = field(default_factory=list)


def segment_columns(df: pd.DataFrame, *, exclude: set[str | None] = frozenset(),  # type: ignore[assignment]
                    max_values: int = 30) -> list[str]:
    """Columns whose few distinct values make natural segments (text, category, bool)."""
    import pandas as pd

    out = []
    nested = set(_nested_columns(df))
    for col in df.columns:
        if col in exclude or col in nested:
            continue
        s = df[col]
        texty = (pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s)
                 or isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(s))
        if texty and 2 <= s.nunique(dropna=True) <= max_values:
            out.append(col)
    return out


def _nested_columns(df: pd.DataFrame) -> list[str]:
    """Columns of lists, dicts or structs: as Python objects (what Parquet lists read
    into) or as Arrow nested types."""
    import pandas as pd

    from toolkit.checks._common import nested_columns

    arrow = []
    for col in df.columns:
        dtype = df[col].dtype
        if isinstance(dtype, pd.ArrowDtype) and dtype.pyarrow_dtype.num_fields > 0:
            arrow.append(col)  # list, struct and map types have child fields
    return [*nested_columns(df), *arrow]


def _stats(y: np.ndarray, p: np.ndarray, regression: bool = False) -> tuple[float, float, float]:
    """Mean residual, its standard error, and the mean loss (log loss, or absolute error)."""
    import numpy as np

    r = y - p
    if regression:
        loss = np.abs(r)
    else:
        q = np.clip(p, 1e-6, 1 - 1e-6)
        loss = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    se = float(np.std(r, ddof=1) / math.sqrt(len(r))) if len(r) > 1 else math.inf
    return float(np.mean(r)), se, float(np.mean(loss))


def quality_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    reference_scores: np.ndarray,
    current_scores: np.ndarray,
    target: str,
    columns: list[str] | None = None,
    numeric_columns: list[str] | None = None,
    current_times: pd.Series | None = None,
    min_rows: int = 100,
    threshold: float | None = None,
    alpha: float = 0.05,
    task: str = "classification",
) -> QualityResult:
    """Compare the fit of the scores to the labels between windows, per segment.

    Parameters
    ----------
    reference, current : DataFrame
        The windows, with the label column ``target`` (0/1, or numbers for
        regression).
    reference_scores, current_scores : ndarray
        The model's probability of the positive class for each row, or its
        prediction for regression.
    target : str
    columns : list of str, optional
        Segment columns; by default every low-cardinality text column.
    numeric_columns : list of str, optional
        Numeric columns cut into segments too: by value when they hold at most 30
        (codes, terms), else at the reference's quartiles (``dti >= 0.41``).
    current_times : Series, optional
        Event times of the current rows; a shift that starts at a date (a changed label
        definition) is then dated (``since`` in the evidence).
    min_rows : int, default=100
        Segments with fewer rows in either window are not judged.
    threshold : float, optional
        Practical threshold on the change of the mean residual (label minus score):
        by default 0.05 on the probability scale, and for regression a tenth of the
        reference labels' standard deviation (given, it is on the labels' scale).
    alpha : float, default=0.05
        Family-wise error rate across the segments tried (Bonferroni).
    task : {"classification", "regression"}, default="classification"
        Regression reports mean absolute error where classification reports log loss.
    """
    if task not in ("classification", "regression"):
        from toolkit._exceptions import InputError

        raise InputError(f"task must be 'classification' or 'regression'; got {task!r}.")
    regression = task == "regression"
    import numpy as np
    import pandas as pd
    from scipy.stats import norm

    y_ref = pd.to_numeric(reference[target], errors="coerce").to_numpy(dtype=float)
    y_cur = pd.to_numeric(current[target], errors="coerce").to_numpy(dtype=float)
    p_ref, p_cur = np.asarray(reference_scores, float), np.asarray(current_scores, float)
    ok_ref, ok_cur = np.isfinite(y_ref) & np.isfinite(p_ref), np.isfinite(y_cur) & np.isfinite(p_cur)
    r0, s0, l0 = _stats(y_ref[ok_ref], p_ref[ok_ref], regression)
    r1, s1, l1 = _stats(y_cur[ok_cur], p_cur[ok_cur], regression)
    loss = "mae" if regression else "log_loss"
    overall = {"residual_reference": r0, "residual_current": r1, f"{loss}_reference": l0,
               f"{loss}_current": l1}
    if threshold is None:
        spread = float(np.std(y_ref[ok_ref], ddof=1)) if ok_ref.sum() > 1 else 0.0
        threshold = 0.1 * spread if regression else 0.05
    cols = columns if columns is not None else segment_columns(reference, exclude={target})
    nested = sorted((set(_nested_columns(reference)) | set(_nested_columns(current))) & set(cols))
    notes = [] if not nested else [
        f"Columns of lists or dicts ({', '.join(map(str, nested))}) are not cut into "
        f"segments: a list value is not a group of rows. Flatten the parts that matter into "
        f"columns of their own to judge quality in them."]
    cols = [c for c in cols if c not in nested]
    rows, in_segment = [], {}
    for col, value, expr, a, b in _segments(reference, current, cols, numeric_columns or []):
        a, b = ok_ref & a, ok_cur & b
        if a.sum() < min_rows or b.sum() < min_rows:
            continue
        in_segment[expr] = b
        ra, sa, la = _stats(y_ref[a], p_ref[a], regression)
        rb, sb, lb = _stats(y_cur[b], p_cur[b], regression)
        rows.append({"column": col, "value": value, "segment": expr, "n_reference": int(a.sum()),
                     "n_current": int(b.sum()), "residual_reference": ra, "residual_current": rb,
                     "change": rb - ra, "se": math.hypot(sa, sb),
                     "score_change": float(p_cur[b].mean() - p_ref[a].mean()),
                     f"{loss}_reference": la, f"{loss}_current": lb})
    table = pd.DataFrame(rows)
    findings: list[Finding] = []
    if len(table):
        z = float(norm.ppf(1 - alpha / (2 * len(table))))
        table["low"] = table["change"] - z * table["se"]
        table["high"] = table["change"] + z * table["se"]
        gap = np.minimum(table["low"].abs(), table["high"].abs())
        table["flagged"] = (np.sign(table["low"]) == np.sign(table["high"])) & (gap > threshold)
        # A residual that moved together with the scores is the trace of changed inputs,
        # which the data checks and drift own; only a fit that broke under steady scores
        # is concept drift.
        table["concept"] = table["flagged"] & (table["score_change"].abs() <= 0.5 * table["change"].abs())
        # A shift every segment shares is one shift of the whole window, not one per
        # segment: a segment is reported when its change stands apart from the window's
        # by more than half the threshold, beyond its own noise.
        whole = r1 - r0
        apart = (table["change"] - whole).abs() - z * table["se"] > threshold / 2
        table["specific"] = table["concept"] & apart
        times = None if current_times is None else pd.to_datetime(
            pd.Series(current_times)).to_numpy(dtype="datetime64[ns]")

        def since(rows: np.ndarray, base: float) -> str | None:
            return None if times is None else _since((y_cur - p_cur)[rows], times[rows], base,
                                                      threshold)

        findings = [_finding(row, threshold, regression,
                             since=since(in_segment[row["segment"]], row["residual_reference"]))
                    for _, row in table[table["specific"]].iterrows()]
        se_whole = math.hypot(s0, s1)
        p_shift = float(p_cur[ok_cur].mean() - p_ref[ok_ref].mean())
        if not findings and table["concept"].any() and abs(whole) - z * se_whole > threshold \
                and abs(p_shift) <= 0.5 * abs(whole):
            findings = [_whole_finding(whole, se_whole, z, r0, r1, threshold,
                                       int(table["concept"].sum()), regression,
                                       since=since(ok_cur, r0))]
    return QualityResult(overall, table, findings, notes)


def _segments(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str],
              numeric: list[str]) -> Iterator[tuple[str, Any, str, np.ndarray, np.ndarray]]:
    """(column, value, expression, reference rows, current rows) of every segment."""
    import itertools

    import numpy as np
    import pandas as pd

    from toolkit.segment_expr import quote_column, segment_equals

    for col in columns:
        if col in current.columns:
            for value in reference[col].dropna().unique():
                yield (col, value, segment_equals(col, value),
                       (reference[col] == value).to_numpy(dtype=bool),
                       (current[col] == value).to_numpy(dtype=bool))
    for col in numeric:
        if col not in current.columns or col in columns:
            continue
        r = pd.to_numeric(reference[col], errors="coerce").to_numpy(dtype=float)
        c = pd.to_numeric(current[col], errors="coerce").to_numpy(dtype=float)
        values = np.unique(r[np.isfinite(r)])
        if len(values) < 2:
            continue
        if len(values) <= 30:  # codes and terms: one segment a value
            for v in values:
                shown = int(v) if float(v).is_integer() else float(v)
                yield col, shown, segment_equals(col, shown), r == v, c == v
            continue
        # Quartile cuts, rounded as the expressions print them, so that the rows of a
        # segment are exactly the rows its expression selects.
        quartiles = np.quantile(r[np.isfinite(r)], [0.25, 0.5, 0.75])
        cuts = np.unique([float(f"{q:.4g}") for q in quartiles])
        for lo, hi in itertools.pairwise([-np.inf, *cuts, np.inf]):
            name = quote_column(col)
            if lo == -np.inf:
                expr = f"{name} < {hi:.4g}"
            elif hi == np.inf:
                expr = f"{name} >= {lo:.4g}"
            else:
                expr = f"{lo:.4g} <= {name} < {hi:.4g}"
            yield col, expr, expr, (r >= lo) & (r < hi), (c >= lo) & (c < hi)


def _since(resid: np.ndarray, times: np.ndarray, r0: float, threshold: float) -> str | None:
    """The time the mean residual stepped, when it held the reference's level before
    and moved past the threshold after (a CUSUM split, 5% of rows a side at least)."""
    import numpy as np

    ok = ~np.isnat(times) & np.isfinite(resid)
    resid, times = resid[ok], times[ok]
    n = len(resid)
    if n < 60:
        return None
    order = np.argsort(times, kind="stable")
    z, t = resid[order], times[order]
    csum = np.cumsum(z)
    k = np.arange(1, n)
    before, after = csum[:-1] / k, (csum[-1] - csum[:-1]) / (n - k)
    stat = np.abs(after - before) * np.sqrt(k * (n - k) / n)
    stat[(k < 0.05 * n) | (k > 0.95 * n)] = -np.inf
    j = int(np.argmax(stat))
    if abs(before[j] - r0) > threshold / 2 or abs(after[j] - r0) < threshold:
        return None
    return str(np.datetime_as_string(t[j + 1], unit="s"))


def _whole_finding(change: float, se: float, z: float, r0: float, r1: float,
                   threshold: float, n_segments: int, regression: bool, *,
                   since: str | None = None) -> Finding:
    severity = "critical" if abs(change) - z * se > 2 * threshold else "warning"
    when = f"From {since} on, across the whole window" if since else "Across the whole window"
    return Finding(
        check="quality.residual_shift",
        layer="concept",
        summary=f"{when}, labels minus scores went from {r0:+.3f} to "
        f"{r1:+.3f} while the scores stayed, alike in all {n_segments} segments that "
        f"moved: the model is off by the same amount everywhere (calibration).",
        severity=severity,
        score=float(min(1.0, 0.4 + (min(1.0, abs(change) / (4 * threshold)) if regression
                                     else abs(change)))),
        evidence={"change": change, "interval": [change - z * se, change + z * se],
                  "since": since, "residual_reference": r0, "residual_current": r1,
                  "segments_alike": n_segments, "threshold": threshold},
        next_step="Check whether the outcome definition or the base rate changed (a policy, "
        "a season); recalibrate on recent labels.",
    )


def _finding(row: pd.Series, threshold: float, regression: bool = False, *,
             since: str | None = None) -> Finding:
    from toolkit.findings import jsonable

    expr = row["segment"]
    when = f" since {since}" if since else ""
    severity = "critical" if min(abs(row["low"]), abs(row["high"])) > 2 * threshold else "warning"
    size = min(1.0, abs(row["change"]) / (4 * threshold)) if regression else abs(row["change"])
    return Finding(
        check="quality.segment_residual",
        layer="concept",
        summary=f"In {expr}{when}, labels minus scores went from {row['residual_reference']:+.3f} to "
        f"{row['residual_current']:+.3f} while the scores stayed: the same inputs now lead "
        f"to other outcomes.",
        severity=severity,
        score=float(min(1.0, 0.4 + size)),
        features=(str(row["column"]),),
        segment=expr,
        evidence={**jsonable({k: row[k] for k in row.index
                              if k not in ("flagged", "concept", "specific")}), "since": since},
        next_step=f"Check whether the outcome definition or the behaviour in {expr} changed "
        f"(a policy, a product change); retrain or recalibrate on recent labels for this "
        f"segment.",
    )
