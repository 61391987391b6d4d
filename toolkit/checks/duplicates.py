"""Duplicates: exact duplicate rows and duplicate keys, and where they concentrate.

Rows are compared through a 64-bit hash of their values, built one column at a time
over the rows that still have a twin, so a million wide rows cost about one column.
The share of rows that repeat an earlier row is compared with the reference share on
a Newcombe interval and must clear a practical threshold; the segment holding most of
the excess and the time from which it starts are then looked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["duplicate_mask", "duplicate_rows"]

#: Smallest excess share of duplicated rows (interval lower bound) worth a finding.
PRACTICAL_SHARE = 0.005
_PRIME = np.uint64(0x100000001B3)


def _mix(x: np.ndarray) -> np.ndarray:
    # splitmix64 finaliser: spreads structured bit patterns (floats, small ints).
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _column_key(series: pd.Series) -> np.ndarray:
    """A uint64 per value, equal for equal values (NaN equals NaN, -0.0 equals 0.0)."""
    if pd.api.types.is_float_dtype(series) or pd.api.types.is_integer_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan) + 0.0
        values[np.isnan(values)] = np.nan
        return _mix(values.view(np.uint64))
    return pd.util.hash_pandas_object(series, index=False).to_numpy()


def _has_twin(h: np.ndarray) -> np.ndarray:
    s = np.sort(h)
    repeated = s[1:][s[1:] == s[:-1]]
    if not len(repeated):
        return np.zeros(len(h), dtype=bool)
    values = np.unique(repeated)
    idx = np.minimum(np.searchsorted(values, h), len(values) - 1)
    return values[idx] == h


def _pruning_order(df: pd.DataFrame, columns: list[str]) -> list[str]:
    # Float columns first: they are the most distinct, so they prune candidates fastest.
    return sorted(columns, key=lambda c: 0 if pd.api.types.is_float_dtype(df[c]) else 1)


def duplicate_mask(df: pd.DataFrame, columns: list[str] | None = None) -> np.ndarray:
    """True for every row whose values in ``columns`` repeat an earlier row's.

    Rows are hashed one column at a time, and only rows that still have a twin on the
    columns seen so far stay candidates; a row unique on any column cannot be a
    duplicate. With any high-cardinality column the cost is about one column's hash.
    """
    cols = _pruning_order(df, list(df.columns) if columns is None else list(columns))
    cand = np.arange(len(df))
    h = np.zeros(len(df), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in cols:
            if not len(cand):
                break
            h = (h * _PRIME) ^ _column_key(df[col].iloc[cand])
            keep = _has_twin(h)
            cand, h = cand[keep], h[keep]
    mask = np.zeros(len(df), dtype=bool)
    mask[cand] = pd.Series(h).duplicated(keep="first").to_numpy()
    return mask


def duplicate_rows(reference: pd.DataFrame, current: pd.DataFrame, *,
                   key: str | list[str] | None = None, timestamp: str | None = None,
                   segment_columns: list[str] | None = None,
                   profiles: tuple[Any, Any] | None = None,
                   random_state: int = 0) -> list[Finding]:
    """Exact duplicate rows, and duplicate keys, beyond the reference rate.

    Parameters
    ----------
    reference, current : DataFrame
    key : str or list of str, optional
        Columns that identify a record; rows sharing a key but differing elsewhere
        are reported as ``duplicates.duplicate_keys``.
    timestamp : str, optional
        Time column of ``current``, to date the start of duplication.
    segment_columns : list of str, optional
        Columns in which to look for the segment holding the duplicates.
    profiles : (Profile, Profile), optional
        Profiles of both windows (:func:`toolkit.profile.profile_pair`): a window
        with a column whose values are all distinct has no duplicate row, so its
        rows are not hashed.
    random_state : int, default=0
        Unused (the check is exact); kept for a uniform signature.

    Returns
    -------
    list of Finding
        Layer ``data``; evidence ``key_columns`` (None = all columns), shares with an
        interval, ``segment``, ``since``, ``share_affected``.
    """
    keys = [key] if isinstance(key, str) else list(key) if key else None
    for k in keys or []:
        C.require_column(current, k, name="current", role="key")
        C.require_column(reference, k, name="reference", role="key")
    common = [c for c in current.columns if c in reference.columns]
    segs = segment_columns or []
    ref_p, cur_p = profiles if profiles is not None else (None, None)
    exact_ref = _exact_duplicates(reference, common, ref_p)
    exact_cur = _exact_duplicates(current, common, cur_p)
    args = (current, segs, lambda: C.time_order(current, timestamp, name="current"), reference)
    out = [_judge(exact_ref, exact_cur, None, *args)]
    if keys:
        key_ref = duplicate_mask(reference, keys) & ~exact_ref
        key_cur = duplicate_mask(current, keys) & ~exact_cur
        out.append(_judge(key_ref, key_cur, keys, *args))
    return [f for f in out if f is not None]


def _exact_duplicates(df: pd.DataFrame, columns: list[str], profile: Any) -> np.ndarray:
    """duplicate_mask, skipped when the profile shows a column with no repeated value."""
    if profile is not None:
        for col in columns:
            cp = profile.columns.get(col)
            if cp is not None and cp.count == len(df) and cp.nulls == 0 \
                    and cp.n_posinf == cp.n_neginf == 0 and cp.n_distinct == cp.count:
                return np.zeros(len(df), dtype=bool)  # every row differs on this column
    return duplicate_mask(df, columns)


def _judge(m_ref, m_cur, keys, current, segs, time_order, reference) -> Finding | None:
    k1, n1, k2, n2 = float(m_ref.sum()), len(m_ref), float(m_cur.sum()), len(m_cur)
    p1, p2 = k1 / n1, k2 / n2
    z = C.bonferroni_z(2)
    l1, u1 = C.wilson_interval(k1, n1, z=z)
    l2, u2 = C.wilson_interval(k2, n2, z=z)
    lo = (p2 - p1) - float(np.hypot(p2 - l2, u1 - p1))
    hi = (p2 - p1) + float(np.hypot(u2 - p2, p1 - l1))
    if lo <= PRACTICAL_SHARE or p2 <= 2 * p1:
        return None
    where = C.locate(m_cur, current, segs, time_order(), base=p1,
                     reference=(m_ref, reference))
    what = "exact duplicate rows" if keys is None else f"duplicate keys ({', '.join(keys)})"
    scope = (f" in {where['segment']}" if where["segment"] else "") + (
        f" since {where['since']}" if where["since"] else "")
    return Finding(
        check="duplicates.exact_rows" if keys is None else "duplicates.duplicate_keys",
        layer="data", severity="critical" if lo >= 0.05 else "warning",
        score=C.clip01(0.3 + 2 * (p2 - p1)),
        summary=f"{C.scoped_share(where, p2)} are {what} against {p1:.1%} in the reference.",
        features=tuple(keys or ()), segment=where["segment"],
        evidence={"key_columns": keys, "reference_share": round(p1, 6),
                  "current_share": round(p2, 6), "diff_interval": [round(lo, 6), round(hi, 6)],
                  "count": int(k2), **where,
                  "repair": "drop the repeated rows (keep the first of each key)"},
        next_step="Look for a batch loaded twice or a join that fans out"
        f"{scope}; deduplicate before scoring.",
    )
