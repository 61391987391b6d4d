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
    target: str | None = None,
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
    target : str, optional
        The label column: it is never grouped with the columns missing in the same
        rows, and its spike is info, not a root cause (labels arrive late, and the
        model does not read them).
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
    findings: list[Finding] = []
    spikes: dict[str, tuple[float, float, tuple[float, float], np.ndarray]] = {}
    for col in common:
        k1, n1, k2, n2 = _missing_counts(reference, current, pair, col)
        p1, p2 = k1 / n1, k2 / n2
        lo, hi = _interval(k1, n1, k2, n2, z)
        if lo > PRACTICAL_DIFF and p2 > 1.5 * p1:
            spikes[col] = (p1, p2, (lo, hi), null_mask(current[col]))
        elif hi < -PRACTICAL_DIFF and p2 < p1 / 1.5:
            findings.append(_drop(col, p1, p2, (lo, hi)))
    groups = _together({c: v for c, v in spikes.items() if c != target})
    if target in spikes:
        groups.append([target])
    for group in groups:
        lead = group[0]
        p1, p2, ci, mc = spikes[lead]
        if order is False:
            order = C.time_order(current, timestamp, name="current")
        where = C.locate(mc, current, [s for s in segs if s not in group], order, base=p1,
                         reference=(null_mask(reference[lead]), reference))
        found = _spike(group, p1, p2, ci, where, {c: (spikes[c][0], spikes[c][1]) for c in group})
        findings.append(_label_gap(found, lead) if lead == target else found)
    return findings


def _label_gap(f: Finding, target: str) -> Finding:
    """Labels that have not arrived yet are the normal state of a recent window, and the
    model never reads them: a null spike of the label column is no root cause."""
    return f.replace(
        severity="info", layer="concept",
        summary=f"{f.summary} It is the label column: labels that have not arrived yet are "
        f"expected, and the model does not read them.",
        next_step=f"Wait for the {target} labels, or check the job that joins them, before "
        f"judging quality on this window.",
    )


def _missing_counts(reference, current, pair, col) -> tuple[float, float, float, float]:
    """Missing values and rows in each window: from the profiles, else from the rows."""
    both = C.profiled(pair, col)
    if both is None:
        mr, mc = null_mask(reference[col]), null_mask(current[col])
        return float(mr.sum()), float(len(mr)), float(mc.sum()), float(len(mc))
    rp, cp = both
    return (float(rp.nulls + rp.n_empty), float(rp.count),
            float(cp.nulls + cp.n_empty), float(cp.count))


def _together(spikes: dict[str, tuple[Any, ...]]) -> list[list[str]]:
    """Spiking columns grouped when missing in nearly the same rows (Jaccard >= 0.9).

    Columns that empty together point to one upstream cause (a join, a source, a
    form section), so they make one finding. Each group leads with its column with
    the most new nulls; groups come in the columns' order.
    """
    left = list(spikes)
    groups = []
    while left:
        first = left.pop(0)
        mine = spikes[first][3]
        group = [first] + [c for c in left if (mine & spikes[c][3]).sum()
                           >= 0.9 * max((mine | spikes[c][3]).sum(), 1)]
        left = [c for c in left if c not in group]
        groups.append(sorted(group, key=lambda c: -int(spikes[c][3].sum())))
    return groups


def _interval(k1, n1, k2, n2, z) -> tuple[float, float]:
    # Newcombe's hybrid interval with a Wilson interval at the corrected level.
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = C.wilson_interval(k1, n1, z=z)
    l2, u2 = C.wilson_interval(k2, n2, z=z)
    d = p2 - p1
    return (d - np.hypot(p2 - l2, u1 - p1), d + np.hypot(u2 - p2, p1 - l1))


def _spike(group, p1, p2, ci, where, rates) -> Finding:
    col, others = group[0], list(group[1:])
    lo = ci[0]
    severity = "critical" if lo >= 0.2 or (p2 >= 0.95 and p1 < 0.5) else (
        "warning" if lo >= 0.02 else "info")
    scope = (f" in {where['segment']}" if where["segment"] else "") + (
        f" since {where['since']}" if where["since"] else "")
    evidence = {"column": col, "reference_rate": round(p1, 6), "current_rate": round(p2, 6),
                "diff_interval": [round(ci[0], 6), round(ci[1], 6)], **where,
                "repair": "the nulls in scope are new: impute them from the reference "
                          "distribution, or drop those rows, and re-score"}
    if others:
        evidence["columns"] = list(group)
        evidence["missing_together_with"] = others
        evidence["rates"] = {c: {"reference_rate": round(a, 6), "current_rate": round(b, 6)}
                             for c, (a, b) in rates.items()}
        shown = ", ".join(others[:4]) + (f" and {len(others) - 4} more" if len(others) > 4 else "")
        plural = "s" if len(others) > 1 else ""
        what = f"{col} and {len(others)} other column{plural} ({shown}) are missing together"
        step = (f"Columns that empty together come from one place: trace the upstream join or "
                f"source that provides {col} and {shown}{scope}.")
    else:
        what = f"{col} is missing"
        step = (f"Trace where {col} stopped being filled{scope}; check the upstream join or "
                f"source that provides it.")
    return Finding(
        check="missing.null_spike", layer="data", severity=severity,
        score=C.clip01(0.3 + 0.7 * min(1.0, p2 - p1)),
        summary=f"{what} in {C.scoped_share(where, p2)} against {p1:.1%} in the reference.",
        features=tuple(group), segment=where["segment"], evidence=evidence,
        next_step=step,
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
