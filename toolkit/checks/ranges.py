"""Range and domain: values outside the reference range, and impossible values.

Under the same population, a new value falls outside the range of ``n`` reference
values with probability ``2 / (n + 1)`` (exchangeability), so the current share out of
range is tested against that, with a Bonferroni-corrected Wilson interval, and must
clear a practical threshold. A column never negative in the reference (rule of three:
its negative share is below ``3 / n``) that now has negative values, a rare negative
share that grew (Newcombe interval, at least 0.1 point and doubled), and timestamps
later than ``as_of`` (default: now), are impossible values.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["future_timestamps", "range_violations"]

#: Out-of-range share (interval lower bound) from which a finding is a warning.
WARN_SHARE = 0.01
MIN_REFERENCE = 100
#: A reference share of negative values below this counts as rare.
RARE_NEGATIVE = 0.01
#: Smallest rise of the negative share (interval lower bound) worth a finding.
PRACTICAL_NEGATIVE = 0.001


def range_violations(reference: pd.DataFrame, current: pd.DataFrame, *,
                     random_state: int = 0) -> list[Finding]:
    """Numeric columns with values outside the reference range, or negative when never.

    Parameters
    ----------
    reference, current : DataFrame
    random_state : int, default=0
        Unused (the check is exact); kept for a uniform signature.

    Returns
    -------
    list of Finding
        ``ranges.out_of_range`` and ``ranges.negative_values`` (layer ``data``);
        evidence ``column``, the reference bounds, shares with intervals, examples.
    """
    from toolkit.checks.categories import is_code

    cols = [c for c in C.numeric_columns(current)
            if c in reference.columns and C.is_number_column(reference[c])
            and not is_code(reference[c])  # codes are judged by the categories check
            and not C.looks_like_identifier(reference[c])]  # ids grow by design
    z = C.bonferroni_z(2 * max(1, len(cols)))
    findings = []
    for col in cols:
        ref = reference[col].to_numpy(dtype="float64", na_value=np.nan)
        cur = current[col].to_numpy(dtype="float64", na_value=np.nan)
        n_ref = int(np.count_nonzero(~np.isnan(ref)))
        cur = cur[~np.isnan(cur)] if np.isnan(cur).any() else cur
        if n_ref < MIN_REFERENCE or not len(cur):
            continue
        lo_ref, hi_ref = float(np.nanmin(ref)), float(np.nanmax(ref))
        never_negative = lo_ref >= 0
        neg = cur < 0 if never_negative else np.zeros(len(cur), bool)
        if neg.any():
            f = _negative(col, cur, neg, n_ref, z)
            if f is not None:
                findings.append(f)
        elif (ref < 0).sum() < RARE_NEGATIVE * n_ref:  # negatives were rare: did they grow?
            f = _more_negative(col, float((ref < 0).sum()), n_ref, cur, z)
            if f is not None:
                findings.append(f)
        below, above = (cur < lo_ref) & ~neg, cur > hi_ref
        f = _out_of_range(col, cur, below, above, (lo_ref, hi_ref), n_ref, z)
        if f is not None:
            findings.append(f)
    return findings


def _out_of_range(col, cur, below, above, bounds, n_ref, z) -> Finding | None:
    k, n = float(below.sum() + above.sum()), len(cur)
    expected = 2.0 / (n_ref + 1)
    lo, hi = C.wilson_interval(k, n, z=z)
    if lo <= 3 * expected or k / n < 0.001:
        return None
    out = cur[below | above]
    extremes = np.unique(np.r_[np.sort(out)[:3], np.sort(out)[-3:]])
    return Finding(
        check="ranges.out_of_range", layer="data",
        severity="warning" if lo >= WARN_SHARE else "info",
        score=C.clip01(0.2 + 2 * k / n),
        summary=f"{k / n:.2%} of current {col} values fall outside the reference range "
        f"[{bounds[0]:.6g}, {bounds[1]:.6g}].",
        features=(col,),
        evidence={"column": col, "reference_min": bounds[0], "reference_max": bounds[1],
                  "share": round(k / n, 6), "share_interval": [round(lo, 6), round(hi, 6)],
                  "share_below": round(float(below.mean()), 6),
                  "share_above": round(float(above.mean()), 6),
                  "expected_share_same_population": round(expected, 8),
                  "examples": [float(v) for v in extremes]},
        next_step=f"Look at the out-of-range {col} values: a new kind of record, an "
        f"upstream error, or a population the model never saw?",
    )


def _negative(col, cur, neg, n_ref, z) -> Finding | None:
    k, n = float(neg.sum()), len(cur)
    lo, hi = C.wilson_interval(k, n, z=z)
    if lo <= 3.0 / n_ref:
        return None
    return Finding(
        check="ranges.negative_values", layer="data",
        severity="warning" if lo >= 0.001 else "info",
        score=C.clip01(0.3 + 5 * k / n),
        summary=f"{col} was never negative in {n_ref:,} reference values; {int(k):,} current "
        f"values ({k / n:.2%}) are negative.",
        features=(col,),
        evidence={"column": col, "rule": f"{col} >= 0", "count": int(k),
                  "share": round(k / n, 6), "share_interval": [round(lo, 6), round(hi, 6)],
                  "examples": [float(v) for v in np.unique(cur[neg])[:5]],
                  "repair": "treat the negative values as missing"},
        next_step=f"Find which records carry negative {col} (refunds, corrections, sign "
        f"errors) and whether the model should see them.",
    )


def _more_negative(col, k_ref, n_ref, cur, z) -> Finding | None:
    neg = cur < 0
    k, n = float(neg.sum()), len(cur)
    lo, hi = C.diff_interval(k_ref, n_ref, k, n, z=z)
    p_ref, p = k_ref / n_ref, k / n
    if lo <= PRACTICAL_NEGATIVE or p <= 2 * p_ref:
        return None
    return Finding(
        check="ranges.negative_values", layer="data",
        severity="warning" if lo >= 10 * PRACTICAL_NEGATIVE else "info",
        score=C.clip01(0.2 + 5 * (p - p_ref)),
        summary=f"Negative {col} values rose from {p_ref:.2%} of the reference to {p:.2%} "
        f"of the current data.",
        features=(col,),
        evidence={"column": col, "rule": f"{col} >= 0", "count": int(k),
                  "share": round(p, 6), "reference_share": round(p_ref, 6),
                  "diff_interval": [round(lo, 6), round(hi, 6)],
                  "examples": [float(v) for v in np.unique(cur[neg])[:5]],
                  "repair": "treat the negative values as missing"},
        next_step=f"Find which records carry negative {col} (refunds, corrections, sign "
        f"errors) and why there are more of them now.",
    )


def future_timestamps(current: pd.DataFrame, *, timestamp: str | None = None,
                      as_of: object = None) -> list[Finding]:
    """Timestamps later than ``as_of`` in the timestamp column and datetime columns.

    Parameters
    ----------
    current : DataFrame
    timestamp : str, optional
        The event-time column (text dates are parsed).
    as_of : datetime-like, optional
        The moment the data was extracted; default now (UTC, naive).

    Returns
    -------
    list of Finding
        ``ranges.future_timestamp`` (layer ``data``; evidence ``column``, ``as_of``,
        ``count``, ``share``, ``latest``).
    """
    now = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(
        _dt.datetime.now(_dt.UTC).replace(tzinfo=None))
    cols = [c for c in current.columns if pd.api.types.is_datetime64_any_dtype(current[c])]
    if timestamp is not None and timestamp not in cols and timestamp in current.columns:
        cols.append(timestamp)
    findings = []
    for col in cols:
        t = C.as_datetime(current[col], name="current", column=col)
        future = (t > now).to_numpy()
        k = int(future.sum())
        if k:
            findings.append(Finding(
                check="ranges.future_timestamp", layer="data",
                severity="warning" if k / len(t) >= 0.001 else "info",
                score=C.clip01(0.3 + 5 * k / len(t)),
                summary=f"{k:,} {col} values ({k / len(t):.2%}) are later than {now}.",
                features=(col,),
                evidence={"column": col, "as_of": C.iso(now), "count": k,
                          "share": round(k / len(t), 6), "latest": C.iso(t.max())},
                next_step=f"Check the clock and time zone of the system that writes {col}."))
    return findings
