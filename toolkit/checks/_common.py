"""Helpers shared by the check families: column kinds, sampling, segment expressions.

Nothing here imports scipy or scikit-learn, so ``import toolkit.checks`` stays light.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd

from toolkit._exceptions import InputError

#: Largest number of rows a check looks at when exactness is not needed. Checks that
#: sample say so in their evidence (``sampled_rows``).
SAMPLE_ROWS = 200_000

#: Rows a side on which the segment holding a problem is looked for.
SEGMENT_SAMPLE = 50_000

#: A categorical column with more distinct values than this is not used to look for
#: the segment where a problem concentrates.
MAX_SEGMENT_VALUES = 30


def require_frame(df: Any, *, name: str) -> pd.DataFrame:
    """Check that ``df`` is a non-empty DataFrame; raise InputError naming it."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(
            f"The {name} data must be a pandas DataFrame; got {type(df).__name__}. "
            f"Read files with toolkit.io.read_table first."
        )
    if len(df) == 0:
        raise InputError(
            f"The {name} data has no rows. Check the window you selected; the data "
            f"checks need at least one row on each side."
        )
    repeated = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
    if repeated:
        raise InputError(
            f"The {name} data has more than one column named {', '.join(map(repr, repeated))}. "
            f"Rename or drop the repeats so that each column has one name."
        )
    return df


def require_column(df: pd.DataFrame, column: str | None, *, name: str, role: str) -> None:
    """Raise InputError when ``column`` (if given) is not a column of ``df``."""
    if column is not None and column not in df.columns:
        shown = ", ".join(map(str, list(df.columns)[:20]))
        raise InputError(
            f"The {role} column {column!r} is not in the {name} data (columns: {shown}). "
            f"Pass the name of an existing column, or leave {role} unset."
        )


_NESTED = (list, dict, tuple, set, frozenset, np.ndarray)


def nested_columns(df: pd.DataFrame) -> list[str]:
    """Object columns holding lists, dicts, tuples, sets or arrays (unhashable values).

    The first 1,000 non-null values of each object column are looked at.
    """
    out = []
    for col in df.columns:
        s = df[col]
        if s.dtype != object:
            continue
        head = s.iloc[:5000].dropna().iloc[:1000]
        if any(isinstance(v, _NESTED) for v in head):
            out.append(col)
    return out


def as_text(value: Any) -> Any:
    """A nested value as stable text (sorted keys), so it can be counted and compared."""
    import json

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, set | frozenset):
        value = sorted(map(str, value))
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def with_columns(df: pd.DataFrame, values: Mapping[Any, Any]) -> pd.DataFrame:
    """``df`` with columns set from ``values``; a shallow copy (copy-on-write keeps the
    caller's frame untouched). Unlike ``assign(**values)``, names need not be strings."""
    out = df.copy(deep=False)
    for name, value in values.items():
        out[name] = value
    return out


def nested_as_text(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df`` with ``columns`` (see :func:`nested_columns`) turned into text; not in place."""
    if not columns:
        return df
    return with_columns(df, {c: df[c].map(as_text).astype("str") for c in columns})


def nested_pair(reference: pd.DataFrame, current: pd.DataFrame
                ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Both windows with their columns of lists or dicts as text, and those columns."""
    nested = sorted(set(nested_columns(reference)) | set(nested_columns(current)))
    if not nested:
        return reference, current, nested
    ref, cur = (nested_as_text(df, [c for c in nested if c in df.columns])
                for df in (reference, current))
    return ref, cur, nested


def is_number_column(series: pd.Series) -> bool:
    """Numeric, not boolean and not complex (the profiles count complex values as
    values, and a cast to float would drop their imaginary part)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series) \
        and not pd.api.types.is_complex_dtype(series)


def numeric_columns(df: pd.DataFrame, exclude: Iterable[str | None] = ()) -> list[str]:
    """Names of the numeric (non-boolean) columns, minus ``exclude``."""
    skip = {c for c in exclude if c is not None}
    return [c for c in df.columns if c not in skip and is_number_column(df[c])]


def kind(series: pd.Series) -> str:
    """Coarse type of a column: number, bool, datetime, text or empty (all null)."""
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if len(series) == 0 or not _has_values(series):
        return "empty"
    if is_number_column(series):
        return "number"
    return "text"


def _has_values(series: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(series) and not isinstance(series.dtype, pd.ArrowDtype):
        return True  # numpy integers cannot hold a missing value
    if pd.api.types.is_float_dtype(series):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        return bool((~np.isnan(values[:1024])).any() or (~np.isnan(values)).any())
    return bool(series.iloc[:1024].count()) or bool(series.count())  # the head settles most


def non_null_text(series: pd.Series, positions: np.ndarray | None = None) -> pd.Series:
    """Non-null values of ``series`` (at ``positions``) as strings."""
    s = take(series, positions)
    return s[s.notna()].astype("str")


def looks_like_identifier(series: pd.Series) -> bool:
    """Whole numbers, nearly all distinct: an id or counter, not a quantity."""
    if not pd.api.types.is_integer_dtype(series):
        return False
    head = series.iloc[:20_000].dropna()
    return len(head) >= 100 and head.nunique() >= 0.95 * len(head)


def profiles_for(reference: pd.DataFrame, current: pd.DataFrame, profiles: Any,
                 columns: Iterable[str]) -> tuple[Any, Any]:
    """The pair of window profiles a check reads: ``profiles`` when given, else made.

    :func:`toolkit.checks.run_checks` profiles both windows once and hands the pair to
    every family (and the caller can hand it on to :func:`toolkit.drift.feature_drift`);
    a family called on its own profiles just the ``columns`` it needs.
    """
    if profiles is not None:
        ref_p, cur_p = profiles
        return ref_p, cur_p
    from toolkit.profile import profile_pair

    return profile_pair(reference, current, columns=list(columns))


def profiled(profiles: tuple[Any, Any], column: str) -> tuple[Any, Any] | None:
    """The column's profiles in both windows, or None when one window lacks it."""
    ref_p, cur_p = profiles
    if column not in ref_p or column not in cur_p:
        return None
    return ref_p[column], cur_p[column]


def code_like(cp: Any) -> bool:
    """A numeric profile of whole numbers with at most 30 distinct values (codes)."""
    return (cp.kind == "numeric" and cp.integer_valued
            and 0 < (cp.n_distinct or 0) <= MAX_SEGMENT_VALUES)


def identifier_like(series: pd.Series, cp: Any) -> bool:
    """An integer column whose values are nearly all distinct: an id or a counter."""
    return (pd.api.types.is_integer_dtype(series) and cp.n_finite >= 100
            and (cp.n_distinct or 0) >= 0.95 * cp.n_finite)


def finite(series: pd.Series) -> np.ndarray:
    """The finite values of a numeric series as a float64 array."""
    values = series.to_numpy(dtype="float64", na_value=np.nan)
    return values[np.isfinite(values)]


def sample_positions(n: int, size: int, *, random_state: int) -> np.ndarray | None:
    """Sorted seeded row positions when ``n > size``, else None (use every row).

    The result is read-only and cached: every check asking for the same sample of the
    same number of rows gets the same positions without drawing them again.
    """
    if n <= size:
        return None
    return _positions(n, size, random_state)


@functools.lru_cache(maxsize=64)
def _positions(n: int, size: int, random_state: int) -> np.ndarray:
    rng = np.random.default_rng(random_state)
    out = np.sort(rng.choice(n, size=size, replace=False))
    out.setflags(write=False)
    return out


def take(series: pd.Series, positions: np.ndarray | None) -> pd.Series:
    """``series`` restricted to ``positions`` (all rows when None).

    Text read from Parquet arrives in chunks (one a row group), and arrow's take on
    a chunked array costs two to three times a take chunk by chunk: sorted
    positions of a text column are taken chunk by chunk.
    """
    if positions is None:
        return series
    values = series.array
    if isinstance(values, pd.arrays.ArrowStringArray) and len(positions) > 1 \
            and np.all(positions[1:] >= positions[:-1]):
        import pyarrow as pa

        chunked = values.__arrow_array__()
        if isinstance(chunked, pa.ChunkedArray) and chunked.num_chunks > 1:
            bounds = np.cumsum([0] + [len(c) for c in chunked.chunks])
            cuts = np.searchsorted(positions, bounds)
            pieces = [chunk.take(pa.array(positions[a:b] - start))
                      for chunk, start, a, b in zip(chunked.chunks, bounds[:-1], cuts[:-1],
                                                    cuts[1:])]
            taken = pd.arrays.ArrowStringArray(pa.chunked_array(pieces, type=chunked.type),
                                               dtype=series.dtype)
            return pd.Series(taken, index=series.index[positions], name=series.name,
                             copy=False)
    return series.iloc[positions]


def as_datetime(series: pd.Series, *, name: str, column: str) -> pd.Series:
    """Parse a timestamp column; raise InputError when most values do not parse."""
    from toolkit.io import parse_times

    out = parse_times(series)  # epochs by magnitude, mixed offsets to UTC
    bad = out.isna() & series.notna()
    if len(series) and bad.mean() > 0.5:
        raise InputError(
            f"The timestamp column {column!r} of the {name} data does not parse as dates "
            f"({bad.mean():.0%} of values fail, e.g. {series[bad].iloc[0]!r}). Pass a "
            f"column of dates or ISO date strings."
        )
    return out


def segment_columns_of(df: pd.DataFrame, exclude: Iterable[str | None] = ()) -> list[str]:
    """Low-cardinality columns usable as segments (text, category, bool, small ints)."""
    skip = {c for c in exclude if c is not None}
    out = []
    for col in df.columns:
        if col in skip:
            continue
        s = df[col]
        if pd.api.types.is_float_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        head = s.iloc[: min(len(s), 50_000)]
        if 2 <= head.nunique(dropna=True) <= MAX_SEGMENT_VALUES:
            if pd.api.types.is_integer_dtype(s) and head.nunique() > 12:
                continue
            out.append(col)
    return out


def segment_expr(column: str, value: Any) -> str:
    """``channel == 'app'`` style segment for one value of one column, in the grammar of
    :mod:`toolkit.segment_expr` (any name is quoted, never pasted into code)."""
    from toolkit.segment_expr import segment_equals

    return segment_equals(column, value)


def wilson_interval(k: float, n: float, *, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n``."""
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def diff_interval(k1: float, n1: float, k2: float, n2: float, *,
                  z: float = 1.96) -> tuple[float, float]:
    """Newcombe interval of ``k2/n2 - k1/n1`` (from two Wilson intervals)."""
    p1, p2 = k1 / max(n1, 1), k2 / max(n2, 1)
    l1, u1 = wilson_interval(k1, n1, z=z)
    l2, u2 = wilson_interval(k2, n2, z=z)
    d = p2 - p1
    lo = d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    hi = d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return (lo, hi)


def iso(value: Any) -> str | None:
    """ISO string of a timestamp to the second (people read it in summaries), or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    return pd.Timestamp(value).floor("s").isoformat()


def clip01(x: float) -> float:
    """``x`` clipped into [0, 1] (NaN becomes 0)."""
    if x != x:
        return 0.0
    return float(min(1.0, max(0.0, x)))


def bonferroni_z(n_tests: int, *, alpha: float = 0.05) -> float:
    """Two-sided normal quantile for ``alpha`` split over ``n_tests`` tests."""
    from statistics import NormalDist

    return float(NormalDist().inv_cdf(1 - alpha / (2 * max(1, n_tests))))


def best_binary_split(z: np.ndarray, *, min_size: int | None = None,
                      chunks: int = 2000) -> tuple[int, float, float]:
    """Split a 0/1 sequence into a before and an after run of different rates.

    Maximises the two-segment Bernoulli log-likelihood. Long sequences are searched
    at ``chunks`` equal-count boundaries first, then row by row inside the two chunks
    around the best boundary. Returns ``(j, rate_before, rate_after)`` where ``j`` is
    the first position of the after run (0 when the sequence is too short to split).
    """
    n = len(z)
    m = max(10, n // 200) if min_size is None else min_size
    if n < 2 * m:
        rate = float(np.mean(z)) if n else 0.0
        return 0, rate, rate
    c = np.concatenate([[0.0], np.cumsum(z, dtype="float64")])
    if n > 4 * chunks:
        coarse = np.unique(np.linspace(m, n - m, chunks).astype(np.int64))
        k = int(coarse[np.argmax(_split_ll(c, coarse, n))])
        step = int(np.ceil((n - 2 * m) / chunks)) + 1
        candidates = np.arange(max(m, k - step), min(n - m, k + step) + 1)
    else:
        candidates = np.arange(m, n - m + 1)
    best = int(candidates[np.argmax(_split_ll(c, candidates, n))])
    return best, float(c[best] / best), float((c[n] - c[best]) / (n - best))


def _split_ll(c: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    kb, nb = c[j], j.astype("float64")
    return _bern(kb, nb) + _bern(c[n] - kb, n - nb)


def _bern(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    p = k / n
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(k > 0, k * np.log(p), 0.0)
        b = np.where(n - k > 0, (n - k) * np.log1p(-p), 0.0)
    return a + b


#: Per-run memo of work several families repeat on the same frames (time orders,
#: sampled segment columns); set by :func:`run_memo` for one run_checks call only,
#: when the frames cannot change, and keyed by the frames' identity.
_MEMO: ContextVar[dict[Any, Any] | None] = ContextVar("steward_checks_memo", default=None)


@contextlib.contextmanager
def run_memo() -> Iterator[dict[Any, Any]]:
    """Share repeated per-frame work among the families of one run (threads included:
    pass the returned dict to :func:`use_memo` in each worker)."""
    memo: dict[Any, Any] = {}
    token = _MEMO.set(memo)
    try:
        yield memo
    finally:
        _MEMO.reset(token)


def use_memo(memo: dict[Any, Any] | None) -> contextlib.AbstractContextManager[Any]:
    """Enter ``memo`` in a worker thread (context variables do not cross threads)."""
    if memo is None:
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def entered() -> Iterator[None]:
        token = _MEMO.set(memo)
        try:
            yield
        finally:
            _MEMO.reset(token)

    return entered()


def _memoized(frame: pd.DataFrame, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    memo = _MEMO.get()
    if memo is None:
        return make()
    key = (id(frame), *key)
    if key not in memo:  # two threads may both make it once; the result is the same
        memo[key] = (frame, make())  # holding the frame keeps its id from being reused
    return memo[key][1]


def time_order(df: pd.DataFrame, timestamp: str | None, *,
               name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(row order by time with NaT dropped, sorted datetime64 values), or None."""
    if timestamp is None or timestamp not in df.columns:
        return None
    return _memoized(df, ("time_order", timestamp), lambda: _time_order(df, timestamp, name))


def _time_order(df: pd.DataFrame, timestamp: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    t = as_datetime(df[timestamp], name=name, column=timestamp).to_numpy(dtype="datetime64[ns]")
    ok = np.flatnonzero(~np.isnat(t))
    kept = t[ok]
    if len(kept) > 1 and bool(np.all(kept[1:] >= kept[:-1])):  # logs often come sorted
        return ok, kept
    order = ok[np.argsort(kept, kind="stable")]
    return order, t[order]


def memoized_codes(frame: pd.DataFrame, col: Any) -> tuple[np.ndarray, Any]:
    """``pd.factorize`` of a column (sorted uniques, -1 for missing), made once a run."""
    return _memoized(frame, ("codes", col),
                     lambda: pd.factorize(frame[col], sort=True, use_na_sentinel=True))


def _group_rates(mask: np.ndarray, frame: pd.DataFrame, col: str) -> pd.DataFrame:
    """Rows flagged by ``mask`` ("sum") and rows ("size") per value of ``col``, by value."""
    codes, uniques = memoized_codes(frame, col)
    ok = codes >= 0
    size = np.bincount(codes[ok], minlength=len(uniques))
    flagged = np.bincount(codes[ok], weights=np.asarray(mask)[ok], minlength=len(uniques))
    out = pd.DataFrame({"sum": flagged.round().astype(np.int64), "size": size},
                       index=pd.Index(uniques, name=col))
    return out[out["size"] > 0]


def excess_segment(mask: np.ndarray, frame: pd.DataFrame, columns: list[str], *,
                   base_rate: float, reference: tuple[np.ndarray, pd.DataFrame] | None = None,
                   min_share: float = 0.6) -> dict[str, Any] | None:
    """The one segment value holding most of the excess of ``mask`` over its base rate.

    The base rate of a value is its rate in ``reference`` (``(mask, frame)``) when that
    holds at least 30 rows of the value, else ``base_rate``: a segment that always had
    the property is not where a new problem concentrates. Returns ``{"segment",
    "column", "value", "rate_in", "reference_rate_in", "rate_out", "share_of_excess",
    "rows"}`` when one value holds at least ``min_share`` of the excess and its rate
    clearly exceeds the rate outside it; otherwise None.
    """
    total_excess = mask.sum() - base_rate * len(mask)
    if total_excess <= 0:
        return None
    best = None
    for col in columns:
        g = _group_rates(mask, frame, col)
        base = pd.Series(base_rate, index=g.index)
        if reference is not None and col in reference[1].columns:
            r = _group_rates(reference[0], reference[1], col)
            r = r[r["size"] >= 30]
            known = base.index.intersection(r.index)
            base[known] = (r["sum"] / r["size"])[known]
        excess = g["sum"] - base * g["size"]
        if not len(excess):
            continue
        v = excess.idxmax()
        share = float(excess[v] / total_excess)
        if share >= min_share and (best is None or share > best["share_of_excess"]):
            k_in, n_in = float(g.loc[v, "sum"]), float(g.loc[v, "size"])
            k_out, n_out = float(mask.sum() - k_in), float(len(mask) - n_in)
            lo_in = wilson_interval(k_in, n_in)[0]
            hi_out = wilson_interval(k_out, n_out)[1] if n_out else 0.0
            if lo_in > max(hi_out, float(base[v])):
                best = {"segment": segment_expr(col, v), "column": col, "value": v,
                        "rate_in": k_in / n_in, "reference_rate_in": float(base[v]),
                        "rate_out": k_out / max(n_out, 1), "share_of_excess": share,
                        "rows": int(n_in)}
    return best


def _rows(frame: pd.DataFrame, columns: list[str], positions: np.ndarray) -> pd.DataFrame:
    """``frame[columns].iloc[positions]``, each column taken by :func:`take`."""
    return pd.DataFrame({c: take(frame[c], positions) for c in columns}, columns=columns)


def _sampled_segment(mask, current, segs, base, reference) -> dict[str, Any] | None:
    """excess_segment on a seeded sample of at most SEGMENT_SAMPLE rows a side."""
    pos = sample_positions(len(mask), SEGMENT_SAMPLE, random_state=0)
    frame = current[segs] if pos is None else _memoized(
        current, ("segment_sample", tuple(segs), len(pos), 0), lambda: _rows(current, segs, pos))
    ref = None
    if reference is not None:
        ref_mask, ref_frame = reference
        ref_segs = [c for c in segs if c in ref_frame.columns]
        rpos = sample_positions(len(ref_mask), SEGMENT_SAMPLE, random_state=1)
        ref = (ref_mask if rpos is None else ref_mask[rpos],
               ref_frame[ref_segs] if rpos is None else _memoized(
                   ref_frame, ("segment_sample", tuple(ref_segs), len(rpos), 1),
                   lambda: _rows(ref_frame, ref_segs, rpos)))
    seg = excess_segment(mask if pos is None else mask[pos], frame, segs, base_rate=base,
                         reference=ref)
    if seg is not None and pos is not None:  # the share of rows, counted on all rows
        seg["rows"] = int((current[seg["column"]] == seg["value"]).sum())
        seg["sampled_rows"] = len(pos)
    return seg


def locate(mask: np.ndarray, current: pd.DataFrame, segs: list[str],
           order: tuple[np.ndarray, np.ndarray] | None, *, base: float,
           reference: tuple[np.ndarray, pd.DataFrame] | None = None) -> dict[str, Any]:
    """Where and since when the rows flagged by ``mask`` concentrate.

    ``base`` is the rate expected without the problem (the reference rate);
    ``reference`` = ``(mask, frame)`` gives per-segment base rates. Returns
    ``segment`` (an expression or None), ``since`` (ISO time or None) and
    ``share_affected`` (the share of rows in that scope), plus the rates behind them;
    with both a segment and a date, ``rate_in_scope`` is the rate inside the segment
    after the date, and the scope is their intersection.
    """
    out: dict[str, Any] = {"segment": None, "since": None, "share_affected": float(mask.mean())}
    seg = _sampled_segment(mask, current, segs, base, reference) if segs else None
    if seg is not None:
        out.update(segment=seg["segment"], share_affected=seg["rows"] / len(mask),
                   rate_in_segment=seg["rate_in"], rate_outside_segment=seg["rate_out"],
                   reference_rate_in_segment=seg["reference_rate_in"])
    if order is not None:
        rows, times = order
        zt = mask[rows]
        j, before, after = best_binary_split(zt)
        if j > 0:
            lo_after = wilson_interval(after * (len(zt) - j), len(zt) - j)[0]
            hi_before = wilson_interval(before * j, j)[1]
            total_excess = max((mask.mean() - base) * len(zt), 1e-12)
            excess_after = (after - base) * (len(zt) - j) / total_excess
            near_base = before <= base + (after - base) / 4
            if lo_after > hi_before and near_base and excess_after >= 0.6:
                out.update(since=iso(times[j]), rate_before=before, rate_after=after)
                if seg is None:
                    out["share_affected"] = (len(zt) - j) / len(mask)
                else:  # in the segment and after the date: the rows the fault touched
                    scope = np.zeros(len(mask), dtype=bool)
                    scope[rows[j:]] = True
                    scope &= (current[seg["column"]] == seg["value"]).fillna(False).to_numpy(
                        dtype=bool)
                    if scope.any():
                        out.update(rate_in_scope=float(mask[scope].mean()),
                                   share_affected=float(scope.mean()))
        out["timeline"] = rate_timeline(zt, times)
    return out


def scoped_share(where: dict[str, Any], overall: float) -> str:
    """How much of the current rows a located problem holds, said both ways: of all
    rows, and of the rows in its scope (a share of the window understates a fault
    confined to one segment from one date)."""
    scope = (f" in {where['segment']}" if where.get("segment") else "") + (
        f" since {where['since']}" if where.get("since") else "")
    inside = where.get("rate_in_scope", where.get("rate_after", where.get("rate_in_segment")))
    if not scope or inside is None:
        return f"{overall:.1%} of current rows"
    return f"{inside:.1%} of the current rows{scope} ({overall:.1%} of all current rows)"


def rate_timeline(z: np.ndarray, times: np.ndarray, *, buckets: int = 30) -> list[dict]:
    """Rate of a time-ordered 0/1 sequence in up to ``buckets`` equal-count chunks."""
    n = min(buckets, len(z))
    if n == 0:
        return []
    chunks = np.array_split(np.arange(len(z)), n)
    return [{"start": iso(times[c[0]]), "rate": round(float(z[c].mean()), 6)}
            for c in chunks if len(c)]
