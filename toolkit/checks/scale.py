"""Unit and scale changes: a column that arrives multiplied by a conversion factor.

The robust ratio of current to reference is measured on the quantiles of ``log|x|``
(zeros dropped, so signs and zero-inflation do not matter): each quantile gives a
log-ratio, their median is the factor, and their spread says whether the whole
distribution moved by one factor (a unit change) or changed shape (drift). A factor is
reported when it is practically large *and* sits near a typical conversion factor
(10^k, 100, 1000, 2.54, 60, 3600, 1/100, 0.3048, 1.609, ...) or is extreme. Three
shapes are looked for, in order: the whole window, a change from a date on (change
point on time-ordered bucket medians, refined row by row), and one segment only (one
value of a low-cardinality column). Evidence carries ``column``, ``factor``,
``since``, ``share_affected`` and ``segment`` so triage can divide the affected
values by ``factor`` and measure what is left of the symptom.

A sign flip (a factor of -1, which ``log |x|`` cannot see) is the family's other
check, :func:`sign_flips`: the runner hands this family alone the time column and the
segment columns a flip is located with, so it lives here, and the module runs past
the house limit of about 500 lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit._profile_bins import quantiles_sorted
from toolkit.checks import _common as C
from toolkit.findings import Finding

__all__ = ["KNOWN_FACTORS", "match_factor", "robust_ratio", "sign_flips", "unit_changes"]

#: Typical conversion factors (current / reference); their inverses are added below.
_BASE_FACTORS: tuple[tuple[float, str], ...] = (
    (10.0, "x10"),
    (100.0, "x100, e.g. units to cents or fraction to percent"),
    (1000.0, "x1000, e.g. kg to g, s to ms, units to thousandths"),
    (1e4, "x10^4"),
    (1e6, "x10^6, e.g. units to millionths, s to µs"),
    (1e9, "x10^9, e.g. s to ns"),
    (2.54, "x2.54, inch to cm"),
    (1.609344, "x1.609, mile to km"),
    (1 / 0.3048, "x3.281, metre to feet"),
    (2.20462, "x2.205, kg to lb"),
    (12.0, "x12, foot to inch or year to month"),
    (24.0, "x24, day to hour"),
    (60.0, "x60, minute to second or hour to minute"),
    (3600.0, "x3600, hour to second"),
    (86400.0, "x86400, day to second"),
)
KNOWN_FACTORS: tuple[tuple[float, str], ...] = _BASE_FACTORS + tuple(
    (1.0 / f, f"÷{label[1:]}") for f, label in _BASE_FACTORS
)

#: Conversions that add an offset (current = factor * reference + offset): a pure
#: factor cannot describe them, and dividing would not undo them.
AFFINE_CONVERSIONS: tuple[tuple[float, float, str], ...] = (
    (1.8, 32.0, "x1.8 + 32, Celsius to Fahrenheit"),
    (5 / 9, -160 / 9, "(x - 32) / 1.8, Fahrenheit to Celsius"),
    (1.0, 273.15, "x + 273.15, Celsius to kelvin"),
    (1.0, -273.15, "x - 273.15, kelvin to Celsius"),
)

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
_QUANTILE_LEVELS = np.array(QUANTILES)
#: Factors within this ratio of 1 are never a unit change (ordinary drift).
MIN_LOG_FACTOR = math.log(1.4)
#: Unknown factors this large are still reported (warning), if consistent.
EXTREME_LOG_FACTOR = math.log(10.0)
#: From a date on, a smaller unlisted factor is reported when every quantile moved by it.
MIN_DATED_LOG_FACTOR = math.log(1.15)
#: Largest spread of the quantiles' log-ratios for an unlisted dated factor.
_DATED_SPREAD = 0.05
SCALE_SAMPLE = 50_000
MIN_VALUES = 30


@dataclass(frozen=True)
class Ratio:
    """Robust ratio of current to reference, in log space."""

    log_factor: float
    low: float
    high: float
    spread: float
    per_quantile: tuple[tuple[float, float, float], ...]  # (q, ref, cur) in log space
    n_reference: int
    n_current: int

    @property
    def factor(self) -> float:
        return math.exp(self.log_factor)

    @property
    def consistent(self) -> bool:
        """Every quantile moved by about the same factor (a pure rescaling)."""
        return self.spread <= max(0.1, 0.25 * abs(self.log_factor))


def _logabs(values: np.ndarray) -> np.ndarray:
    a = np.abs(values[np.isfinite(values)])
    return np.log(a[a > 0])


def _rank_bounds(n: int, q: float, z: float = 1.96) -> tuple[int, int]:
    half = z * math.sqrt(n * q * (1 - q))
    return max(0, math.floor(n * q - half)), min(n - 1, math.ceil(n * q + half))


def robust_ratio(reference_logs: np.ndarray, current_logs: np.ndarray) -> Ratio:
    """Quantile log-ratios of two samples of ``log|x|`` (both sorted ascending).

    The interval is distribution-free: order-statistic bounds (binomial ranks) of the
    median on each side, combined conservatively.
    """
    ref, cur = reference_logs, current_logs
    rq = quantiles_sorted(ref, _QUANTILE_LEVELS)
    cq = quantiles_sorted(cur, _QUANTILE_LEVELS)
    lr = cq - rq
    log_factor = float(np.median(lr))
    rlo, rhi = _rank_bounds(len(ref), 0.5)
    clo, chi = _rank_bounds(len(cur), 0.5)
    low = float(cur[clo] - ref[rhi])
    high = float(cur[chi] - ref[rlo])
    spread = float(np.max(np.abs(lr - log_factor)))
    per_q = tuple((q, float(a), float(b)) for q, a, b in zip(QUANTILES, rq, cq))
    return Ratio(log_factor, low, high, spread, per_q, len(ref), len(cur))


def match_factor(factor: float, *, tolerance: float = 0.05) -> tuple[float, str] | None:
    """The known conversion factor nearest to ``factor`` within ``tolerance`` (log)."""
    if not factor > 0:
        return None
    lf = math.log(factor)
    best = min(KNOWN_FACTORS, key=lambda kv: abs(math.log(kv[0]) - lf))
    return best if abs(math.log(best[0]) - lf) <= tolerance else None


def _verdict(r: Ratio) -> tuple[float, str, str] | None:
    """(factor to undo, label, severity) when ``r`` looks like a unit change."""
    if abs(r.log_factor) < MIN_LOG_FACTOR or not r.consistent or r.low <= 0 <= r.high:
        return None
    tol = min(max(0.05, (r.high - r.low) / 2), 0.25 * abs(r.log_factor))
    known = match_factor(r.factor, tolerance=tol)
    if known is not None:
        severity = "critical" if abs(math.log(known[0])) >= math.log(5) else "warning"
        return known[0], known[1], severity
    if abs(r.log_factor) >= EXTREME_LOG_FACTOR:
        return r.factor, "an extreme ratio that is not a usual conversion factor", "warning"
    return None


def _step(ref_logs: np.ndarray, logs: np.ndarray, j: int, after: Ratio,
          before: Ratio | None) -> bool:
    """A step, not a trend: the rows before the date sit at the reference's level and
    both halves of the rows after it at the new one (each within a fifth of the step)."""
    lf = abs(after.log_factor)
    if before is not None and abs(before.log_factor) > 0.2 * lf:
        return False
    half = j + (len(logs) - j) // 2
    if half - j < MIN_VALUES or len(logs) - half < MIN_VALUES:
        return False
    first = robust_ratio(ref_logs, np.sort(logs[j:half])).log_factor
    second = robust_ratio(ref_logs, np.sort(logs[half:])).log_factor
    return abs(first - second) <= 0.2 * lf


def _dated_verdict(r: Ratio) -> tuple[float, str, str] | None:
    """A verdict for the values after a date: a known factor, or any factor of at least
    1.15 when every quantile moved by it alike (spread at most 0.05 in log) and its
    interval excludes 1; :func:`_time_step` then also asks for a step (:func:`_step`).

    A step on a date that rescales the whole distribution while the rows before it
    match the reference is what a currency, a price list or a unit nobody lists does
    to a column; ordinary drift moves quantiles unequally, or gradually.
    """
    verdict = _verdict(r)
    if verdict is not None:
        return verdict
    lf = abs(r.log_factor)
    if lf < MIN_DATED_LOG_FACTOR or r.spread > _DATED_SPREAD or r.low <= 0 <= r.high:
        return None
    return r.factor, _UNLISTED_LABEL, "warning"


#: The conversion label of an unlisted dated factor (judged a step by _step).
_UNLISTED_LABEL = ("an unlisted factor: every quantile moved by it from that date, as when a "
                   "currency, a price list or a calibration changes")


class _Grouping:
    """Rows of a sample grouped by segment code, once for every column checked."""

    def __init__(self, codes: np.ndarray, n: int) -> None:
        self.codes = codes
        small = np.int16 if n < 2**15 else np.int64  # a radix sort for small codes
        self.order = np.argsort(codes.astype(small), kind="stable")
        self.order = self.order[codes[self.order] >= 0]  # missing segment values left out
        self.ends = np.cumsum(np.bincount(codes[self.order], minlength=n)[:n])

    def medians(self, logs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Median and count of the finite ``logs`` of each segment."""
        grouped = logs[self.order]
        ok = np.isfinite(grouped)
        med, size = np.full(len(self.ends), np.nan), np.zeros(len(self.ends))
        start = 0
        for k, end in enumerate(self.ends):
            block = grouped[start:end][ok[start:end]]
            size[k] = len(block)
            if len(block):
                med[k] = np.median(block)
            start = end
        return med, size


@dataclass
class _Prepared:
    """Per-frame work shared by every column: samples and time order."""

    ref_pos: np.ndarray | None
    cur_pos: np.ndarray | None
    cur_time: np.ndarray | None  # datetime64 of the sampled current rows
    cur_order: np.ndarray | None  # their time order, NaT dropped
    cur_time_full: np.ndarray | None
    make_segments: Callable[[], dict[str, tuple[_Grouping, _Grouping, list]]]
    _segments: dict[str, tuple[_Grouping, _Grouping, list]] | None = None

    @property
    def segments(self) -> dict[str, tuple[_Grouping, _Grouping, list]]:
        """Column -> (reference grouping, current grouping, values), made on first use."""
        if self._segments is None:
            self._segments = self.make_segments()
        return self._segments


def _prepare(reference, current, *, timestamp, segment_columns, random_state) -> _Prepared:
    ref_pos = C.sample_positions(len(reference), SCALE_SAMPLE, random_state=random_state)
    cur_pos = C.sample_positions(len(current), SCALE_SAMPLE, random_state=random_state + 1)
    cur_time = cur_time_full = None
    if timestamp is not None:
        ts = C.as_datetime(current[timestamp], name="current", column=timestamp)
        cur_time_full = ts.to_numpy(dtype="datetime64[ns]")
        cur_time = cur_time_full if cur_pos is None else cur_time_full[cur_pos]
    if segment_columns is None:
        segment_columns = C.segment_columns_of(current, exclude=[timestamp])
    columns = [c for c in segment_columns if c in reference.columns and c in current.columns]

    def segments() -> dict[str, tuple[_Grouping, _Grouping, list]]:
        segs = {}
        for col in columns:
            r, c = C.take(reference[col], ref_pos), C.take(current[col], cur_pos)
            codes, uniques = pd.factorize(pd.concat([r, c], ignore_index=True))
            segs[col] = (_Grouping(codes[: len(r)], len(uniques)),
                         _Grouping(codes[len(r):], len(uniques)), list(uniques))
        return segs

    order = None
    if cur_time is not None:
        ok = np.flatnonzero(~np.isnat(cur_time))
        order = ok[np.argsort(cur_time[ok], kind="stable")]
    return _Prepared(ref_pos, cur_pos, cur_time, order, cur_time_full, segments)


def _values(df: pd.DataFrame, column: str, pos: np.ndarray | None) -> np.ndarray:
    values = df[column].to_numpy(dtype="float64", na_value=np.nan)  # no copy for floats
    return values if pos is None else values[pos]


def unit_changes(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: list[str] | None = None,
    timestamp: str | None = None,
    segment_columns: list[str] | None = None,
    profiles: tuple[Any, Any] | None = None,
    random_state: int = 0,
) -> list[Finding]:
    """Find numeric columns whose values arrive multiplied by a conversion factor.

    Parameters
    ----------
    reference, current : DataFrame
        The reference window and the current window.
    columns : list of str, optional
        Numeric columns to check; default all numeric columns present in both.
    timestamp : str, optional
        A time column of ``current``; enables "from this date on" changes.
    segment_columns : list of str, optional
        Low-cardinality columns to look for a change confined to one segment; by
        default the text, boolean and small-integer columns with 2 to 30 values.
    profiles : (Profile, Profile), optional
        Profiles of both windows (:func:`toolkit.profile.profile_pair`). Without a
        timestamp, a column positive in both whose exact quantiles of ``log x`` all
        moved by less than the tails threshold cannot show a unit change in a
        segment or overall, and is not sampled.
    random_state : int, default=0
        Seed of the row samples (at most 50,000 rows a side are used; the evidence
        says how many).

    Returns
    -------
    list of Finding
        ``scale.unit_change`` findings (layer ``pipeline``), at most one a column, then
        ``scale.sign_flip`` findings (:func:`sign_flips`) on the other columns.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"amount": rng.lognormal(3, 1, 2000)})
    >>> cur = pd.DataFrame({"amount": rng.lognormal(3, 1, 2000) * 100})
    >>> [f.evidence["factor"] for f in unit_changes(ref, cur)]
    [100.0]
    """
    C.require_frame(reference, name="reference")
    C.require_frame(current, name="current")
    C.require_column(current, timestamp, name="current", role="timestamp")
    if columns is None:
        columns = [c for c in C.numeric_columns(current, exclude=[timestamp])
                   if c in reference.columns and C.is_number_column(reference[c])
                   and not C.looks_like_identifier(reference[c])]
    prep = _prepare(reference, current, timestamp=timestamp,
                    segment_columns=segment_columns, random_state=random_state)
    findings = []
    for col in columns:
        if profiles is not None and prep.cur_time is None and _unmoved(profiles, col):
            continue  # with dates, a late share rescaled can hide inside the tails
        f = _check_column(reference, current, col, prep)
        if f is not None:
            findings.append(f)
    rescaled = {f.evidence["column"] for f in findings}
    return findings + sign_flips(reference, current,
                                 columns=[c for c in columns if c not in rescaled],
                                 timestamp=timestamp, segment_columns=segment_columns,
                                 random_state=random_state)


def _check_column(reference, current, col, prep: _Prepared) -> Finding | None:
    ref_vals = _values(reference, col, prep.ref_pos)  # taken once: a gather of 50k rows
    ref_logs = np.sort(_logabs(ref_vals))
    cur_vals = _values(current, col, prep.cur_pos)
    if len(ref_logs) < MIN_VALUES or len(np.unique(ref_logs[:: max(1, len(ref_logs) // 2000)])) < 5:
        return None
    cur_logs = _logabs(cur_vals)
    if len(cur_logs) < MIN_VALUES:
        return None
    cur_logs = np.sort(cur_logs)
    whole = robust_ratio(ref_logs, cur_logs)
    verdict, affine = _judged(whole, ref_vals, cur_vals)
    if verdict is not None:
        return _finding(col, whole, verdict, since=None, share=1.0, segment=None, affine=affine)
    if prep.cur_time is not None:
        found = _time_step(ref_logs, cur_vals, col, prep,
                           ref_raw=ref_vals)
        if found is not None:
            return found
    if not _tails_moved(ref_logs, cur_logs):
        return None  # a segment of any size rescaled would move the outer quantiles
    tried = [_segment_step(current, col, seg_col, coded, ref_vals, cur_vals, prep)
             for seg_col, coded in prep.segments.items() if seg_col != col]
    # A region and a store inside it can both hold the change: the broadest scope that
    # explains it is the one to report (a store would leave the region's others out).
    held = [f for f in tried if f is not None]
    return max(held, key=lambda f: f.evidence["share_affected"]) if held else None


#: Largest move of an outer quantile of ``log |x|`` that is not a rescaled share.
_TAILS = 0.1

#: Percentiles whose log-ratio the profile screen reads: the ratio's and the tails'.
_SCREENED = np.array([2, 5, 10, 25, 50, 75, 90, 95, 98])


def _unmoved(profiles: tuple[Any, Any], col: str) -> bool:
    """True when the exact quantiles of ``log x`` moved less than the tails threshold.

    Then neither the whole-window ratio (the median of moves of at most 0.1) nor the
    tails that a dated or segment change would move can show a unit change, so the
    sampled search is skipped. Only for columns positive in both windows, where the
    quantiles of ``log |x|`` are the logs of the profile's percentiles.
    """
    both = C.profiled(profiles, col)
    if both is None:
        return False
    rp, cp = both
    if rp.quantiles is None or cp.quantiles is None or rp.kind != "numeric" \
            or cp.kind != "numeric" or not (rp.min > 0 and cp.min > 0):
        return False
    moved = np.abs(np.log(cp.quantiles[_SCREENED]) - np.log(rp.quantiles[_SCREENED]))
    return bool(np.all(moved <= _TAILS))


def _tails_moved(ref_logs: np.ndarray, cur_logs: np.ndarray) -> bool:
    qs = np.array([0.02, 0.05, 0.1, 0.9, 0.95, 0.98])
    moved = quantiles_sorted(cur_logs, qs) - quantiles_sorted(ref_logs, qs)  # both sorted
    return bool(np.max(np.abs(moved)) > _TAILS)


def _chunk_medians(values: np.ndarray, chunks: list[np.ndarray]) -> np.ndarray:
    """Median of each consecutive chunk (np.array_split sizes differ by at most one)."""
    size = min(len(c) for c in chunks)
    if all(len(c) == size for c in chunks):
        return np.median(values[: size * len(chunks)].reshape(len(chunks), size), axis=1)
    return np.array([np.median(values[c]) for c in chunks])


def _best_split(m: np.ndarray) -> int:
    """Index k (1..len-1) splitting ``m`` into two runs with the least L1 deviation,
    the first of those that tie.

    Every split at once: row ``k - 1`` of a square holds ``m[:k]`` (left) or
    ``m[k:]`` (right) and NaN elsewhere; sorting a row puts its NaNs last, so its
    median sits at the middle of its first ``k`` (or ``n - k``) entries.
    """
    n = len(m)
    k = np.arange(1, n)
    before = np.arange(n)[np.newaxis, :] < k[:, np.newaxis]
    costs = np.zeros(n - 1)
    for side, size in ((before, k), (~before, n - k)):
        part = np.where(side, m[np.newaxis, :], np.nan)
        ordered = np.sort(part, axis=1)
        rows = np.arange(n - 1)
        median = (ordered[rows, (size - 1) // 2] + ordered[rows, size // 2]) / 2
        costs += np.nansum(np.abs(part - median[:, np.newaxis]), axis=1)
    # L1 costs tie exactly between neighbouring splits; rounding must not pick one.
    tied = costs <= costs.min() + 1e-9 * max(float(np.abs(m).sum()), 1e-300)
    return int(np.argmax(tied)) + 1


def _time_step(ref_logs, cur_vals, col, prep: _Prepared, *, ref_raw: np.ndarray,
               order: np.ndarray | None = None,
               segment: tuple[str, Any, pd.DataFrame, float] | None = None) -> Finding | None:
    """A change from a date on; inside one segment when ``segment`` is (column, value,
    current frame, the segment's share of the reference) and ``order`` the time order
    of the segment's sampled rows."""
    order = prep.cur_order if order is None else order
    if order is None or prep.cur_time is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.abs(cur_vals[order]))
    ok = np.isfinite(logs)
    logs, t, raw = logs[ok], prep.cur_time[order][ok], cur_vals[order][ok]
    if len(logs) < 8 * MIN_VALUES:
        return None
    n_buckets = int(min(40, len(logs) // MIN_VALUES))
    chunks = np.array_split(np.arange(len(logs)), n_buckets)
    m = _chunk_medians(logs, chunks)
    k = _best_split(m)
    a1, a2 = np.median(m[:k]), np.median(m[k:])
    # Chunk medians of a few dozen rows are noisy: search below the floor, and judge
    # the rows after the date, all of them, against it.
    if abs(a2 - a1) < 0.75 * MIN_DATED_LOG_FACTOR:
        return None
    lo, hi = chunks[k - 1][0], chunks[k][-1] + 1  # refine inside the two border buckets
    z = (np.abs(logs[lo:hi] - a2) < np.abs(logs[lo:hi] - a1)).astype(float)
    ones = np.concatenate([[0.0], np.cumsum(z)])  # shifted rows before each split
    gain = (np.arange(len(ones)) - ones) + (z.sum() - ones)
    j = lo + int(np.argmax(gain))
    since = t[j]
    after = robust_ratio(ref_logs, np.sort(logs[j:]))
    before = robust_ratio(ref_logs, np.sort(logs[:j])) if j >= MIN_VALUES else None
    verdict, affine = _judged(after, ref_raw, raw[j:], dated=True)
    if verdict is None or (before is not None and _judged(before, ref_raw, raw[:j])[0] is not None):
        return None
    if verdict[1] == _UNLISTED_LABEL and not _step(ref_logs, logs, j, after, before):
        return None
    if before is not None and abs(before.log_factor) > 0.5 * abs(after.log_factor):
        return None
    full = prep.cur_time_full
    share = float(np.mean(full >= since)) if full is not None else float(len(logs) - j) / len(logs)
    where = None
    if segment is not None:  # the share of all rows: in the segment and after the date
        seg_col, value, frame, ref_share = segment
        where = C.segment_expr(seg_col, value)
        in_segment = (frame[seg_col] == value).fillna(False).to_numpy(dtype=bool)
        if full is not None:
            later = full >= since
            share = float(np.mean(in_segment & later))
            if _crowd_changed(float(np.mean(in_segment[later])) if later.any() else 0.0,
                              ref_share):
                return None
    base = float(np.median(ref_logs))
    timeline = [{"start": C.iso(t[c[0]]), "log10_ratio": round((v - base) / math.log(10), 4)}
                for c, v in zip(chunks, m)]
    return _finding(col, after, verdict, since=C.iso(since), share=share, segment=where,
                    extra={"timeline": timeline}, affine=affine)


def _group_median_logs(values: np.ndarray, grouping: _Grouping) -> tuple[np.ndarray, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log(np.abs(values))
    return grouping.medians(logs)


def _segment_step(current, col, seg_col, coded, ref_vals, cur_vals, prep) -> Finding | None:
    ref_group, cur_group, uniques = coded
    ref_codes, cur_codes = ref_group.codes, cur_group.codes
    rm, rn = _group_median_logs(ref_vals, ref_group)
    cm, cn = _group_median_logs(cur_vals, cur_group)
    usable = (rn >= MIN_VALUES) & (cn >= MIN_VALUES)
    if usable.sum() < 2:
        return None
    shift = np.where(usable, np.abs(cm - rm), -np.inf)
    k = int(np.argmax(shift))
    if shift[k] < MIN_LOG_FACTOR:
        return None
    in_ref, in_cur = ref_codes == k, cur_codes == k
    r_in = robust_ratio(np.sort(_logabs(ref_vals[in_ref])), np.sort(_logabs(cur_vals[in_cur])))
    rest_ref, rest_cur = _logabs(ref_vals[~in_ref]), _logabs(cur_vals[~in_cur])
    if len(rest_ref) >= MIN_VALUES and len(rest_cur) >= MIN_VALUES:
        rest = robust_ratio(np.sort(rest_ref), np.sort(rest_cur))
        if abs(rest.log_factor) > 0.5 * abs(r_in.log_factor):
            return None  # the whole column moved, not one segment
    value = uniques[k]
    verdict, affine = _judged(r_in, ref_vals[in_ref], cur_vals[in_cur])
    if verdict is None:  # not one factor on the whole segment: from a date on, inside it?
        if prep.cur_order is None or prep.cur_time is None:
            return None
        return _time_step(np.sort(_logabs(ref_vals[in_ref])), cur_vals, col, prep,
                          ref_raw=ref_vals[in_ref], order=prep.cur_order[in_cur[prep.cur_order]],
                          segment=(seg_col, value, current, float(np.mean(in_ref))))
    share = float((current[seg_col] == value).mean())
    if _crowd_changed(float(np.mean(in_cur)), float(np.mean(in_ref))):
        return None
    return _finding(col, r_in, verdict, since=None, share=share,
                    segment=C.segment_expr(seg_col, value), affine=affine)


def _crowd_changed(share_now: float, share_before: float) -> bool:
    """A segment's share of the rows doubled or halved: new people arrived in it (a
    campaign), and their values differ for that reason. A unit change is the
    pipeline's, not the crowd's."""
    return share_before > 0 and not 0.5 <= share_now / share_before <= 2.0


def _judged(r: Ratio, ref_raw: np.ndarray, cur_raw: np.ndarray, *, dated: bool = False
            ) -> tuple[tuple[float, str, str] | None, tuple[float, float, str] | None]:
    """(verdict, affine conversion): a known conversion with an offset first, when the
    scale moved at all (Celsius to Fahrenheit moves it 1.8 times or more above 0 °C),
    else a factor (:func:`_verdict`)."""
    if abs(r.log_factor) >= MIN_LOG_FACTOR:
        affine = _affine(ref_raw, cur_raw)
        if affine is not None:
            return (affine[0], affine[2], "critical"), affine
    return (_dated_verdict(r) if dated else _verdict(r)), None


def _affine(ref_values: np.ndarray, cur_values: np.ndarray) -> tuple[float, float, str] | None:
    """The known affine conversion that maps reference quantiles onto current ones far
    better than any pure factor does, or None.

    Both are judged on raw values at the deciles and quartiles: a conversion fits when
    its largest miss is under a tenth of the current interquartile range, and wins when
    the best pure factor (least squares through 0) misses by at least three times more.
    """
    ref_values = ref_values[np.isfinite(ref_values)]
    cur_values = cur_values[np.isfinite(cur_values)]
    if min(len(ref_values), len(cur_values)) < MIN_VALUES:
        return None
    probs = (0.1, 0.25, 0.5, 0.75, 0.9)
    rq, cq = np.quantile(ref_values, probs), np.quantile(cur_values, probs)
    iqr = cq[3] - cq[1]
    if not iqr > 0:
        return None
    best = min(AFFINE_CONVERSIONS, key=lambda c: np.max(np.abs(c[0] * rq + c[1] - cq)))
    miss = float(np.max(np.abs(best[0] * rq + best[1] - cq))) / iqr
    factor = float(rq @ cq / (rq @ rq)) if rq @ rq > 0 else 0.0
    pure_miss = float(np.max(np.abs(factor * rq - cq))) / iqr
    return best if miss <= 0.1 and pure_miss >= 3 * miss else None


def _finding(col, r: Ratio, verdict, *, since, share, segment, extra=None,
             affine: tuple[float, float, str] | None = None) -> Finding:
    factor, label, severity = verdict
    offset = 0.0
    if affine is not None:
        factor, offset, label = affine
    where = (f" from {since}" if since else "") + (f" where {segment}" if segment else "")
    evidence = {
        "column": col,
        "factor": float(factor),
        "offset": float(offset),
        "measured_factor": round(r.factor, 6),
        "factor_interval": [round(math.exp(r.low), 6), round(math.exp(r.high), 6)],
        "conversion": label,
        "since": since,
        "share_affected": round(float(share), 6),
        "segment": segment,
        "quantiles": [{"q": q, "reference": round(math.exp(a), 6), "current": round(math.exp(b), 6)}
                      for q, a, b in r.per_quantile],
        "quantile_spread_log": round(r.spread, 4),
        "sampled_rows": {"reference": r.n_reference, "current": r.n_current},
        "repair": "subtract offset from the affected current values, then divide by factor",
    }
    evidence.update(extra or {})
    if affine is not None:
        severity = "critical"  # every value moved, by a conversion, not a drift
    score = C.clip01((0.55 if severity == "critical" else 0.35) + 0.4 * share)
    summary = (f"{col} arrives {r.factor:.4g}× its reference scale{where}: looks like a "
               f"unit change ({label}).")
    undo = f"divide the affected values by {factor:.6g}"
    if affine is not None:
        summary = (f"{col} arrives converted{where}: current ≈ {factor:.4g} × reference "
                   f"{'+' if offset >= 0 else '-'} {abs(offset):.4g}, a unit change ({label}).")
        undo = f"undo it on the affected values, (x - {offset:.6g}) / {factor:.6g},"
    return Finding(
        check="scale.unit_change",
        layer="pipeline",
        summary=summary,
        severity=severity,
        score=score,
        features=(col,),
        segment=segment,
        evidence=evidence,
        next_step=f"Ask the owner of the upstream feed whether the unit of {col} changed"
        f"{where}; to test the hypothesis, {undo} and re-score.",
    )


# --- sign flips: a factor of -1, which log |x| cannot see --------------------------------

#: Bins of |x| (reference quantiles) on which each row's flip score is read.
_FLIP_BINS = 16
#: Smallest gain in fit (KS distance) from mirroring worth reporting, whatever the rows.
PRACTICAL_FLIP = 0.05
#: Gain from which a flip is critical (when it touches at least 5% of the rows).
CRITICAL_FLIP = 0.2


def sign_flips(reference: pd.DataFrame, current: pd.DataFrame, *, columns: list[str],
               timestamp: str | None = None, segment_columns: list[str] | None = None,
               random_state: int = 0) -> list[Finding]:
    """Numeric columns whose sign flipped (x -> -x) from a date on or in one segment.

    Each row gets a flip score: the log-ratio of the reference's frequency of ``-x``
    to that of ``x`` (reference bins of ``|x|``, one for each sign). The rows whose
    score favours the mirror are located in time and in a segment
    (:func:`toolkit.checks._common.locate`), then the rows in that scope are judged on
    seeded samples by two-sample KS distances, each margin the KS critical value
    (Bonferroni over the columns). The mirrored reference (``-x``) must fit them
    better than the reference itself, by that margin and by :data:`PRACTICAL_FLIP`;
    better than the reference moved and stretched to their median and interquartile
    range (drift of location and spread cannot mirror a skewed shape, a flip does);
    the other current rows (the control) must fit the reference better than its
    mirror; and each half of the scope in time must be closer to the mirror (a step,
    not a trend). A flip needs a control: one of the whole window is not told from
    drift. A column symmetric around 0 in the reference is never judged (a flip would
    not show), nor is one whose shape a shift mirrors (a symmetric bump moved across 0).

    Returns
    -------
    list of Finding
        ``scale.sign_flip`` (layer ``pipeline``), evidence ``column``, ``since``,
        ``segment``, ``share_affected``, the KS distances and the noise level.
    """
    c_alpha = math.sqrt(-math.log(0.05 / max(1, len(columns)) / 2) / 2)
    ref_pos = C.sample_positions(len(reference), SCALE_SAMPLE, random_state=random_state)
    cur_pos = C.sample_positions(len(current), SCALE_SAMPLE, random_state=random_state + 1)
    out = []
    for col in columns:
        r = _values(reference, col, ref_pos)
        r = np.sort(r[np.isfinite(r)])
        table = _flip_table(r)
        if table is None or _ks(r, -r[::-1]) <= 2 * c_alpha * math.sqrt(2 / len(r)):
            continue  # too few values, or symmetric around 0: a flip would not show
        f = _flip_column(reference, current, col, r, table, cur_pos, c_alpha,
                         timestamp=timestamp, segment_columns=segment_columns)
        if f is not None:
            out.append(f)
    return out


def _flip_table(r: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(quantiles of |x| bounding the bins, log p(-bin) - log p(+bin) for each bin)."""
    a = np.abs(r)
    nonzero = a[a > 0]
    if len(nonzero) < 8 * MIN_VALUES or len(np.unique(nonzero[:: max(1, len(a) // 2000)])) < 10:
        return None  # few values or few levels: codes and counts, not signed quantities
    q = np.unique(np.quantile(nonzero, np.linspace(0, 1, _FLIP_BINS + 1)[1:-1]))
    k = np.searchsorted(q, a)
    pos = np.bincount(k[r > 0], minlength=len(q) + 1) + 0.5
    neg = np.bincount(k[r < 0], minlength=len(q) + 1) + 0.5
    return q, np.log(neg) - np.log(pos)


def _flip_scores(values: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per row: how much better the mirrored reference explains it (NaN stays NaN)."""
    q, llr = table
    with np.errstate(invalid="ignore"):
        k = np.searchsorted(q, np.abs(values))
        return np.sign(values) * llr[np.minimum(k, len(llr) - 1)]


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance of two sorted samples (ties handled)."""
    if not len(a) or not len(b):
        return 0.0
    grid = np.concatenate([a, b])
    fa = np.searchsorted(a, grid, side="right") / len(a)
    fb = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(fa - fb)))


def _flip_column(reference, current, col, r, table, cur_pos, c_alpha, *, timestamp,
                 segment_columns) -> Finding | None:
    cur_vals = _values(current, col, cur_pos)
    ref_all = _values(reference, col, None)
    z_ref = _flip_scores(ref_all, table) > 0
    base = float(np.count_nonzero(z_ref)) / max(1, int(np.count_nonzero(np.isfinite(ref_all))))
    cz = _flip_scores(cur_vals, table)
    n_ok = int(np.count_nonzero(np.isfinite(cz)))
    if n_ok < 8 * MIN_VALUES or C.wilson_interval(float(np.sum(cz > 0)), n_ok)[0] <= base:
        return None  # no more mirrored-looking rows than the reference has: a cheap screen
    order = C.time_order(current, timestamp, name="current")
    segs = segment_columns
    if segs is None:
        segs = C.segment_columns_of(current, exclude=[timestamp])
    segs = [s for s in segs if s != col and s in reference.columns]
    values = _values(current, col, None)
    mask = _flip_scores(values, table) > 0
    where = C.locate(mask, current, segs, order, base=base, reference=(z_ref, reference))
    scope = _flip_scope(current, values, where, order)
    if scope is None:
        return None
    s_all, k_all = scope
    pick = np.ones(len(current), bool)
    if cur_pos is not None:
        pick[:] = False
        pick[cur_pos] = True
    judged = _flip_judged(r, values, s_all & pick, k_all & pick, c_alpha, order)
    if judged is None:
        return None
    return _flip_finding(col, {**where, "reference_rate": base}, judged, float(np.mean(s_all)))


def _flip_scope(current, values, where, order) -> tuple[np.ndarray, np.ndarray] | None:
    """(rows in the located scope, the other rows: the control), finite values only."""
    if where["since"] is None and where["segment"] is None:
        return None  # the whole window: no control to tell a flip from drift
    scope = np.isfinite(values)
    if where["since"] is not None and order is not None:
        rows, times = order
        after = np.zeros(len(values), bool)
        after[rows[np.searchsorted(times, np.datetime64(pd.Timestamp(where["since"])))
                   :]] = True
        scope &= after
    if where["segment"] is not None:
        from toolkit.segment_expr import segment_mask

        scope &= np.asarray(segment_mask(current, where["segment"]), dtype=bool)
    control = np.isfinite(values) & ~scope
    return scope, control


def _flip_judged(r, values, scope, control, c_alpha, order) -> dict[str, Any] | None:
    """KS distances of the scope and the control to the reference and its mirror, or
    None when the mirror does not explain the scope beyond noise (see sign_flips)."""
    mirror = -r[::-1]
    s, k = np.sort(values[scope]), np.sort(values[control])
    if len(s) < MIN_VALUES or len(k) < MIN_VALUES:
        return None

    def noise(n: int) -> float:
        return c_alpha * math.sqrt(1 / n + 1 / len(r))

    d_same, d_mirror = _ks(s, r), _ks(s, mirror)
    d_ctrl, d_ctrl_mirror = _ks(k, r), _ks(k, mirror)
    d_moved = _ks(s, _moved_like(r, s))
    e_s, e_k = noise(len(s)), noise(len(k))
    gain = d_same - d_mirror
    if gain <= max(e_s, PRACTICAL_FLIP) or d_moved - d_mirror <= e_s \
            or d_ctrl_mirror - d_ctrl <= e_k:
        return None
    # A step, not a trend: each half of the scope (in time order) is mirrored alike.
    rows = np.flatnonzero(scope) if order is None else order[0][scope[order[0]]]
    for half in np.array_split(rows, 2):
        h = np.sort(values[half])
        if len(h) >= MIN_VALUES and _ks(h, mirror) >= _ks(h, r):
            return None
    return {"ks_reference": d_same, "ks_mirrored": d_mirror, "ks_moved": d_moved,
            "ks_control": d_ctrl, "ks_control_mirrored": d_ctrl_mirror, "noise": e_s,
            "gain": gain,
            "sampled_rows": {"reference": len(r), "scope": len(s), "control": len(k)}}


def _moved_like(r: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The reference moved and stretched to the median and interquartile range of
    ``s`` (both sorted): what drift of location and spread alone would give."""
    rq, sq = np.quantile(r, [0.25, 0.5, 0.75]), np.quantile(s, [0.25, 0.5, 0.75])
    stretch = (sq[2] - sq[0]) / (rq[2] - rq[0]) if rq[2] > rq[0] else 1.0
    return (r - rq[1]) * stretch + sq[1]


def _flip_finding(col, where, judged, share) -> Finding:
    gain = judged["gain"]
    severity = "critical" if gain >= CRITICAL_FLIP and share >= 0.05 else "warning"
    scope = (f" from {where['since']}" if where["since"] else "") + (
        f" where {where['segment']}" if where["segment"] else "")
    evidence = {
        "column": col, "since": where["since"], "segment": where["segment"],
        "share_affected": round(share, 6),
        **{k: round(v, 4) for k, v in judged.items() if k != "sampled_rows"},
        "sampled_rows": judged["sampled_rows"],
        # the share of rows whose value the mirror explains better, over time
        "reference_rate": round(where["reference_rate"], 6),
        "timeline": where.get("timeline", []),
        "repair": "negate the affected values",
    }
    return Finding(
        check="scale.sign_flip", layer="pipeline", severity=severity,
        score=C.clip01((0.55 if severity == "critical" else 0.35) + 0.4 * share),
        summary=f"{col} arrives with its sign flipped{scope}: those values fit the mirrored "
        f"reference (-x) far better than the reference (KS {judged['ks_mirrored']:.2f} against "
        f"{judged['ks_reference']:.2f}), while the other rows fit the reference "
        f"(KS {judged['ks_control']:.2f}).",
        features=(col,), segment=where["segment"], evidence=evidence,
        next_step=f"Ask the owner of the feed whether the sign convention of {col} changed"
        f"{scope} (a delay as earliness, a debit as a credit); to test it, negate the "
        f"affected values and re-score.",
    )
