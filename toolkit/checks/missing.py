"""Missing values: null-rate changes, where the new nulls concentrate and since when.

The change of null rate is judged on its Newcombe interval, with a Bonferroni
correction across columns, and must clear a practical threshold (one percentage
point, and 1.5 times the reference rate). For a spike, the segment that holds most of
the excess nulls and the date from which they appear (a two-run Bernoulli change
point on the time-ordered null indicator) are looked for. Empty strings count as
missing in text columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["null_changes", "null_mask"]

#: Smallest change of null rate (absolute) worth a finding.
PRACTICAL_DIFF = 0.01


def null_mask(series: pd.Series) -> np.ndarray:
    """True where a value is missing (null, or an empty string in a text column)."""
    if pd.api.types.is_float_dtype(series) and not isinstance(series.dtype, pd.ArrowDtype):
        return np.isnan(series.to_numpy(dtype="float64", na_value=np.nan))
    mask = series.isna().to_numpy()
    if pd.api.types.is_string_dtype(series) or series.dtype == object:
        mask = mask | (series.astype("str") == "").to_numpy()
    return mask


def null_changes(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    timestamp: str | None = None,
    segment_columns: list[str] | None = None,
    profiles: tuple[Any, Any] | None = None,
    random_state: int = 0,
) -> list[Finding]:
    """Columns whose share of missing values changed.

    Null rates come from the window profiles; rows are read again only for a column
    whose nulls spiked, to find where and since when.

    Parameters
    ----------
    reference, current : DataFrame
    timestamp : str, optional
        Time column of ``current``, to date the start of new nulls.
    segment_columns : list of str, optional
        Columns in which to look for the segment holding the new nulls.
    profiles : (Profile, Profile), optional
        Profiles of both windows from :func:`toolkit.profile.profile_pair`; made
        when not given.
    random_state : int, default=0
        Unused (the check is exact); kept for a uniform signature.

    Returns
    -------
    list of Finding
        ``missing.null_spike`` (layer ``data``; evidence ``column``, rates,
        ``diff_interval``, ``segment``, ``since``, ``share_affected``) and
        ``missing.null_drop`` (a column that fills in; layer ``pipeline`` when it was
        empty in the reference).
    """
    common = [c for c in reference.columns if c in current.columns]
    pair = C.profiles_for(reference, current, profiles, [c for c in common if c != timestamp])
    z = C.bonferroni_z(len(common))
    order: Any = False  # the time order, computed once if a spike needs dating
    segs = [c for c in (segment_columns or []) if c in current.columns]
    findings, masks = [], {}
    for col in common:
        k1, n1, k2, n2 = _missing_counts(reference, current, pair, col)
        p1, p2 = k1 / n1, k2 / n2
        lo, hi = _interval(k1, n1, k2, n2, z)
        if lo > PRACTICAL_DIFF and p2 > 1.5 * p1:
            if order is False:
                order = C.time_order(current, timestamp, name="current")
            mc = null_mask(current[col])
            where = C.locate(mc, current, [s for s in segs if s != col], order, base=p1,
                             reference=(null_mask(reference[col]), reference))
            findings.append(_spike(col, p1, p2, (lo, hi), where))
            masks[col] = mc
        elif hi < -PRACTICAL_DIFF and p2 < p1 / 1.5:
            findings.append(_drop(col, p1, p2, (lo, hi)))
    return [_with_companions(f, masks) for f in findings]


def _missing_counts(reference, current, pair, col) -> tuple[float, float, float, float]:
    """Missing values and rows in each window: from the profiles, else from the rows."""
    both = C.profiled(pair, col)
    if both is None:
        mr, mc = null_mask(reference[col]), null_mask(current[col])
        return float(mr.sum()), float(len(mr)), float(mc.sum()), float(len(mc))
    rp, cp = both
    return (float(rp.nulls + rp.n_empty), float(rp.count),
            float(cp.nulls + cp.n_empty), float(cp.count))


def _with_companions(f: Finding, masks: dict[str, np.ndarray]) -> Finding:
    """Add the other spiking columns missing in nearly the same rows (Jaccard >= 0.9)."""
    col = f.evidence["column"]
    if col not in masks:
        return f
    mine = masks[col]
    together = [c for c, m in masks.items() if c != col
                and (mine & m).sum() >= 0.9 * max((mine | m).sum(), 1)]
    if not together:
        return f
    return f.replace(evidence={**f.evidence, "missing_together_with": together})


def _interval(k1, n1, k2, n2, z) -> tuple[float, float]:
    # Newcombe's hybrid interval with a Wilson interval at the corrected level.
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = C.wilson_interval(k1, n1, z=z)
    l2, u2 = C.wilson_interval(k2, n2, z=z)
    d = p2 - p1
    return (d - np.hypot(p2 - l2, u1 - p1), d + np.hypot(u2 - p2, p1 - l1))


def _spike(col, p1, p2, ci, where) -> Finding:
    lo = ci[0]
    severity = "critical" if lo >= 0.2 or (p2 >= 0.95 and p1 < 0.5) else (
        "warning" if lo >= 0.02 else "info")
    scope = (f" in {where['segment']}" if where["segment"] else "") + (
        f" since {where['since']}" if where["since"] else "")
    evidence = {"column": col, "reference_rate": round(p1, 6), "current_rate": round(p2, 6),
                "diff_interval": [round(ci[0], 6), round(ci[1], 6)], **where,
                "repair": "the nulls in scope are new: impute them from the reference "
                          "distribution, or drop those rows, and re-score"}
    return Finding(
        check="missing.null_spike", layer="data", severity=severity,
        score=C.clip01(0.3 + 0.7 * min(1.0, p2 - p1)),
        summary=f"{col} is missing in {p2:.1%} of current rows against {p1:.1%} in the "
        f"reference{scope}.",
        features=(col,), segment=where["segment"], evidence=evidence,
        next_step=f"Trace where {col} stopped being filled{scope}; check the upstream "
        f"join or source that provides it.",
    )


def _drop(col, p1, p2, ci) -> Finding:
    was_empty = p1 >= 0.95
    return Finding(
        check="missing.null_drop", layer="pipeline" if was_empty else "data",
        severity="warning" if was_empty else "info",
        score=C.clip01(0.2 + 0.5 * (p1 - p2)),
        summary=(f"{col} was empty in the reference ({p1:.1%} missing) and is now filled "
                 f"({p2:.1%} missing)." if was_empty else
                 f"{col} is missing less often: {p2:.1%} of current rows against {p1:.1%}."),
        features=(col,),
        evidence={"column": col, "reference_rate": round(p1, 6), "current_rate": round(p2, 6),
                  "diff_interval": [round(ci[0], 6), round(ci[1], 6)],
                  "was_empty_in_reference": was_empty},
        next_step=(f"A model built when {col} was empty learned nothing from it (or learned "
                   f"the fill value); check how the pipeline imputes it and consider "
                   f"retraining." if was_empty else
                   f"Check whether the way {col} is filled changed upstream."),
    )
