"""Stuck or constant values: a column that repeats one value, or loses its variety.

Three signs, each judged against the reference: the column is constant now and was
not; one value took over from some time on (a Bernoulli change point on the
time-ordered indicator of that value, with at least 95% of rows after it); the number
of distinct values collapsed, counted on equal-size samples of both windows so that
window size does not matter; or the robust spread (IQR) collapsed while the median
stayed put (so that a unit change is not taken for it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["stuck_values"]

_SAMPLE = 20_000


def stuck_values(reference: pd.DataFrame, current: pd.DataFrame, *,
                 timestamp: str | None = None, segment_columns: list[str] | None = None,
                 profiles: tuple[Any, Any] | None = None,
                 random_state: int = 0) -> list[Finding]:
    """Columns stuck on one value, or whose variety collapsed, and since when.

    Value shares come from the window profiles when they hold the column's value
    counts (text, booleans, codes); continuous columns are judged on equal-size
    samples. Rows are read again only for a value that did become more frequent.

    Parameters
    ----------
    reference, current : DataFrame
    timestamp : str, optional
        Time column of ``current``, to date when a value got stuck.
    segment_columns : list of str, optional
        Columns in which to look for the segment where the value is stuck.
    profiles : (Profile, Profile), optional
        Profiles of both windows from :func:`toolkit.profile.profile_pair`; made
        when not given.
    random_state : int, default=0
        Seed of the equal-size samples used to count distinct values.

    Returns
    -------
    list of Finding
        ``stuck.constant``, ``stuck.repeated_value`` (evidence ``column``, ``value``,
        ``since``, ``segment``, ``share_affected``), ``stuck.distinct_collapse`` and
        ``stuck.spread_collapse``; layer ``data``.
    """
    columns = [c for c in reference.columns if c in current.columns and c != timestamp]
    pair = C.profiles_for(reference, current, profiles, columns)
    order: Any = False  # the time order, computed once if a value needs dating
    segs = segment_columns or []
    findings = []
    for col in columns:
        if C.kind(reference[col]) != C.kind(current[col]):
            continue
        shares = _profile_shares(pair, col, integer=pd.api.types.is_integer_dtype(
            reference[col]))
        r = c = None
        if shares is None or C.kind(reference[col]) == "number":  # numbers: cheap to sample
            r = C.take(reference[col], C.sample_positions(
                len(reference), _SAMPLE, random_state=random_state)).dropna()
            c = C.take(current[col], C.sample_positions(
                len(current), _SAMPLE, random_state=random_state + 1)).dropna()
            if len(r) < 30 or len(c) < 30 or C.kind(r) != C.kind(c):
                continue
        if shares is not None:
            top_ref, top_cur = shares
        elif _no_frequent_value(pair, col):
            top_ref = top_cur = None  # exact: no value holds 5% of either window
        elif r is not None and c is not None:
            top_ref, top_cur = r.value_counts(normalize=True), c.value_counts(normalize=True)
        if top_ref is None or top_cur is None:
            f = None
        elif len(top_ref) < 2 or top_ref.iloc[0] >= 0.9:
            continue  # already (nearly) constant in the reference
        elif len(top_cur) > 1 and top_cur.iloc[0] < 0.05:
            f = None  # no value is frequent enough to be stuck anywhere that matters
        else:
            if order is False:
                order = C.time_order(current, timestamp, name="current")
            f = _repeated(col, top_ref, top_cur, reference, current, order,
                          [s for s in segs if s != col], exact=shares is not None)
            if f is not None and f.evidence.get("since") and f.evidence.get("segment") is None \
                    and _ordinary_run(reference, col, timestamp, order, f.evidence["since"]):
                f = None
        if f is None and r is not None and C.kind(r) == "number":
            f = _collapse(col, r, c, random_state)
        if f is not None:
            findings.append(f)
    return findings


def _no_frequent_value(pair, col) -> bool:
    """No value holds 5% of the finite values of either window, read off the profiles.

    A value holding 5% of the rows fills at least five consecutive percentiles of the
    sorted column, so percentiles without four equal neighbours in a row rule it out.
    """
    both = C.profiled(pair, col)
    if both is None:
        return False
    for cp in both:
        if cp.quantiles is None or cp.n_finite < 100 or cp.n_posinf or cp.n_neginf:
            return False
        same = np.r_[0, (cp.quantiles[1:] == cp.quantiles[:-1]).astype(np.int64), 0]
        edges = np.flatnonzero(np.diff(same))  # starts and ends of runs of equal steps
        if len(edges) and np.max(edges[1::2] - edges[::2]) >= 3:
            return False
    return True


def _profile_shares(pair, col, *, integer: bool) -> tuple[pd.Series, pd.Series] | None:
    """Exact shares of every value among the non-missing ones, from the profiles, when
    both hold all the column's values (text, booleans, codes, few distinct values)."""
    both = C.profiled(pair, col)
    if both is None:
        return None
    out = []
    for cp in both:
        n = cp.count - cp.nulls
        if n < 30 or not cp.top_values or len(cp.top_values) != cp.n_distinct or cp.n_posinf \
                or cp.n_neginf or cp.kind not in ("numeric", "categorical"):
            return None  # datetimes are profiled as epoch floats, not as their values
        if cp.kind == "numeric" and integer and max(abs(cp.min), abs(cp.max)) > 2**53:
            return None  # floats no longer hold every integer exactly
        values = [int(v) for v in cp.top_values] if integer else list(cp.top_values)
        out.append(pd.Series(cp.top_counts / n, index=pd.Index(values, dtype=object)))
    return out[0], out[1]


def _repeated(col, top_ref: pd.Series, top_cur: pd.Series, reference, current, order,
              segs, *, exact: bool = False) -> Finding | None:
    s = current[col]
    # The value whose share grew most among the most frequent: a sensor stuck at 612.4
    # hides behind the zeros every night holds.
    head = top_cur.head(10)
    head = head[head >= 0.05] if (head >= 0.05).any() else head.head(1)  # frequent enough
    grown = head - pd.Series(top_ref, dtype=float).reindex(head.index).fillna(0.0).to_numpy()
    value = grown.idxmax()
    p_ref = float(top_ref.get(value, 0.0))
    n_cur = max(int(s.notna().sum()), 1)
    if exact and C.wilson_interval(float(top_cur[value]) * n_cur, n_cur)[0] <= p_ref + 0.005:
        return None  # the shares are exact: no need to read the rows to know
    mask = (s == value).fillna(False).to_numpy(dtype=bool)
    p_cur = float(mask.sum() / n_cur)
    if C.wilson_interval(mask.sum(), n_cur)[0] <= p_ref + 0.005:
        return None  # the value is not more frequent than before anywhere that shows
    if p_cur == 1.0:
        return _finding(col, value, "stuck.constant", "critical", p_ref, 1.0,
                        {"segment": None, "since": None, "share_affected": 1.0})
    ref_mask = (reference[col] == value).fillna(False).to_numpy(dtype=bool)
    where = C.locate(mask, current, segs, order, base=p_ref, reference=(ref_mask, reference))
    in_scope = where.get("rate_in_scope", where.get("rate_after",
                                                    where.get("rate_in_segment", p_cur)))
    p_ref = where.get("reference_rate_in_segment", p_ref)
    if where["since"] is None and where["segment"] is None and p_cur < 0.9:
        return None
    if in_scope < 0.95 or in_scope - p_ref < 0.3:
        return None
    severity = "critical" if where["share_affected"] >= 0.1 else "warning"
    return _finding(col, value, "stuck.repeated_value", severity, p_ref, in_scope, where)


def _ordinary_run(reference, col, timestamp, order, since) -> bool:
    """True when the reference held one value as long as the current run lasts.

    A calendar column (day of week, month) or a feature refreshed once a day holds one
    value for a day at a time: a run of the last day is its normal rhythm, not a stuck
    feed. The longest run of equal consecutive values in the reference, in time, is the
    yardstick; a current run at most 1.5 times as long is ordinary.
    """
    ordered = C.time_order(reference, timestamp, name="reference")
    if ordered is None or order is None or len(ordered[0]) < 2:
        return False
    rows, times = ordered
    values = reference[col]
    if C.is_number_column(values):  # NaN != NaN: a missing value ends a run
        v = values.to_numpy(dtype="float64", na_value=np.nan)[rows]
        breaks = np.flatnonzero(v[1:] != v[:-1])
    else:
        codes, _ = pd.factorize(values.to_numpy()[rows], use_na_sentinel=True)
        breaks = np.flatnonzero((codes[1:] != codes[:-1]) | (codes[1:] < 0))
    starts = np.r_[0, breaks + 1]
    ends = np.r_[breaks, len(rows) - 1]
    longest = (times[ends] - times[starts]).max()
    lasts = order[1][-1] - np.datetime64(pd.Timestamp(since).to_datetime64(), "ns")
    return bool(lasts <= 1.5 * longest)


def _finding(col, value, check, severity, p_ref, p_scope, where) -> Finding:
    scope = (f" in {where['segment']}" if where["segment"] else "") + (
        f" since {where['since']}" if where["since"] else "")
    shown = value.item() if hasattr(value, "item") else value
    return Finding(
        check=check, layer="data", severity=severity,
        score=C.clip01(0.4 + 0.6 * where["share_affected"]),
        summary=f"{col} is stuck on {shown!r}{scope}: {p_scope:.1%} of those rows against "
        f"{p_ref:.1%} in the reference.",
        features=(col,), segment=where["segment"],
        evidence={"column": col, "value": shown, "reference_share": round(p_ref, 6),
                  "share_in_scope": round(p_scope, 6), **where,
                  "repair": "treat the stuck values in scope as missing"},
        next_step=f"Check the source of {col}{scope} (a frozen sensor, a default value, a "
        f"cache that stopped refreshing).",
    )


def _collapse(col, r: pd.Series, c: pd.Series, random_state) -> Finding | None:
    m = min(len(r), len(c), _SAMPLE)
    rs = C.take(r, C.sample_positions(len(r), m, random_state=random_state)).to_numpy("float64")
    cs = C.take(c, C.sample_positions(len(c), m, random_state=random_state + 1)
                ).to_numpy("float64")
    d_ref, d_cur = len(np.unique(rs)), len(np.unique(cs))
    q_ref, q_cur = np.quantile(rs, [0.25, 0.5, 0.75]), np.quantile(cs, [0.25, 0.5, 0.75])
    iqr_ref, iqr_cur = q_ref[2] - q_ref[0], q_cur[2] - q_cur[0]
    same_level = abs(q_cur[1] - q_ref[1]) <= max(iqr_ref, 1e-12)
    evidence = {"column": col, "distinct_reference": d_ref, "distinct_current": d_cur,
                "iqr_reference": float(iqr_ref), "iqr_current": float(iqr_cur),
                "sampled_rows": m}
    if d_ref >= 20 and d_cur <= 0.2 * d_ref:
        check, what = "stuck.distinct_collapse", f"{d_cur} distinct values against {d_ref}"
    elif d_ref >= 20 and iqr_ref > 0 and iqr_cur < 0.05 * iqr_ref and same_level:
        check, what = "stuck.spread_collapse", f"an IQR of {iqr_cur:.4g} against {iqr_ref:.4g}"
    else:
        return None
    return Finding(
        check=check, layer="data", severity="warning", score=0.5,
        summary=f"{col} lost its variety: {what} on {m:,}-row samples of each window.",
        features=(col,), evidence=evidence,
        next_step=f"Check whether {col} is now rounded, defaulted or frozen upstream.",
    )
