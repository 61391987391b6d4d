"""Slice finding: the segments where a per-row loss is worse than elsewhere.

Shared by the version comparison (where version B is worse than version A), the
quality checks (where a model is weak) and triage. The method, for a per-row value
``d`` (a loss, or a difference of losses ``loss_b - loss_a``):

1. Every column becomes a small set of *slices*: one per categorical value (the most
   frequent ``max_levels``), one per quantile bin of a numeric column (edges from the
   frame, rounded to three significant digits), and one for missing values. With
   ``max_order=2`` every pair of slices of two different columns is a slice too.
2. Each slice with at least ``min_support`` rows is compared with the rest of the rows
   by Welch's statistic on sufficient statistics (counts, sums, sums of squares), so a
   million rows cost a few ``bincount`` calls per column pair.
3. The Benjamini-Hochberg procedure at level ``alpha`` controls the false discovery
   rate across *all slices tried*; the selected slices get false-coverage-rate adjusted
   intervals (Benjamini & Yekutieli 2005, level ``1 - R * alpha / m``).
4. A slice is reported only if its excess is also practically large: at least
   ``min_effect`` times ``scale`` (by default the mean of ``baseline``, else of ``loss``).
5. Overlapping slices are pruned greedily: a candidate is kept only if the rows it does
   not share with already kept slices still show the excess on their own, so the
   children of a broken segment, or the parents of a broken pair, are not reported
   twice.

Two samples of the same population give no slice: the selection controls false
discoveries, and the practical threshold drops the tiny real differences that large
samples make significant.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import TYPE_CHECKING, Any

from toolkit._exceptions import InputError
from toolkit.segment_expr import format_value, quote_column, segment_mask

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["SliceReport", "find_slices", "slice_mask"]

_MIN_ROWS = 30  # below this the normal approximation of a slice mean is not trusted


@dataclasses.dataclass(frozen=True)
class SliceReport:
    """The slices found, and what was tried.

    Attributes
    ----------
    table : DataFrame
        One row per reported slice, strongest first: ``segment`` (an expression of
        :mod:`toolkit.segment_expr`), ``columns``, ``order``, ``support`` (rows), ``share`` (of rows),
        ``mean`` (of the per-row value in the slice), ``rest_mean``, ``effect`` (excess
        over the rest), ``ci_low``/``ci_high`` (adjusted interval of the effect),
        ``z``, ``p_value``, ``q_value``, ``explained`` (the slice's excess times its
        rows, as a share of the sum of the per-row value, clipped to [0, 1]: 1 when the
        slice holds the whole increase),
        ``loss_mean`` and ``baseline_mean`` (when a baseline was given).
    n_tested : int
        Slices compared (the multiple-testing family).
    n_rows : int
    alpha, min_effect, scale : float
        The settings used; ``min_effect * scale`` is the practical threshold.
    """

    table: pd.DataFrame
    n_tested: int
    n_rows: int
    alpha: float
    min_effect: float
    scale: float

    @property
    def threshold(self) -> float:
        """The practical threshold on the excess, in units of the per-row value."""
        return self.min_effect * self.scale


@dataclasses.dataclass
class _Column:
    name: str
    codes: np.ndarray  # int64, one code per row
    exprs: list[str | None]  # None: not testable (the "other values" bucket)


def _round_sig(x: float, digits: int = 3) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(round(x, digits - 1 - math.floor(math.log10(abs(x)))))


def _categorical(name: str, values: pd.Series, max_levels: int) -> _Column:
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    keep = np.argsort(-counts, kind="stable")[:max_levels]
    remap = np.full(len(uniques), len(keep), dtype=np.int64)  # other values
    remap[keep] = np.arange(len(keep))
    out = np.where(codes >= 0, remap[np.maximum(codes, 0)], len(keep) + 1)
    q = quote_column(name)
    exprs: list[str | None] = [f"{q} == {format_value(uniques[i])}" for i in keep]
    exprs += [None, f"{q} == None"]
    return _Column(name, out.astype(np.int64), exprs)


def _numeric(name: str, values: pd.Series, n_bins: int, rng: np.random.Generator) -> _Column:
    import numpy as np

    x = values.to_numpy(dtype=float, na_value=np.nan)
    finite = x[np.isfinite(x)]
    if len(finite) > 200_000:  # quantiles of a sample are edges enough
        finite = rng.choice(finite, 200_000, replace=False)
    qs = np.quantile(finite, np.linspace(0, 1, n_bins + 1)[1:-1]) if len(finite) else []
    edges = [float(e) for e in np.unique([_round_sig(float(e)) for e in qs])]
    codes = np.searchsorted(np.asarray(edges, dtype=float), x, side="right").astype(np.int64)
    codes[np.isnan(x)] = len(edges) + 1
    q = quote_column(name)
    if len(edges) == 0:
        exprs: list[str | None] = [f"{q} != None"]
    else:
        exprs = [f"{q} < {edges[0]!r}"]
        exprs += [f"{lo!r} <= {q} < {hi!r}" for lo, hi in itertools.pairwise(edges)]
        exprs += [f"{q} >= {edges[-1]!r}"]
    exprs += [f"{q} == None"]
    return _Column(name, codes, exprs)


def _encode(
    frame: pd.DataFrame, column: str, n_bins: int, max_levels: int, rng: Any
) -> _Column | None:
    import pandas as pd

    s = frame[column]
    if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
        return None
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return _categorical(column, s, max_levels)
    few = max(n_bins, 10)  # a numeric column with this few values is sliced per value
    if s.iloc[:10_000].nunique(dropna=True) <= few and s.nunique(dropna=True) <= few:
        return _categorical(column, s, max_levels)
    return _numeric(column, s, n_bins, rng)


def _stats(codes: np.ndarray, d: np.ndarray, d2: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    import numpy as np

    return (
        np.bincount(codes, minlength=k).astype(float),
        np.bincount(codes, weights=d, minlength=k),
        np.bincount(codes, weights=d2, minlength=k),
    )


def _candidates(cols: list[_Column], d: np.ndarray, max_order: int, min_n: int) -> pd.DataFrame:
    """Sufficient statistics of every slice with enough rows."""
    import numpy as np
    import pandas as pd

    d2 = d * d
    parts: list[tuple[Any, ...]] = []
    for c in cols:
        n, s, ss = _stats(c.codes, d, d2, len(c.exprs))
        for i, e in enumerate(c.exprs):
            if e is not None and n[i] >= min_n:
                parts.append((e, (c.name,), 1, (c.name,), (i,), n[i], s[i], ss[i]))
    if max_order >= 2:
        for a, b in itertools.combinations(cols, 2):
            kb = len(b.exprs)
            n, s, ss = _stats(a.codes * kb + b.codes, d, d2, len(a.exprs) * kb)
            for idx in np.flatnonzero(n >= min_n):
                i, j = divmod(int(idx), kb)
                if a.exprs[i] is not None and b.exprs[j] is not None:
                    expr = f"{a.exprs[i]} and {b.exprs[j]}"
                    parts.append(
                        (
                            expr,
                            (a.name, b.name),
                            2,
                            (a.name, b.name),
                            (i, j),
                            n[idx],
                            s[idx],
                            ss[idx],
                        )
                    )
    names = ["segment", "columns", "order", "_cols", "_codes", "support", "sum", "sumsq"]
    return pd.DataFrame(parts, columns=names)


def _welch(n: Any, s: Any, ss: Any, n_all: float, s_all: float, ss_all: float) -> tuple[Any, ...]:
    import numpy as np

    nr, sr, ssr = n_all - n, s_all - s, ss_all - ss
    mean, rest = s / n, sr / np.maximum(nr, 1)
    var = np.maximum(ss / n - mean**2, 0) * n / np.maximum(n - 1, 1)
    var_r = np.maximum(ssr / np.maximum(nr, 1) - rest**2, 0) * nr / np.maximum(nr - 1, 1)
    se = np.sqrt(var / n + var_r / np.maximum(nr, 1))
    effect = mean - rest
    z = np.where(se > 0, effect / np.where(se > 0, se, 1), np.where(effect > 0, np.inf, 0.0))
    return mean, rest, effect, se, z


def slice_mask(frame: pd.DataFrame, segment: str) -> np.ndarray:
    """Boolean mask of the rows of ``frame`` in ``segment``, read by
    :func:`toolkit.segment_expr.segment_mask` (data, never code)."""
    return segment_mask(frame, segment)


def _validate(frame: Any, loss: Any, baseline: Any, columns: Any, alpha: float) -> tuple[Any, ...]:
    import numpy as np
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"find_slices needs a DataFrame as frame; got {type(frame).__name__}.")
    loss = np.asarray(loss, dtype=float).ravel()
    base = None if baseline is None else np.asarray(baseline, dtype=float).ravel()
    for label, arr in (("loss", loss), ("baseline", base)):
        if arr is not None and len(arr) != len(frame):
            raise InputError(
                f"find_slices: {label} has {len(arr)} values but the frame has {len(frame)} "
                f"rows; pass one value per row, in the frame's order."
            )
    cols = list(frame.columns) if columns is None else list(columns)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(
            f"find_slices: columns {missing} are not in the frame; pick from {list(frame.columns)}."
        )
    if not 0 < alpha < 1:
        raise InputError(f"find_slices: alpha must be in (0, 1); got {alpha!r}.")
    return loss, base, cols


def find_slices(
    frame: pd.DataFrame,
    loss: Any,
    baseline: Any = None,
    *,
    columns: list[str] | None = None,
    min_support: float = 0.01,
    max_order: int = 2,
    alpha: float = 0.05,
    min_effect: float = 0.1,
    scale: float | None = None,
    n_bins: int = 5,
    max_levels: int = 30,
    max_slices: int = 10,
    random_state: int = 0,
) -> SliceReport:
    """Find the segments where ``loss`` (minus ``baseline``) is higher than elsewhere.

    Parameters
    ----------
    frame : DataFrame
        The rows, with the columns to slice on. Not modified.
    loss : array-like of float, shape (n_rows,)
        Per-row loss (higher is worse), such as the log loss of version B, or an
        already computed per-row difference.
    baseline : array-like of float, optional
        Per-row loss of the version to compare with (version A); the slices are then
        where ``loss - baseline`` is higher than elsewhere.
    columns : list of str, optional
        Columns to slice on; all columns by default (datetimes are skipped).
    min_support : float, default=0.01
        Smallest slice, as a share of rows (< 1) or a row count (>= 1); never below 30.
    max_order : {1, 2}, default=2
        1 for single-column slices, 2 to add pairs of columns.
    alpha : float, default=0.05
        False discovery rate across all slices tried.
    min_effect : float, default=0.1
        Practical threshold on the excess, relative to ``scale``.
    scale : float, optional
        Unit of the threshold; default the mean of ``baseline`` (or of ``loss``).
    n_bins : int, default=5
        Quantile bins per numeric column (plus one for missing values).
    max_levels : int, default=30
        Most frequent values kept per categorical column; the rest are not tested.
    max_slices : int, default=10
        Most slices reported.
    random_state : int, default=0
        Seeds the sample that numeric bin edges come from on large frames.

    Returns
    -------
    SliceReport
    """
    import numpy as np

    loss, base, cols = _validate(frame, loss, baseline, columns, alpha)
    d = loss if base is None else loss - base
    ok = np.isfinite(d)
    if not ok.all():
        frame, d = frame.loc[ok], d[ok]
        base = None if base is None else base[ok]
        loss = loss[ok]
    n_rows = len(d)
    if scale is None:
        ref = loss if base is None else base
        scale = float(np.mean(np.abs(ref))) if n_rows else 0.0
    min_n = max(_MIN_ROWS, math.ceil(min_support * n_rows if min_support < 1 else min_support))
    rng = np.random.default_rng(random_state)
    encoded = [_encode(frame, c, n_bins, max_levels, rng) for c in cols]
    enc = [c for c in encoded if c is not None]
    cand = _candidates(enc, d, max_order, min_n) if n_rows >= 2 * min_n else None
    settings = {"alpha": alpha, "min_effect": min_effect, "scale": float(scale)}
    if cand is None or cand.empty:
        return SliceReport(table=_empty_table(), n_tested=0, n_rows=n_rows, **settings)
    table = _select(
        cand, enc, d, loss, base, alpha=alpha, threshold=min_effect * scale, max_slices=max_slices
    )
    return SliceReport(table=table, n_tested=len(cand), n_rows=n_rows, **settings)


def _empty_table() -> pd.DataFrame:
    import pandas as pd

    names = [
        "segment",
        "columns",
        "order",
        "support",
        "share",
        "mean",
        "rest_mean",
        "effect",
        "ci_low",
        "ci_high",
        "z",
        "p_value",
        "q_value",
        "explained",
        "loss_mean",
        "baseline_mean",
    ]
    return pd.DataFrame({n: [] for n in names})


def _select(
    cand: pd.DataFrame,
    enc: list[_Column],
    d: np.ndarray,
    loss: np.ndarray,
    base: np.ndarray | None,
    *,
    alpha: float,
    threshold: float,
    max_slices: int,
) -> pd.DataFrame:
    """Benjamini-Hochberg selection, practical threshold, then greedy pruning."""
    import numpy as np
    import pandas as pd
    from scipy import stats

    n_all, s_all, ss_all = float(len(d)), float(d.sum()), float((d * d).sum())
    n, s, ss = (cand[c].to_numpy(float) for c in ("support", "sum", "sumsq"))
    mean, rest, effect, se, z = _welch(n, s, ss, n_all, s_all, ss_all)
    p = stats.norm.sf(z)
    m = len(p)
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.empty(m)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    selected = np.flatnonzero((q <= alpha) & (effect >= threshold) & (effect > 0))
    if selected.size == 0:
        return _empty_table()
    n_sel = int(np.sum(q <= alpha))
    zc = stats.norm.isf(alpha * max(n_sel, 1) / m / 2)  # FCR-adjusted two-sided interval
    z_pick = stats.norm.isf(alpha * max(n_sel, 1) / m)  # the one-sided BH cut actually used
    by_col = {c.name: c for c in enc}
    covered = np.zeros(len(d), dtype=bool)
    rows = []
    for i in selected[np.argsort(-z[selected], kind="stable")]:
        mask = np.ones(len(d), dtype=bool)
        for col, code in zip(cand["_cols"].iat[i], cand["_codes"].iat[i]):
            mask &= by_col[col].codes == code
        own = mask & ~covered
        if covered.any():
            n_own = float(own.sum())
            if n_own < _MIN_ROWS:
                continue
            free = ~covered
            _, _, eff_own, _, z_own = _welch(
                n_own,
                float(d[own].sum()),
                float((d[own] ** 2).sum()),
                float(free.sum()),
                float(d[free].sum()),
                float((d[free] ** 2).sum()),
            )
            if not (z_own >= z_pick and eff_own >= threshold):
                continue  # explained by slices already kept
        covered |= mask
        excess = float(n[i] * effect[i])
        rows.append(
            {
                "segment": cand["segment"].iat[i],
                "columns": cand["columns"].iat[i],
                "order": int(cand["order"].iat[i]),
                "support": int(n[i]),
                "share": n[i] / n_all,
                "mean": mean[i],
                "rest_mean": rest[i],
                "effect": effect[i],
                "ci_low": effect[i] - zc * se[i],
                "ci_high": effect[i] + zc * se[i],
                "z": z[i],
                "p_value": p[i],
                "q_value": q[i],
                "explained": min(1.0, max(0.0, excess / s_all)) if s_all > 0 else 1.0,
                "loss_mean": float(loss[mask].mean()),
                "baseline_mean": float(base[mask].mean()) if base is not None else float("nan"),
            }
        )
        if len(rows) >= max_slices:
            break
    return pd.DataFrame(rows) if rows else _empty_table()
