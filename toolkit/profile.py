"""Column profiles: the one seam where statistics are computed from raw rows.

Checks and drift consume compact :class:`Profile` objects (counts, nulls, quantiles,
histograms on *given* bin edges, top categories, rows per time bucket) instead of
raw rows. In-memory pandas and numpy is the first engine; an engine computing the
same :class:`Profile` inside DuckDB or Spark can be added to :data:`ENGINES` without
touching any consumer, because a profile holds only plain numbers and numpy arrays.

Bin layout
----------
Numeric columns are binned on reference edges ``E`` (strictly increasing). The
histogram ``counts`` has ``len(E) + 2`` cells::

    [below E[0]] [E[0], E[1]) ... [E[-2], E[-1]) [at or above E[-1]] [missing]

``E[0]`` is the reference minimum and ``E[-1]`` sits just above the reference
maximum, so the first and the last-but-one cells hold out-of-range values (and
``-inf``/``+inf``) and are empty in the reference by construction. Values that hold
a large share of the reference (an atom, such as 0 in a zero-inflated amount) get a
bin of their own. Categorical columns are binned on the reference's top-``k``
categories among those with at least ``min_count`` rows; ``counts`` has ``k + 2``
cells: one per category, then ``other`` and ``missing``.

Examples
--------
>>> import pandas as pd
>>> ref = profile_frame(pd.DataFrame({"x": [1.0, 2.0, 3.0, None]}), bins=2)
>>> cur = profile_frame(pd.DataFrame({"x": [2.0, 9.0]}), edges=ref.edges())
>>> cur["x"].counts.tolist()  # below, [1,2), [2,3], above, missing
[0, 0, 1, 1, 0]
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from toolkit._exceptions import InputError
from toolkit._profile_bins import bin_labels, numeric_edges, quantiles_sorted

__all__ = [
    "ENGINES",
    "NUMERIC_TOP_VALUES",
    "PERCENTILES",
    "TOP_VALUES",
    "ColumnProfile",
    "Profile",
    "bin_labels",
    "column_kind",
    "profile_frame",
    "profile_pair",
]

#: Quantile levels stored for every numeric column (every percentile).
PERCENTILES: np.ndarray = np.linspace(0.0, 1.0, 101)

#: Most frequent values kept per categorical column (see
#: :attr:`ColumnProfile.top_values`): every value of all but huge columns, so that
#: a value unseen in the reference is told exactly.
TOP_VALUES = 100_000

#: Numeric columns with at most this many distinct values keep their value counts.
NUMERIC_TOP_VALUES = 1000

#: Extreme values kept per numeric column (:attr:`ColumnProfile.lowest`, ``highest``).
N_EXTREMES = 5

_KINDS = ("numeric", "categorical", "datetime")


@dataclasses.dataclass(frozen=True, eq=False)
class ColumnProfile:
    """Summary of one column of one window.

    Attributes
    ----------
    name, kind, dtype : str
        Column name, ``"numeric"``, ``"categorical"`` or ``"datetime"``, and the
        pandas dtype as text.
    count, nulls : int
        Rows, and missing values among them.
    edges : ndarray or tuple or None
        The bin edges the histogram was computed on: floats for numeric and
        datetime columns (epoch nanoseconds), category values for categoricals.
    counts : ndarray of int or None
        Histogram on ``edges`` (see the module docstring for the layout), or
        ``None`` when the column could not be binned on the edges given (its
        kind differs from the one the edges were made for).
    quantiles : ndarray or None
        Values at :data:`PERCENTILES` over finite values (numeric, datetime).
    mean, std, min, max : float
        Over finite values (NaN when there are none).
    n_posinf, n_neginf : int
        Infinite values (numeric).
    top_values, top_counts : tuple, ndarray
        The column's own most frequent values, most frequent first: at most
        :data:`TOP_VALUES` of a categorical column (all of them when it has fewer
        distinct values), and every value of a numeric column with at most
        :data:`NUMERIC_TOP_VALUES` distinct finite values (codes, counts); empty
        for other numeric columns.
    n_distinct : int or None
        Distinct non-null values (categorical), distinct finite values (numeric,
        datetime).
    n_singletons : int
        Values seen exactly once (categorical): the Good-Turing estimate of the
        mass of values not seen yet is ``n_singletons / n_finite``.
    n_empty : int
        Empty strings among the non-null values (categorical); checks count them
        as missing, drift keeps them as a category.
    n_negative : int
        Values below zero, ``-inf`` included (numeric).
    lowest, highest : tuple of float
        Up to five smallest and largest finite values (numeric), for examples.
    integer_valued : bool
        Whether the finite values are whole numbers (numeric; checked on an
        evenly spaced sample of at most 10,000 sorted values).
    """

    name: str
    kind: str
    dtype: str
    count: int
    nulls: int
    edges: Any = None
    counts: np.ndarray | None = None
    quantiles: np.ndarray | None = None
    mean: float = float("nan")
    std: float = float("nan")
    min: float = float("nan")
    max: float = float("nan")
    n_posinf: int = 0
    n_neginf: int = 0
    top_values: tuple[Any, ...] = ()
    top_counts: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_distinct: int | None = None
    n_singletons: int = 0
    n_empty: int = 0
    n_negative: int = 0
    lowest: tuple[float, ...] = ()
    highest: tuple[float, ...] = ()
    integer_valued: bool = False

    @property
    def null_rate(self) -> float:
        """Share of missing values (NaN for an empty window)."""
        return self.nulls / self.count if self.count else float("nan")

    @property
    def n_finite(self) -> int:
        """Non-missing, finite values (non-missing values for categoricals)."""
        return self.count - self.nulls - self.n_posinf - self.n_neginf

    def labels(self) -> list[str]:
        """Readable labels of the histogram cells, in ``counts`` order."""
        return bin_labels(self.kind, self.edges)


@dataclasses.dataclass(frozen=True, eq=False)
class Profile:
    """Profiles of the columns of one window, as produced by :func:`profile_frame`.

    Attributes
    ----------
    columns : dict of str to ColumnProfile
    n_rows : int
    engine : str
        The engine that computed it (``"pandas"``).
    time_counts : Series or None
        Rows per time bucket (index: bucket start) when a timestamp was given.
    timestamp, freq : str or None
        The timestamp column and bucket frequency used for ``time_counts``.
    """

    columns: dict[str, ColumnProfile]
    n_rows: int
    engine: str = "pandas"
    time_counts: pd.Series | None = None
    timestamp: str | None = None
    freq: str | None = None

    def __getitem__(self, name: str) -> ColumnProfile:
        try:
            return self.columns[name]
        except KeyError:
            raise InputError(
                f"Column {name!r} is not in this profile; profiled columns are "
                f"{sorted(self.columns)[:20]}."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __iter__(self) -> Iterator[str]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def edges(self) -> dict[str, Any]:
        """Bin edges per column, to profile another window on the same bins."""
        return {name: cp.edges for name, cp in self.columns.items() if cp.edges is not None}


def column_kind(series: pd.Series) -> str:
    """``"numeric"``, ``"categorical"`` or ``"datetime"`` for a column.

    Booleans and the ``category`` dtype are categorical even when their values
    are numbers; text, whatever its storage, is categorical.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    return "categorical"


def _numeric_array(series: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime":
        s = series
        if getattr(s.dtype, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        ns = s.astype("datetime64[ns]").to_numpy()
        out = ns.view(np.int64).astype(np.float64)
        out[np.isnat(ns)] = np.nan
        return out
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _mean_std(finite: np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation of sorted finite values, without a copy.

    Plain sums are exact enough unless the spread is tiny against the level (then
    the sum of squares cancels); only that case pays for centring on the median.
    """
    n = finite.size
    if n == 0:
        return float("nan"), float("nan")
    mean = float(finite.sum()) / n
    if n == 1:
        return mean, float("nan")
    # einsum, not dot: a BLAS call leaves its threads spinning, stealing the other core
    squares = float(np.einsum("i,i->", finite, finite))
    ss = squares - n * mean * mean
    if ss <= 1e-6 * squares:  # the subtraction cancelled: centre, then sum again
        centre = finite[n // 2]
        d = finite - centre
        mean = float(centre) + float(d.sum()) / n
        ss = float(np.einsum("i,i->", d, d)) - n * (mean - centre) ** 2
    return mean, float(np.sqrt(max(ss, 0.0) / (n - 1)))


def _runs(finite: np.ndarray) -> tuple[int, tuple[Any, ...], np.ndarray]:
    """Distinct values of a sorted array, and its most frequent ones when few."""
    if finite.size == 0:
        return 0, (), np.zeros(0, dtype=np.int64)
    changes = finite[1:] != finite[:-1]
    n_distinct = int(np.count_nonzero(changes)) + 1
    if n_distinct > NUMERIC_TOP_VALUES:
        return n_distinct, (), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(changes)
    bounds = np.concatenate([[0], starts + 1, [finite.size]])
    counts = np.diff(bounds).astype(np.int64)
    order = np.argsort(-counts, kind="stable")
    values = finite[bounds[:-1]][order]
    return n_distinct, tuple(v.item() for v in values), counts[order]


def _profile_numeric(
    name: str, series: pd.Series, kind: str, edges: Any, bins: int
) -> ColumnProfile:
    x = _numeric_array(series, kind)
    s = np.sort(x)  # NaN sort last, -inf first, +inf just before NaN
    nulls = int(s.size - np.searchsorted(s, np.nan, side="left"))  # no pass over the rows
    valued = s[: s.size - nulls]
    n_neginf = int(np.searchsorted(valued, -np.inf, side="right"))
    n_posinf = int(valued.size - np.searchsorted(valued, np.inf, side="left"))
    finite = valued[n_neginf : valued.size - n_posinf]
    if edges is None:
        edges = numeric_edges(finite, bins=bins)
    edges = np.asarray(edges, dtype=np.float64)
    cuts = np.searchsorted(valued, edges, side="left")
    counts = np.diff(np.concatenate([[0], cuts, [valued.size]])).astype(np.int64)
    counts = np.append(counts, nulls)
    mean, std = _mean_std(finite)
    n_distinct, top_values, top_counts = _runs(finite)
    return ColumnProfile(
        name=str(name),
        kind=kind,
        dtype=str(series.dtype),
        count=int(x.size),
        nulls=nulls,
        edges=edges,
        counts=counts,
        quantiles=quantiles_sorted(finite, PERCENTILES),
        n_distinct=n_distinct,
        top_values=top_values,
        top_counts=top_counts,
        n_negative=int(np.searchsorted(valued, 0.0, side="left")),
        lowest=tuple(float(v) for v in finite[:N_EXTREMES]),
        highest=tuple(float(v) for v in finite[-N_EXTREMES:]),
        integer_valued=bool(finite.size)
        and bool(np.all(np.mod(finite[:: max(1, finite.size // 10_000)], 1) == 0)),
        mean=mean,
        std=std,
        min=float(finite[0]) if finite.size else float("nan"),
        max=float(finite[-1]) if finite.size else float("nan"),
        n_posinf=n_posinf,
        n_neginf=n_neginf,
    )


def _profile_categorical(
    name: str, series: pd.Series, edges: Any, top_k: int, min_count: int
) -> ColumnProfile:
    vc = series.value_counts(dropna=True, sort=True)
    vc = vc[vc.to_numpy() > 0]  # the category dtype lists unused categories
    nulls = int(series.isna().sum())
    n_valued = int(series.size - nulls)
    top = vc.iloc[:TOP_VALUES]
    if edges is None:
        # Picking the top k among rare values favours values the reference drew
        # more often than usual; they would all look as if they fell in the current.
        common = vc[vc.to_numpy() >= min_count].iloc[:top_k]
        edges = tuple(common.index.tolist())
    # Select the few edge categories first: reindexing the full counts would hash
    # every distinct value (seconds for a million of them).
    hit = vc[vc.index.isin(list(edges))] if len(edges) else vc.iloc[:0]
    aligned = hit.reindex(pd.Index(list(edges), dtype=object)) if len(edges) else hit
    known = np.nan_to_num(aligned.to_numpy(dtype=np.float64), nan=0.0).astype(np.int64)
    counts = np.concatenate([known, [n_valued - int(known.sum()), nulls]]).astype(np.int64)
    return ColumnProfile(
        name=str(name),
        kind="categorical",
        dtype=str(series.dtype),
        count=int(series.size),
        nulls=nulls,
        edges=tuple(edges),
        counts=counts,
        top_values=tuple(top.index.tolist()),
        top_counts=top.to_numpy(dtype=np.int64),
        n_distinct=int(vc.size),
        n_singletons=int(np.count_nonzero(vc.to_numpy() == 1)),
        n_empty=int(vc.get("", 0)) if _is_text(series) else 0,
    )


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series) or series.dtype == object


def _profile_column(
    name: str, series: pd.Series, edges: Any, *, bins: int, top_k: int, min_count: int
) -> ColumnProfile:
    kind = column_kind(series)
    if edges is not None:
        edges_categorical = isinstance(edges, tuple | list)
        if edges_categorical != (kind == "categorical"):
            # The kind changed between windows: profile the column on its own
            # terms and leave `counts` empty; the schema check reports the change.
            own = _profile_column(name, series, None, bins=bins, top_k=top_k, min_count=min_count)
            return dataclasses.replace(own, counts=None)
    if kind == "categorical":
        return _profile_categorical(name, series, edges, top_k, min_count)
    return _profile_numeric(name, series, kind, edges, bins)


def _time_counts(df: pd.DataFrame, timestamp: str, freq: str) -> pd.Series:
    if timestamp not in df.columns:
        raise InputError(
            f"The timestamp column {timestamp!r} is not in the table; its columns are "
            f"{list(df.columns)[:20]}. Pass the name of a date or time column."
        )
    from toolkit.io import parse_times

    ts = parse_times(df[timestamp])
    return ts.dt.floor(freq).value_counts(dropna=True).sort_index().rename("rows")


def _profile_pandas(
    df: pd.DataFrame,
    columns: Sequence[str],
    edges: Mapping[str, Any],
    *,
    bins: int,
    top_k: int,
    min_count: int,
    n_jobs: int,
) -> dict[str, ColumnProfile]:
    def one(name: str) -> ColumnProfile:
        return _profile_column(
            name, df[name], edges.get(name), bins=bins, top_k=top_k, min_count=min_count
        )

    if n_jobs <= 1 or len(columns) <= 1:
        return {name: one(name) for name in columns}
    # numpy's sort and searchsorted release the GIL, so threads use both cores
    # without copying the frame into worker processes.
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return dict(zip(columns, pool.map(one, columns)))


#: Profile engines by name. An engine takes the same arguments as
#: ``_profile_pandas`` and returns ``{column: ColumnProfile}``.
ENGINES: dict[str, Callable[..., dict[str, ColumnProfile]]] = {"pandas": _profile_pandas}


def _check_args(df: Any, columns: Any, bins: int, top_k: int, engine: str) -> list[str]:
    if not isinstance(df, pd.DataFrame):
        raise InputError(
            f"profile_frame expects a pandas DataFrame; got {type(df).__name__}. "
            "Read the file with toolkit.io.read_table first."
        )
    if not isinstance(bins, int | np.integer) or bins < 1:
        raise InputError(f"bins must be a positive integer; got {bins!r}.")
    if not isinstance(top_k, int | np.integer) or top_k < 1:
        raise InputError(f"top_k must be a positive integer; got {top_k!r}.")
    if engine not in ENGINES:
        raise InputError(f"Unknown profile engine {engine!r}; choose one of {sorted(ENGINES)}.")
    names = list(df.columns) if columns is None else list(columns)
    if len(set(map(str, df.columns))) != df.shape[1]:
        raise InputError("The table has duplicate column names; rename them before profiling.")
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise InputError(
            f"Columns {missing[:10]} are not in the table; it has {list(df.columns)[:20]}."
        )
    return names


def profile_frame(
    df: pd.DataFrame,
    *,
    edges: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    bins: int = 10,
    top_k: int = 50,
    min_count: int = 20,
    timestamp: str | None = None,
    freq: str = "D",
    n_jobs: int | None = None,
    engine: str = "pandas",
) -> Profile:
    """Profile every column of a window in one pass per column.

    Parameters
    ----------
    df : DataFrame
        The window. It is not modified.
    edges : mapping of str to edges, optional
        Bin edges per column, usually ``reference_profile.edges()``: a float
        ndarray for numeric and datetime columns, a tuple of values for
        categorical ones. Columns without edges get edges from this window (it
        is the reference).
    columns : sequence of str, optional
        Columns to profile; all by default.
    bins : int, default=10
        Quantile bins for numeric columns whose edges come from this window.
    top_k : int, default=50
        Categories kept per categorical column; the rest go to ``other``.
    min_count : int, default=20
        Fewest reference rows for a category to get a bin of its own when the
        edges come from this window; rarer ones share ``other``.
    timestamp : str, optional
        A date or time column; rows are then counted per ``freq`` bucket.
    freq : str, default="D"
        Bucket width for ``timestamp`` (a pandas frequency such as ``"h"``).
    n_jobs : int, optional
        Threads over columns; defaults to the number of cores, at most 4.
    engine : str, default="pandas"
        A key of :data:`ENGINES`.

    Returns
    -------
    Profile

    Raises
    ------
    InputError
        If ``df`` is not a DataFrame, a column is missing, or an argument is invalid.
    """
    names = _check_args(df, columns, bins, top_k, engine)
    jobs = n_jobs if n_jobs is not None else min(4, os.cpu_count() or 1)
    cols = ENGINES[engine](
        df,
        names,
        dict(edges or {}),
        bins=int(bins),
        top_k=int(top_k),
        min_count=int(min_count),
        n_jobs=jobs,
    )
    time_counts = _time_counts(df, timestamp, freq) if timestamp is not None else None
    return Profile(
        columns=cols,
        n_rows=len(df),
        engine=engine,
        time_counts=time_counts,
        timestamp=timestamp,
        freq=freq if timestamp is not None else None,
    )


def profile_pair(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str | None] = (),
    bins: int = 10,
    top_k: int = 50,
    min_count: int = 20,
    n_jobs: int | None = None,
    engine: str = "pandas",
) -> tuple[Profile, Profile]:
    """Profile a reference window, then the current window on the reference's edges.

    The pair is what the data checks and :func:`toolkit.drift.feature_drift` read, so
    one pass over the rows of each window serves both.

    Parameters
    ----------
    reference, current : DataFrame
        The two windows; not modified.
    columns : sequence of str, optional
        Columns to profile; by default every column of each window. Names missing
        from one window are profiled in the other only.
    exclude : sequence of str, optional
        Columns left out (the timestamp, which checks parse on their own).
    bins, top_k, min_count, n_jobs, engine
        As in :func:`profile_frame`.

    Returns
    -------
    (Profile, Profile)
        The reference's profile and the current one, binned alike.
    """
    for label, df in (("reference", reference), ("current", current)):
        if not isinstance(df, pd.DataFrame):
            raise InputError(
                f"profile_pair expects the {label} window as a pandas DataFrame; got "
                f"{type(df).__name__}. Read the file with toolkit.io.read_table first."
            )
    if isinstance(columns, str):  # one name, not its letters
        columns = [columns]
    wanted = None if columns is None else set(columns)
    skip = set(exclude)
    ref_cols = [c for c in reference.columns if (wanted is None or c in wanted) and c not in skip]
    cur_cols = [c for c in current.columns if (wanted is None or c in wanted) and c not in skip]
    kw: dict[str, Any] = {"bins": bins, "top_k": top_k, "min_count": min_count,
                          "n_jobs": n_jobs, "engine": engine}
    ref = profile_frame(reference, columns=ref_cols, **kw)
    return ref, profile_frame(current, columns=cur_cols, edges=ref.edges(), **kw)
