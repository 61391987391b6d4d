"""Volume, lateness and freshness: rows per time bucket against the reference pattern.

The current window is ``[start, end)``, given or inferred: the 0.1% and 99.9%
quantiles of the timestamps, widened to whole buckets (hours, days or weeks by span),
so that stray records fall outside it. Rows per bucket are compared with the expected
count: the current level times the reference's hour-of-day or day-of-week profile,
with the reference's own bucket-to-bucket dispersion as tolerance. A run of buckets
below half the expected count that reaches the end of the window, is short (at most a
quarter of it) and empties towards the end is *late records*; any other run (in the
middle, or a long step down to the end) is a *drop*. Staleness compares the latest
timestamp with ``as_of`` (or the end of a given window) against the reference's
largest usual gap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["infer_window", "volume_changes"]


def _freq(span: pd.Timedelta) -> pd.Timedelta:
    if span <= pd.Timedelta(days=3):
        return pd.Timedelta(hours=1)
    if span <= pd.Timedelta(days=180):
        return pd.Timedelta(days=1)
    return pd.Timedelta(days=7)


def infer_window(times: np.ndarray, *, freq: pd.Timedelta | None = None
                 ) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timedelta]:
    """``(start, end, bucket)`` of the bulk of ``times`` (sorted datetime64), whole buckets."""
    n = len(times)
    lo = pd.Timestamp(times[min(n - 1, int(0.001 * n))])
    hi = pd.Timestamp(times[max(0, int(np.ceil(0.999 * n)) - 1)])
    bucket = freq or _freq(hi - lo)
    return lo.floor(bucket), hi.floor(bucket) + bucket, bucket


def volume_changes(reference: pd.DataFrame, current: pd.DataFrame, *, timestamp: str,
                   window: tuple[Any, Any] | None = None, as_of: Any = None,
                   random_state: int = 0) -> list[Finding]:
    """Records outside the window, volume drops, late records, rate changes, staleness.

    Parameters
    ----------
    reference, current : DataFrame
    timestamp : str
        The event-time column, in both frames.
    window : (start, end), optional
        The current window; default inferred (see :func:`infer_window`).
    as_of : datetime-like, optional
        When the current data was extracted; enables the staleness check (the end of
        an explicit ``window`` serves otherwise).
    random_state : int, default=0
        Unused (the check is exact); kept for a uniform signature.

    Returns
    -------
    list of Finding
        ``volume.outside_window``, ``volume.late_records``, ``volume.drop``,
        ``volume.rate_change`` and ``volume.stale``; layer ``pipeline``. A window whose
        every row has the same time gives ``volume.constant_time`` alone.
    """
    C.require_column(current, timestamp, name="current", role="timestamp")
    C.require_column(reference, timestamp, name="reference", role="timestamp")
    ordered_ref = C.time_order(reference, timestamp, name="reference")
    ordered_cur = C.time_order(current, timestamp, name="current")
    if ordered_ref is None or ordered_cur is None:
        return []
    tr, tc = ordered_ref[1], ordered_cur[1]
    if len(tr) < 10 or len(tc) < 10:
        return []
    constant = _constant(tr, tc, timestamp)
    if constant is not None:  # one time for every row: nothing below can be measured
        return [constant]
    r_start, r_end, bucket = infer_window(tr)
    if window is None:
        start, end, bucket = infer_window(tc, freq=bucket if len(tc) < 100 else None)
    else:
        start, end = pd.Timestamp(window[0]), pd.Timestamp(window[1])
        bucket = _freq(end - start)
    ref_in = tr[(tr >= r_start.to_datetime64()) & (tr < r_end.to_datetime64())]
    out = _outside(tc, start, end, timestamp, ref_share=1 - len(ref_in) / len(tr))
    findings = [out] if out is not None else []
    cur_in = tc[(tc >= start.to_datetime64()) & (tc < end.to_datetime64())]
    findings += _runs(ref_in, r_start, r_end, cur_in, start, end, bucket, timestamp,
                      inferred=window is None)
    findings += _rate(len(ref_in), r_end - r_start, len(cur_in), end - start, timestamp)
    stale_at = pd.Timestamp(as_of) if as_of is not None else (end if window else None)
    if stale_at is not None and len(cur_in):
        f = _stale(ref_in, cur_in, stale_at, timestamp)
        if f is not None:
            findings.append(f)
    return findings


def _constant(tr: np.ndarray, tc: np.ndarray, col: str) -> Finding | None:
    """A window whose every row has the same time (sorted, so first equals last): the
    column holds a load time or a default, not event times. Critical when only the
    current window lost its times, a warning when the reference never had them."""
    windows = {"reference": tr, "current": tc}
    same = [w for w, t in windows.items() if t[0] == t[-1]]
    if not same:
        return None
    broke = same == ["current"]
    told = "; ".join(f"every one of the {len(windows[w]):,} {w} rows has {col} = "
                     f"{pd.Timestamp(windows[w][0])}" for w in same)
    return Finding(
        check="volume.constant_time", layer="pipeline",
        severity="critical" if broke else "warning", score=0.8 if broke else 0.5,
        summary=f"{col} holds one time for a whole window: {told}"
        + (", while the reference's times vary" if broke else "")
        + ". Volume, lateness, staleness and the dating of other findings cannot use it.",
        features=(col,),
        evidence={"column": col, "windows": same,
                  "values": {w: C.iso(windows[w][0]) for w in same},
                  "rows": {w: len(windows[w]) for w in same}},
        next_step=f"Check what fills {col}: a load or extraction time, or a default, stamps "
        f"every row alike. Pass the column that holds each event's own time as the timestamp.",
    )


def _outside(tc, start, end, col, *, ref_share) -> Finding | None:
    before, after = tc < start.to_datetime64(), tc >= end.to_datetime64()
    k = int(before.sum() + after.sum())
    if not k:
        return None
    share = k / len(tc)
    lo = C.wilson_interval(k, len(tc))[0]
    examples = [C.iso(v) for v in np.r_[tc[before][:3], tc[after][-3:]]]
    return Finding(
        check="volume.outside_window", layer="pipeline",
        severity="warning" if lo >= max(0.01, 2 * ref_share) else "info",
        score=C.clip01(0.2 + 5 * share),
        summary=f"{k:,} current records ({share:.2%}) have {col} outside the window "
        f"[{start}, {end}): {int(before.sum())} before, {int(after.sum())} after.",
        features=(col,),
        evidence={"column": col, "window": [C.iso(start), C.iso(end)], "count": k,
                  "share": round(share, 6), "before": int(before.sum()),
                  "after": int(after.sum()), "examples": examples,
                  "reference_share": round(ref_share, 6),
                  "repair": "drop the records outside the window, or fix their timestamps"},
        next_step="Check how records are assigned to the window (event time against load "
        "time, time zones) and whether these were loaded late or mis-dated.",
    )


def _counts(t: np.ndarray, start, end, bucket) -> np.ndarray:
    """Rows of ``t`` (datetime64, no NaT) in each bucket from ``start`` to ``end``."""
    n_b = max(1, int(np.ceil((end - start) / bucket)))
    if len(t) > 1 and np.all(t[1:] >= t[:-1]):  # sorted: cut at the edges, no division
        edges = start.to_datetime64() + np.arange(n_b + 1) * bucket.to_timedelta64()
        return np.diff(np.searchsorted(t, edges, side="left")).astype(float)
    idx = ((t - start.to_datetime64()) // bucket.to_timedelta64()).astype(np.int64)
    return np.bincount(idx[(idx >= 0) & (idx < n_b)], minlength=n_b).astype(float)


def _profile(t: np.ndarray, start, end, bucket) -> tuple[np.ndarray, Any]:
    """(profile per phase, phase function) from the reference: hour of day or weekday."""
    span = end - start
    if bucket == pd.Timedelta(hours=1) and span >= pd.Timedelta(days=2):
        period = 24
    elif bucket == pd.Timedelta(days=1) and span >= pd.Timedelta(days=14):
        period = 7
    else:
        return np.ones(1), lambda starts: np.zeros(len(starts), dtype=int)

    def phase(starts: pd.DatetimeIndex) -> np.ndarray:
        return np.asarray(starts.hour if period == 24 else starts.day_of_week)

    counts = _counts(t, start, end, bucket)
    starts = pd.date_range(start, periods=len(counts), freq=bucket)
    prof = np.bincount(phase(starts), weights=counts, minlength=period) / np.maximum(
        np.bincount(phase(starts), minlength=period), 1)
    prof = np.where(prof > 0, prof, prof[prof > 0].mean() if (prof > 0).any() else 1.0)
    return prof / prof.mean(), phase


def _coverage(tc: np.ndarray, starts: pd.DatetimeIndex, bucket) -> np.ndarray:
    """Share of each bucket inside the data's span: the edges of an inferred window
    are partly empty because the extraction started or stopped there, not because
    records are missing."""
    cov = np.ones(len(starts))
    first = (starts[0] + bucket - pd.Timestamp(tc[0])) / bucket
    last = (pd.Timestamp(tc[-1]) - starts[-1]) / bucket
    cov[0] *= min(1.0, max(first, 1e-3))
    cov[-1] *= min(1.0, max(last, 1e-3))
    return cov


def _runs(tr, r_start, r_end, tc, start, end, bucket, col, *, inferred) -> list[Finding]:
    if not len(tc) or not len(tr):
        return []
    prof, phase = _profile(tr, r_start, r_end, bucket)
    ref_c = _counts(tr, r_start, r_end, bucket)
    ref_exp = prof[phase(pd.date_range(r_start, periods=len(ref_c), freq=bucket))]
    ratios = ref_c / (np.median(ref_c / ref_exp) * ref_exp)
    cv = 1.4826 * float(np.median(np.abs(ratios - np.median(ratios))))
    c = _counts(tc, start, end, bucket)
    starts = pd.date_range(start, periods=len(c), freq=bucket)
    p = prof[phase(starts)] * (_coverage(tc, starts, bucket) if inferred else 1.0)
    level = float(np.median(c / p))
    normal = c / p >= 0.5 * level
    if normal.any():  # re-estimate without the short buckets, which only pull it down
        level = float(np.median((c / p)[normal]))
    expected = level * p
    sd = np.sqrt(expected + (cv * expected) ** 2)
    low = (c < 0.5 * expected) & ((c - expected) / np.maximum(sd, 1e-9) < -3)
    series = [{"start": C.iso(t), "rows": int(n), "expected": round(float(e), 2)}
              for t, n, e in zip(starts[:400], c[:400], expected[:400])]
    findings = []
    for a, b in _true_runs(low):
        missing = float((expected[a:b] - c[a:b]).sum())
        share = missing / float(expected.sum())
        late = b == len(c) and _looks_late(c[a:b] / expected[a:b], len(c))
        f = _run_finding(col, late, starts[a], starts[b - 1] + bucket, share,
                         c[a:b], expected[a:b], bucket)
        findings.append(f.replace(evidence={**f.evidence, "series": series}))
    return findings


def _looks_late(ratio: np.ndarray, n_buckets: int) -> bool:
    """A short tail that empties towards the end; a long flat run is a level shift."""
    short = len(ratio) <= max(3, 0.25 * n_buckets)
    return short and ratio[-1] <= ratio[0] + 0.05


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.r_[0, mask.astype(int), 0])
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _bucket_name(bucket: pd.Timedelta) -> str:
    names = {pd.Timedelta(hours=1): "hour", pd.Timedelta(days=1): "day",
             pd.Timedelta(days=7): "week"}
    return names.get(bucket, str(bucket))


def _run_finding(col, late, a, b, share, got, expected, bucket) -> Finding:
    kept = float(got.sum() / max(expected.sum(), 1e-9))
    severity = "critical" if share >= 0.1 else "warning" if share >= 0.01 else "info"
    if not late and len(got) == 1 and kept > 0.25:
        severity = "info"  # one partial bucket: a holiday or an event as often as a loss
    what = ("the last buckets of the window are short: records are probably late"
            if late else "a drop that is not a late tail: records lost, or fewer events"
            + (" (a holiday?)" if len(got) == 1 and kept > 0.25 else ""))
    return Finding(
        check="volume.late_records" if late else "volume.drop", layer="pipeline",
        severity=severity, score=C.clip01(0.3 + 2 * share),
        summary=f"From {a} to {b} the current data has {int(got.sum()):,} rows where about "
        f"{int(expected.sum()):,} were expected; {what}.",
        features=(col,),
        evidence={"column": col, "since": C.iso(a), "until": C.iso(b),
                  "bucket": _bucket_name(bucket), "rows": int(got.sum()),
                  "expected_rows": round(float(expected.sum()), 1),
                  "share_missing": round(share, 6), "share_kept": round(kept, 6),
                  "late": late},
        next_step=("Re-extract the end of the window later, or exclude it until the data "
                   "is complete." if late else
                   "Find the batch or partition that did not load for this period."),
    )


def _rate(n_ref, span_ref, n_cur, span_cur, col) -> list[Finding]:
    rr, rc = n_ref / (span_ref / pd.Timedelta(hours=1)), n_cur / (span_cur / pd.Timedelta(hours=1))
    ratio = rc / rr if rr else float("inf")
    if 0.5 <= ratio <= 2:
        return []
    return [Finding(
        check="volume.rate_change", layer="pipeline", severity="warning",
        score=C.clip01(0.3 + 0.2 * abs(np.log2(max(ratio, 1e-9)))),
        summary=f"The current window has {ratio:.2f} times the reference's rows per hour "
        f"({rc:.4g} against {rr:.4g}).",
        features=(col,),
        evidence={"column": col, "rows_per_hour_reference": rr, "rows_per_hour_current": rc,
                  "ratio": ratio},
        next_step="Check whether a source was added or lost, or whether the windows were "
        "sampled differently.",
    )]


def _stale(tr, tc, at, col) -> Finding | None:
    latest = pd.Timestamp(tc.max())
    gaps = np.diff(tr).astype("timedelta64[ns]").astype(np.int64)
    usual = pd.Timedelta(int(np.quantile(gaps, 0.999)) if len(gaps) else 0)
    usual = usual * max(1.0, len(tr) / max(len(tc), 1))
    age = at - latest
    if age <= max(3 * usual, pd.Timedelta(minutes=1)):
        return None
    return Finding(
        check="volume.stale", layer="pipeline", severity="warning", score=0.6,
        summary=f"The latest {col} is {latest}, {age} before {at}; the reference rarely "
        f"goes {usual} without a record.",
        features=(col,),
        evidence={"column": col, "latest": C.iso(latest), "as_of": C.iso(at),
                  "age_seconds": age.total_seconds(), "usual_gap_seconds": usual.total_seconds()},
        next_step="Check that the feed is still running and when it last delivered.",
    )
