"""Clock shifts: event times that arrive some hours off, from a date on.

A feed that switches from local time to UTC, or loses its offset, moves every record
by the same number of hours. Volumes per day barely change, but the day's rhythm does:
the current window's time-of-day histogram is the reference's, rotated. The check
scores each rotation by a likelihood ratio against the reference's rhythm, finds the
date from which it holds (a cumulative-sum split over time-ordered chunks of rows),
and reports it when the rotated reference fits the rows after that date far better
than the reference itself does. Columns computed from the clock (an hour or a weekday
column that equals the timestamp's in the reference) move with it; the finding names
them so that their drift is read as a consequence, not as a cause.

Windows shorter than two days are not judged: in them, time of day is the position in
the window, not a daily rhythm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["CLOCK_PARTS", "clock_shifts", "wall_clock", "zone"]

#: Bins of the day: half hours, so that offsets like +5:30 are whole steps.
BINS = 48
#: Rows needed on each side, and after the date, to compare two daily rhythms.
MIN_ROWS = 1000
#: Days a window (and the shifted part) must span for time of day to be a rhythm.
MIN_DAYS = 2.0
#: Time-ordered chunks the date is searched over before refining inside one.
_CHUNKS = 400
_NS_PER_BIN = 86_400_000_000_000 // BINS


def clock_shifts(reference: pd.DataFrame, current: pd.DataFrame, *,
                 timestamp: str) -> list[Finding]:
    """Find a timestamp column whose daily rhythm arrives rotated by some hours.

    Parameters
    ----------
    reference, current : DataFrame
    timestamp : str
        The event-time column, in both frames.

    Returns
    -------
    list of Finding
        At most one ``clock.shift`` finding (layer ``pipeline``), with evidence
        ``column``, ``shift_hours``, ``since``, ``share_affected``, ``derived_columns``
        (``[column, "hour" or "weekday"]`` pairs: columns that equal that part of the
        timestamp in the reference), the distances behind it, and both rhythms. A
        zoned timestamp is read on its own wall clock, so daylight-saving changes do
        not rotate it. Only a shift that lasts to the end of the window is looked
        for: one fixed inside the window mixes both clocks after its date and is not
        reported.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> def rows(start, n):
    ...     day = pd.Timestamp(start) + pd.to_timedelta(rng.integers(0, 14, n), unit="D")
    ...     return day + pd.to_timedelta(np.clip(rng.normal(13, 3, n), 0, 23.9), unit="h")
    >>> ref = pd.DataFrame({"ts": rows("2024-01-01", 5000)})
    >>> cur = pd.DataFrame({"ts": rows("2024-01-15", 5000) - pd.Timedelta(hours=8)})
    >>> [f.evidence["shift_hours"] for f in clock_shifts(ref, cur, timestamp="ts")]
    [-8.0]
    """
    for label, df in (("reference", reference), ("current", current)):
        C.require_frame(df, name=label)
        C.require_column(df, timestamp, name=label, role="timestamp")
    ordered_ref = C.time_order(reference, timestamp, name="reference")
    ordered_cur = C.time_order(current, timestamp, name="current")
    if ordered_ref is None or ordered_cur is None:
        return []
    (ref_rows, tr), (cur_rows, tc) = ordered_ref, ordered_cur
    if len(tr) < MIN_ROWS or len(tc) < MIN_ROWS or _days(tr) < MIN_DAYS or _days(tc) < MIN_DAYS:
        return []
    # A zoned column keeps its wall clock: people act at 9:00 local time, in summer too.
    wall_r = wall_clock(tr, zone(reference[timestamp]))
    wall_c = wall_clock(tc, zone(current[timestamp]))
    bins_r, bins_c = _bins(wall_r), _bins(wall_c)
    first = _rotation(bins_r, bins_c, tc)
    if first is False:
        return []  # a flat day: a rotation changes nothing a model could see
    found = first if isinstance(first, dict) else None
    segment = None
    if found is None:  # not the whole feed: one source (a carrier, a site) alone?
        for col in C.segment_columns_of(current, exclude=[timestamp]):
            if col not in reference.columns:
                continue
            for value, r_in, c_in in _segments(reference, current, col, ref_rows, cur_rows):
                if r_in.sum() < MIN_ROWS or c_in.sum() < MIN_ROWS or _days(tc[c_in]) < MIN_DAYS:
                    continue
                hit = _rotation(bins_r[r_in], bins_c[c_in], tc[c_in])
                if isinstance(hit, dict) and (found is None or hit["plain"] > found["plain"]):
                    found, segment = hit, (col, value)
    if found is None:
        return []
    derived = _derived(reference, current, timestamp)
    share = found["rows"] / len(tc)
    return [_finding(timestamp, found, share, derived, segment)]


def _segments(reference: pd.DataFrame, current: pd.DataFrame, col: Any, ref_rows: np.ndarray,
              cur_rows: np.ndarray) -> list[tuple[Any, np.ndarray, np.ndarray]]:
    """(value, reference rows in time order holding it, current ones) per value."""
    r_codes, r_uniques = C.memoized_codes(reference, col)
    c_codes, c_uniques = C.memoized_codes(current, col)
    r_index = {v: i for i, v in enumerate(r_uniques)}
    r_in_time, c_in_time = r_codes[ref_rows], c_codes[cur_rows]
    return [(v, r_in_time == r_index[v], c_in_time == i)
            for i, v in enumerate(c_uniques) if v in r_index]


def _rotation(bins_r: np.ndarray, bins_c: np.ndarray,
              tc: np.ndarray) -> dict[str, Any] | bool | None:
    """The rotation of the reference's rhythm that the current rows take on from a date,
    or None; False when the reference's day is flat (no rotation can be seen)."""
    ref_counts = np.bincount(bins_r, minlength=BINS)
    p_ref = (ref_counts + 1.0) / (len(bins_r) + BINS)  # an empty half hour is rare, not impossible
    if _tv(p_ref, np.full(BINS, 1.0 / BINS)) < 0.05:
        return False  # a flat day: a rotation changes nothing a model could see
    log_p = np.log(p_ref)
    # llr[k, b]: log-likelihood ratio of a row in bin b under "rotated by k bins"
    llr = np.stack([np.roll(log_p, k) for k in range(BINS)]) - log_p[np.newaxis, :]
    edges = np.linspace(0, len(bins_c), min(_CHUNKS, len(bins_c) // 10) + 1).astype(np.int64)
    chunk = np.repeat(np.arange(len(edges) - 1), np.diff(edges))
    per_chunk = np.bincount(chunk * BINS + bins_c, minlength=(len(edges) - 1) * BINS
                            ).reshape(-1, BINS).astype(np.float64)
    gains = per_chunk @ llr.T  # chunk x rotation
    total = np.vstack([np.zeros((1, BINS)), np.cumsum(gains, axis=0)])
    start = np.argmin(total, axis=0)  # for each rotation, the best chunk to start from
    gain = total[-1] - total[start, np.arange(BINS)]
    gain[0] = -np.inf
    k = int(np.argmax(gain))
    whole = 2 * int(np.argmax(gain[::2]))  # zones are mostly whole hours: a half hour
    if k % 2 and gain[k] - gain[whole] < math.log(len(bins_c)):  # must clearly fit better
        k = whole
    z = llr[k][bins_c]
    j = _refine(z, int(edges[start[k]]), edges)
    # The first hours of a shifted window hold the night's tail of the old clock's day:
    # less than a day before the date is no evidence of a date, and a date must buy
    # its parameter (BIC).
    if (tc[j] - tc[0]) < np.timedelta64(1, "D") or z.sum() >= z[j:].sum() - math.log(len(z)):
        j = 0
    after = bins_c[j:]
    if len(after) < MIN_ROWS or _days(tc[j:]) < MIN_DAYS:
        return None
    p_plain = ref_counts / ref_counts.sum()
    h_after = np.bincount(after, minlength=BINS) / len(after)
    plain, rotated = _tv(h_after, p_plain), _tv(h_after, np.roll(p_plain, k))
    noise = _tv_noise(p_plain, len(after), len(bins_r))
    if plain < max(0.1, 4 * noise) or rotated > max(1.5 * noise, 0.15 * plain):
        return None  # the rhythm changed, but not by a rotation, or not beyond noise
    if j >= MIN_ROWS:  # before the date, the reference's own clock must fit
        h_before = np.bincount(bins_c[:j], minlength=BINS) / j
        if _tv(h_before, p_plain) > max(2 * _tv_noise(p_plain, j, len(bins_r)), 0.25 * plain):
            return None
    return {"shift": (k if k <= BINS // 2 else k - BINS) * 24.0 / BINS,
            "since": C.iso(tc[j]) if j > 0 else None, "rows": len(after), "plain": plain,
            "rotated": rotated, "noise": noise, "reference": p_plain, "current": h_after}


#: Parts of an event time that feature columns are often computed from.
CLOCK_PARTS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "hour": lambda t: t.dt.hour,
    "weekday": lambda t: t.dt.day_of_week,  # Monday 0
}


def zone(series: pd.Series) -> Any:
    """The time zone of a zoned datetime column, else None (naive, text, numbers)."""
    return getattr(series.dtype, "tz", None)


def wall_clock(utc: np.ndarray, tz: Any) -> np.ndarray:
    """Naive UTC datetime64 values as the naive wall-clock times of ``tz`` (unchanged
    without a zone); the order of the values is kept."""
    if tz is None:
        return utc
    local = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return local.to_numpy(dtype="datetime64[ns]")


def _days(t: np.ndarray) -> float:
    """Span of the bulk of sorted times (0.5% to 99.5%), in days."""
    n = len(t)
    lo, hi = t[int(0.005 * (n - 1))], t[math.ceil(0.995 * (n - 1))]
    return float((hi - lo) / np.timedelta64(1, "D"))


def _bins(t: np.ndarray) -> np.ndarray:
    """Half hour of the day of each datetime64[ns] value."""
    ns = t.astype("datetime64[ns]").view(np.int64)
    return ((ns % 86_400_000_000_000) // _NS_PER_BIN).astype(np.int64)


def _tv(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(p - q).sum())


def _tv_noise(p: np.ndarray, n_a: int, n_b: int) -> float:
    """Expected total variation between two samples of ``p`` of sizes n_a and n_b."""
    sd = np.sqrt(p * (1 - p) * (1.0 / n_a + 1.0 / n_b))
    return 0.5 * float(np.sqrt(2 / np.pi) * sd.sum())


def _refine(z: np.ndarray, j: int, edges: np.ndarray) -> int:
    """The row, within the chunks around ``j``, after which ``z`` sums highest."""
    k = int(np.searchsorted(edges, j))
    lo, hi = int(edges[max(0, k - 1)]), int(edges[min(len(edges) - 1, k + 1)])
    if hi <= lo:
        return j
    tail = np.cumsum(z[lo:hi][::-1])[::-1]  # sum from each row to hi
    return lo + int(np.argmax(tail))


def _derived(reference: pd.DataFrame, current: pd.DataFrame,
             timestamp: str) -> list[list[Any]]:
    """``[column, part]`` pairs: columns equal to a :data:`CLOCK_PARTS` part of the
    timestamp (on its wall clock) in a sample of the reference.

    The part must vary in the sample (at least 6 hours, 3 weekdays) and the column hold
    at least half as many values: with every record stamped at midnight, a mostly-zero
    label equals the hour, and is no clock feature.
    """
    pos = C.sample_positions(len(reference), 5000, random_state=0)
    raw = C.take(reference[timestamp], pos)
    utc = C.as_datetime(raw, name="reference", column=timestamp).to_numpy(dtype="datetime64[ns]")
    times = pd.Series(wall_clock(utc, zone(raw)))
    least = {"hour": 6, "weekday": 3}
    parts = {}
    for which, part in CLOCK_PARTS.items():
        values = part(times).to_numpy(dtype="float64", na_value=np.nan)
        if len(np.unique(values[np.isfinite(values)])) >= least[which]:
            parts[which] = values
    out: list[list[Any]] = []
    for col in reference.columns:
        if col == timestamp or col not in current.columns \
                or not C.is_number_column(reference[col]):
            continue
        values = C.take(reference[col], pos).to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(values)
        if ok.sum() < 100:
            continue
        for which, part in parts.items():
            same = ok & np.isfinite(part)
            if len(np.unique(values[same])) >= 0.5 * len(np.unique(part[same])) \
                    and np.mean(values[same] == part[same]) >= 0.95:
                out.append([col, which])
                break
    return out


def _finding(col, found: dict[str, Any], share: float, derived: list[list[Any]],
             segment: tuple[Any, Any] | None) -> Finding:
    shift, since = found["shift"], found["since"]
    hours = f"{'+' if shift > 0 else '-'}{abs(shift):g} h"
    where = C.segment_expr(segment[0], segment[1]) if segment is not None else None
    when = (f" where {where}" if where else "") + (f" from {since}" if since else "")
    names = [str(c) for c, _ in derived]
    also = f" {', '.join(names)} moved with it (computed from the clock)." if derived else ""
    return Finding(
        check="clock.shift", layer="pipeline",
        severity="critical" if derived else "warning",
        score=C.clip01(0.4 + 0.6 * share),
        summary=f"{col} arrives {hours} off the reference's clock{when}: its daily rhythm is "
        f"the reference's moved by {hours} (distance {found['rotated']:.2f} against "
        f"{found['plain']:.2f} unmoved).{also}",
        features=(col, *(c for c, _ in derived)), segment=where,
        evidence={"column": col, "shift_hours": shift, "since": since, "segment": where,
                  "share_affected": round(share, 6), "derived_columns": derived,
                  "distance_unshifted": round(found["plain"], 4),
                  "distance_shifted": round(found["rotated"], 4),
                  "noise": round(found["noise"], 4),
                  "reference_rhythm": [round(float(v), 5) for v in found["reference"]],
                  "current_rhythm": [round(float(v), 5) for v in found["current"]],
                  "repair": f"move the affected {col} values by {-shift:+g} h and recompute "
                  "the columns derived from it"},
        next_step=f"Check the time zone of {col}{when} (a switch between local time and UTC, "
        f"a lost offset, a daylight-saving rule).",
    )
