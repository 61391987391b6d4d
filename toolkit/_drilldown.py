"""What the feature drill-down shows, computed once per feature (small tables only).

:func:`feature_drilldown_data` returns a :class:`FeatureDrilldown`; the figures in
:mod:`toolkit.plots.feature` draw it and :mod:`toolkit.widgets` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FeatureDrilldown", "feature_drilldown_data", "pick_segment_column"]

_BINS = 10
_TOP = 8


@dataclass
class FeatureDrilldown:
    """One feature, reference vs current: distribution, over time, per segment, attribution."""

    feature: str
    kind: str  # "numeric" or "categorical"
    distribution: pd.DataFrame  # bin, reference, current (shares)
    over_time: pd.DataFrame | None = None  # period, window, value, low, high
    over_time_label: str = ""
    by_segment: pd.DataFrame | None = None  # segment, reference, current
    segment_by: str | None = None
    segment_label: str = ""
    attribution: dict[str, float] | None = None  # reference, current shares of |SHAP|
    log_scale: bool = False
    notes: list[str] = field(default_factory=list)


def _numeric_bins(ref: pd.Series, cur: pd.Series) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    r = ref.dropna().to_numpy(dtype=float)
    edges = np.unique(np.quantile(r, np.linspace(0, 1, _BINS + 1))) if r.size else np.array([0.0])
    labels = ["below ref. min"] + [f"{a:.3g}–{b:.3g}" for a, b in pairwise(edges)]
    labels += ["above ref. max", "missing"]

    def shares(s: pd.Series) -> np.ndarray:
        v = s.to_numpy(dtype=float, na_value=np.nan)
        counts = np.zeros(len(labels))
        ok = ~np.isnan(v)
        idx = np.searchsorted(edges, v[ok], side="right")  # 0 below, len(edges) above
        idx = np.where(v[ok] == edges[-1], len(edges) - 1, idx)
        np.add.at(counts, idx, 1)
        counts[-1] = (~ok).sum()
        return counts / max(len(v), 1)

    return pd.DataFrame({"bin": labels, "reference": shares(ref), "current": shares(cur)})


def _categorical_bins(ref: pd.Series, cur: pd.Series) -> pd.DataFrame:
    import pandas as pd

    top = [str(v) for v in ref.dropna().astype(str).value_counts().index[:_TOP]]

    def shares(s: pd.Series) -> list[float]:
        text = s.astype("string")
        n = max(len(s), 1)
        out = [float((text == v).sum()) / n for v in top]
        known = text.isin(top).fillna(False)
        out.append(float((~known & text.notna()).sum()) / n)
        out.append(float(text.isna().sum()) / n)
        return out

    return pd.DataFrame({"bin": [*top, "other / unseen", "missing"],
                         "reference": shares(ref), "current": shares(cur)})


def _bucket(times: pd.Series) -> str:
    span = (times.max() - times.min()).total_seconds() if len(times) else 0
    return "D" if span > 3 * 86400 else "h"


def _over_time(drill: FeatureDrilldown, ref: pd.DataFrame, cur: pd.DataFrame,
               timestamp: str, level: str | None) -> None:
    import pandas as pd

    from toolkit.io import parse_times

    parts = []
    for window, frame in (("reference", ref), ("current", cur)):
        times = parse_times(frame[timestamp])
        period = times.dt.floor(_bucket(pd.concat([parse_times(ref[timestamp]), times])))
        values = frame[drill.feature]
        if drill.kind == "numeric":
            grouped = values.astype(float).groupby(period)
            table = pd.DataFrame({"value": grouped.median(), "low": grouped.quantile(0.25),
                                  "high": grouped.quantile(0.75)})
        else:
            hit = (values.astype("string") == level).fillna(False).astype(float)
            table = hit.groupby(period).mean().to_frame("value")
            table["low"] = table["high"] = table["value"]
        parts.append(table.reset_index(names="period").assign(window=window))
    drill.over_time = pd.concat(parts, ignore_index=True)
    drill.over_time_label = ("median (band: quartiles)" if drill.kind == "numeric"
                             else f"share of {level!s}")


def _by_segment(drill: FeatureDrilldown, ref: pd.DataFrame, cur: pd.DataFrame,
                column: str, level: str | None) -> None:
    import pandas as pd

    segments = [str(v) for v in ref[column].dropna().astype(str).value_counts().index[:_TOP]]

    def typical(frame: pd.DataFrame) -> list[float]:
        keys = frame[column].astype("string")
        values = frame[drill.feature]
        out = []
        for seg in segments:
            v = values[(keys == seg).fillna(False).to_numpy()]
            if drill.kind == "numeric":
                out.append(float(v.astype(float).median()) if len(v) else float("nan"))
            else:
                hit = (v.astype("string") == level).fillna(False)
                out.append(float(hit.mean()) if len(v) else float("nan"))
        return out

    drill.by_segment = pd.DataFrame({"segment": segments, "reference": typical(ref),
                                     "current": typical(cur)})
    drill.segment_by = column
    drill.segment_label = "median" if drill.kind == "numeric" else f"share of {level!s}"


def pick_segment_column(frame: pd.DataFrame, *, exclude: tuple[str, ...] = (),
                        max_values: int = 8) -> str | None:
    """A text column with 2 to ``max_values`` values to compare segments by, or None."""
    import pandas as pd

    for col in frame.columns:
        if col in exclude or pd.api.types.is_numeric_dtype(frame[col]):
            continue
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            continue
        if 2 <= frame[col].nunique(dropna=True) <= max_values:
            return str(col)
    return None


def _attribution_shares(attribution: Any, feature: str) -> dict[str, float] | None:
    table = getattr(attribution, "table", None)
    if table is None or "feature" not in table or not {"share_ref", "share_cur"} <= set(table):
        return None
    row = table[table["feature"].astype(str) == feature]
    if row.empty:
        return None
    return {"reference": float(row["share_ref"].iloc[0]),
            "current": float(row["share_cur"].iloc[0])}


def feature_drilldown_data(reference: pd.DataFrame, current: pd.DataFrame, feature: str, *,
                           timestamp: str | None = None, segment_by: str | None = None,
                           attribution: Any = None) -> FeatureDrilldown:
    """Compute the drill-down of one feature.

    Parameters
    ----------
    reference, current : DataFrame
        The two windows (not modified).
    feature : str
        A column present in both windows.
    timestamp : str, optional
        The event-time column, for the over-time panel.
    segment_by : str, optional
        A column with a few values, for the per-segment panel.
    attribution : AttributionDriftResult, optional
        Its ``table`` gives the feature's share of attributions.

    Returns
    -------
    FeatureDrilldown
    """
    import numpy as np
    import pandas as pd

    for name, frame in (("reference", reference), ("current", current)):
        if feature not in frame.columns:
            raise InputError(f"The feature {feature!r} is not a column of the {name} window. "
                             f"Pick one of: {', '.join(map(str, frame.columns[:30]))}.")
    numeric = (pd.api.types.is_numeric_dtype(reference[feature])
               and not pd.api.types.is_bool_dtype(reference[feature]))
    kind = "numeric" if numeric else "categorical"
    bins = (_numeric_bins if numeric else _categorical_bins)(reference[feature], current[feature])
    drill = FeatureDrilldown(feature, kind, bins)
    level = None
    if not numeric:  # the category whose share moved most
        moved = (bins["current"] - bins["reference"]).abs().to_numpy()[:-2]
        level = str(bins["bin"].iloc[int(np.argmax(moved))]) if moved.size else None
    else:
        both = pd.concat([reference[feature], current[feature]]).astype(float).dropna()
        wide = both.max() > 100 * max(both.median(), 1e-9)
        drill.log_scale = bool(len(both) and both.min() >= 0 and wide)
    if timestamp and timestamp in reference.columns and timestamp in current.columns:
        _over_time(drill, reference, current, timestamp, level)
    if segment_by and segment_by != feature and segment_by in reference and segment_by in current:
        _by_segment(drill, reference, current, segment_by, level)
    drill.attribution = _attribution_shares(attribution, feature)
    return drill
